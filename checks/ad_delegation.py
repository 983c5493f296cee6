"""ad.delegation: each Hyper-V host may delegate to `cifs` on the computers holding the paths.

Walkthrough: on each Hyper-V host's Delegation tab, "Trust this computer for delegation to
specified services only", "Use any authentication protocol", and add `cifs` on the computers
that host the export and import paths. Stored in AD as: msDS-AllowedToDelegateTo holding
`cifs/<name>` and userAccountControl TRUSTED_TO_AUTH_FOR_DELEGATION (0x1000000).

Why "any authentication protocol": VMMS on the host opens the share as the VMM service account
after a WinRM (not Kerberos-forwardable) logon; without protocol transition the second hop fails
with 0x8009030E "No credentials are available in the security package".

Subjects: each source host × each path computer (fail when wrong); each target host × the import
computer (warn: the import is run from the target side, but the walkthrough only names the hosts
"that contain virtual machines you want to protect").

Matching is case-insensitive and ignores a trailing `/servicename`; `cifs/fs01` and
`cifs/fs01.contoso.com` are different names, and the one the path uses is what counts. Rules
where the SPEC is silent: an account that is both unconstrained and constrained is judged
unconstrained (the KDC uses TRUSTED_FOR_DELEGATION first, and it is the larger risk); a missing
computer account is an `error` here (ad.host-account reports it as the failure); an entry with a
port (`cifs/fs01.contoso.com:445`) does not count (S4U2Proxy compares the whole SPN and the SMB
client never puts a port in it); only values not yet present go into the `-Add` of the fix.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from offlineprep import checkkit
from offlineprep.engine import CheckContext, Need, check
from offlineprep.facts import ComputerAccount, DirectoryFacts
from offlineprep.model import Outcome, Remediation, Status
from offlineprep.names import PathRef, is_fqdn, parse_spn, short_name
from offlineprep.remediation import ad_identity, add_delegation, enable_protocol_transition, replace_unconstrained


@check(
    "ad.delegation",
    title="Hyper-V hosts may delegate to cifs on the path computers (any authentication protocol)",
    severity="critical",
    needs=[Need.DIRECTORY],
    walkthrough_step="Prepare for offline initial replication: constrained delegation, steps 1-7",
    why=(
        "During an offline export or import, the Hyper-V host opens the export or import share as the VMM "
        "service account. That is a second hop, which only works when the host's computer account may "
        "delegate to the cifs (file sharing) service of the file server, with 'Use any authentication "
        "protocol'. Without it the job fails hours later with access denied or 'No credentials are "
        "available in the security package', naming none of this."
    ),
    docs={
        "Set up disaster recovery for Hyper-V VMs to a secondary on-premises site: replication policy":
            "https://learn.microsoft.com/azure/site-recovery/hyper-v-vmm-disaster-recovery#set-up-a-replication-policy",
        "Kerberos constrained delegation overview":
            "https://learn.microsoft.com/windows-server/security/kerberos/kerberos-constrained-delegation-overview",
        "msDS-AllowedToDelegateTo attribute":
            "https://learn.microsoft.com/windows/win32/adschema/a-msds-allowedtodelegateto",
        "userAccountControl flags":
            "https://learn.microsoft.com/troubleshoot/windows-server/active-directory/useraccountcontrol-manipulate-account-properties",
    },
)
def delegation(ctx: CheckContext) -> Iterator[Outcome]:
    for pair in delegation_pairs(ctx):
        yield judge_pair(ctx, pair)


@dataclass(frozen=True)
class Pair:
    host: str  # as written in the site file
    side: str  # source | target
    paths: tuple[PathRef, ...] = field(default_factory=tuple)  # the paths on this computer the host needs

    @property
    def target(self) -> str:
        return self.paths[0].server


def delegation_pairs(ctx: CheckContext) -> list[Pair]:
    pairs: list[Pair] = []
    export, imp = ctx.site.export_path, ctx.site.import_path

    def grouped(refs: list[PathRef]) -> dict[str, list[PathRef]]:
        out: dict[str, list[PathRef]] = {}
        for ref in refs:
            out.setdefault(ref.server.rstrip(".").casefold(), []).append(ref)
        return out

    source_refs = [r for r in (export, imp) if r is not None]
    for host in ctx.site.source_hosts:
        for refs in grouped(source_refs).values():
            pairs.append(Pair(host=host, side="source", paths=tuple(refs)))
    source_names = {h.casefold() for h in ctx.site.source_hosts}
    if imp is not None:
        for host in ctx.site.target_hosts:
            if host.casefold() in source_names:
                continue  # already judged (more strictly) as a source host
            pairs.append(Pair(host=host, side="target", paths=(imp,)))
    return pairs


def other_form(name: str, path_computer: ComputerAccount | None, directory: DirectoryFacts) -> str | None:
    """The other name form of the path computer: short for an FQDN, FQDN for a short name."""
    if is_fqdn(name):
        return short_name(name)
    if path_computer and path_computer.found and path_computer.dns_host_name:
        return path_computer.dns_host_name
    if directory.domain_dns_name:
        return f"{name}.{directory.domain_dns_name}"
    return None


def has_spn(entries: list[str], service: str, name: str, with_port: bool = False) -> list[str]:
    """Entries naming `service/name`; an entry with a port (`cifs/fs01:445`) is another SPN to the
    KDC, which SMB never asks for, so it counts only when `with_port` asks for exactly those."""
    found = []
    for entry in entries:
        spn = parse_spn(entry)
        if spn is not None and spn.same_target(service, name) and (spn.port is not None) == with_port:
            found.append(entry)
    return found


def missing(entries: list[str], spns: list[str]) -> list[str]:
    """The SPNs not yet in msDS-AllowedToDelegateTo: `Set-ADComputer -Add` refuses a value that is
    already there ("The specified value already exists") and would then add none of them."""
    out = []
    for wanted in spns:
        spn = parse_spn(wanted)
        if spn is None or not has_spn(entries, spn.service_class, spn.host):
            out.append(wanted)
    return out


def judge_pair(ctx: CheckContext, pair: Pair) -> Outcome:
    fields: dict[str, Any] = {"target": pair.target}
    name = pair.target.rstrip(".")  # a trailing-dot FQDN is the same DNS name; SPNs never carry the dot
    subject = pair.host
    soft = pair.side == "target"  # target hosts: warn instead of fail

    def verdict(status: Status, message: str, evidence: dict[str, Any], remediation: Remediation | None = None) -> Outcome:
        if soft and status is Status.FAIL:
            status = Status.WARN
            message += " (target host: needed when the import is run from this host)"
        return Outcome(status=status, subject=subject, message=message, evidence=evidence,
                       remediation=remediation, **fields)

    if any(r.server_is_ip for r in pair.paths):
        return verdict(Status.FAIL, f"the path {pair.paths[0].raw} is addressed by IP address: Kerberos cannot be "
                       "used, so no delegation can work; use the file server's DNS name",
                       {"paths": [r.raw for r in pair.paths]})
    facts, problem = checkkit.directory(ctx, subject, **fields)
    if facts is None:
        assert problem is not None
        return problem
    account = facts.find_computer(subject)
    if account is None:
        return checkkit.directory_missing(facts, subject, f"the computer account of {subject}", **fields)
    if not account.found:
        return checkkit.error(subject, f"no computer account for {subject} (see ad.host-account)", **fields)
    path_computer = facts.find_computer(pair.target) or facts.find_computer(name)
    other = other_form(name, path_computer, facts)
    entries = list(account.allowed_to_delegate_to)
    uac = account.user_account_control or 0
    protocol_transition = bool(uac & checkkit.UAC_TRUSTED_TO_AUTH_FOR_DELEGATION)
    unconstrained = bool(uac & checkkit.UAC_TRUSTED_FOR_DELEGATION)
    cifs_used = has_spn(entries, "cifs", name)
    cifs_other = has_spn(entries, "cifs", other) if other else []
    host_used = has_spn(entries, "host", name)
    rbcd = bool(
        path_computer and path_computer.found and account.object_sid
        and account.object_sid.upper() in {s.upper() for s in path_computer.rbcd_allowed_sids}
    )
    wanted = missing(entries, [f"cifs/{name}"] + ([f"cifs/{other}"] if other else []))
    identity = ad_identity(account.sam_account_name, subject)
    evidence: dict[str, Any] = {
        "host_account": account.distinguished_name,
        **checkkit.uac_evidence(account.user_account_control),
        "protocol_transition": protocol_transition,
        "unconstrained": unconstrained,
        "msDS-AllowedToDelegateTo": entries,
        "name_used_by_path": name,
        "other_name_form": other,
        "resource_based_on_path_computer": rbcd,
        "paths": [r.raw for r in pair.paths],
    }

    if unconstrained:
        return verdict(Status.FAIL, f"{identity} is trusted for unconstrained delegation (TRUSTED_FOR_DELEGATION) in "
                       f"place of constrained delegation to cifs/{name} with any authentication protocol",
                       evidence, replace_unconstrained(identity, wanted, subject))
    if cifs_used or host_used:
        if not protocol_transition:
            return verdict(Status.FAIL, f"{identity} may delegate to {(cifs_used or host_used)[0]} with Kerberos only: "
                           "'Use any authentication protocol' (TRUSTED_TO_AUTH_FOR_DELEGATION) is off",
                           evidence, enable_protocol_transition(identity, subject))
        if not cifs_used:
            return verdict(Status.WARN,
                           f"{identity} may delegate to HOST/{name} only; the walkthrough names cifs/{name} "
                           "(HOST works through sPNMappings, but add cifs to match the documented setup)",
                           evidence, add_delegation(identity, wanted, False, subject))
        admin = [r.raw for r in pair.paths if r.is_admin_share]
        if admin:
            return Outcome(status=Status.WARN, subject=subject, target=pair.target, evidence=evidence,
                           message=f"delegation is right, but {admin[0]} is an administrative share: use a "
                                   "dedicated share with explicit permissions for the VMM service account")
        if other and not cifs_other and not soft:
            return Outcome(status=Status.WARN, subject=subject, target=pair.target, evidence=evidence,
                           message=f"{identity} may delegate to cifs/{name} but not to cifs/{other}: clients that "
                                   "ask for the other name form will fail",
                           remediation=add_delegation(identity, [f"cifs/{other}"], False, subject))
        return Outcome(status=Status.PASS, subject=subject, target=pair.target, evidence=evidence,
                       message=f"{identity} may delegate to {cifs_used[0]} with any authentication protocol")
    if rbcd:
        return verdict(Status.WARN,
                       f"{name} allows {identity} through resource-based constrained delegation "
                       f"(msDS-AllowedToActOnBehalfOfOtherIdentity); the walkthrough's classic setting on "
                       f"{identity} (cifs/{name}, any authentication protocol) is missing",
                       evidence, add_delegation(identity, wanted, not protocol_transition, subject))
    ported = has_spn(entries, "cifs", name, with_port=True)
    if ported:
        message = (f"{identity} may delegate to {ported[0]}, which names a port: SMB asks for cifs/{name} "
                   "without a port, and the KDC compares the whole SPN, so that entry never matches")
    elif cifs_other:
        message = (f"{identity} may delegate to {cifs_other[0]} but the path uses {name}: "
                   f"cifs/{name} is missing (short and FQDN are different names to Kerberos)")
    else:
        message = f"{identity} may not delegate to cifs/{name} (msDS-AllowedToDelegateTo has no entry for it)"
    return verdict(Status.FAIL, message, evidence, add_delegation(identity, wanted, not protocol_transition, subject))

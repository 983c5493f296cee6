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

What counts is exactly the two-part SPN `cifs/<name>` for the name the path uses, compared
case-insensitively: S4U2Proxy checks whether the SPN asked for "is in" the list (MS-SFU 3.2.5.2.1)
and the SMB client asks for `cifs/<name>`. So `cifs/fs01.contoso.com/contoso.com` (a third part, as
ADUC writes for some targets), `cifs/fs01.contoso.com:445` and `HOST/fs01.contoso.com` do not
count: with only those, Samba's KDC refuses S4U2Proxy to `cifs/fs01.contoso.com`, and so does
Windows' (which is why tools that abuse delegation obtain a ticket for the listed service and
rewrite its service name instead of asking for another one). `cifs/fs01` and
`cifs/fs01.contoso.com` are different names; the one the path uses is what counts, the other form
missing is a warning (a client may ask for it). Microsoft's troubleshooting
guide calls HOST "a common service class" for the list; the KDC measurements say otherwise for
S4U2Proxy to cifs, and the walkthrough names cifs.

Across domains: "To use constrained delegation, the front-end and back-end services must belong to
the same domain. If these services are in different domains or different trusted forest, you have
to use resource-based constrained delegation (RBCD) instead" (Microsoft, "Troubleshooting Kerberos
constrained delegation issues", step 1; MS-SFU 3.2.5.2.1 applies the list only when "the KDC is for
the realm of both"). The host's domain is that of its account; the path computer's is, in order:
the machine's own name over WinRM (HostFacts.computer_name, whose suffix is its AD domain), when
host facts were collected for other checks (`--only 'ad.*'` collects none and still opens no WinRM
connection); its computer account in the directory read; the DNS suffix of the name the path uses.
Different domains fail, whatever the classic list holds, with resource-based delegation on the
file server's account, in its own domain, as the fix (Set-ADComputer
-PrincipalsAllowedToDelegateToAccount); resource-based delegation allowing the host, read on the
file server's account in its own domain, passes. This run reads one domain, so that account is
usually not there to read: the message says so, and the verdict is never `pass` meanwhile.

Other rules: unconstrained delegation (TRUSTED_FOR_DELEGATION) in place of the constrained setting
fails; beside a complete constrained setting it is a warning (the KDC issues the ticket, MS-SFU
3.2.5.1.2 and 3.2.5.2.1, measured on Samba's KDC; but any ticket forwarded to the host can be
reused anywhere). A missing computer account is an `error` here (ad.host-account reports it as the
failure); only values not yet present go into the `-Add` of the fix.

tests/integration/test_kdc_oracle.py asks a real KDC (Samba's) for each delegation shape these
rules know and checks that the verdict passes exactly where the KDC issues the ticket.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from offlineprep import checkkit, rbcd
from offlineprep.engine import CheckContext, Need, check
from offlineprep.facts import ComputerAccount, DirectoryFacts
from offlineprep.model import Outcome, Remediation, Status
from offlineprep.names import HostName, PathRef, host_key, is_exact_spn, is_fqdn, parse_spn, short_name
from offlineprep.remediation import (
    ad_identity,
    add_delegation,
    allow_delegation_from,
    enable_protocol_transition,
    replace_unconstrained,
)


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
    export, imp = ctx.inventory.export_path, ctx.inventory.import_path

    def grouped(refs: list[PathRef]) -> dict[str, list[PathRef]]:
        out: dict[str, list[PathRef]] = {}
        for ref in refs:
            out.setdefault(host_key(ref.server), []).append(ref)
        return out

    source_refs = [r for r in (export, imp) if r is not None]
    for host in ctx.inventory.source_hosts:
        for refs in grouped(source_refs).values():
            pairs.append(Pair(host=host, side="source", paths=tuple(refs)))
    source_names = {HostName(h) for h in ctx.inventory.source_hosts}
    if imp is not None:
        for host in ctx.inventory.target_hosts:
            if HostName(host) in source_names:
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


def exact(entries: list[str], service: str, name: str) -> list[str]:
    """The entries that are exactly the two-part SPN `service/name` (see names.is_exact_spn)."""
    return [entry for entry in entries if is_exact_spn(entry, service, name)]


def near_misses(entries: list[str], name: str) -> list[str]:
    """Entries naming `cifs` or `HOST` on this computer in a form S4U2Proxy never matches for SMB: a
    third part (`cifs/fs01.contoso.com/contoso.com`), a port (`cifs/fs01.contoso.com:445`) or a root
    dot. Named in the message, because they look right in ADUC."""
    out = []
    for entry in entries:
        spn = parse_spn(entry)
        if (spn is not None and spn.service_class.casefold() in {"cifs", "host"} and spn.same_target(
                spn.service_class, name) and not is_exact_spn(entry, spn.service_class, name)):
            out.append(entry)
    return out


def missing(entries: list[str], spns: list[str]) -> list[str]:
    """The SPNs not yet in msDS-AllowedToDelegateTo: `Set-ADComputer -Add` refuses a value that is
    already there ("The specified value already exists") and would then add none of them."""
    return [wanted for wanted in spns if not any(entry.casefold() == wanted.casefold() for entry in entries)]


def resource_based_allows(path_computer: ComputerAccount | None, account: ComputerAccount) -> bool:
    """Whether the path computer's msDS-AllowedToActOnBehalfOfOtherIdentity lets the host's account
    delegate to it: the KDC's access check (offlineprep.rbcd) against the host's SID and its groups,
    read in the host's own domain; a group allowed lets its members through. A facts file without
    the descriptor's SDDL (written before it was read) has only the SIDs it allows."""
    if path_computer is None or not path_computer.found or not account.object_sid:
        return False
    if path_computer.rbcd_sddl:
        return rbcd.allows(path_computer.rbcd_sddl, account.object_sid, account.group_sids or [])
    return account.object_sid.upper() in {s.upper() for s in path_computer.rbcd_allowed_sids}


def judge_pair(ctx: CheckContext, pair: Pair) -> Outcome:
    fields: dict[str, Any] = {"target": pair.target}
    name = HostName(pair.target).bare  # a trailing-dot FQDN is the same DNS name; SPNs never carry the dot
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
    cifs_used = exact(entries, "cifs", name)
    cifs_other = exact(entries, "cifs", other) if other else []
    host_used = exact(entries, "host", name)
    near = near_misses(entries, name)
    resource_based = resource_based_allows(path_computer, account)
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
        "entries_that_do_not_match": near + host_used,
        "resource_based_on_path_computer": resource_based,
        "resource_based_descriptor": path_computer.rbcd_sddl if path_computer else None,
        "host_groups": account.group_sids,
        "paths": [r.raw for r in pair.paths],
    }
    host_domain = checkkit.dn_domain(account.distinguished_name) or checkkit.dn_domain(facts.base_dn)
    where = checkkit.path_computer_domain(ctx, facts, name)
    evidence.update({"host_domain": host_domain, "path_computer_domain": where.domain,
                     "path_computer_domain_from": where.source, "serving_machine": where.serving_machine})
    if checkkit.other_domain(host_domain, where.domain):
        assert host_domain is not None and where.domain is not None
        # the path computer's own account, read in its own domain (a facts file of several domains):
        # only then can its resource-based delegation be seen
        read_there = bool(path_computer and path_computer.found
                          and checkkit.dn_domain(path_computer.distinguished_name) == where.domain)
        if read_there and resource_based:
            return Outcome(status=Status.PASS, subject=subject, target=pair.target, evidence=evidence,
                           message=f"{name} ({where.domain}) allows {identity} ({host_domain}) through resource-based "
                                   "constrained delegation, which crosses domains")
        listed = f" (msDS-AllowedToDelegateTo lists {cifs_used[0]})" if cifs_used else ""
        unseen = "" if read_there else (f"; accounts of {where.domain} were not read in this run, so resource-based "
                                        "delegation already set there cannot be seen")
        server_account = short_name(where.serving_machine or name)[:15].upper()
        return verdict(Status.FAIL,
                       f"{identity} is in {host_domain} and {name} is in {where.domain} ({where.source}): classic "
                       f"constrained delegation{listed} does not cross domains, so the file server's account must "
                       f"allow {identity} by resource-based constrained delegation{unseen}",
                       evidence, allow_delegation_from(
                           server_account, [identity], [subject], computer_domain=where.domain,
                           before=list(path_computer.rbcd_allowed_sids) if read_there and path_computer else None))

    if unconstrained and not (cifs_used and protocol_transition):
        return verdict(Status.FAIL, f"{identity} is trusted for unconstrained delegation (TRUSTED_FOR_DELEGATION) in "
                       f"place of constrained delegation to cifs/{name} with any authentication protocol",
                       evidence, replace_unconstrained(identity, wanted, subject, before=entries, uac=uac))
    if cifs_used and (protocol_transition or not resource_based):
        if not protocol_transition:
            return verdict(Status.FAIL, f"{identity} may delegate to {cifs_used[0]} with Kerberos only: "
                           "'Use any authentication protocol' (TRUSTED_TO_AUTH_FOR_DELEGATION) is off",
                           evidence, enable_protocol_transition(identity, subject, uac=uac))
        if unconstrained:
            # S4U2Proxy works (the KDC checks the list; MS-SFU 3.2.5.2.1; measured on Samba's KDC), but
            # every Kerberos ticket forwarded to this host can be reused anywhere: turn it off
            return verdict(Status.WARN, f"{identity} may delegate to {cifs_used[0]} with any authentication "
                           "protocol, but it is also trusted for unconstrained delegation (TRUSTED_FOR_DELEGATION), "
                           "which the walkthrough does not ask for: turn it off",
                           evidence, replace_unconstrained(identity, wanted, subject, before=entries,
                                                           uac=uac))
        admin = [r.raw for r in pair.paths if r.is_admin_share]
        if admin:
            return Outcome(status=Status.WARN, subject=subject, target=pair.target, evidence=evidence,
                           message=f"delegation is right, but {admin[0]} is an administrative share: use a "
                                   "dedicated share with explicit permissions for the VMM service account")
        if other and not cifs_other and not soft:
            return Outcome(status=Status.WARN, subject=subject, target=pair.target, evidence=evidence,
                           message=f"{identity} may delegate to cifs/{name} but not to cifs/{other}: clients that "
                                   "ask for the other name form will fail",
                           remediation=add_delegation(identity, [f"cifs/{other}"], False, subject, before=entries))
        return Outcome(status=Status.PASS, subject=subject, target=pair.target, evidence=evidence,
                       message=f"{identity} may delegate to {cifs_used[0]} with any authentication protocol")
    if resource_based:
        return verdict(Status.WARN,
                       f"{name} allows {identity} through resource-based constrained delegation "
                       f"(msDS-AllowedToActOnBehalfOfOtherIdentity); the walkthrough's classic setting on "
                       f"{identity} (cifs/{name}, any authentication protocol) is missing",
                       evidence, add_delegation(identity, wanted, not protocol_transition, subject,
                                                before=entries, uac=uac))
    if host_used:
        message = (f"{identity} may delegate to {host_used[0]} only: S4U2Proxy to cifs/{name}, the SPN the SMB "
                   "client asks for, is refused (the KDC compares the SPN with the list; the HOST alias of "
                   f"sPNMappings does not apply there), so cifs/{name} is needed")
    elif near:
        message = (f"{identity} may delegate to {near[0]}, which is not the SPN the SMB client asks for: S4U2Proxy "
                   f"matches exactly cifs/{name} (no third part, no port), so that entry never matches")
    elif cifs_other:
        message = (f"{identity} may delegate to {cifs_other[0]} but the path uses {name}: "
                   f"cifs/{name} is missing (short and FQDN are different names to Kerberos)")
    else:
        message = f"{identity} may not delegate to cifs/{name} (msDS-AllowedToDelegateTo has no entry for it)"
    if not protocol_transition:
        message += "; 'Use any authentication protocol' (TRUSTED_TO_AUTH_FOR_DELEGATION) is off too"
    return verdict(Status.FAIL, message, evidence, add_delegation(identity, wanted, not protocol_transition, subject,
                                                                  before=entries, uac=uac))

"""path.server-role: no export or import path lives on a domain controller (or on the VMM server).

The walkthrough has every source host trusted to delegate to the `cifs` service of the computers
holding the paths, with "use any authentication protocol" (protocol transition). On a domain
controller that trust reaches far beyond the share: with protocol transition a host can obtain a
ticket to the DC's `cifs` service for any account that is not "sensitive and cannot be delegated"
(S4U2Self then S4U2Proxy, [MS-SFU]; Microsoft's "Kerberos constrained delegation overview"), Domain
Admins included, and the DC's shares (SYSVOL, NETLOGON, C$) are the domain. A compromised Hyper-V
host would be a compromised domain. A DC also has no local groups of its own (its Administrators
group is the domain's Builtin\\Administrators), so the share permissions the walkthrough asks for
become domain-wide grants.

A DC is recognised by Win32_ComputerSystem.DomainRole 4 or 5 (backup or primary domain
controller), read over WinRM, or by SERVER_TRUST_ACCOUNT (0x2000) in its computer account's
userAccountControl when the directory was read.

The VMM server: the walkthrough's library server is typically the VMM server, and a share there
is served by the very machine whose service account is being delegated: every Hyper-V host is then
trusted to act, with protocol transition, on the VMM server's cifs service, the machine that manages
every host. That is a warning (the export and import work; the exposure is the VMM server's). The
VMM server is the site file's `[vmm] server`; a path computer is it by name or by the name the
machine gives itself over WinRM. Without `[vmm]` the site file names no VMM server, that part is not
judged, and every message says so.

A path in a DFS namespace skips: its folders live on the folder targets' servers (the namespace
server of a domain-based namespace is a DC by design), and the other path checks already ask for the
folder target's own path.

Fix: a manual step, move the share to a member server and change the path (docs/fixes.md).
"""

from __future__ import annotations

from collections.abc import Iterator

from offlineprep import checkkit
from offlineprep.actions.types import file_server
from offlineprep.engine import CheckContext, Need, check
from offlineprep.model import Outcome, Status
from offlineprep.names import HostName, domain_key
from offlineprep.remediation import manual, remediation

DC_ROLES = {4: "backup domain controller", 5: "primary domain controller"}
VMM_NOT_JUDGED = "whether it is the VMM server is not judged: the site file names no VMM server"


def vmm_server_part(ctx: CheckContext) -> tuple[str | None, str]:
    """The VMM server the site names (None: none), and the clause every message ends with."""
    vmm = ctx.site.vmm.server if ctx.site.vmm is not None else None
    if vmm is None:
        return None, VMM_NOT_JUDGED
    return vmm, f"it is not the VMM server {vmm}"


def is_vmm_server(ctx: CheckContext, computer: str, vmm: str) -> bool:
    served = checkkit.serving_machine(ctx, computer)
    return any(HostName(name).same_machine(vmm) for name in [computer, *([served] if served else [])])


@check(
    "path.server-role",
    title="No export or import path is on a domain controller",
    severity="high",
    needs=[Need.PATH_COMPUTERS],
    walkthrough_step="Prepare for offline initial replication: constrained delegation to the cifs service of the path computers",
    why=(
        "Every source host gets constrained delegation with protocol transition to the cifs service of the computer "
        "holding a path. On a domain controller that lets a compromised host act as any non-sensitive account, "
        "Domain Admins included, on the DC's own shares, which hold the domain's policies and scripts. Keep the "
        "export and import shares on member servers."
    ),
    docs={
        "Kerberos constrained delegation overview":
            "https://learn.microsoft.com/windows-server/security/kerberos/kerberos-constrained-delegation-overview",
        "Win32_ComputerSystem (DomainRole)":
            "https://learn.microsoft.com/windows/win32/cimwin32prov/win32-computersystem",
    },
)
def server_role(ctx: CheckContext) -> Iterator[Outcome]:
    for computer in ctx.inventory.path_computers:
        namespace = _namespace(ctx, computer)
        if namespace:
            yield checkkit.skip(computer, f"{computer} serves the DFS namespace {namespace}: the folders live on its "
                                          "folder targets' servers, which are the path computers to judge (write the "
                                          "folder target's own path)")
            continue
        yield judge(ctx, computer)


def _namespace(ctx: CheckContext, computer: str) -> str | None:
    """The DFS namespace a path on `computer` is in: as the server said (PathFacts.dfs), or the
    domain's own name (a domain-based namespace, \\\\contoso.com\\ns)."""
    directory = ctx.directory
    if directory is not None and domain_key(computer) in {  # the name of a domain read (any, with several)
            domain_key(n) for dns, netbios in directory.all_domains().items() for n in (dns, netbios) if n}:
        return f"\\\\{computer}"
    facts = ctx.facts.find_host(computer) if ctx.facts.hosts is not None else None
    for path in facts.paths if facts is not None else []:
        if path.dfs is not None:
            return path.dfs.namespace
    return None


def judge(ctx: CheckContext, computer: str) -> Outcome:
    facts = ctx.facts.find_host(computer) if ctx.facts.hosts is not None else None
    role = facts.domain_role if facts is not None and facts.reachable else None
    account = ctx.directory.find_computer(computer) if ctx.directory is not None else None
    uac = account.user_account_control if account is not None and account.found else None
    vmm, vmm_clause = vmm_server_part(ctx)
    evidence: dict[str, object] = {"domain_role": role, "userAccountControl": uac,
                                   "userAccountControl_flags": checkkit.uac_flags(uac), "vmm_server": vmm}
    reasons = []
    if role in DC_ROLES:
        reasons.append(f"it reports itself as a {DC_ROLES[role]} (Win32_ComputerSystem.DomainRole {role})")
    if uac is not None and uac & checkkit.UAC_SERVER_TRUST_ACCOUNT:
        reasons.append("its computer account is a domain controller's (SERVER_TRUST_ACCOUNT)")
    if reasons:
        paths = [r.raw for r in ctx.inventory.path_refs if HostName(r.server) == computer]
        return Outcome(
            status=Status.FAIL, subject=computer, evidence=evidence,
            message=f"{computer} is a domain controller: " + "; ".join(reasons) + ". Delegation with protocol "
                    "transition to its cifs service lets a host act as any non-sensitive account on the domain "
                    "controller's shares" + (f" ({VMM_NOT_JUDGED})" if vmm is None else ""),
            remediation=remediation(f"Move {', '.join(paths)} off the domain controller {computer}", [manual(
                f"Create the share ({', '.join(paths)}) on a member server, grant it the same permissions, change the "
                "path in the site file and VMM, and remove the delegation to the domain controller's cifs service",
                file_server(computer))]))
    if role is None and uac is None:
        if facts is None:
            cause = checkkit.missing_cause(ctx, computer, computer)
            return checkkit.error(computer, f"neither {computer}'s role nor its computer account was read: {cause.text}",
                                  cause=cause, evidence=evidence)
        _, problem = checkkit.host(ctx, computer, computer, evidence=evidence)
        if problem is not None:
            return problem
        return checkkit.error(computer, f"{computer} did not report its domain role{facts.why_missing('identity')}, "
                              "and its computer account was not read", evidence=evidence)
    source = f"DomainRole {role}" if role is not None else "its computer account"
    if vmm is not None and is_vmm_server(ctx, computer, vmm):
        paths = [r.raw for r in ctx.inventory.path_refs if HostName(r.server) == computer]
        return Outcome(
            status=Status.WARN, subject=computer, evidence=evidence,
            message=f"{computer} is the VMM server {vmm} ([vmm] server): every Hyper-V host is trusted to delegate, "
                    "with any authentication protocol, to the cifs service of the machine that manages them all; "
                    "a share on a file server keeps that trust off the VMM server",
            remediation=remediation(f"Move {', '.join(paths)} off the VMM server {computer}", [manual(
                f"Create the share ({', '.join(paths)}) on a file server, grant it the same permissions, change the "
                "path in the site file and VMM, and remove the hosts' delegation to the VMM server's cifs service",
                file_server(computer))]))
    return Outcome(status=Status.PASS, subject=computer, evidence=evidence,
                   message=f"{computer} is not a domain controller ({source}); {vmm_clause}")

"""path.host-accounts: each host's own computer account can read and write on the path it uses.

Plain Hyper-V Replica (`manager = "hyperv-replica"`): the administrator runs the export and the
import (Export-VMInitialReplication, Import-VMInitialReplication), and the Virtual Machine
Management service does the work as the host's Local System account, which "presents the computer's
credentials to remote servers" (Microsoft, "LocalSystem Account"): on the file server it is the
host's computer account, `DOMAIN\\HOST$`. So each source host's account needs read and write on the
export path, each target host's on the import path, through both layers: over SMB what it gets is
share ∩ NTFS (FILE_GENERIC_READ | FILE_GENERIC_WRITE, as path.runas-read-write asks of a Run As
account). The token is the computer account's network token on the file server, built as Windows
builds it (offlineprep.tokens: its SID, its tokenGroups, with Domain Computers, Everyone,
Authenticated Users, NETWORK, and the server's local groups holding any of them); the directory
collector reads each host's account as a principal when the manager is hyperv-replica.

Under Site Recovery (`manager = "asr"`) this is not a prerequisite to check: while it configures the
cloud, the VMM service writes the ACEs for each host's computer account onto the paths itself (it
fails with error 31218, "The VMM service couldn't provide permissions for domain\\host1$", when it
cannot), which is why path.ntfs-full-control and path.share-full-control ask Full Control for the
VMM service account. Each path skips, saying so.

The fix grants what is short, layer by layer: NTFS read and write (icacls) and share Change
(Grant-SmbShareAccess) to the computer account, by SID.
"""

from __future__ import annotations

from collections.abc import Iterator

from offlineprep import checkkit
from offlineprep.acl import READ_WRITE, format_mask
from offlineprep.actions import ActionBase
from offlineprep.engine import CheckContext, Need, check
from offlineprep.facts import DirectoryFacts, Principal
from offlineprep.inventory import Role
from offlineprep.model import Outcome, Status
from offlineprep.names import HostName, PathRef
from offlineprep.remediation import ntfs_grant, remediation, share_grant


@check(
    "path.host-accounts",
    title="Each Hyper-V host's computer account can read and write on its path",
    severity="high",
    needs=[Need.DIRECTORY, Need.PATH_COMPUTERS],
    walkthrough_step="Plain Hyper-V Replica: the export and import run as each host's own System account",
    why=(
        "With plain Hyper-V Replica the export and the import are done by the Hyper-V host's management service, "
        "which runs as Local System and reaches the file server as the host's computer account (DOMAIN\\HOST$). "
        "If that account cannot read and write through both the share and the folder permissions, the export or "
        "import fails with access denied. Under Site Recovery, VMM grants these permissions itself."
    ),
    docs={
        "LocalSystem account: the service presents the computer's credentials to remote servers":
            "https://learn.microsoft.com/windows/win32/services/localsystem-account",
        "Export-VMInitialReplication":
            "https://learn.microsoft.com/powershell/module/hyper-v/export-vminitialreplication",
        "Import-VMInitialReplication":
            "https://learn.microsoft.com/powershell/module/hyper-v/import-vminitialreplication",
        "Error 31218: VMM sets the hosts' permissions on the path itself (Microsoft Docs issue)":
            "https://github.com/MicrosoftDocs/azure-docs/issues/6131",
    },
)
def host_accounts(ctx: CheckContext) -> Iterator[Outcome]:
    for role, ref in (("export", ctx.inventory.export_path), ("import", ctx.inventory.import_path)):
        if ref is None:
            continue
        if ctx.site.manager != "hyperv-replica":
            yield checkkit.skip(ref.raw, "under Site Recovery the VMM service grants each host's computer account "
                                "access to the path itself while it configures the cloud (path.ntfs-full-control and "
                                "path.share-full-control judge its right to)")
            continue
        side = Role.SOURCE if role == "export" else Role.TARGET
        hosts = [h.name for h in ctx.inventory.hosts if side in h.roles]
        if not hosts:
            yield checkkit.skip(ref.raw, f"no {side.value} host uses the {role} path")
        for host in hosts:
            yield judge(ctx, ref, host)


def host_principal(view: DirectoryFacts, host: str) -> tuple[Principal | None, str]:
    """The host's computer account as a principal (read with its tokenGroups), found by the SID of
    the computer account matched to `host`; and the account as offlineprep writes it (DOMAIN\\HOST$,
    DOMAIN the NetBIOS name of the domain that read it, when known)."""
    computer = view.find_computer(host)
    sid = computer.object_sid if computer is not None and computer.found else None
    principal = next((p for p in view.principals.values() if sid and p.found and p.object_sid == sid), None)
    domain = view.domain_of_read(principal.query if principal is not None else host)
    netbios = view.all_domains().get(domain or "") if domain else None
    return principal, HostName(host).logon_name(netbios or domain)


def judge(ctx: CheckContext, ref: PathRef, host: str) -> Outcome:
    facts, problem = checkkit.directory(ctx, ref.raw, account=host)
    if facts is None:
        assert problem is not None
        return problem
    principal, account = host_principal(facts, host)
    if principal is None:
        computer = facts.find_computer(host)
        if computer is None or not computer.found:
            return checkkit.error(ref.raw, f"the computer account of {host} was not found in the directory, so its "
                                  "access cannot be computed (see ad.host-account)", account=account)
        return checkkit.error(ref.raw, f"the groups of {account} were not read from the directory (a facts file "
                              "collected with manager = \"asr\"?): collect again", account=account)
    found = checkkit.access_context(ctx, ref, principal.query)
    if isinstance(found, Outcome):
        return found.model_copy(update={"account": account})
    if not principal.groups_known():
        return checkkit.error(ref.raw, f"the domain controller did not return tokenGroups for {account}, so its "
                              "token on the file server (Domain Computers and its other groups) is unknown",
                              account=account)
    access = checkkit.path_access(ref, found, account)
    if isinstance(access, Outcome):
        return access
    token, ntfs, share, granted = found.token, access.ntfs, access.share, access.granted
    evidence: dict[str, object] = {"host": host, "token": token.as_evidence(), "ntfs": ntfs.as_evidence(),
                                   "effective": format_mask(granted)}
    if share is not None:
        evidence["share"] = share.as_evidence()
    described = ctx.inventory.describe(host)
    if granted & READ_WRITE == READ_WRITE:
        return Outcome(status=Status.PASS, subject=ref.raw, account=account, evidence=evidence,
                       message=f"{account}, the computer account of {described}, can read and write on {ref.raw} "
                               f"({format_mask(granted)})")
    ntfs_short = READ_WRITE & ~ntfs.granted
    share_short = READ_WRITE & ~share.granted if share is not None else 0
    sid, domain_sid = principal.object_sid, found.domain_sid
    actions: list[ActionBase] = []
    if ntfs_short:
        local = found.path.local_path or ref.local_path or ref.raw
        actions.append(ntfs_grant(ref.server, local, account, READ_WRITE, "read and write", account_sid=sid,
                                  before_sddl=found.path.ntfs_sddl, domain_sid=domain_sid))
    if share_short:
        actions.append(share_grant(ref.server, ref.share or "", account, "Change", account_sid=sid,
                                   before_sddl=found.path.share.sddl if found.path.share else None,
                                   domain_sid=domain_sid))
    layers = " and ".join((["NTFS"] if ntfs_short else []) + (["the share"] if share_short else []))
    granted_where = (["read and write (NTFS)"] if ntfs_short else []) + (["Change on the share"] if share_short else [])
    return Outcome(
        status=Status.FAIL, subject=ref.raw, account=account, evidence=evidence,
        message=f"{account}, the computer account of {described}, gets {format_mask(granted)} on {ref.raw}; the "
                f"{'export' if ref.role == 'export' else 'import'} runs as the host's System account and needs read "
                f"and write ({layers} lacks {format_mask(READ_WRITE & ~granted)})",
        remediation=remediation(f"Grant {account} {' and '.join(granted_where)} on {ref.raw}", actions),
    )

"""path.runas-read-write: every Run As account can read and write files on each path.

Walkthrough: "If you're using any Run As accounts to add hosts, on the import and export paths,
assign read and write permissions to the Run As accounts in VMM." Over a share the effective right
is share ∩ NTFS; generic read and generic write of files = FILE_GENERIC_READ | FILE_GENERIC_WRITE.
When both layers fall short, the fix grants both (NTFS read/write and share Change).
"""

from __future__ import annotations

from collections.abc import Iterator

from offlineprep import checkkit
from offlineprep.acl import READ_WRITE, format_mask
from offlineprep.actions import ActionBase
from offlineprep.engine import CheckContext, Need, check
from offlineprep.model import Outcome, Status
from offlineprep.names import PathRef
from offlineprep.remediation import ntfs_grant, remediation, share_grant


@check(
    "path.runas-read-write",
    title="Run As accounts can read and write on the paths",
    severity="high",
    needs=[Need.DIRECTORY, Need.PATH_COMPUTERS],
    walkthrough_step="Prepare for offline initial replication: read and write for the Run As accounts",
    why=(
        "VMM uses the Run As accounts that added the hosts to reach the export and import paths. Over a "
        "share, what an account can do is what both the share and the folder permissions allow; if either "
        "lacks read or write, the export or import fails with access denied."
    ),
    docs={
        "Set up disaster recovery for Hyper-V VMs to a secondary on-premises site: replication policy":
            "https://learn.microsoft.com/azure/site-recovery/hyper-v-vmm-disaster-recovery#set-up-a-replication-policy",
        "icacls":
            "https://learn.microsoft.com/windows-server/administration/windows-commands/icacls",
        "Grant-SmbShareAccess":
            "https://learn.microsoft.com/powershell/module/smbshare/grant-smbshareaccess",
    },
)
def runas_read_write(ctx: CheckContext) -> Iterator[Outcome]:
    if not ctx.inventory.run_as_accounts:
        for ref in ctx.inventory.path_refs:
            yield checkkit.skip(ref.raw, "no Run As accounts are configured ([accounts] run_as)")
        return
    for ref in ctx.inventory.path_refs:
        for account in ctx.inventory.run_as_accounts:
            yield judge(ctx, ref, account)


def judge(ctx: CheckContext, ref: PathRef, account: str) -> Outcome:
    found = checkkit.access_context(ctx, ref, account)
    if isinstance(found, Outcome):
        return found
    access = checkkit.path_access(ref, found, account)
    if isinstance(access, Outcome):
        return access
    token, ntfs, share, granted = found.token, access.ntfs, access.share, access.granted
    evidence: dict[str, object] = {"token": token.as_evidence(), "ntfs": ntfs.as_evidence(),
                                   "effective": format_mask(granted)}
    if share is not None:
        evidence["share"] = share.as_evidence()
    if granted & READ_WRITE == READ_WRITE:
        return Outcome(status=Status.PASS, subject=ref.raw, account=account, evidence=evidence,
                       message=f"{account} can read and write on {ref.raw} ({format_mask(granted)})")
    ntfs_short = READ_WRITE & ~ntfs.granted
    share_short = READ_WRITE & ~share.granted if share is not None else 0
    layer = "NTFS" if ntfs_short else "the share"
    sid, domain_sid = found.principal.object_sid, found.domain_sid
    actions: list[ActionBase] = []
    if ntfs_short:
        local = found.path.local_path or ref.local_path or ref.raw
        actions.append(ntfs_grant(ref.server, local, account, READ_WRITE, "read and write", account_sid=sid,
                                  before_sddl=found.path.ntfs_sddl, domain_sid=domain_sid))
    if share_short:  # both layers short: one fix alone would leave the finding failing
        layer = "NTFS and the share" if ntfs_short else layer
        actions.append(share_grant(ref.server, ref.share or "", account, "Change", account_sid=sid,
                                   before_sddl=found.path.share.sddl if found.path.share else None,
                                   domain_sid=domain_sid, scope=found.path.share.scope if found.path.share else None))
    granted_where = (["read and write (NTFS)"] if ntfs_short else []) + (["Change on the share"] if share_short else [])
    fix = remediation(f"Grant {account} {' and '.join(granted_where)} on {ref.raw}", actions)
    return Outcome(
        status=Status.FAIL, subject=ref.raw, account=account, evidence=evidence,
        message=f"{account} gets {format_mask(granted)} on {ref.raw}; read and write are needed "
                f"({layer} lacks {format_mask(READ_WRITE & ~(ntfs.granted if ntfs_short else granted))})",
        remediation=fix,
    )

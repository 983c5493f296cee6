"""path.ntfs-full-control: the VMM service account has NTFS Full Control on each path.

Walkthrough: "Assign Full Control for NTFS and Share permissions to the VMM service on the export
path … the same permissions on the import path". Full Control, not Modify: while configuring the
cloud, VMM writes ACEs for each host's computer account onto the path, which needs WRITE_DAC;
without it ASR reports error 31218 "Permissions couldn't be set for one or more hosts".

Effective access is computed as Windows does it for the account's network token on the server
(its SID, tokenGroups, Everyone, Authenticated Users, NETWORK, and the server's local groups that
contain any of them), over the folder's DACL (MS-DTYP access check).

When an explicit deny ACE of the account's token takes a needed right away, granting Full Control
alone would not help (an explicit deny comes first in canonical order): the message names the
ACE and the fix says to remove or narrow it first. An inherited deny is beaten by the explicit
allow the fix adds, so it needs nothing more.
"""

from __future__ import annotations

from collections.abc import Iterator

from offlineprep import checkkit
from offlineprep.acl import FULL_CONTROL, SddlError, explain_access, format_mask, parse_sddl
from offlineprep.actions.types import file_server
from offlineprep.engine import CheckContext, Need, check
from offlineprep.model import Outcome, Status
from offlineprep.names import PathRef
from offlineprep.remediation import manual, ntfs_grant, remediation


@check(
    "path.ntfs-full-control",
    title="VMM service account has NTFS Full Control on the paths",
    severity="high",
    needs=[Need.DIRECTORY, Need.PATH_COMPUTERS],
    walkthrough_step="Prepare for offline initial replication: Full Control for NTFS to the VMM service",
    why=(
        "While it configures the clouds, the VMM service writes permissions for each host's computer "
        "account onto the export and import folders. That needs NTFS Full Control (Modify lacks 'change "
        "permissions'); without it Site Recovery reports error 31218, 'Permissions couldn't be set for "
        "one or more hosts'."
    ),
    docs={
        "Set up disaster recovery for Hyper-V VMs to a secondary on-premises site: replication policy":
            "https://learn.microsoft.com/azure/site-recovery/hyper-v-vmm-disaster-recovery#set-up-a-replication-policy",
        "icacls":
            "https://learn.microsoft.com/windows-server/administration/windows-commands/icacls",
        "Error 31218: permissions couldn't be set on the initial replication path (Microsoft Docs issue)":
            "https://github.com/MicrosoftDocs/azure-docs/issues/6131",
    },
)
def ntfs_full_control(ctx: CheckContext) -> Iterator[Outcome]:
    account = checkkit.vmm_service_account(ctx)
    for ref in ctx.inventory.path_refs:
        yield judge(ctx, ref, account)


def judge(ctx: CheckContext, ref: PathRef, account: str) -> Outcome:
    found = checkkit.access_context(ctx, ref, account)
    if isinstance(found, Outcome):
        return found
    if not found.path.ntfs_sddl:
        return checkkit.error(ref.raw, f"{ref.server} returned no NTFS security descriptor for {ref.raw}",
                              account=account)
    token = found.token
    try:
        explanation = explain_access(found.path.ntfs_sddl, token.sids, found.domain_sid)
    except SddlError as exc:
        return checkkit.error(ref.raw, f"the NTFS security descriptor of {ref.raw} cannot be parsed: {exc}",
                              account=account, evidence={"sddl": found.path.ntfs_sddl})
    evidence = {"sddl": found.path.ntfs_sddl, "local_path": found.path.local_path, "token": token.as_evidence(),
                **explanation.as_evidence()}
    if explanation.granted & FULL_CONTROL == FULL_CONTROL:
        return Outcome(status=Status.PASS, subject=ref.raw, account=account, evidence=evidence,
                       message=f"{account} has Full Control (NTFS) on {ref.raw}")
    missing = FULL_CONTROL & ~explanation.granted
    local = found.path.local_path or ref.local_path or ref.raw
    grant = ntfs_grant(ref.server, local, account, FULL_CONTROL, "Full Control", account_sid=found.principal.object_sid,
                       before_sddl=found.path.ntfs_sddl, domain_sid=found.domain_sid)
    blocking = explicit_denies(found.path.ntfs_sddl, token.sids, found.domain_sid, missing)
    # icacls /grant adds an explicit allow, which an explicit deny still beats: say so first, in order
    notes = [manual(f"On {ref.server}, first remove or narrow the explicit deny {ace} on {local}: it wins over any "
                    "allow (icacls <folder> /remove:d <that trustee>)", file_server(ref.server)) for ace in blocking]
    fix = remediation(f"Grant {account} Full Control (NTFS) on {local} on {ref.server}", [*notes, grant])
    return Outcome(
        status=Status.FAIL, subject=ref.raw, account=account, evidence=evidence,
        message=f"{account} has {format_mask(explanation.granted)} on {ref.raw} (NTFS); Full Control needs "
                f"also {format_mask(missing)}" + (f"; denied by {'; '.join(blocking)}" if blocking else ""),
        remediation=fix,
    )


def explicit_denies(sddl: str, sids: tuple[str, ...], domain_sid: str | None, missing: int) -> list[str]:
    """Explicit (not inherited) deny ACEs of the token that take away a missing right."""
    token = {s.upper() for s in sids}
    return [ace.describe() for ace in parse_sddl(sddl, domain_sid).dacl or ()
            if ace.is_deny and "ID" not in ace.flags and not ace.inherit_only
            and ace.sid.upper() in token and ace.file_mask & missing]

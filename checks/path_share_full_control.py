"""path.share-full-control: the VMM service account has Full Control through each share.

Walkthrough: "Assign Full Control for NTFS and Share permissions to the VMM service". Over SMB,
Windows grants the intersection of share and NTFS permissions; share "Change" lacks "change
permissions" (WRITE_DAC), so VMM could not write the hosts' ACEs (ASR error 31218). Local paths
have no share: skip.
"""

from __future__ import annotations

from collections.abc import Iterator

from offlineprep import checkkit
from offlineprep.acl import SHARE_FULL, SddlError, explain_access, format_mask
from offlineprep.engine import CheckContext, Need, check
from offlineprep.model import Outcome, Status
from offlineprep.names import PathRef
from offlineprep.remediation import grant_share


@check(
    "path.share-full-control",
    title="VMM service account has share Full Control on the paths",
    severity="high",
    needs=[Need.DIRECTORY, Need.PATH_COMPUTERS],
    walkthrough_step="Prepare for offline initial replication: Full Control share permissions to the VMM service",
    why=(
        "Over a share, Windows grants what both the share and the folder permissions allow. A share "
        "permission of Change lacks 'change permissions', so the VMM service cannot write the hosts' "
        "permissions onto the path and Site Recovery reports error 31218."
    ),
    docs={
        "Set up disaster recovery for Hyper-V VMs to a secondary on-premises site: replication policy":
            "https://learn.microsoft.com/azure/site-recovery/hyper-v-vmm-disaster-recovery#set-up-a-replication-policy",
        "Grant-SmbShareAccess":
            "https://learn.microsoft.com/powershell/module/smbshare/grant-smbshareaccess",
        "Error 31218: permissions couldn't be set on the initial replication path (Microsoft Docs issue)":
            "https://github.com/MicrosoftDocs/azure-docs/issues/6131",
    },
)
def share_full_control(ctx: CheckContext) -> Iterator[Outcome]:
    account = ctx.site.accounts.vmm_service
    for ref in ctx.site.paths:
        if not ref.is_unc:
            yield checkkit.skip(ref.raw, f"{ref.raw} is a local path on {ref.server}: no share permissions apply",
                                account=account)
            continue
        yield judge(ctx, ref, account)


def judge(ctx: CheckContext, ref: PathRef, account: str) -> Outcome:
    found = checkkit.access_context(ctx, ref, account)
    if isinstance(found, Outcome):
        return found
    share = found.path.share
    if share is None or not share.sddl:
        return checkkit.error(ref.raw, f"{ref.server} returned no share security descriptor for {ref.share} "
                              "(see path.exists)", account=account)
    token = found.token
    try:
        explanation = explain_access(share.sddl, token.sids, found.domain_sid)
    except SddlError as exc:
        return checkkit.error(ref.raw, f"the share security descriptor of {ref.share} cannot be parsed: {exc}",
                              account=account, evidence={"sddl": share.sddl})
    evidence = {"share": share.name, "sddl": share.sddl, "token": token.as_evidence(), **explanation.as_evidence()}
    if explanation.granted & SHARE_FULL == SHARE_FULL:
        return Outcome(status=Status.PASS, subject=ref.raw, account=account, evidence=evidence,
                       message=f"{account} has Full Control on share {share.name}")
    return Outcome(
        status=Status.FAIL, subject=ref.raw, account=account, evidence=evidence,
        message=f"{account} has {format_mask(explanation.granted)} on share {share.name}; Full Control is needed "
                "(Change lacks 'change permissions', which VMM needs to set the hosts' ACEs)",
        remediation=grant_share(ref.server, share.name, account, "Full"),
    )

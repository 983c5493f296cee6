"""path.share-full-control: the VMM service account has Full Control through each share.

Walkthrough: "Assign Full Control for NTFS and Share permissions to the VMM service". Over SMB,
Windows grants the intersection of share and NTFS permissions; share "Change" lacks "change
permissions" (WRITE_DAC), so VMM could not write the hosts' ACEs (ASR error 31218). Local paths
have no share: skip.
"""

from __future__ import annotations

from collections.abc import Iterator

from offlineprep import checkkit
from offlineprep.acl import SHARE_CHANGE, SHARE_FULL, SHARE_READ, WRITE_DAC, SddlError, explain_access
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
    account = checkkit.vmm_service_account(ctx)
    for ref in ctx.inventory.path_refs:
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
    fix = grant_share(ref.server, share.name, account, "Full", account_sid=found.principal.object_sid,
                      before_sddl=share.sddl, domain_sid=found.domain_sid, scope=share.scope)
    return Outcome(
        status=Status.FAIL, subject=ref.raw, account=account, evidence=evidence,
        message=f"{account} has {share_rights(explanation.granted)} on share {share.name}; Full Control is needed "
                f"({why_not_full(explanation.granted)})",
        remediation=fix,
    )


# the rights of a share mask one by one, in the words of the share permission dialog's "Advanced"
# view (MS-DTYP 2.4.3 bit values)
_SHARE_BITS = [
    (0x1, "read data"), (0x2, "write data"), (0x4, "append data"), (0x8, "read extended attributes"),
    (0x10, "write extended attributes"), (0x20, "traverse"), (0x40, "delete subfolders and files"),
    (0x80, "read attributes"), (0x100, "write attributes"), (0x10000, "delete"), (0x20000, "read permissions"),
    (WRITE_DAC, "change permissions"), (0x80000, "take ownership"), (0x100000, "synchronize"),
]


def _names(mask: int) -> str:
    return ", ".join(name for bit, name in _SHARE_BITS if mask & bit) or "nothing"


def share_rights(mask: int) -> str:
    """A share mask in the share dialog's words: Full Control, Change or Read (the largest it holds,
    with any right beyond it), else the rights one by one; the mask itself in parentheses."""
    if mask & SHARE_FULL == SHARE_FULL:
        return f"Full Control (0x{mask:X})"
    for level, name in ((SHARE_CHANGE, "Change"), (SHARE_READ, "Read")):
        if mask & level == level:
            extra = mask & ~level
            return name + (f" plus {_names(extra)}" if extra else "") + f" (0x{mask:X})"
    return "no access" if not mask else f"only {_names(mask)} (0x{mask:X}, less than Read)"


def why_not_full(mask: int) -> str:
    """What the missing rights stop VMM from doing: without WRITE_DAC ('change permissions') it cannot
    set the hosts' ACEs on the path (ASR error 31218), without write it cannot write the export."""
    missing = SHARE_FULL & ~mask
    said = []
    if missing & WRITE_DAC:
        said.append("'change permissions' is missing, which VMM needs to set the hosts' ACEs")
    if missing & SHARE_CHANGE & ~SHARE_READ:
        said.append(f"{_names(missing & SHARE_CHANGE & ~SHARE_READ)} missing, which the export needs")
    if missing & SHARE_READ:
        said.append(f"{_names(missing & SHARE_READ)} missing")
    rest = missing & ~WRITE_DAC & ~SHARE_CHANGE
    if rest:
        said.append(f"{_names(rest)} missing")
    return "; ".join(said)

"""path.exists: the export and import paths exist and are folders (and the share exists).

The export writes one subfolder per VM under the export path; Hyper-V does not create the path
itself, and a share name that does not exist on the server fails with "network name not found".
Facts are read on the server that holds the path, never through a second hop.
"""

from __future__ import annotations

from collections.abc import Iterator

from offlineprep import checkkit
from offlineprep.engine import CheckContext, Need, check
from offlineprep.model import Outcome, Phase, Remediation, Status
from offlineprep.names import PathRef
from offlineprep.remediation import on_server


@check(
    "path.exists",
    title="Export and import paths exist and are folders",
    severity="high",
    needs=[Need.PATH_COMPUTERS],
    walkthrough_step="Prepare for offline initial replication: export path and import path",
    why=(
        "The export writes one folder per virtual machine under the export path, and the import reads "
        "them from the import path. Hyper-V does not create these paths, and a share name that does not "
        "exist fails with 'network name not found' when the job starts."
    ),
    docs={
        "Set up disaster recovery for Hyper-V VMs to a secondary on-premises site: replication policy":
            "https://learn.microsoft.com/azure/site-recovery/hyper-v-vmm-disaster-recovery#set-up-a-replication-policy",
        "Import-VMInitialReplication":
            "https://learn.microsoft.com/powershell/module/hyper-v/import-vminitialreplication",
    },
)
def path_exists(ctx: CheckContext) -> Iterator[Outcome]:
    for ref in ctx.site.paths:
        yield judge_path(ctx, ref)


def judge_path(ctx: CheckContext, ref: PathRef) -> Outcome:
    _, facts, problem = checkkit.path_facts(ctx, ref, ref.raw)
    if facts is None:
        assert problem is not None
        return problem
    evidence = {"server": ref.server, "local_path": facts.local_path, "share": ref.share,
                "exists": facts.exists, "is_directory": facts.is_directory, "share_found": facts.share_found}
    if ref.is_unc and facts.share_found is False:
        local = facts.local_path or "D:\\" + (ref.share or "Share")
        return Outcome(
            status=Status.FAIL, subject=ref.raw, evidence=evidence,
            message=f"{ref.server} has no share named {ref.share}",
            remediation=Remediation(
                summary=f"Create the share {ref.share} on {ref.server}",
                powershell=on_server(ref.server, "New-Item -ItemType Directory -Path $args[1] -Force | Out-Null; "
                                     "New-SmbShare -Name $args[0] -Path $args[1]", [ref.share or "", local]),
                revert=on_server(ref.server, "Remove-SmbShare -Name $args[0] -Force", [ref.share or ""]),
                phase=Phase.SHARE,
            ),
        )
    if facts.exists is None:
        return checkkit.error(ref.raw, f"{ref.server} did not say whether {ref.raw} exists")
    if not facts.exists:
        local = facts.local_path or ref.local_path or ref.raw
        return Outcome(
            status=Status.FAIL, subject=ref.raw, evidence=evidence,
            message=f"{ref.raw} does not exist on {ref.server}" + (f" ({local})" if local != ref.raw else ""),
            remediation=Remediation(
                summary=f"Create {local} on {ref.server}",
                powershell=on_server(ref.server, "New-Item -ItemType Directory -Path $args[0] -Force", [local]),
                phase=Phase.SHARE,
            ),
        )
    if facts.is_directory is False:
        return Outcome(status=Status.FAIL, subject=ref.raw, evidence=evidence,
                       message=f"{ref.raw} exists on {ref.server} but is a file, not a folder")
    return Outcome(status=Status.PASS, subject=ref.raw, evidence=evidence,
                   message=f"{ref.raw} is a folder on {ref.server}" +
                   (f" ({facts.local_path})" if facts.local_path else ""))

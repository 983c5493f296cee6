"""path.exists: the export and import paths exist and are folders (and the share exists).

The export writes one subfolder per VM under the export path; Hyper-V does not create the path
itself, and a share name that does not exist on the server fails with "network name not found".
Facts are read on the server that holds the path, never through a second hop.
"""

from __future__ import annotations

from collections.abc import Iterator

from offlineprep import checkkit
from offlineprep.engine import CheckContext, Need, check
from offlineprep.model import Outcome, Status
from offlineprep.names import PathRef
from offlineprep.remediation import create_folder, create_share


@check(
    "path.exists",
    title="Export and import paths exist and are folders",
    severity="high",
    needs=[Need.PATH_COMPUTERS],
    seed_step="Prepare for offline initial replication: export path and import path",
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
            remediation=create_share(ref.server, ref.share or "", local),
        )
    if facts.exists is None:
        return checkkit.error(ref.raw, f"{ref.server} did not say whether {ref.raw} exists")
    if not facts.exists:
        local = facts.local_path or ref.local_path or ref.raw
        return Outcome(
            status=Status.FAIL, subject=ref.raw, evidence=evidence,
            message=f"{ref.raw} does not exist on {ref.server}" + (f" ({local})" if local != ref.raw else ""),
            remediation=create_folder(ref.server, local),
        )
    if facts.is_directory is False:
        return Outcome(status=Status.FAIL, subject=ref.raw, evidence=evidence,
                       message=f"{ref.raw} exists on {ref.server} but is a file, not a folder")
    return Outcome(status=Status.PASS, subject=ref.raw, evidence=evidence,
                   message=f"{ref.raw} is a folder on {ref.server}" +
                   (f" ({facts.local_path})" if facts.local_path else ""))

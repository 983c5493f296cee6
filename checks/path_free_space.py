"""path.free-space: each path's volume can hold the virtual disks of the VMs on the source hosts.

The export copies every virtual disk of the protected VMs to the export path, and the same data
is copied into the import path on the target side. Size = the sum of FileSize over each VM's disks
(parent disks included). Warn when free space is short; skip when sizes are unknown.
"""

from __future__ import annotations

from collections.abc import Iterator

from offlineprep import checkkit
from offlineprep.actions.types import file_server
from offlineprep.engine import CheckContext, Need, check
from offlineprep.model import Outcome, Status
from offlineprep.names import PathRef
from offlineprep.remediation import manual, remediation


@check(
    "path.free-space",
    title="Paths have room for the source VMs' virtual disks",
    severity="medium",
    needs=[Need.PATH_COMPUTERS, Need.HYPERV_HOSTS],
    walkthrough_step="Prepare for offline initial replication: export and import path capacity",
    why=(
        "The export copies every virtual disk of the protected virtual machines to the export path, and "
        "the same data is copied into the import path on the recovery side. A volume that runs full stops "
        "the export or import part way, after hours of copying."
    ),
    docs={
        "Set up disaster recovery for Hyper-V VMs to a secondary on-premises site: replication policy":
            "https://learn.microsoft.com/azure/site-recovery/hyper-v-vmm-disaster-recovery#set-up-a-replication-policy",
        "Import-VMInitialReplication":
            "https://learn.microsoft.com/powershell/module/hyper-v/import-vminitialreplication",
    },
)
def free_space(ctx: CheckContext) -> Iterator[Outcome]:
    required, unknown = vm_disk_bytes(ctx)
    for ref in ctx.inventory.path_refs:
        yield judge(ctx, ref, required, unknown)


def vm_disk_bytes(ctx: CheckContext) -> tuple[int, list[str]]:
    total, unknown = 0, []
    for host in ctx.inventory.source_hosts:
        facts = ctx.facts.find_host(host)
        if facts is None or not facts.reachable or facts.vms is None:
            unknown.append(f"the VMs of {host} are unknown" + (facts.why_missing("vms") if facts else ""))
            continue
        for vm in facts.vms:
            if vm.disk_bytes is None:
                unknown.append(f"the disk size of {vm.name} on {host} is unknown")
            else:
                total += vm.disk_bytes
    return total, unknown


def gib(value: int) -> str:
    return f"{value / 2**30:,.1f} GiB"


def judge(ctx: CheckContext, ref: PathRef, required: int, unknown: list[str]) -> Outcome:
    if unknown:
        return checkkit.skip(ref.raw, "sizes unknown: " + "; ".join(unknown))
    _, facts, problem = checkkit.path_facts(ctx, ref, ref.raw)
    if facts is None or problem is not None:  # a path the server could not read says why (access denied, ...)
        assert problem is not None
        return problem
    if facts.free_bytes is None:
        return checkkit.skip(ref.raw, f"{ref.server} did not report free space for {ref.raw}")
    evidence = {"free_bytes": facts.free_bytes, "total_bytes": facts.total_bytes, "required_bytes": required}
    if facts.free_bytes < required:
        short = gib(required - facts.free_bytes)
        return Outcome(status=Status.WARN, subject=ref.raw, evidence=evidence,
                       message=f"{gib(facts.free_bytes)} free on {ref.raw}, the source VMs' disks need "
                               f"{gib(required)} ({short} short)",
                       remediation=remediation(f"Free {short} on {ref.raw}", [manual(
                           f"Free at least {short} on the volume of {ref.raw} (or extend it), or choose a path on a "
                           "larger volume: the export needs room for every virtual disk of the source VMs",
                           file_server(ref.server))]))
    return Outcome(status=Status.PASS, subject=ref.raw, evidence=evidence,
                   message=f"{gib(facts.free_bytes)} free on {ref.raw} for {gib(required)} of virtual disks")

"""inventory.sources: each source of the inventory answered, and what it could not say.

The subjects of every other check come from the inventory: the site file's lists, VMM's clouds
(one PowerShell on the VMM server) and the failover clusters (one PowerShell on each cluster's
name), docs/inventory.md. When a source cannot be read, the subjects it would have given are not
judged at all, so that is an `error` here, naming the cause; a source that answered but could not
say everything (an unknown cloud, a Run As account VMM does not have) is a warning. A host the
site file lists that VMM does not manage in the side's cloud is a warning on that host: VMM
protects only the VMs of hosts it manages.
"""

from __future__ import annotations

from collections.abc import Iterator

from offlineprep.engine import CheckContext, check
from offlineprep.inventory import Origin, SourceReport
from offlineprep.model import Outcome, Status


@check(
    "inventory.sources",
    title="Each source of the inventory (VMM, failover clusters) answered",
    severity="high",
    needs=[],
    walkthrough_step="(prerequisite of every check: which hosts, clusters and accounts there are)",
    why=(
        "offlineprep judges the hosts, clusters and accounts VMM and the failover clusters report. When "
        "VMM refuses the account offlineprep runs as, or a cluster cannot be asked for its nodes, those "
        "hosts are not judged at all: the run cannot say the site is ready."
    ),
    docs={
        "Get-SCVMHost (VMM PowerShell)": "https://learn.microsoft.com/powershell/module/virtualmachinemanager/get-scvmhost",
        "Get-ClusterNode (FailoverClusters)": "https://learn.microsoft.com/powershell/module/failoverclusters/get-clusternode",
    },
)
def sources(ctx: CheckContext) -> Iterator[Outcome]:
    inventory = ctx.inventory
    for report in inventory.sources:
        if report.source == "site-file":
            continue
        yield judge_source(report)
    for cluster in inventory.clusters:
        evidence = {"nodes": cluster.nodes, "origins": [o.value for o in cluster.origins],
                    "broker": cluster.broker.model_dump() if cluster.broker else None}
        if cluster.problem:
            yield Outcome(status=Status.ERROR, subject=cluster.name, evidence=evidence,
                          message=f"the nodes of cluster {cluster.name} could not all be read: {cluster.problem}")
            continue
        down = [h.name for h in inventory.hosts if h.cluster == cluster.name and h.is_down]
        broker = f", Replica Broker {cluster.broker.fqdn}" if cluster.broker and cluster.broker.fqdn else ""
        message = f"{len(cluster.nodes)} node{'s' if len(cluster.nodes) != 1 else ''}{broker}"
        if down:
            message += f"; down: {', '.join(down)} (each is an error of its own checks)"
        yield Outcome(status=Status.PASS, subject=cluster.name, message=message, evidence=evidence)
    vmm = next((r for r in inventory.sources if r.source == "vmm" and r.status != "error"), None)
    if vmm is not None:
        for host in inventory.hosts:
            if Origin.SITE_FILE in host.origins and Origin.VMM not in host.origins and Origin.CLUSTER not in host.origins:
                yield Outcome(status=Status.WARN, subject=host.name, evidence={"vmm": vmm.machine},
                              message=f"{host.name} is listed in the site file but VMM ({vmm.machine}) does not manage "
                                      "it in the side's cloud: VMM protects only the VMs of hosts it manages")


def judge_source(report: SourceReport) -> Outcome:
    subject = report.machine or report.source
    evidence = {"source": report.source, "status": report.status, "kind": report.kind, "notes": report.notes,
                "hosts": report.hosts, "clusters": report.clusters, "accounts": report.accounts,
                "powershell_commands": report.powershell_commands}
    if report.status == "error":
        return Outcome(status=Status.ERROR, subject=subject, evidence=evidence,
                       message=f"{report.source} could not be read ({report.kind}): {report.message}")
    found = f"{report.hosts} hosts, {report.clusters} clusters, {report.accounts} accounts"
    if report.status == "partial":
        return Outcome(status=Status.WARN, subject=subject, evidence=evidence,
                       message=f"{report.source} answered ({found}) but not about everything: " + "; ".join(report.notes))
    return Outcome(status=Status.PASS, subject=subject, evidence=evidence, message=f"{report.source} answered: {found}")

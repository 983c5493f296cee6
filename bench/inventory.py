"""Benchmark: discovery plus collection for N hosts in K failover clusters, found through VMM.

A simulated VMM server holds two clouds (source and target), each with half of the K clusters of
N/K nodes; every node is a simulated Hyper-V host, two file servers hold the paths. Everything
runs through real pywinrm against the loopback WS-Management endpoint, every request delayed by L:
one PowerShell on VMM (scripts/vmm.ps1), one on each cluster's name (scripts/cluster.ps1), then one
per machine (collect.ps1). Prints one JSON line per run: machines, PowerShell commands (counted by
the endpoint), wall seconds of each stage and parallel efficiency = ideal / wall, where ideal =
(1 + ceil(K/C) + ceil(machines/C)) x one machine's round trip (the stages run one after the other).

    python bench/inventory.py --hosts 2000 --clusters 100 --latency 0.05 --concurrency 16
"""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

from offlineprep.collect.hosts import collect_hosts
from offlineprep.collect.remote import remote_runner
from offlineprep.collect.routing import DomainDirectory, route_collection
from offlineprep.collect.sources import DiscoveryContext, in_dependency_order
from offlineprep.collect.sources.cluster import ClusterSource
from offlineprep.collect.sources.sitefile import SiteFileSource
from offlineprep.collect.sources.vmm import VmmSettings, VmmSource
from offlineprep.inventory import InventoryBuilder
from offlineprep.lab.cluster import ClusterNode, SimulatedCluster
from offlineprep.lab.vmm import Cloud, Host, HostCluster, HostGroup, RunAsAccount, SimulatedVmm
from offlineprep.lab.windows import SimFolder, SimShare, SimulatedHost, SimVM
from offlineprep.lab.winrm_endpoint import WinRMEndpoint
from offlineprep.site import Site, WinRMConfig
from offlineprep.winrm.delivery import CollectionStats

DOMAIN = "lab.test"


def lab(hosts: int, clusters: int) -> tuple[SimulatedVmm, dict[str, SimulatedCluster], dict[str, SimulatedHost]]:
    per_cluster = max(1, hosts // clusters)
    sims: dict[str, SimulatedHost] = {}
    sim_clusters: dict[str, SimulatedCluster] = {}
    groups: list[HostGroup] = []
    for c in range(clusters):
        name = f"HVC{c:03}"
        cluster = SimulatedCluster(Name=name, Domain=DOMAIN,
                                   nodes=[ClusterNode(f"{name}-N{n:02}") for n in range(per_cluster)])
        cluster.add_broker(f"{name}-BRK")
        sim_clusters[cluster.fqdn] = cluster
        nodes = [Host(cluster.node_fqdn(n)) for n in cluster.nodes]
        groups.append(HostGroup(name, clusters=[HostCluster(cluster.fqdn, nodes)]))
        for node in cluster.nodes:
            sims[cluster.node_fqdn(node)] = SimulatedHost(cluster.node_fqdn(node).upper(), hyperv_installed=True,
                                                           vms=[SimVM("vm", 2**30)])
    for fs, share in ((f"fs01.{DOMAIN}", "Exp"), (f"fs11.{DOMAIN}", "Imp")):
        sims[fs] = SimulatedHost(fs.upper(), shares=[SimShare(share, f"D:\\{share}")],
                                 folders=[SimFolder(f"D:\\{share}", "O:BAG:SYD:(A;OICI;FA;;;BA)")])
    half = max(1, clusters // 2)
    vmm = SimulatedVmm(computer_name=f"vmm01.{DOMAIN}", domain=DOMAIN, service_start_name="LAB\\svc-vmm",
                       clouds=[Cloud("Gold", groups[:half]), Cloud("Recovery", groups[half:])], host_groups=groups,
                       run_as=[RunAsAccount("Host Admins", "svc-runas", "LAB")])
    return vmm, sim_clusters, sims


def run(hosts: int, clusters: int, latency: float, concurrency: int) -> dict[str, Any]:
    vmm, sim_clusters, sims = lab(hosts, clusters)
    # the site names no host: VMM does (the lists are emptied after validation, which still asks for one)
    site = Site.model_validate({
        "accounts": {"vmm_service": "LAB\\svc-vmm"},
        "source": {"hosts": ["x.lab.test"], "export_path": r"\\fs01.lab.test\Exp"},
        "target": {"hosts": ["y.lab.test"], "import_path": r"\\fs11.lab.test\Imp"},
    })
    site = site.model_copy(update={"source": site.source.model_copy(update={"hosts": []}),
                                   "target": site.target.model_copy(update={"hosts": []})})
    winrm = WinRMConfig(transport="basic", scheme="http", user="lab\\preflight", timeout_seconds=120,
                        concurrency=concurrency)
    settings = VmmSettings(server=f"vmm01.{DOMAIN}", source_cloud="Gold", target_cloud="Recovery",
                           run_as=("Host Admins",))
    with WinRMEndpoint(sims, username="lab\\preflight", password="pw", latency=latency, vmm={settings.server: vmm},
                       clusters=sim_clusters) as endpoint:
        factory = endpoint.protocol_factory(120)
        stats = CollectionStats()
        context = DiscoveryContext(site=site, inventory=InventoryBuilder(),
                                   run=remote_runner(winrm, "pw", factory, stats))
        started = time.monotonic()
        timings: dict[str, float] = {}
        for source in in_dependency_order([SiteFileSource(), VmmSource(settings), ClusterSource()]):
            begun = time.monotonic()
            source.discover(context)
            timings[source.name] = round(time.monotonic() - begun, 3)
        inventory = context.inventory.build()
        routes = route_collection(inventory, [DomainDirectory(DOMAIN, "LAB")])
        begun = time.monotonic()
        facts = collect_hosts(winrm, routes.hosts, "pw", session_factory=factory)
        timings["collection"] = round(time.monotonic() - begun, 3)
        wall = time.monotonic() - started
        commands = endpoint.total_commands
    machines = len(routes.hosts)
    return {"hosts": len(inventory.hosts), "clusters": len(inventory.clusters), "machines": machines,
            "latency": latency, "concurrency": concurrency, "powershell_commands": commands,
            "budget_one_per_machine_plus_vmm": machines + len(inventory.clusters) + 1,
            "wall_seconds": round(wall, 3), "stages": timings,
            "errors": sum(1 for f in facts.values() if f.error is not None),
            "nodes_down": len(routes.down_nodes), "ldap_requests_planned": {
                d: len(r.computers) for d, r in routes.directories.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=2000)
    parser.add_argument("--clusters", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16])
    args = parser.parse_args()
    one = run(2, 1, args.latency, 1)  # one VMM call, one cluster call, 4 machines: a machine's round trip at c=1
    per_call = float(one["wall_seconds"]) / (1 + 1 + int(one["machines"]))
    for c in args.concurrency:
        result = run(args.hosts, args.clusters, args.latency, c)
        ideal = (1 + math.ceil(int(result["clusters"]) / c) + math.ceil(int(result["machines"]) / c)) * per_call
        result["one_call_seconds"] = round(per_call, 3)
        result["parallel_efficiency"] = round(ideal / float(result["wall_seconds"]), 3)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

"""Small discovery labs for the tests: a simulated VMM and clusters, and a runner answering as they do.

The runner calls the simulators directly (their `answer` is what the scripts print); the end-to-end
tests run the same simulators behind the loopback WS-Management endpoint through real pywinrm.
"""

from __future__ import annotations

from collections.abc import Sequence

from offlineprep.collect.sources import RemoteCall, RemoteResult, RemoteRunner
from offlineprep.facts import CollectionError, ErrorKind
from offlineprep.lab.cluster import ClusterNode, SimulatedCluster, plain_host_answer
from offlineprep.lab.vmm import Cloud, Host, HostCluster, HostGroup, RunAsAccount, SimulatedVmm
from offlineprep.names import HostName


def two_node_cluster(name: str = "HVC1", domain: str = "lab.test", down: tuple[str, ...] = ()) -> SimulatedCluster:
    cluster = SimulatedCluster(Name=name, Domain=domain, nodes=[
        ClusterNode(f"{name}-N1", "Down" if f"{name}-N1" in down else "Up"),
        ClusterNode(f"{name}-N2", "Down" if f"{name}-N2" in down else "Up")])
    cluster.add_broker(f"{name}-BRK")
    return cluster


def vmm_with_clouds(domain: str = "lab.test") -> SimulatedVmm:
    """Gold (source): a two-node cluster HVC1 in Production\\Cluster, a standalone host hv01 in
    Production; Recovery (target): hv11 in DR. Run As account "Host Admins" is LAB\\svc-runas."""
    nodes = [Host(f"hvc1-n1.{domain}"), Host(f"hvc1-n2.{domain}")]
    production = HostGroup("Production", hosts=[Host(f"hv01.{domain}")],
                           children=[HostGroup("Cluster", clusters=[HostCluster(f"HVC1.{domain}", nodes)])])
    recovery = HostGroup("DR", hosts=[Host(f"hv11.{domain}"), Host("esx01.lab.test", VirtualizationPlatform="VMWareESX")])
    return SimulatedVmm(computer_name=f"vmm01.{domain}", domain=domain,
                        clouds=[Cloud("Gold", [production]), Cloud("Recovery", [recovery])],
                        host_groups=[production, recovery],
                        run_as=[RunAsAccount("Host Admins", "svc-runas", "LAB")])


class LabRunner:
    """Answers RemoteCalls as the simulated machines would; counts calls per machine."""

    def __init__(self, vmm: dict[str, SimulatedVmm] | None = None, clusters: dict[str, SimulatedCluster] | None = None,
                 unreachable: Sequence[str] = ()) -> None:
        self.vmm = {HostName(k): v for k, v in (vmm or {}).items()}
        self.clusters = {HostName(k): v for k, v in (clusters or {}).items()}
        self.unreachable = {HostName(n) for n in unreachable}
        self.calls: list[RemoteCall] = []

    def __call__(self, calls: Sequence[RemoteCall]) -> dict[str, RemoteResult]:
        out = {}
        for call in calls:
            self.calls.append(call)
            name = HostName(call.machine)
            if name in self.unreachable:
                out[call.machine] = RemoteResult(call.machine, error=CollectionError(
                    kind=ErrorKind.UNREACHABLE, message=f"cannot reach {call.machine}: connection refused"))
            elif call.script == "vmm" and name in self.vmm:
                out[call.machine] = RemoteResult(call.machine, document=self.vmm[name].answer(call.request), reachable=True)
            elif call.script == "cluster" and name in self.clusters:
                out[call.machine] = RemoteResult(call.machine, document=self.clusters[name].answer(call.request),
                                                 reachable=True)
            elif call.script == "cluster":
                out[call.machine] = RemoteResult(call.machine, document=plain_host_answer(call.machine), reachable=True)
            else:
                out[call.machine] = RemoteResult(call.machine, error=CollectionError(
                    kind=ErrorKind.UNREACHABLE, message=f"cannot reach {call.machine}: no such machine"))
        return out


def runner(lab: LabRunner) -> RemoteRunner:
    return lab

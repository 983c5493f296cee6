"""Discovery end to end: the VMM and cluster scripts travel through real pywinrm to the loopback
WS-Management endpoint, which runs them as a VMM server and a cluster would (offlineprep/lab)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from labs import two_node_cluster, vmm_with_clouds

from offlineprep.collect.remote import remote_runner
from offlineprep.collect.sources import DiscoveryContext, RemoteCall, in_dependency_order
from offlineprep.collect.sources.cluster import ClusterSource
from offlineprep.collect.sources.sitefile import SiteFileSource
from offlineprep.collect.sources.vmm import VmmSettings, VmmSource
from offlineprep.inventory import InventoryBuilder, NodeState
from offlineprep.lab.windows import Fault, SimulatedHost
from offlineprep.lab.winrm_endpoint import WinRMEndpoint
from offlineprep.site import Site, WinRMConfig
from offlineprep.winrm.delivery import CollectionStats
from offlineprep.winrm.scripts import script

WINRM = WinRMConfig(transport="basic", scheme="http", user="lab\\preflight", timeout_seconds=10, concurrency=8)
SETTINGS = VmmSettings(server="vmm01.lab.test", source_cloud="Gold", target_cloud="Recovery", run_as=("Host Admins",))
SITE = Site.model_validate({"accounts": {"vmm_service": "LAB\\svc-vmm"}, "source": {"hosts": ["hv01"]},
                            "target": {"hosts": ["hv11.lab.test"], "import_path": r"\\fs11.lab.test\Imp"}})


@pytest.fixture
def endpoint() -> Iterator[WinRMEndpoint]:
    cluster = two_node_cluster(down=("HVC1-N2",))
    hosts = {name: SimulatedHost(name.upper(), hyperv_installed=True)
             for name in ("hv01.lab.test", "hv11.lab.test", "hvc1-n1.lab.test")}
    hosts["hvc1-n2.lab.test"] = SimulatedHost("HVC1-N2.lab.test", hyperv_installed=True, fault=Fault.REFUSE)
    with WinRMEndpoint(hosts, password="pw", vmm={"vmm01.lab.test": vmm_with_clouds()},
                       clusters={"hvc1.lab.test": cluster}) as running:
        yield running


def discover(endpoint: WinRMEndpoint, settings: VmmSettings = SETTINGS) -> tuple[InventoryBuilder, CollectionStats]:
    stats = CollectionStats()
    run = remote_runner(WINRM, "pw", endpoint.protocol_factory(10), stats)
    context = DiscoveryContext(site=SITE, inventory=InventoryBuilder(), run=run)
    for source in in_dependency_order([ClusterSource(), VmmSource(settings), SiteFileSource()]):
        source.discover(context)
    return context.inventory, stats


def test_vmm_and_the_cluster_answer_through_pywinrm(endpoint: WinRMEndpoint) -> None:
    builder, stats = discover(endpoint)
    inventory = builder.build()
    assert inventory.source_hosts == ["hv01", "hvc1-n1.lab.test", "hvc1-n2.lab.test"]
    down = inventory.host("hvc1-n2.lab.test")
    assert down is not None and down.node_state is NodeState.DOWN and down.cluster == "HVC1.lab.test"
    cluster = inventory.cluster("hvc1.lab.test")
    assert cluster is not None and cluster.broker is not None and cluster.broker.fqdn == "HVC1-BRK.lab.test"
    assert inventory.run_as_accounts == ["LAB\\svc-runas"]
    # one PowerShell on VMM, one on the cluster's name: nothing else during discovery
    assert stats.commands_sent == 2
    assert dict(endpoint.commands) == {"vmm01.lab.test": 1, "hvc1.lab.test": 1}
    assert endpoint.unknown_scripts == 0


def test_values_reach_vmm_as_data(endpoint: WinRMEndpoint) -> None:
    hostile = "Gold'; Remove-Item C:\\ -Recurse; '"
    builder, _ = discover(endpoint, VmmSettings(server="vmm01.lab.test", source_cloud=hostile))
    assert endpoint.requests["vmm01.lab.test"] == [{"sides": [{"role": "source", "cloud": hostile, "host_groups": []}],
                                                    "run_as": []}]
    report = next(r for r in builder.sources if r.source == "vmm")
    assert any(f"VMM has no cloud named {hostile}" in n for n in report.notes)
    assert endpoint.unknown_scripts == 0  # the script that ran is ours, byte for byte


def test_a_vmm_that_refuses_the_user_says_so_through_winrm(endpoint: WinRMEndpoint) -> None:
    endpoint.vmm["vmm01.lab.test"].refuse_access = True
    builder, _ = discover(endpoint)
    report = next(r for r in builder.sources if r.source == "vmm")
    assert (report.status, report.kind) == ("error", "access-denied")
    assert "Error ID: 1604" in (report.message or "")


def test_an_unreachable_cluster_name_is_its_own_error(endpoint: WinRMEndpoint) -> None:
    endpoint.clusters.clear()
    builder, _ = discover(endpoint)
    cluster = builder.build().cluster("hvc1.lab.test")
    assert cluster is not None and cluster.problem is not None and "refused" in cluster.problem


def test_a_machine_without_vmm_is_a_remote_error() -> None:
    with WinRMEndpoint({"vmm01.lab.test": SimulatedHost("VMM01.lab.test")}, password="pw") as running:
        results = remote_runner(WINRM, "pw", running.protocol_factory(10))(
            [RemoteCall("vmm01.lab.test", "vmm", {"sides": [], "run_as": []})])
    result = results["vmm01.lab.test"]
    assert result.reachable and result.document is None and result.error is not None
    assert result.error.kind.value == "remote" and "VirtualMachineManager" in result.error.message


def test_the_scripts_the_endpoint_runs_are_the_ones_offlineprep_sends() -> None:
    assert script("vmm").text.startswith("# offlineprep VMM discovery")
    assert script("cluster").text.startswith("# offlineprep failover cluster discovery")

"""Discovery: the site file, VMM and failover clusters build one inventory (docs/inventory.md)."""

from __future__ import annotations

from typing import Any

import pytest
from labs import LabRunner, two_node_cluster, vmm_with_clouds

from offlineprep.collect.sources import DiscoveryContext, Source, in_dependency_order, registered, sources_for
from offlineprep.collect.sources.cluster import ClusterSource, apply_cluster_view, read_cluster_answer
from offlineprep.collect.sources.sitefile import SiteFileSource
from offlineprep.collect.sources.vmm import VmmSettings, VmmSource, read_vmm_answer
from offlineprep.inventory import AccountKind, Inventory, InventoryBuilder, NodeState, Origin, Role
from offlineprep.lab.cluster import plain_host_answer
from offlineprep.lab.vmm import HostGroup, SimulatedVmm
from offlineprep.site import Site

GOLD = VmmSettings(server="vmm01.lab.test", source_cloud="Gold", target_cloud="Recovery", run_as=("Host Admins",))


def site(**overrides: Any) -> Site:
    data: dict[str, Any] = {
        "accounts": {"vmm_service": "LAB\\svc-vmm", "run_as": ["LAB\\svc-runas"]},
        "source": {"hosts": ["hv01"], "export_path": r"\\fs01.lab.test\ASRExport"},
        "target": {"hosts": ["hv11.lab.test"], "import_path": r"\\fs11.lab.test\ASRImport"},
    }
    data.update(overrides)
    return Site.model_validate(data)


def discover(the_site: Site, lab: LabRunner, vmm: VmmSettings | None = GOLD) -> Inventory:
    context = DiscoveryContext(site=the_site, inventory=InventoryBuilder(), run=lab)
    sources: list[Source] = [ClusterSource(), SiteFileSource()]
    if vmm is not None:
        sources.append(VmmSource(vmm))
    for source in in_dependency_order(sources):
        source.discover(context)
    return context.inventory.build()


def report(inventory: Inventory, source: str) -> Any:
    return next(r for r in inventory.sources if r.source == source)


def test_sources_run_in_dependency_order() -> None:
    ordered = in_dependency_order([ClusterSource(), VmmSource(GOLD), SiteFileSource()])
    assert [s.name for s in ordered] == ["site-file", "vmm", "cluster"]


def test_every_source_is_registered_and_says_when_it_applies() -> None:
    assert [s.name for s in registered()] == ["cluster", "site-file", "vmm"]
    plain, with_vmm = site(), site(vmm={"server": "vmm01.lab.test", "source_cloud": "Gold"})
    assert [s.name for s in sources_for(plain, collects_hosts=False)] == ["site-file"]
    assert [s.name for s in sources_for(plain, collects_hosts=True)] == ["site-file", "cluster"]
    ordered = sources_for(with_vmm, collects_hosts=True)
    assert [s.name for s in ordered] == ["site-file", "vmm", "cluster"]
    assert isinstance(ordered[1], VmmSource) and ordered[1].settings == VmmSettings(server="vmm01.lab.test",
                                                                                      source_cloud="Gold")
    assert [s.name for s in sources_for(with_vmm, collects_hosts=False)] == ["site-file", "vmm"]


def test_a_vmm_cloud_with_a_cluster_gives_every_node_its_cluster_and_side() -> None:
    lab = LabRunner(vmm={"vmm01.lab.test": vmm_with_clouds()}, clusters={"hvc1.lab.test": two_node_cluster()})
    inventory = discover(site(), lab)
    assert inventory.source_hosts == ["hv01", "hvc1-n1.lab.test", "hvc1-n2.lab.test"]
    assert inventory.target_hosts == ["hv11.lab.test"]
    hv01 = inventory.host("hv01.lab.test")
    assert hv01 is not None and hv01.name == "hv01" and hv01.origins == [Origin.SITE_FILE, Origin.VMM]
    node = inventory.host("HVC1-N1.LAB.TEST.")
    assert node is not None and node.cluster == "HVC1.lab.test" and node.node_state is NodeState.UP
    assert node.origins == [Origin.VMM, Origin.CLUSTER] and node.vmm_host_group == "All Hosts\\Production\\Cluster"
    assert inventory.describe("hvc1-n1.lab.test") == "hvc1-n1.lab.test (node of cluster HVC1.lab.test)"
    cluster = inventory.cluster("hvc1")
    assert cluster is not None and cluster.role is Role.SOURCE and cluster.origins == [Origin.VMM, Origin.CLUSTER]
    assert cluster.broker is not None and cluster.broker.fqdn == "HVC1-BRK.lab.test"
    assert cluster.broker.computer_account == "HVC1-BRK$"
    # one PowerShell on VMM, one on the cluster: nothing per host during discovery
    assert [(c.machine, c.script) for c in lab.calls] == [("vmm01.lab.test", "vmm"), ("HVC1.lab.test", "cluster")]


def test_vmm_names_the_service_account_and_the_run_as_accounts() -> None:
    lab = LabRunner(vmm={"vmm01.lab.test": vmm_with_clouds()}, clusters={"hvc1.lab.test": two_node_cluster()})
    inventory = discover(site(), lab)
    # SCVMMService runs as LocalSystem: on the network it is the VMM server's computer account
    assert inventory.vmm_service_account == "lab.test\\VMM01$"
    assert inventory.accounts_to_check == ["lab.test\\VMM01$", "LAB\\svc-runas"]
    run_as = inventory.account("LAB\\svc-runas")
    assert run_as is not None and run_as.origins == [Origin.SITE_FILE, Origin.VMM] and run_as.vmm_run_as == "Host Admins"
    notes = report(inventory, "vmm").notes
    assert any("the site file names LAB\\svc-vmm as the VMM service account, but SCVMMService runs as LocalSystem"
               in n for n in notes)
    assert any("esx01.lab.test is a VMWareESX host" in n for n in notes)
    assert inventory.vmm_server == "vmm01.lab.test"


def test_a_service_account_of_its_own_is_taken_as_written() -> None:
    vmm = vmm_with_clouds()
    vmm.service_start_name = "LAB\\svc-vmm"
    inventory = discover(site(), LabRunner(vmm={"vmm01.lab.test": vmm}, clusters={"hvc1.lab.test": two_node_cluster()}))
    service = inventory.account("LAB\\svc-vmm")
    assert service is not None and service.kind is AccountKind.VMM_SERVICE
    assert service.origins == [Origin.SITE_FILE, Origin.VMM]
    assert not any("VMM service account" in n for n in report(inventory, "vmm").notes)


def test_a_host_the_site_file_lists_but_vmm_does_not_manage_is_named() -> None:
    lab = LabRunner(vmm={"vmm01.lab.test": vmm_with_clouds()}, clusters={"hvc1.lab.test": two_node_cluster()})
    inventory = discover(site(source={"hosts": ["hv01", "hv99.lab.test"], "export_path": r"\\fs01\x"}), lab)
    assert "hv99.lab.test" in inventory.source_hosts  # still judged: the site file asks for it
    assert "hv99.lab.test is listed in the site file but VMM does not manage it in cloud Gold" in \
        report(inventory, "vmm").notes


def test_a_vmm_that_refuses_access_is_an_error_of_the_vmm_source_only() -> None:
    vmm = vmm_with_clouds()
    vmm.refuse_access = True
    inventory = discover(site(), LabRunner(vmm={"vmm01.lab.test": vmm}))
    vmm_report = report(inventory, "vmm")
    assert (vmm_report.status, vmm_report.kind) == ("error", "access-denied")
    assert "You do not have permission" in (vmm_report.message or "")
    assert inventory.all_hosts == ["hv01", "hv11.lab.test"]  # the site file's hosts remain
    assert inventory.vmm_service_account == "LAB\\svc-vmm"


def test_an_unreachable_vmm_says_why() -> None:
    inventory = discover(site(), LabRunner(unreachable=["vmm01.lab.test"]))
    vmm_report = report(inventory, "vmm")
    assert (vmm_report.status, vmm_report.kind) == ("error", "unreachable")
    assert "connection refused" in (vmm_report.message or "")


def test_host_groups_and_the_groups_below_them() -> None:
    vmm = vmm_with_clouds()
    settings = VmmSettings(server="vmm01.lab.test", source_host_groups=("Production",), target_host_groups=("Nowhere",))
    inventory = discover(site(), LabRunner(vmm={"vmm01.lab.test": vmm}, clusters={"hvc1.lab.test": two_node_cluster()}),
                         settings)
    assert set(inventory.source_hosts) == {"hv01", "hvc1-n1.lab.test", "hvc1-n2.lab.test"}
    vmm_report = report(inventory, "vmm")
    assert vmm_report.status == "partial"
    assert any("VMM has no host group named Nowhere" in n for n in vmm_report.notes)


def test_an_unknown_cloud_and_an_unknown_run_as_account_are_named() -> None:
    settings = VmmSettings(server="vmm01.lab.test", source_cloud="Platinum", run_as=("Nobody",))
    inventory = discover(site(), LabRunner(vmm={"vmm01.lab.test": vmm_with_clouds()}), settings)
    notes = report(inventory, "vmm").notes
    assert any("VMM has no cloud named Platinum" in n for n in notes)
    assert any("Run As account Nobody: VMM has no Run As account named Nobody" in n for n in notes)


def test_a_node_that_is_down_is_marked_on_that_node_only() -> None:
    lab = LabRunner(vmm={"vmm01.lab.test": vmm_with_clouds()},
                    clusters={"hvc1.lab.test": two_node_cluster(down=("HVC1-N2",))})
    inventory = discover(site(), lab)
    down, up = inventory.host("hvc1-n2.lab.test"), inventory.host("hvc1-n1.lab.test")
    assert down is not None and down.is_down and up is not None and not up.is_down
    assert any("node HVC1-N2.lab.test is down" in n for n in report(inventory, "cluster").notes)


def test_a_cluster_name_in_hosts_expands_to_its_nodes() -> None:
    builder = InventoryBuilder()
    builder.add_host("hvc1", Role.TARGET, Origin.SITE_FILE)
    answer = read_cluster_answer("hvc1", two_node_cluster().answer({"name": "hvc1"}))
    assert answer.view is not None
    cluster, notes = apply_cluster_view(builder, "hvc1", answer.view)
    inventory = builder.build()
    # the cluster name is no host; nodes are named as Get-ClusterNode gives them, in the cluster's domain
    assert inventory.target_hosts == ["HVC1-N1.lab.test", "HVC1-N2.lab.test"]
    assert cluster.role is Role.TARGET and cluster.origins == [Origin.SITE_FILE, Origin.CLUSTER]
    assert notes == ["hvc1 is the name of failover cluster HVC1.lab.test: its nodes are judged"]


def test_a_node_named_alone_brings_its_cluster_and_the_other_nodes() -> None:
    builder = InventoryBuilder()
    builder.add_host("hvc1-n1.lab.test", Role.SOURCE, Origin.SITE_FILE)
    cluster_sim = two_node_cluster()
    answer = read_cluster_answer("hvc1-n1.lab.test", cluster_sim.answer({}, node=cluster_sim.nodes[0]))
    assert answer.view is not None
    apply_cluster_view(builder, "hvc1-n1.lab.test", answer.view)
    inventory = builder.build()
    assert inventory.source_hosts == ["hvc1-n1.lab.test", "HVC1-N2.lab.test"]  # any node may own a VM
    assert inventory.cluster_of("hvc1-n2.lab.test") is not None


def test_a_cluster_that_cannot_be_asked_keeps_the_nodes_vmm_named() -> None:
    lab = LabRunner(vmm={"vmm01.lab.test": vmm_with_clouds()}, unreachable=["hvc1.lab.test"])
    inventory = discover(site(), lab)
    cluster = inventory.cluster("HVC1.lab.test")
    assert cluster is not None and cluster.problem is not None and "connection refused" in cluster.problem
    node = inventory.host("hvc1-n1.lab.test")
    assert node is not None and node.node_state is None  # unknown, not up
    assert report(inventory, "cluster").status == "error"


def test_a_name_that_is_no_cluster_says_so() -> None:
    answer = read_cluster_answer("hv01.lab.test", plain_host_answer("hv01.lab.test"))
    assert answer.view is None and answer.not_a_cluster is not None and "not a failover cluster node" in answer.not_a_cluster


def test_answers_of_the_wrong_shape_are_garbage_not_a_crash() -> None:
    assert read_vmm_answer("vmm01", {"schema": "other"}).error is not None
    assert read_cluster_answer("c1", {"nope": 1}).error is not None
    view = read_vmm_answer("vmm01", {"schema": "offlineprep/vmm/v1", "sides": {"role": "source", "cloud": "Gold",
                                                                               "hosts": {"name": "hv01.lab.test"}}})
    # ConvertTo-Json writes a one-element array as the element itself
    assert [h.name for h in view.sides[0].hosts] == ["hv01.lab.test"]


@pytest.mark.parametrize(("start_name", "expected"), [
    ("LocalSystem", "lab.test\\VMM01$"), ("NT AUTHORITY\\NetworkService", "lab.test\\VMM01$"),
    ("LAB\\svc-vmm", "LAB\\svc-vmm"), ("svc-vmm@lab.test", "svc-vmm@lab.test"),
    ("NT AUTHORITY\\LocalService", "NT AUTHORITY\\LocalService"),  # anonymous on the network: the checks say so
])
def test_the_service_account_as_the_network_sees_it(start_name: str, expected: str) -> None:
    vmm = SimulatedVmm(computer_name="vmm01.lab.test", domain="lab.test", service_start_name=start_name,
                       host_groups=[HostGroup("Empty")])
    inventory = discover(site(), LabRunner(vmm={"vmm01.lab.test": vmm}),
                         VmmSettings(server="vmm01.lab.test", source_host_groups=("Empty",)))
    assert inventory.vmm_service_account == expected


def test_the_pipeline_runs_the_registered_sources_and_a_down_node_is_a_typed_fact() -> None:
    import json

    from offlineprep.engine import Need
    from offlineprep.facts import CollectionError, ErrorKind, HostFacts
    from offlineprep.pipeline import Collectors, collect

    lab = LabRunner(vmm={"vmm01.lab.test": vmm_with_clouds()},
                    clusters={"hvc1.lab.test": two_node_cluster(down=("HVC1-N2",))})
    asked: list[str] = []

    def hosts(config: Any, requests: Any, password: Any, on_result: Any = None) -> dict[str, HostFacts]:
        asked.extend(r.name for r in requests)
        return {r.name: HostFacts(name=r.name, reachable=True) for r in requests}

    the_site = site(vmm={"server": "vmm01.lab.test", "source_cloud": "Gold", "target_cloud": "Recovery"},
                    winrm={"user": "lab\\preflight"})
    facts = collect(the_site, frozenset({Need.HYPERV_HOSTS}),
                    Collectors(hosts=hosts, remote=lambda config, calls, password: lab(calls)),
                    password_for=lambda env, purpose: "pw")
    assert [c.script for c in lab.calls] == ["vmm", "cluster"]  # VMM first: its clusters are the ones asked
    assert "hvc1-n2.lab.test" not in asked and "hvc1-n1.lab.test" in asked
    down = (facts.hosts or {})["hvc1-n2.lab.test"].error
    assert down == CollectionError.down_node("hvc1-n2.lab.test", "HVC1.lab.test")
    assert down is not None and down.down_in_cluster == "HVC1.lab.test" and down.kind.value == "unreachable"
    assert down.message == ("not asked: hvc1-n2.lab.test is down in cluster HVC1.lab.test (Get-ClusterNode): any "
                            "node may own a VM, so bring it up (or evict it) and run again")
    assert facts.statistics["hosts_queried"] == len(asked)
    written = json.loads(facts.to_json())["hosts"]
    assert written["hvc1-n2.lab.test"]["error"]["down_in_cluster"] == "HVC1.lab.test"
    other = CollectionError(kind=ErrorKind.TIMEOUT, message="late")
    assert "down_in_cluster" not in json.loads(other.model_dump_json())  # written only when set
    again = type(facts).from_json(facts.to_json())
    assert (again.hosts or {})["hvc1-n2.lab.test"].error == down


def test_nodes_listed_one_by_one_become_their_clusters_nodes_and_its_broker_is_read() -> None:
    """Issue 19 item 3: each host's own answer (section `cluster`) says its cluster and broker, so
    target nodes written one by one are a cluster's nodes and the broker's computer object is asked of
    the directory. Failed before: they stayed standalone hosts and the broker was never read."""
    from offlineprep.engine import Need
    from offlineprep.facts import DirectoryFacts, HostCluster, HostFacts
    from offlineprep.inventory import ReplicaBroker
    from offlineprep.pipeline import Collectors, collect

    broker = ReplicaBroker(resource="Virtual Machine Replication Broker", group="HVR-BRK", network_name="HVR-BRK",
                           dns_name="HVR-BRK", fqdn="HVR-BRK.lab.test", computer_account="HVR-BRK$", state="Online")
    answer = HostCluster(name="HVR", domain="lab.test", brokers=[broker])
    nodes = ["hvr-n1.lab.test", "hvr-n2.lab.test"]

    def hosts(config: Any, requests: Any, password: Any, on_result: Any = None) -> dict[str, HostFacts]:
        return {r.name: HostFacts(name=r.name, reachable=True, cluster=answer if r.name in nodes else None)
                for r in requests}

    asked: list[str] = []

    def directory(config: Any, request: Any, password: Any) -> DirectoryFacts:
        asked.extend(request.computers)
        return DirectoryFacts(server=config.server)

    the_site = site(target={"hosts": nodes, "import_path": r"\\fs11.lab.test\ASRImport"}, winrm={"user": "lab\\p"},
                    directory={"server": "ldaps://dc1.lab.test", "user": "u@lab.test"})
    facts = collect(the_site, frozenset({Need.HYPERV_HOSTS, Need.DIRECTORY}),
                    Collectors(hosts=hosts, directory=directory, remote=lambda config, calls, password: {}),
                    password_for=lambda env, purpose: "pw")
    assert facts.inventory is not None
    cluster = facts.inventory.cluster("HVR.lab.test")
    assert cluster is not None and cluster.broker == broker and sorted(cluster.nodes) == nodes
    assert {h.cluster for h in facts.inventory.hosts if h.name in nodes} == {"HVR.lab.test"}
    assert "HVR-BRK.lab.test" in asked

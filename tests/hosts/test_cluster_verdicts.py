"""Clustered file servers through the collection script's logic, real pywinrm and the loopback
endpoint, then the checks (issue 19 items 1 and 2, docs/clusters.md): the export path's name
fs01.contoso.com is the client access point of a role on cluster FSC, and node FSC-N1 answers."""

from __future__ import annotations

from typing import Any

from builders import computer, directory, site
from test_windows_verdicts import EXPORT, IMPORT, NTFS, SHARE, file_server, finding, run

from offlineprep.collect.hosts import collect_hosts
from offlineprep.collect.requests import HostRequest
from offlineprep.facts import HostFacts
from offlineprep.lab.windows import SimClusterRole, SimFileServerCluster, SimFolder, SimShare, SimulatedHost
from offlineprep.lab.winrm_endpoint import WinRMEndpoint
from offlineprep.model import Status
from offlineprep.names import parse_path
from offlineprep.site import WinRMConfig

PASSWORD = "Cluster-Verdicts-7c1e"
CAP, N1, N2 = "10.0.0.50", "10.0.0.61", "10.0.0.62"


def node(distributed: bool = False, state: str = "Online", cluster: bool = True) -> SimulatedHost:
    role = SimClusterRole("FS01", "FS01", addresses=[] if distributed else [CAP], distributed=distributed, state=state)
    return file_server("FSC-N1.contoso.com", "ASRExport", ip_addresses=[N1],
                       shares=[SimShare("ASRExport", "J:\\ASRExport", SHARE, scope="FS01")],
                       folders=[SimFolder("J:\\ASRExport", NTFS)],
                       file_server_cluster=SimFileServerCluster("FSC", "contoso.com", {"FSC-N1": [N1], "FSC-N2": [N2]},
                                                                [role]) if cluster else None)


def collected(fs01: SimulatedHost) -> dict[str, HostFacts]:
    sims = {"fs01.contoso.com": fs01, "fs11.contoso.com": file_server("FS11.contoso.com", "ASRImport"),
            "hv02": SimulatedHost("HV02.contoso.com", hyperv_installed=True, ip_addresses=["10.0.0.2"])}
    config = WinRMConfig(transport="basic", scheme="http", user="lab\\preflight", timeout_seconds=5)
    requests = [HostRequest("fs01.contoso.com", paths=[parse_path(EXPORT)]),
                HostRequest("fs11.contoso.com", paths=[parse_path(IMPORT)]),
                HostRequest("hv02", probes=["fs01.contoso.com"])]
    with WinRMEndpoint(sims, password=PASSWORD) as ep:
        return collect_hosts(config, requests, PASSWORD, session_factory=ep.protocol_factory(5))


def with_node() -> Any:
    d = directory()
    d.computers["fsc-n1"] = computer("fsc-n1.contoso.com", 3101, uac=0x1000)
    return d


def test_the_script_reads_the_role_behind_a_scoped_share() -> None:
    fs = collected(node())["fs01.contoso.com"]
    cluster = fs.file_server_cluster
    assert cluster is not None and cluster.name == "FSC" and fs.computer_name == "FSC-N1.contoso.com"
    role, name = cluster.role_of("fs01.contoso.com") or (None, None)
    assert role is not None and name is not None
    assert (role.group_type, role.addresses, name.resource_type, name.state) == ("FileServer", [CAP], "Network Name",
                                                                                   "Online")
    assert [(n.name, n.addresses) for n in cluster.nodes] == [("FSC-N1", [N1]), ("FSC-N2", [N2])]


def test_the_roles_own_object_passes_delegation_target_with_no_fix() -> None:
    # before: FSC-N1 answered, and the fix moved HOST/fs01.contoso.com off FS01$ onto FSC-N1$
    found = finding(run("ad.delegation-target", collected(node()), site(), with_node()), "fs01.contoso.com")
    assert found.status is Status.PASS and found.remediation is None, found.message


def test_a_network_name_offline_fails_with_no_spn_move() -> None:
    found = finding(run("ad.delegation-target", collected(node(state="Offline")), site(), with_node()),
                    "fs01.contoso.com")
    assert found.status is Status.FAIL and "Offline" in found.message
    assert found.remediation is not None and [a.kind for a in found.remediation.actions] == ["manual"]


def test_no_failover_clustering_module_keeps_the_scope_as_the_evidence() -> None:
    hosts = collected(node(cluster=False))
    fs = hosts["fs01.contoso.com"]
    assert fs.file_server_cluster is None and "FailoverClusters" in fs.section_errors["file_server_cluster"]
    assert finding(run("ad.delegation-target", hosts, site(), with_node()), "fs01.contoso.com").status is Status.PASS


def test_host_reaches_a_clustered_file_server_by_its_roles_address() -> None:
    found = finding(run("host.path-reachable", collected(node()), site()), "hv02")
    assert found.status is Status.PASS and found.evidence["addresses"] == [CAP], found.message


def test_a_scale_out_file_servers_name_resolves_to_every_node_and_passes() -> None:
    # before: N2 was "not an address of FSC-N1.contoso.com"
    found = finding(run("host.path-reachable", collected(node(distributed=True)), site()), "hv02")
    assert found.status is Status.PASS and sorted(found.evidence["addresses"]) == [N1, N2], found.message

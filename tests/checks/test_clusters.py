"""Clustered file servers: the serving machine of a share scoped to a client access point is the role
(docs/clusters.md). Each test breaks the healthy site of builders.py in one way: the export path's
name, fs01.contoso.com, becomes the client access point of a role on cluster FSC (nodes FSC-N1 and
FSC-N2), and FSC-N1 answers WinRM for it."""

from __future__ import annotations

from typing import Any

import pytest
from builders import by_subject, computer, directory, facts, hosts, probe, run

from offlineprep import remediation
from offlineprep.actions.spn import SpnHolderRef
from offlineprep.actions.types import ManualStep, MoveSpn
from offlineprep.facts import (
    ClusterMember,
    ClusterNetworkName,
    ClusterRole,
    DirectoryFacts,
    FileServerCluster,
    HostFacts,
    SpnHolder,
)
from offlineprep.model import Status

FS01 = "fs01.contoso.com"
CAP_ADDRESS, N1, N2 = "10.0.0.50", "10.0.0.61", "10.0.0.62"


def clustered(distributed: bool = False, state: str = "Online", scope: str = "FS01") -> dict[str, HostFacts]:
    """fs01.contoso.com answered by node FSC-N1, its share scoped to FS01, a role of cluster FSC."""
    found = hosts()
    fs = found[FS01]
    path = fs.paths[0]
    assert path.share is not None
    path = path.model_copy(update={"share_scope": scope, "share_scopes": [scope],
                                   "share": path.share.model_copy(update={"scope": scope})})
    role = ClusterRole(group="FS01", group_type="ScaleoutFileServer" if distributed else "FileServer", state="Online",
                       owner_node="FSC-N1", addresses=[] if distributed else [CAP_ADDRESS],
                       network_names=[ClusterNetworkName(
                           resource="FS01", resource_type="Distributed Network Name" if distributed else "Network Name",
                           state=state, name="FS01", dns_name="fs01", object_guid="5f1e0c2a00004000800000000000001")])
    cluster = FileServerCluster(name="FSC", domain="contoso.com", roles=[role], nodes=[
        ClusterMember(name="FSC-N1", state="Up", addresses=[N1]), ClusterMember(name="FSC-N2", state="Up", addresses=[N2])])
    found[FS01] = fs.model_copy(update={"computer_name": "FSC-N1.contoso.com", "ip_addresses": [N1],
                                        "paths": [path], "file_server_cluster": cluster})
    return found


def with_nodes(d: DirectoryFacts | None = None) -> DirectoryFacts:
    d = d or directory()
    d.computers["fsc-n1"] = computer("fsc-n1.contoso.com", 3101, uac=0x1000)
    return d


def moves_off(finding: Any, account: str) -> list[MoveSpn]:
    actions = finding.remediation.actions if finding.remediation else []
    return [a for a in actions if isinstance(a, MoveSpn) and any(r.label == account for r in a.remove_from)]


# ----------------------------------------------------------------- item 1: ad.delegation-target


def test_the_roles_own_object_holding_host_cap_passes_with_no_fix() -> None:
    # before: FSC-N1 answered WinRM, so FS01$ (the role's object) was "another machine's" and the fix moved
    # HOST/fs01.contoso.com onto FSC-N1$
    found = by_subject(run("ad.delegation-target", the_facts=facts(with_nodes(), clustered())), FS01)
    assert found.status is Status.PASS, found.message
    assert found.remediation is None
    assert "client access point" in found.message and "FS01$" in found.message
    assert found.evidence["serving_machine"] == FS01 and found.evidence["cluster"] == "FSC"


def test_a_scale_out_file_servers_name_is_its_roles_too() -> None:
    found = by_subject(run("ad.delegation-target", the_facts=facts(with_nodes(), clustered(distributed=True))), FS01)
    assert found.status is Status.PASS and "Scale-Out File Server" in found.message


def test_the_scope_alone_names_the_role_when_the_cluster_could_not_be_read() -> None:
    unread = clustered()
    unread[FS01] = unread[FS01].model_copy(update={"file_server_cluster": None,
                                                   "section_errors": {"file_server_cluster": "no module"}})
    found = by_subject(run("ad.delegation-target", the_facts=facts(with_nodes(), unread)), FS01)
    assert found.status is Status.PASS and not moves_off(found, "FS01$")


def test_a_network_name_that_is_not_online_fails_with_no_spn_move() -> None:
    found = by_subject(run("ad.delegation-target", the_facts=facts(with_nodes(), clustered(state="Offline"))), FS01)
    assert found.status is Status.FAIL and "Offline" in found.message
    assert found.remediation is not None
    assert [type(a) for a in found.remediation.actions] == [ManualStep]


def test_the_node_holding_the_caps_spn_gets_it_moved_onto_the_roles_object() -> None:
    d = with_nodes()
    node_dn = d.computers["fsc-n1"].distinguished_name or ""
    d.spn_holders[FS01] = [SpnHolder(spn="HOST/fs01.contoso.com", distinguished_name=node_dn, sam_account_name="FSC-N1$")]
    found = by_subject(run("ad.delegation-target", the_facts=facts(d, clustered())), FS01)
    assert found.status is Status.FAIL
    moves = moves_off(found, "FSC-N1$")
    assert moves and all(m.add_to_label == "FS01$" for m in moves)


def test_no_fix_takes_an_spn_off_a_client_access_points_object() -> None:
    # the path names the node itself, but the role's object FS01$ holds HOST/fsc-n1.contoso.com: before, the
    # fix moved it off FS01$ onto FSC-N1$
    from builders import site

    d = with_nodes()
    cap_dn = d.computers[FS01].distinguished_name or ""
    d.spn_holders["fsc-n1.contoso.com"] = [SpnHolder(spn="HOST/fsc-n1.contoso.com", distinguished_name=cap_dn,
                                                     sam_account_name="FS01$")]
    found_hosts = clustered()
    node = found_hosts[FS01].model_copy(update={"name": "fsc-n1.contoso.com"})
    node.paths[0] = node.paths[0].model_copy(update={"path": r"\\fsc-n1.contoso.com\ASRExport", "share_scope": "*"})
    found_hosts["fsc-n1.contoso.com"] = node
    the_site = site(source__export_path=r"\\fsc-n1.contoso.com\ASRExport")
    found = by_subject(run("ad.delegation-target", the_site, facts(d, found_hosts)), "fsc-n1.contoso.com")
    assert found.status is Status.FAIL
    assert not moves_off(found, "FS01$")
    assert found.remediation is not None and any(isinstance(a, ManualStep) for a in found.remediation.actions)


def test_move_spn_refuses_to_take_an_spn_off_a_client_access_point() -> None:
    ref = SpnHolderRef(distinguished_name="CN=FS01,CN=Computers,DC=contoso,DC=com", spn="HOST/fs01", label="FS01$")
    with pytest.raises(remediation.ClientAccessPointSpn):
        remediation.move_spn("HOST/fs01", add_to="FSC-N1", remove_from=[ref], never_from={"fs01$"})
    unlabelled = ref.model_copy(update={"label": ""})
    with pytest.raises(remediation.ClientAccessPointSpn):
        remediation.move_spn("HOST/fs01", add_to="FSC-N1", remove_from=[unlabelled], never_from={"FS01$"})


# ----------------------------------------------------------------- item 1: ad.delegation names the CAP


def test_hosts_delegate_to_cifs_on_the_client_access_point() -> None:
    found = by_subject(run("ad.delegation", the_facts=facts(with_nodes(), clustered())), "hv01.contoso.com", FS01)
    assert found.status is Status.PASS and "cifs/fs01.contoso.com" in found.message
    assert found.evidence["serving_machine"] == FS01  # before: FSC-N1.contoso.com, the node


# ----------------------------------------------------------------- item 2: host.path-reachable


def probed(addresses: list[str]) -> dict[str, HostFacts]:
    from offlineprep.facts import NameProbe, PortProbe

    found = clustered(distributed=True)
    hv02 = found["hv02"]
    found["hv02"] = hv02.model_copy(update={"probes": [NameProbe(
        name=FS01, addresses=addresses, connections=[PortProbe(address=a, state="open") for a in addresses])]})
    return found


def test_a_scale_out_file_servers_name_resolving_to_every_node_passes() -> None:
    # before: N2 was "not an address of FSC-N1.contoso.com", the node that answered WinRM
    found = by_subject(run("host.path-reachable", the_facts=facts(with_nodes(), probed([N1, N2]))), "hv02", FS01)
    assert found.status is Status.PASS, found.message


def test_an_address_of_no_node_of_the_file_server_cluster_fails() -> None:
    found = by_subject(run("host.path-reachable", the_facts=facts(with_nodes(), probed([N1, "10.0.0.99"]))),
                       "hv02", FS01)
    assert found.status is Status.FAIL and "10.0.0.99 is not an address of the nodes of cluster FSC" in found.message


def test_a_clustered_file_servers_name_resolves_to_its_roles_address() -> None:
    found_hosts = clustered()
    hv02 = found_hosts["hv02"]
    found_hosts["hv02"] = hv02.model_copy(update={"probes": [probe(FS01, CAP_ADDRESS)]})
    found = by_subject(run("host.path-reachable", the_facts=facts(with_nodes(), found_hosts)), "hv02", FS01)
    assert found.status is Status.PASS, found.message  # before: 10.0.0.50 was no address of FSC-N1
    found_hosts["hv02"] = hv02.model_copy(update={"probes": [probe(FS01, N1)]})
    found = by_subject(run("host.path-reachable", the_facts=facts(with_nodes(), found_hosts)), "hv02", FS01)
    assert found.status is Status.FAIL and "clustered file server role FS01" in found.message


def test_path_alias_never_takes_an_alias_spn_off_a_client_access_points_object() -> None:
    """path.alias's SPN fix obeys the same rule as ad.delegation-target: files.contoso.com's SPN held by
    FS09$, a clustered role's computer object reported by a file server of the run, is left there and
    the fix is a step by hand. Before, path.alias moved it onto FS01$."""
    from test_prerequisite_checks import alias_facts, alias_site

    the_facts = alias_facts(holder="FS09$")
    reporter = next(iter(the_facts.hosts.values()))
    role = ClusterRole(group="FS09", group_type="FileServer", state="Online", owner_node="FSC-N1", addresses=[CAP_ADDRESS],
                       network_names=[ClusterNetworkName(resource="FS09", resource_type="Network Name", state="Online",
                                                         name="FS09", dns_name="fs09", object_guid="")])
    cluster = FileServerCluster(name="FSC", domain="contoso.com", roles=[role], nodes=[])
    the_facts.hosts["fsc-n1.contoso.com"] = reporter.model_copy(update={"name": "fsc-n1.contoso.com", "paths": [],
                                                                         "file_server_cluster": cluster})
    found = by_subject(run("path.alias", alias_site(), the_facts), r"\\files.contoso.com\ASRExport")
    assert found.status is Status.FAIL and "FS09$" in found.message
    assert not moves_off(found, "FS09$")
    assert found.remediation is not None
    assert any(isinstance(a, ManualStep) and "client access point" in a.text for a in found.remediation.actions)

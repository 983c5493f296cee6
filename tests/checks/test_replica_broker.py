"""Issue 19 items 3 and 4: the Hyper-V Replica Broker of a clustered Replica server or primary, and the
Replica certificate as Hyper-V judges it (the configured thumbprint, revocation, the peers' roots).

Each test failed before the change: a target cluster without a broker, with a Failed broker or with
a broker whose computer object is gone passed replica.server; nodes listed one by one were never
known as cluster nodes; the Replica server fix went to a node; replica.certificate accepted any
usable certificate, ignored revocation and never asked whether the other side trusts the root."""

from __future__ import annotations

from typing import Any

from builders import by_subject, certificate, computer, directory, facts, hosts, hyperv, run, site

from offlineprep.actions import types as t
from offlineprep.facts import Facts, HostCluster
from offlineprep.inventory import InventoryBuilder, NodeState, Origin, ReplicaBroker, Role, site_inventory
from offlineprep.model import Status

REPLICA = {"policy__manager": "hyperv-replica"}
CERT_REPLICA = {"policy__manager": "hyperv-replica", "policy__authentication": "certificate"}
BROKER = ReplicaBroker(resource="Virtual Machine Replication Broker", group="HVR-BRK", network_name="HVR-BRK",
                       dns_name="HVR-BRK", fqdn="HVR-BRK.contoso.com", computer_account="HVR-BRK$", state="Online")
NODES = ("hvr-n1.contoso.com", "hvr-n2.contoso.com")


def target_cluster(broker: ReplicaBroker | None = BROKER, *, in_inventory: bool = True, **node_facts: Any) -> Facts:
    """The healthy site plus a two-node target cluster HVR; its nodes answer with their cluster.
    `in_inventory` False: the nodes are listed one by one (the inventory knows no cluster)."""
    builder = InventoryBuilder()
    for h in site_inventory(site(**REPLICA)).hosts:
        builder.add_host(h.name, h.role, Origin.SITE_FILE)
    if in_inventory:
        cluster = builder.add_cluster("HVR.contoso.com", Role.TARGET, Origin.SITE_FILE, domain="contoso.com")
        builder.add_nodes(cluster, [(n, NodeState.UP) for n in NODES], Origin.CLUSTER)
        cluster.broker = broker
    else:
        for n in NODES:
            builder.add_host(n, Role.TARGET, Origin.SITE_FILE)
    the_hosts = hosts()
    answer = HostCluster(name="HVR", domain="contoso.com", brokers=[broker] if broker else [])
    for node, ip in zip(NODES, ("10.1.0.21", "10.1.0.22"), strict=True):
        the_hosts[node] = hyperv(node, ip).model_copy(update={"cluster": answer, **node_facts})
    the_facts = facts(host_facts=the_hosts)
    the_facts.inventory = builder.build()
    return the_facts


def verdict(check: str, the_facts: Facts, subject: str = NODES[0], **site_changes: Any) -> Any:
    return by_subject(run(check, site(**(site_changes or REPLICA)), the_facts), subject)


# --------------------------------------------------------------------------- item 3: the Replica Broker


def test_a_target_cluster_with_a_healthy_broker_passes() -> None:
    result = verdict("replica.server", target_cluster())
    assert result.status is Status.PASS, result.message
    assert result.evidence["replica_broker"]["fqdn"] == "HVR-BRK.contoso.com"


def test_a_target_cluster_without_a_broker_fails_as_the_bpa_rule_says() -> None:
    """BPA: "To participate in replication, servers in failover clusters must have a Hyper-V Replica
    Broker configured" (severity Error). Passed before."""
    result = verdict("replica.server", target_cluster(None))
    assert result.status is Status.FAIL
    assert "node of failover cluster HVR.contoso.com, which has no Hyper-V Replica Broker" in result.message
    assert result.remediation is not None
    assert "Add-ClusterResource -Type 'Virtual Machine Replication Broker'" in result.remediation.actions[0].text


def test_a_failed_broker_fails() -> None:
    result = verdict("replica.server", target_cluster(BROKER.model_copy(update={"state": "Failed"})))
    assert result.status is Status.FAIL
    assert "the Replica Broker HVR-BRK.contoso.com of cluster HVR.contoso.com is Failed, not Online" in result.message


def test_a_broker_whose_computer_object_is_missing_fails() -> None:
    the_facts = target_cluster()
    missing = directory()
    missing.computers["HVR-BRK.contoso.com"] = computer("HVR-BRK.contoso.com", 4001).model_copy(
        update={"found": False, "distinguished_name": None})
    the_facts.directory = missing
    result = verdict("replica.server", the_facts)
    assert result.status is Status.FAIL
    assert "has no computer object in Active Directory (HVR-BRK$)" in result.message
    the_facts.directory = directory()
    the_facts.directory.computers["HVR-BRK.contoso.com"] = computer("HVR-BRK.contoso.com", 4001)
    assert verdict("replica.server", the_facts).status is Status.PASS


def test_nodes_listed_one_by_one_are_known_by_their_own_answer() -> None:
    """No cluster in the inventory: each host's answer says its cluster (and that it has no broker)."""
    result = verdict("replica.server", target_cluster(None, in_inventory=False))
    assert result.status is Status.FAIL and "which has no Hyper-V Replica Broker" in result.message
    healthy = verdict("replica.server", target_cluster(in_inventory=False))
    assert healthy.status is Status.PASS and healthy.evidence["replica_broker"]["fqdn"] == "HVR-BRK.contoso.com"


def test_the_inventory_learns_the_cluster_and_broker_from_a_node_listed_alone() -> None:
    builder = InventoryBuilder()
    builder.add_host("hvr-n1.contoso.com", Role.TARGET, Origin.SITE_FILE)
    cluster = builder.node_reports_cluster("hvr-n1.contoso.com", "HVR", "contoso.com", BROKER)
    assert cluster is not None and cluster.name == "HVR.contoso.com" and cluster.broker == BROKER
    inventory = builder.build()
    assert inventory.host("hvr-n1.contoso.com").cluster == "HVR.contoso.com"  # type: ignore[union-attr]
    assert inventory.cluster("HVR.contoso.com").nodes == ["hvr-n1.contoso.com"]  # type: ignore[union-attr]


def test_replica_server_fixes_address_the_broker_not_the_node() -> None:
    """The broker's Replication Settings are the cluster's: the fix runs against its name."""
    the_facts = target_cluster()
    assert the_facts.hosts is not None
    for node in NODES:
        rs = the_facts.hosts[node].replication_server
        assert rs is not None
        the_facts.hosts[node] = the_facts.hosts[node].model_copy(
            update={"replication_server": rs.model_copy(update={"enabled": False})})
    result = verdict("replica.server", the_facts)
    assert result.status is Status.FAIL and result.remediation is not None
    settings = [a for a in result.remediation.actions if isinstance(a, t.ReplicaServerSettings)]
    assert [a.owner.name for a in settings if a.owner] == ["HVR-BRK.contoso.com"]


def test_a_source_clusters_failed_broker_fails_on_the_replica_server() -> None:
    builder = InventoryBuilder()
    for h in site_inventory(site(**REPLICA)).hosts:
        builder.add_host(h.name, h.role, Origin.SITE_FILE)
    cluster = builder.add_cluster("HVP.contoso.com", Role.SOURCE, Origin.SITE_FILE, domain="contoso.com")
    builder.add_nodes(cluster, [("hvp-n1.contoso.com", NodeState.UP)], Origin.CLUSTER)
    cluster.broker = BROKER.model_copy(update={"fqdn": "HVP-BRK.contoso.com", "state": "Failed"})
    the_hosts = hosts()
    the_hosts["hvp-n1.contoso.com"] = hyperv("hvp-n1.contoso.com", "10.0.0.21")
    the_facts = facts(host_facts=the_hosts)
    the_facts.inventory = builder.build()
    result = verdict("replica.server", the_facts, "hv11.contoso.com")
    assert result.status is Status.FAIL
    assert "the Replica Broker HVP-BRK.contoso.com of cluster HVP.contoso.com is Failed" in result.message


# --------------------------------------------------------------------------- item 4: the certificate


def cert_verdict(host: str = "hv11.contoso.com", **changes: Any) -> Any:
    the_hosts = hosts()
    the_hosts[host] = the_hosts[host].model_copy(update=changes)
    return by_subject(run("replica.certificate", site(**CERT_REPLICA), facts(host_facts=the_hosts)), host)


def test_the_configured_thumbprint_is_judged_not_any_usable_certificate() -> None:
    base = hosts()["hv11.contoso.com"]
    assert base.replication_server is not None
    rs = base.replication_server.model_copy(update={"certificate_thumbprint": "AB" * 20})
    result = cert_verdict(replication_server=rs)
    assert result.status is Status.FAIL
    assert f"the configured CertificateThumbprint {'AB' * 20} of hv11.contoso.com is not in LocalMachine\\My" \
        in result.message
    assert cert_verdict().status is Status.PASS


def test_a_configured_certificate_missing_an_eku_fails_though_another_is_usable() -> None:
    bad = certificate("HV11.contoso.com", thumbprint="CD" * 20, ekus=["1.3.6.1.5.5.7.3.1"])
    base = hosts()["hv11.contoso.com"]
    assert base.replication_server is not None
    rs = base.replication_server.model_copy(update={"certificate_thumbprint": bad.thumbprint})
    result = cert_verdict(replication_server=rs, certificates=[*(base.certificates or []), bad])
    assert result.status is Status.FAIL and "no Client Authentication" in result.message


def test_a_revoked_certificate_fails() -> None:
    revoked = certificate("HV11.contoso.com", chain_ok=False, chain_status=["Revoked"], revocation_checked=True)
    result = cert_verdict(certificates=[revoked])
    assert result.status is Status.FAIL and "it is revoked" in result.message


def test_a_crl_that_cannot_be_reached_is_said() -> None:
    offline = certificate("HV11.contoso.com", chain_ok=False, revocation_checked=True,
                          chain_status=["RevocationStatusUnknown", "OfflineRevocation"])
    result = cert_verdict(certificates=[offline])
    assert result.status is Status.FAIL
    assert "the CRL could not be reached within the time allowed" in result.message
    assert "DisableCertRevocationCheck" in result.message


def test_each_side_must_trust_the_other_sides_root() -> None:
    roots = {"hv01.contoso.com": "R1" * 20, "hv02": "R1" * 20, "hv11.contoso.com": "R2" * 20}
    the_hosts = hosts()
    for name, root in roots.items():
        h = the_hosts[name]
        the_hosts[name] = h.model_copy(update={
            "certificates": [c.model_copy(update={"root_thumbprint": root}) for c in h.certificates or []],
            "trusted_roots": [root]})
    found = run("replica.certificate", site(**CERT_REPLICA), facts(host_facts=the_hosts))
    target = by_subject(found, "hv11.contoso.com")
    assert target.status is Status.FAIL
    assert f"hv01.contoso.com's root {'R1' * 20}" in target.message and "LocalMachine\\Root" in target.message
    source = by_subject(found, "hv01.contoso.com")
    assert source.status is Status.FAIL and f"hv11.contoso.com's root {'R2' * 20}" in source.message
    for name in roots:
        the_hosts[name] = the_hosts[name].model_copy(update={"trusted_roots": ["R1" * 20, "R2" * 20]})
    found = run("replica.certificate", site(**CERT_REPLICA), facts(host_facts=the_hosts))
    assert {f.status for f in found} == {Status.PASS}

"""Issue 19 items 3 and 4 through real pywinrm and the simulated Windows hosts: a node says its
cluster and Replica Broker (state included), and the certificate section builds the chain as
Hyper-V Replica does (revocation unless DisableCertRevocationCheck = 1, the root's thumbprint,
LocalMachine\\Root). Failed before: the answer had no cluster, no roots, and the chain was built
without revocation."""

from __future__ import annotations

from typing import Any

from builders import site

from offlineprep.collect.hosts import collect_hosts
from offlineprep.collect.requests import HostRequest
from offlineprep.engine import CheckContext, discover, run_check
from offlineprep.facts import Facts, HostFacts, ToolStamp
from offlineprep.lab.cluster import ClusterNode, SimulatedCluster
from offlineprep.lab.windows import SimCertificate, SimulatedHost
from offlineprep.lab.winrm_endpoint import WinRMEndpoint
from offlineprep.model import Status
from offlineprep.site import WinRMConfig

PASSWORD = "Broker-S3cret-19b"
CHECKS = {c.id: c for c in discover(include_entry_points=False).checks}
ROOT = "0A" * 20


def collected(sims: dict[str, SimulatedHost]) -> dict[str, HostFacts]:
    config = WinRMConfig(transport="basic", scheme="http", user="lab\\preflight", timeout_seconds=5)
    with WinRMEndpoint(sims, password=PASSWORD) as ep:
        return collect_hosts(config, [HostRequest(name, hyperv=True) for name in sims], PASSWORD,
                             session_factory=ep.protocol_factory(5))


def cluster(state: str = "Online") -> SimulatedCluster:
    found = SimulatedCluster(Name="HVR", Domain="contoso.com", nodes=[ClusterNode("HVR-N1"), ClusterNode("HVR-N2")])
    found.add_broker("HVR-BRK", "HVR-BRK")
    for resource in found.resources:
        if resource.ResourceType == "Virtual Machine Replication Broker":
            resource.State = state
    return found


def node(**kw: Any) -> SimulatedHost:
    kw.setdefault("certificates", [SimCertificate("CN=HVR-N1.contoso.com", dns_names=["HVR-N1.contoso.com",
                                                                                      "HVR-BRK.contoso.com"],
                                                  root_thumbprint=ROOT)])
    return SimulatedHost("HVR-N1.contoso.com", hyperv_installed=True, **kw)


def test_a_node_says_its_cluster_and_its_brokers_state() -> None:
    facts = collected({"hvr-n1.contoso.com": node(cluster=cluster("Failed")),
                       "hv01.contoso.com": SimulatedHost("HV01.contoso.com", hyperv_installed=True)})
    answer = facts["hvr-n1.contoso.com"].cluster
    assert answer is not None and answer.name == "HVR" and answer.domain == "contoso.com"
    assert [(b.fqdn, b.state, b.computer_account) for b in answer.brokers] == [
        ("HVR-BRK.contoso.com", "Failed", "HVR-BRK$")]
    assert facts["hv01.contoso.com"].cluster is None  # no Cluster service: no node, and no section error
    assert "cluster" not in facts["hv01.contoso.com"].section_errors


def test_the_failed_broker_reaches_replica_server_through_the_hosts_answer() -> None:
    """The node is listed alone (no cluster in the inventory): its own answer makes it a cluster node."""
    hosts = collected({"hvr-n1.contoso.com": node(cluster=cluster("Failed"))})
    the_site = site(policy__manager="hyperv-replica", target__hosts=["hvr-n1.contoso.com"])
    finding = next(f for f in run_check(CHECKS["replica.server"], CheckContext(
        site=the_site, facts=Facts(tool=ToolStamp(version="t"), hosts=hosts))) if f.subject == "hvr-n1.contoso.com")
    assert finding.status is Status.FAIL
    assert "the Replica Broker HVR-BRK.contoso.com of cluster HVR.contoso.com is Failed, not Online" in finding.message


def test_revocation_is_checked_unless_hyperv_replica_is_told_not_to() -> None:
    revoked = SimCertificate("CN=HV01.contoso.com", dns_names=["HV01.contoso.com"], revocation="revoked",
                             root_thumbprint=ROOT)
    offline = SimCertificate("CN=HV02.contoso.com", dns_names=["HV02.contoso.com"], revocation="unreachable")
    facts = collected({
        "hv01.contoso.com": SimulatedHost("HV01.contoso.com", hyperv_installed=True, certificates=[revoked],
                                          trusted_roots=[ROOT]),
        "hv02.contoso.com": SimulatedHost("HV02.contoso.com", hyperv_installed=True, certificates=[offline]),
        "hv03.contoso.com": SimulatedHost("HV03.contoso.com", hyperv_installed=True, cert_revocation_check_disabled=1,
                                          certificates=[SimCertificate("CN=HV03.contoso.com", revocation="revoked")])})
    one = facts["hv01.contoso.com"]
    assert one.certificates is not None and one.certificates[0].chain_status == ["Revoked"]
    assert one.certificates[0].revocation_checked is True and one.certificates[0].root_thumbprint == ROOT
    assert one.trusted_roots == [ROOT] and one.cert_revocation_check_disabled is None
    two = facts["hv02.contoso.com"].certificates
    assert two is not None and two[0].chain_status == ["RevocationStatusUnknown", "OfflineRevocation"]
    three = facts["hv03.contoso.com"]
    assert three.cert_revocation_check_disabled == 1
    assert three.certificates is not None and three.certificates[0].chain_ok is True
    assert three.certificates[0].revocation_checked is False

"""replica.connection on facts: each answer shape Test-VMReplicationConnection gives (issue 22 item 4).

Failed before: there was no such check, so a primary whose Replica server refused it, rejected its
certificate or did not authorize it passed every check that reads settings."""

from __future__ import annotations

from typing import Any

from builders import by_subject, facts, hosts, run, site, statuses

from offlineprep.facts import HostFacts, ReplicaConnection
from offlineprep.inventory import ReplicaBroker
from offlineprep.model import Status

REFUSED = ("Hyper-V cannot connect to the specified Replica server 'hv11.contoso.com'. Error: A connection with the "
           "server could not be established (0x00002EFD).")
CERTIFICATE = ("Hyper-V failed to authenticate the specified Replica server 'hv11.contoso.com' using certificate-based "
               "authentication. Error: A security error occurred (0x00002F8F).")
DENIED = ("The Replica server 'hv11.contoso.com' rejected the connection: the primary server 'HV01.contoso.com' is "
          "not authorized to replicate to it. Error: Access is denied. (0x80070005)")
ERROR_ID = "OperationFailed,Microsoft.HyperV.PowerShell.Commands.TestVMReplicationConnection"


def answered_as(**changes: Any) -> dict[str, HostFacts]:
    """The healthy site with hv01's test to hv11 answered as `changes` say."""
    found = hosts()
    base = found["hv01.contoso.com"].replica_connections[0]  # type: ignore[index]
    found["hv01.contoso.com"] = found["hv01.contoso.com"].model_copy(
        update={"replica_connections": [base.model_copy(update=changes)]})
    return found


def judged(host_facts: dict[str, HostFacts], **site_changes: Any) -> Any:
    return by_subject(run("replica.connection", site(**site_changes), facts(host_facts=host_facts)),
                      "hv01.contoso.com", "hv11.contoso.com")


def test_every_source_host_that_connects_passes() -> None:
    findings = run("replica.connection")
    assert statuses(findings) == {("hv01.contoso.com->hv11.contoso.com", "pass"), ("hv02->hv11.contoso.com", "pass")}
    assert "connects to the Replica server hv11.contoso.com on port 8084 with Certificate" in findings[0].message


def test_refused_fails_with_hyperv_s_own_message_and_the_listener_rule() -> None:
    finding = judged(answered_as(state="failed", message=REFUSED, error_id=ERROR_ID))
    assert finding.status is Status.FAIL and finding.severity == "high"
    assert REFUSED in finding.message and f"[{ERROR_ID}]" in finding.message
    assert finding.evidence["failure"] == "listener"
    fix = finding.remediation
    assert fix is not None and "Hyper-V Replica HTTPS Listener (TCP-In)" in fix.actions[0].text  # type: ignore[attr-defined]
    assert fix.actions[0].owner.name == "hv11.contoso.com"  # type: ignore[attr-defined,union-attr]


def test_kerberos_names_the_http_listener_rule() -> None:
    finding = judged(answered_as(state="failed", message=REFUSED.replace("0x00002EFD", "0x00002EFE"), port=8083,
                            authentication="Kerberos"), policy__authentication="kerberos")
    assert "Hyper-V Replica HTTP Listener (TCP-In)" in finding.remediation.actions[0].text


def test_a_certificate_failure_points_at_the_certificates() -> None:
    finding = judged(answered_as(state="failed", message=CERTIFICATE, error_id=ERROR_ID))
    assert finding.status is Status.FAIL and finding.evidence["failure"] == "certificate"
    assert "replica.certificate" in finding.remediation.actions[0].text
    assert finding.remediation.actions[0].owner.name == "hv01.contoso.com"


def test_a_primary_not_authorized_points_at_the_authorization_entries() -> None:
    finding = judged(answered_as(state="failed", message=DENIED, error_id=ERROR_ID))
    assert finding.status is Status.FAIL and finding.evidence["failure"] == "authorization"
    text = finding.remediation.actions[0].text
    assert "New-VMReplicationAuthorizationEntry -AllowedPrimaryServer HV01.contoso.com" in text
    assert "Set-VMReplicationServer" in text


def test_a_clustered_primary_is_authorized_by_its_brokers_name() -> None:
    from offlineprep.facts import HostCluster

    found = answered_as(state="failed", message=DENIED)
    found["hv01.contoso.com"] = found["hv01.contoso.com"].model_copy(update={"cluster": HostCluster(
        name="HVC1", domain="contoso.com",
        brokers=[ReplicaBroker(resource="Virtual Machine Replication Broker", dns_name="HVC1-BRK", state="Online")])})
    text = judged(found).remediation.actions[0].text
    assert "-AllowedPrimaryServer HVC1-BRK.contoso.com" in text


def test_a_timeout_says_after_how_long() -> None:
    finding = judged(answered_as(state="timeout", seconds=10.0))
    assert finding.status is Status.FAIL and "timed out after 10 s" in finding.message
    assert "Hyper-V Replica HTTPS Listener (TCP-In)" in finding.remediation.actions[0].text


def test_another_listener_port_is_named() -> None:
    found = answered_as(state="failed", message=REFUSED)
    rs = found["hv11.contoso.com"].replication_server
    found["hv11.contoso.com"].replication_server = rs.model_copy(update={"certificate_port": 443})  # type: ignore[union-attr]
    finding = judged(found)
    assert "listens for Certificate on port 443" in finding.message and finding.evidence["replica_server_port"] == 443


def test_no_certificate_to_present_is_not_tested_and_fails() -> None:
    finding = judged(answered_as(state="not_tested", thumbprint=None,
                            message="no CertificateThumbprint is configured on this host (Get-VMReplicationServer): "
                                    "certificate authentication has no certificate to present"))
    assert finding.status is Status.FAIL and "was not run: no CertificateThumbprint" in finding.message
    assert "Set-VMReplicationServer -CertificateThumbprint" in finding.remediation.actions[0].text


def test_under_asr_a_replica_server_not_yet_enabled_skips() -> None:
    found = answered_as(state="failed", message=REFUSED)
    rs = found["hv11.contoso.com"].replication_server
    found["hv11.contoso.com"].replication_server = rs.model_copy(update={"enabled": False})  # type: ignore[union-attr]
    finding = judged(found, policy__manager="asr")
    assert finding.status is Status.SKIP and "Site Recovery enables it" in finding.message
    # the same host under plain Hyper-V Replica is judged: the administrator enables it
    assert judged(found, policy__manager="hyperv-replica").status is Status.FAIL


def test_under_asr_an_enabled_replica_server_is_judged() -> None:
    assert judged(answered_as(state="failed", message=REFUSED), policy__manager="asr").status is Status.FAIL


def test_a_host_that_did_not_test_is_an_error_not_a_pass() -> None:
    assert judged(answered_as(server="other.contoso.com")).status is Status.ERROR
    found = hosts()
    found["hv01.contoso.com"].replica_connections = None
    assert judged(found).status is Status.ERROR


def test_a_replica_cluster_is_tested_once_by_its_brokers_name() -> None:
    from offlineprep.facts import HostCluster

    broker = ReplicaBroker(resource="Virtual Machine Replication Broker", dns_name="HVR-BRK", state="Online")
    found = hosts()
    for node in ("hvr-n1.contoso.com", "hvr-n2.contoso.com"):
        found[node] = found["hv11.contoso.com"].model_copy(update={
            "name": node, "cluster": HostCluster(name="HVR", domain="contoso.com", brokers=[broker])})
    for source in ("hv01.contoso.com", "hv02"):
        found[source].replica_connections = [
            ReplicaConnection(server="HVR-BRK.contoso.com", port=8084, authentication="Certificate", state="connected"),
            ReplicaConnection(server="hv11.contoso.com", port=8084, authentication="Certificate", state="connected")]
    findings = run("replica.connection", site(target__hosts=["hv11.contoso.com", "hvr-n1.contoso.com",
                                                            "hvr-n2.contoso.com"]), facts(host_facts=found))
    assert statuses(findings) == {(f"{s}->{t}", "pass") for s in ("hv01.contoso.com", "hv02")
                                  for t in ("hv11.contoso.com", "HVR-BRK.contoso.com")}


def test_without_a_policy_table_it_skips() -> None:
    findings = run("replica.connection", site(policy=None))
    assert {f.status for f in findings} == {Status.SKIP}


def test_a_stopped_vmms_on_the_replica_server_is_named() -> None:
    found = answered_as(state="failed", message=REFUSED)
    found["hv11.contoso.com"].vmms_status = "Stopped"
    finding = judged(found)
    assert "(vmms) on hv11.contoso.com is not running" in finding.message
    assert finding.evidence["vmms_not_running"] == ["hv11.contoso.com"]


def test_pairs_left_out_by_the_bound_skip_naming_who_tested_the_server() -> None:
    targets = [f"hv{i}.contoso.com" for i in range(11, 21)]
    found = hosts()
    for name in targets[1:]:
        found[name] = found["hv11.contoso.com"].model_copy(update={"name": name})
    findings = run("replica.connection", site(target__hosts=targets), facts(host_facts=found))
    # hv01 and hv02 each tested only hv11 here: the others skip, saying who tested hv11
    left = by_subject(findings, "hv01.contoso.com", "hv12.contoso.com")
    assert left.status is Status.SKIP and "tests 8 of them in turn" in left.message
    assert "hv11.contoso.com was tested" not in left.message and "from no source host that answered" in left.message
    assert by_subject(findings, "hv02", "hv11.contoso.com").status is Status.PASS

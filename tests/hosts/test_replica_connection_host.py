"""Section `replica_connection` through real pywinrm and the simulated hosts (issue 22 item 4): what
Test-VMReplicationConnection answers on a primary, as the loopback endpoint's Windows twin gives it, each
failing shape included, then judged by replica.connection; the values stay data; still one command a host.

Failed before: the collection script ran no connection test and the answer had no such section."""

from __future__ import annotations

import base64
import json
from typing import Any

import pwsh_syntax
from builders import site

from offlineprep.collect.hosts import collect_hosts, collection_script, stdin_payload
from offlineprep.collect.requests import HostRequest, ReplicaConnectionRequest
from offlineprep.engine import CheckContext, discover, run_check
from offlineprep.facts import Facts, HostFacts, ToolStamp
from offlineprep.lab.cluster import ClusterNode, SimulatedCluster
from offlineprep.lab.windows import ReplicaFault, SimAuthorization, SimCertificate, SimulatedHost
from offlineprep.lab.winrm_endpoint import WinRMEndpoint
from offlineprep.model import Status
from offlineprep.site import WinRMConfig
from offlineprep.winrm.scripts import script

PASSWORD = "Replica-Conn-22d"
CHECKS = {c.id: c for c in discover(include_entry_points=False).checks}
CERT = SimCertificate("CN=HV01.contoso.com", dns_names=["HV01.contoso.com"])
REPLICA = {"enabled": True, "kerberos_port": 8083, "certificate_port": 8084, "allowed_authentication": "Certificate"}


def primary(**kw: Any) -> SimulatedHost:
    kw.setdefault("certificates", [CERT])
    return SimulatedHost("HV01.contoso.com", hyperv_installed=True,
                         replication={**REPLICA, "certificate_thumbprint": CERT.thumbprint}, **kw)


def replica_server(name: str = "HV11.contoso.com", authorized: str = "*.contoso.com", **kw: Any) -> SimulatedHost:
    kw.setdefault("replication", dict(REPLICA))
    return SimulatedHost(name, hyperv_installed=True, replica_authorizations=[SimAuthorization(authorized, "D:\\R")],
                         **kw)


def collected(sims: dict[str, SimulatedHost], servers: list[str], seconds: float = 10.0,
              authentication: str = "Certificate", port: int = 8084) -> tuple[HostFacts, WinRMEndpoint]:
    config = WinRMConfig(transport="basic", scheme="http", user="contoso\\preflight", timeout_seconds=5)
    request = HostRequest("hv01.contoso.com", hyperv=True, replica_connection_seconds=seconds,
                          replica_connections=[ReplicaConnectionRequest(s, port, authentication) for s in servers])
    with WinRMEndpoint(sims, password=PASSWORD) as ep:
        facts = collect_hosts(config, [request], PASSWORD, session_factory=ep.protocol_factory(5))
    return facts["hv01.contoso.com"], ep


def connection(sims: dict[str, SimulatedHost], server: str = "hv11.contoso.com", **kw: Any) -> Any:
    facts, _ = collected(sims, [server], **kw)
    assert facts.replica_connections is not None, facts.section_errors
    return next(c for c in facts.replica_connections if c.server == server)


def verdict(facts: HostFacts, target: HostFacts, **site_changes: Any) -> Any:
    the_site = site(source__hosts=["hv01.contoso.com"], target__hosts=["hv11.contoso.com"], **site_changes)
    hosts = {"hv01.contoso.com": facts, "hv11.contoso.com": target}
    return next(iter(run_check(CHECKS["replica.connection"], CheckContext(
        site=the_site, facts=Facts(tool=ToolStamp(version="t"), hosts=hosts)))))


def test_a_reachable_authorized_replica_server_connects_with_the_hosts_own_certificate() -> None:
    found = connection({"hv01.contoso.com": primary(), "hv11.contoso.com": replica_server()})
    assert (found.state, found.port, found.authentication, found.thumbprint) == (
        "connected", 8084, "Certificate", CERT.thumbprint)


def test_no_listener_is_hyperv_s_cannot_connect() -> None:
    for replica in (replica_server(vmms_status="Stopped"), replica_server(replica_fault=ReplicaFault.REFUSED),
                    replica_server(replication={**REPLICA, "enabled": False})):
        found = connection({"hv01.contoso.com": primary(), "hv11.contoso.com": replica})
        assert found.state == "failed" and "(0x00002EFD)" in (found.message or "")
        assert found.error_id and found.error_id.endswith("TestVMReplicationConnection")
    # the listener on another port than the one tested
    found = connection({"hv01.contoso.com": primary(), "hv11.contoso.com": replica_server()}, port=443)
    assert found.state == "failed" and "(0x00002EFD)" in (found.message or "")


def test_certificate_and_authorization_failures_keep_hyperv_s_text() -> None:
    found = connection({"hv01.contoso.com": primary(),
                        "hv11.contoso.com": replica_server(replica_fault=ReplicaFault.CERTIFICATE)})
    assert found.state == "failed" and "(0x00002F8F)" in (found.message or "")
    found = connection({"hv01.contoso.com": primary(), "hv11.contoso.com": replica_server(authorized="hv99.contoso.com")})
    assert found.state == "failed" and "Access is denied. (0x80070005)" in (found.message or "")
    assert "'HV01.contoso.com' is not authorized" in (found.message or "")


def test_an_unanswered_test_is_a_timeout_after_the_deadline_and_the_others_still_answer() -> None:
    sims = {"hv01.contoso.com": primary(), "hv11.contoso.com": replica_server(replica_fault=ReplicaFault.TIMEOUT),
            "hv12.contoso.com": replica_server("HV12.contoso.com")}
    facts, _ = collected(sims, ["hv11.contoso.com", "hv12.contoso.com"], seconds=3)
    states = {c.server: (c.state, c.seconds) for c in facts.replica_connections or []}
    assert states == {"hv11.contoso.com": ("timeout", 3.0), "hv12.contoso.com": ("connected", None)}


def test_no_configured_certificate_is_not_tested() -> None:
    sims = {"hv01.contoso.com": SimulatedHost("HV01.contoso.com", hyperv_installed=True, replication=dict(REPLICA)),
            "hv11.contoso.com": replica_server()}
    found = connection(sims)
    assert found.state == "not_tested" and "no CertificateThumbprint" in (found.message or "")
    assert connection(sims, authentication="Kerberos", port=8083).state == "failed"  # Kerberos is not allowed there


def test_a_replica_cluster_is_reached_through_its_brokers_name() -> None:
    cluster = SimulatedCluster(Name="HVR", Domain="contoso.com", nodes=[ClusterNode("HVR-N1"), ClusterNode("HVR-N2")])
    cluster.add_broker("HVR-BRK")
    n1, n2 = (replica_server(f"HVR-N{i}.contoso.com", authorized="hvc1-brk.contoso.com") for i in (1, 2))
    n1.cluster = n2.cluster = cluster
    source = SimulatedCluster(Name="HVC1", Domain="contoso.com", nodes=[ClusterNode("HV01")])
    source.add_broker("HVC1-BRK")
    sims = {"hv01.contoso.com": primary(cluster=source), "hvr-n1.contoso.com": n1, "hvr-n2.contoso.com": n2}
    found = connection(sims, server="hvr-brk.contoso.com")
    assert found.state == "connected"  # authorized by the primary cluster's broker, not its node
    sims["hv01.contoso.com"] = primary()
    assert connection(sims, server="hvr-brk.contoso.com").state == "failed"  # a standalone HV01 is not authorized


def test_the_verdicts_through_the_wire() -> None:
    target = HostFacts(name="hv11.contoso.com", reachable=True, computer_name="HV11.contoso.com")
    cases = {"connected": (replica_server(), Status.PASS, None),
             "refused": (replica_server(replica_fault=ReplicaFault.REFUSED), Status.FAIL, "listener"),
             "certificate": (replica_server(replica_fault=ReplicaFault.CERTIFICATE), Status.FAIL, "certificate"),
             "authorization": (replica_server(authorized="x.fabrikam.com"), Status.FAIL, "authorization"),
             "timeout": (replica_server(replica_fault=ReplicaFault.TIMEOUT), Status.FAIL, "timeout")}
    for name, (replica, status, kind) in cases.items():
        facts, _ = collected({"hv01.contoso.com": primary(), "hv11.contoso.com": replica}, ["hv11.contoso.com"],
                             seconds=2)
        finding = verdict(facts, target)
        assert (finding.status, finding.evidence.get("failure")) == (status, kind), name
    assert "timed out after 2 s" in finding.message


def test_one_powershell_command_per_host_with_the_servers_as_request_data() -> None:
    sims = {"hv01.contoso.com": primary(), "hv11.contoso.com": replica_server()}
    _, ep = collected(sims, ["hv11.contoso.com"])
    assert ep.commands["hv01.contoso.com"] == 1
    [request] = ep.requests["hv01.contoso.com"]
    assert request["replica_connections"] == [{"server": "hv11.contoso.com", "port": 8084,
                                               "authentication": "Certificate"}]


HOSTILE = "hv11.contoso.com'; Remove-Item C:\\ -Recurse; '"


def test_values_never_reach_the_script_text() -> None:
    request = HostRequest("hv01.contoso.com", hyperv=True,
                          replica_connections=[ReplicaConnectionRequest(HOSTILE, 8084, "Certificate")])
    first, _, text = stdin_payload(request).decode("utf-8").partition("\n")
    assert text == collection_script()  # the script is the same whatever the request
    assert json.loads(base64.b64decode(first))["replica_connections"][0]["server"] == HOSTILE
    pwsh_syntax.assert_values_in_literals(text, [HOSTILE, "Remove-Item C:\\"], "collect.ps1")


def test_the_part_binds_every_value_with_addparameter() -> None:
    part = next(p for p in script("collect").parts if p.stem == "66-replica_connection").read_text(encoding="utf-8")
    parsed = pwsh_syntax.assert_valid(part, "66-replica_connection.ps1")
    code = parsed.source.decode("utf-8")
    # the cmdlet is never a command of the script itself: only a literal handed to AddCommand, its values bound
    commands = [parsed.source[n.start_byte:n.end_byte].decode() for n in parsed.nodes() if n.type == "command_name"]
    assert "Get-VMReplicationServer" in commands  # the parser does see commands
    assert not [c for c in commands if c.casefold() == "test-vmreplicationconnection"]
    assert ".AddCommand('Test-VMReplicationConnection')" in code
    for forbidden in ("Invoke-Expression", "iex ", "ScriptBlock]::Create", "AddScript"):
        assert forbidden not in code
    for parameter in ("ReplicaServerName", "ReplicaServerPort", "AuthenticationType", "CertificateThumbprint"):
        assert f".AddParameter('{parameter}', $" in code


def test_each_source_host_is_asked_to_test_each_replica_server_once_by_its_connection_point() -> None:
    from offlineprep.collect.routing import DomainDirectory, route_collection
    from offlineprep.inventory import Cluster, Host, Inventory, Origin, ReplicaBroker, Role
    from offlineprep.pipeline import replica_test

    site_file = [Origin.SITE_FILE]
    inventory = Inventory(
        hosts=[Host(name="hv01.contoso.com", roles=[Role.SOURCE], origins=site_file),
               Host(name="hv11.contoso.com", roles=[Role.TARGET], origins=site_file),
               Host(name="hvr-n1.contoso.com", roles=[Role.TARGET], cluster="HVR", origins=site_file),
               Host(name="hvr-n2.contoso.com", roles=[Role.TARGET], cluster="HVR", origins=site_file)],
        clusters=[Cluster(name="HVR", domain="contoso.com", roles=[Role.TARGET], origins=site_file,
                          nodes=["hvr-n1.contoso.com", "hvr-n2.contoso.com"],
                          broker=ReplicaBroker(resource="Virtual Machine Replication Broker",
                                               fqdn="HVR-BRK.contoso.com"))])
    for policy, expected in ((site().policy, ("Certificate", 8084)),
                             (site(policy__authentication="kerberos", policy__port=8443).policy, ("Kerberos", 8443))):
        the_site = site().model_copy(update={"policy": policy})
        routes = route_collection(inventory, [DomainDirectory("")], directory=False, path_computers=False,
                                  replica=replica_test(the_site))
        asked = {r.name: [(c.server, c.authentication, c.port) for c in r.replica_connections] for r in routes.hosts}
        assert asked == {"hv01.contoso.com": [("hv11.contoso.com", *expected), ("HVR-BRK.contoso.com", *expected)],
                         "hv11.contoso.com": [], "hvr-n1.contoso.com": [], "hvr-n2.contoso.com": []}
    # without a [policy] table nothing is tested: the authentication is not known
    assert replica_test(site().model_copy(update={"policy": None})) is None


def test_with_many_replica_servers_each_source_tests_a_bounded_share_and_every_server_is_covered() -> None:
    from offlineprep.inventory import REPLICA_TESTS_PER_HOST, Host, Inventory, Origin, Role

    sources = [f"hv{i:02}.contoso.com" for i in range(3)]
    targets = [f"hr{i:02}.contoso.com" for i in range(20)]
    inventory = Inventory(hosts=[Host(name=n, roles=[Role.SOURCE], origins=[Origin.SITE_FILE]) for n in sources]
                          + [Host(name=n, roles=[Role.TARGET], origins=[Origin.SITE_FILE]) for n in targets])
    shares = {s: inventory.replica_servers_tested_from(s) for s in sources}
    assert all(len(v) == REPLICA_TESTS_PER_HOST for v in shares.values())
    assert set().union(*shares.values()) == set(targets)  # 3 x 8 >= 20: every Replica server from some source
    small = Inventory(hosts=inventory.hosts[:3] + inventory.hosts[3:6])
    assert small.replica_servers_tested_from(sources[0]) == targets[:3]  # few servers: all of them
    assert small.replica_servers_tested_from(targets[0]) == []  # a target host tests nothing

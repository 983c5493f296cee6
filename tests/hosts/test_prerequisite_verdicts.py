"""The prerequisites the walkthrough leaves out (issue 13), through the real path: the collection the
pipeline plans, real pywinrm, the loopback endpoint, the simulated Windows hosts answering from
Windows' own objects, then the checks. Each check: pass, fail, skip (where it can skip), error; and
the failing shapes a real site has: a name with no record, a silent DNS server, 445 filtered, a
skewed clock, an expired certificate, a missing EKU, an authorization entry for another primary, a
Replica server that is off, a domain controller holding a path."""

from __future__ import annotations

import functools
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from builders import DOM, NTFS_OK, SHARE_OK, directory, site

from offlineprep.collect.hosts import collect_hosts
from offlineprep.collect.remote import run_remote
from offlineprep.engine import CheckContext, discover, needs_of, run_check
from offlineprep.facts import DirectoryFacts, Facts, HostFacts, SpnHolder, ToolStamp
from offlineprep.lab.cluster import ClusterNode, SimulatedCluster
from offlineprep.lab.windows import (
    CLIENT_AUTH,
    Fault,
    SimAuthorization,
    SimCertificate,
    SimFolder,
    SimLookup,
    SimShare,
    SimulatedHost,
    default_groups,
)
from offlineprep.lab.winrm_endpoint import WinRMEndpoint
from offlineprep.model import Finding, Status
from offlineprep.pipeline import Collectors, collect, collection_scope
from offlineprep.site import Site, WinRMConfig

PASSWORD = "Prereq-S3cret-13"
CATALOGUE = discover(include_entry_points=False).checks
CHECKS = {c.id: c for c in CATALOGUE}
REPLICA = {"policy__manager": "hyperv-replica"}
EXPORT, IMPORT = r"\\fs01.contoso.com\ASRExport", r"\\fs11.contoso.com\ASRImport"


def hyperv(name: str, ip: str, **kw: Any) -> SimulatedHost:
    kw.setdefault("certificates", [SimCertificate(f"CN={name}", dns_names=[name])])
    kw.setdefault("replication", {"enabled": True, "kerberos_port": 8083, "certificate_port": 8084,
                                  "allowed_authentication": "CertificateAndKerberos", "allowed_from_any_server": False,
                                  "default_storage_location": "D:\\Replica",
                                  "certificate_thumbprint": kw["certificates"][0].thumbprint if kw["certificates"] else ""})
    kw.setdefault("replica_authorizations", [SimAuthorization("*.contoso.com", "D:\\Replica")])
    return SimulatedHost(name, os_caption="Microsoft Windows Server 2012 R2 Datacenter", os_version="6.3.9600",
                         os_build="9600", hyperv_installed=True, ip_addresses=[ip], directories=["D:\\Replica"],
                         groups=default_groups(domain_sid=DOM), **kw)


def file_server(name: str, share: str, ip: str, **kw: Any) -> SimulatedHost:
    return SimulatedHost(name, ip_addresses=[ip], groups=default_groups([f"{DOM}-1200"], domain_sid=DOM),
                         shares=[SimShare(share, f"D:\\{share}", SHARE_OK)], folders=[SimFolder(f"D:\\{share}", NTFS_OK)],
                         **kw)


def lab(**replace: SimulatedHost) -> dict[str, SimulatedHost]:
    """builders' healthy site as Windows hosts: keys are the names the site file writes."""
    sims = {"hv01.contoso.com": hyperv("HV01.contoso.com", "10.0.0.1"), "hv02": hyperv("HV02.contoso.com", "10.0.0.2"),
            "hv11.contoso.com": hyperv("HV11.contoso.com", "10.1.0.11"),
            "fs01.contoso.com": file_server("FS01.contoso.com", "ASRExport", "10.0.0.50"),
            "fs11.contoso.com": file_server("FS11.contoso.com", "ASRImport", "10.1.0.50")}
    sims.update(replace)
    return sims


def collected(sims: dict[str, SimulatedHost], the_site: Site) -> dict[str, HostFacts]:
    """What the pipeline would collect for every check: its own scope, real pywinrm, the endpoint."""
    scope = collection_scope(the_site, needs_of(CATALOGUE))
    config = WinRMConfig(transport="basic", scheme="http", user="lab\\preflight", timeout_seconds=10)
    with WinRMEndpoint(sims, password=PASSWORD) as ep:
        return collect_hosts(config, scope.hosts, PASSWORD, session_factory=ep.protocol_factory(10))


def the_directory(**update: Any) -> DirectoryFacts:
    now = datetime.now(UTC)  # the DC's clock, read now as the collector would
    return directory().model_copy(update={"current_time": now, "current_time_observed_at": now, **update})


def verdicts(check_id: str, sims: dict[str, SimulatedHost], the_site: Site | None = None,
             dir_facts: DirectoryFacts | None = None) -> list[Finding]:
    the_site = the_site or site()
    facts = Facts(tool=ToolStamp(version="test"), directory=dir_facts or the_directory(),
                  hosts=collected(sims, the_site))
    return run_check(CHECKS[check_id], CheckContext(site=the_site, facts=facts))


def one(found: list[Finding], subject: str, target: str | None = None) -> Finding:
    return next(f for f in found if f.subject == subject and (target is None or f.target == target))


def table(found: list[Finding]) -> dict[str, str]:
    return {f.subject + (f"->{f.target}" if f.target else ""): f.status.value for f in found}


# --------------------------------------------------------------------------- host.hyperv-ready


def test_hyperv_ready_through_windows() -> None:
    stopped = hyperv("HV11.contoso.com", "10.1.0.11", vmms_status="Stopped")
    no_role = SimulatedHost("HV02.contoso.com", ip_addresses=["10.0.0.2"])  # a plain server named as a host
    down = hyperv("HV01.contoso.com", "10.0.0.1", fault=Fault.REFUSE)
    found = verdicts("host.hyperv-ready", lab(**{"hv11.contoso.com": stopped, "hv02": no_role, "hv01.contoso.com": down}))
    assert table(found) == {"hv01.contoso.com": "error", "hv02": "fail", "hv11.contoso.com": "fail"}
    assert "is Stopped" in one(found, "hv11.contoso.com").message
    assert "role is not installed" in one(found, "hv02").message
    assert table(verdicts("host.hyperv-ready", lab())) == {"hv01.contoso.com": "pass", "hv02": "pass",
                                                          "hv11.contoso.com": "pass"}


# --------------------------------------------------------------------------- host.path-reachable


def test_path_reachable_through_windows_every_failing_step() -> None:
    sims = lab(**{
        # hv01's DNS has no record for the file server; hv02's DNS server does not answer
        "hv01.contoso.com": hyperv("HV01.contoso.com", "10.0.0.1", dns={"fs01.contoso.com": SimLookup(None)}),
        "hv02": hyperv("HV02.contoso.com", "10.0.0.2", dns={"fs01.contoso.com": SimLookup(no_answer=True)}),
        # a firewall drops 445 on the import server
        "fs11.contoso.com": file_server("FS11.contoso.com", "ASRImport", "10.1.0.50", smb_port="filtered")})
    found = verdicts("host.path-reachable", sims)
    assert table(found) == {"hv01.contoso.com->fs01.contoso.com": "fail", "hv02->fs01.contoso.com": "fail",
                            "hv11.contoso.com->fs11.contoso.com": "fail"}
    assert "No such host is known" in one(found, "hv01.contoso.com").message
    assert "no answer from its DNS server" in one(found, "hv02").message
    filtered = one(found, "hv11.contoso.com")
    assert "10.1.0.50: no answer within the wait" in filtered.message
    assert filtered.remediation is not None and [a.kind for a in filtered.remediation.actions] == [
        "host.firewall-open", "manual"]


def test_path_reachable_through_windows_stale_record_refused_pass_skip_and_error() -> None:
    sims = lab(**{"hv01.contoso.com": hyperv("HV01.contoso.com", "10.0.0.1",
                                             dns={"fs01.contoso.com": SimLookup(["10.0.0.49"])}),
                  "fs11.contoso.com": file_server("FS11.contoso.com", "ASRImport", "10.1.0.50", smb_port="refused")})
    found = verdicts("host.path-reachable", sims)
    assert "10.0.0.49 is not an address of FS01.contoso.com" in one(found, "hv01.contoso.com").message
    assert one(found, "hv02").status is Status.PASS  # the lab's DNS, 445 open
    refused = one(found, "hv11.contoso.com")
    assert refused.status is Status.FAIL and "refused" in refused.message
    assert refused.remediation is not None and refused.remediation.actions[0].kind == "host.start-service"
    # the file server does not answer WinRM: whether the address is its own cannot be told
    down = lab(**{"fs01.contoso.com": file_server("FS01.contoso.com", "ASRExport", "10.0.0.50", fault=Fault.HTTP_401)})
    assert one(verdicts("host.path-reachable", down), "hv02").status is Status.ERROR
    local = site(source__export_path="D:\\ASRExport", source__export_server="fs01.contoso.com")
    assert one(verdicts("host.path-reachable", lab(), local), "hv02").status is Status.SKIP


def test_a_host_whose_every_probe_times_out_answers_within_5_seconds() -> None:
    """The script's own run time, in the simulator's timing model (offlineprep.lab.collect_twin._probes: the waits
    of collect.ps1, 2 s for the names and 4 s in all, every probe started at once), which the
    endpoint takes as the command's run time: measured through pywinrm."""
    silent = {"fs01.contoso.com": SimLookup(no_answer=True), "fs11.contoso.com": SimLookup(["10.9.9.9"]),
              "files.contoso.com": SimLookup(["10.9.9.8", "10.9.9.7"])}  # no machine there: filtered
    host = hyperv("HV01.contoso.com", "10.0.0.1", dns=silent)
    sims = {"hv01.contoso.com": host}
    config = WinRMConfig(transport="basic", scheme="http", user="lab\\preflight", timeout_seconds=20)
    from offlineprep.collect.requests import HostRequest

    with WinRMEndpoint(sims, password=PASSWORD) as ep:
        started = time.monotonic()
        facts = collect_hosts(config, [HostRequest("hv01.contoso.com", hyperv=True, probes=list(silent))], PASSWORD,
                              session_factory=ep.protocol_factory(20))["hv01.contoso.com"]
        wall = time.monotonic() - started
        script = ep.run_seconds["hv01.contoso.com"]  # the command's own run time on the (simulated) host
    assert facts.probes is not None and facts.probe_seconds == 4.0
    states = {p.name: (p.timed_out, [c.state for c in p.connections]) for p in facts.probes}
    assert states == {"fs01.contoso.com": (True, []), "fs11.contoso.com": (False, ["timeout"]),
                      "files.contoso.com": (False, ["timeout", "timeout"])}
    assert 4.0 <= script < 5.0, script
    assert wall < script + 1.5, (wall, script)  # pywinrm's seven requests on loopback add little (measured 0.4 s)


# --------------------------------------------------------------------------- host.clock-skew


def test_clock_skew_through_windows_and_the_dcs_current_time() -> None:
    sims = lab(**{"hv02": hyperv("HV02.contoso.com", "10.0.0.2", clock_offset_seconds=420, time_source_type="NTP"),
                  "fs11.contoso.com": file_server("FS11.contoso.com", "ASRImport", "10.1.0.50",
                                                  clock_offset_seconds=-150),
                  "hv11.contoso.com": hyperv("HV11.contoso.com", "10.1.0.11", fault=Fault.GARBAGE)})
    found = verdicts("host.clock-skew", sims)
    assert table(found) == {"hv01.contoso.com": "pass", "hv02": "fail", "hv11.contoso.com": "error",
                            "fs01.contoso.com": "pass", "fs11.contoso.com": "warn"}
    skewed = one(found, "hv02")
    assert "7.0 min ahead" in skewed.message and skewed.evidence["time_source_type"] == "NTP"
    assert skewed.remediation is not None and "@('MANUAL')" in (skewed.remediation.revert or "")
    assert "2.5 min behind" in one(found, "fs11.contoso.com").message
    # the DC's clock is what counts: with the DC 7 minutes ahead too, hv02 is in step
    ahead = the_directory()
    ahead = ahead.model_copy(update={"current_time": ahead.current_time + timedelta(seconds=420)})  # type: ignore[operator]
    assert one(verdicts("host.clock-skew", sims, dir_facts=ahead), "hv02").status is Status.PASS


def test_clock_skew_skips_the_domain_controller_that_is_the_reference() -> None:
    on_dc = site(source__export_path=r"\\dc1.contoso.com\ASRExport")
    sims = lab(**{"dc1.contoso.com": file_server("DC1.contoso.com", "ASRExport", "10.0.0.10", domain_role=5)})
    found = verdicts("host.clock-skew", sims, on_dc)
    assert one(found, "dc1.contoso.com").status is Status.SKIP


# --------------------------------------------------------------------------- path.server-role


def test_server_role_through_windows_a_dc_holding_the_export_path() -> None:
    on_dc = site(source__export_path=r"\\dc1.contoso.com\ASRExport")
    sims = lab(**{"dc1.contoso.com": file_server("DC1.contoso.com", "ASRExport", "10.0.0.10", domain_role=4),
                  "fs11.contoso.com": file_server("FS11.contoso.com", "ASRImport", "10.1.0.50", fault=Fault.REFUSE)})
    no_accounts = the_directory(computers={})
    found = verdicts("path.server-role", sims, on_dc, no_accounts)
    assert table(found) == {"dc1.contoso.com": "fail", "fs11.contoso.com": "error"}
    assert "backup domain controller (Win32_ComputerSystem.DomainRole 4)" in one(found, "dc1.contoso.com").message
    passed = verdicts("path.server-role", lab())
    assert table(passed) == {"fs01.contoso.com": "pass", "fs11.contoso.com": "pass"}
    assert "DomainRole 3" in passed[0].message
    dfs = site(source__export_path=r"\\contoso.com\ns\ASRExport")
    assert one(verdicts("path.server-role", lab(), dfs), "contoso.com").status is Status.SKIP


# --------------------------------------------------------------------------- path.alias


def alias_directory(holder: str | None) -> DirectoryFacts:
    found = the_directory()
    found.spn_holders["files.contoso.com"] = [] if holder is None else [SpnHolder(
        spn="HOST/files.contoso.com", distinguished_name=f"CN={holder.rstrip('$')},CN=Computers,DC=contoso,DC=com",
        sam_account_name=holder)]
    return found


def test_path_alias_through_windows() -> None:
    aliased = site(source__export_path=r"\\files.contoso.com\ASRExport")
    server = file_server("FS01.contoso.com", "ASRExport", "10.0.0.50", alternate_names=["files.contoso.com"])
    sims = lab(**{"files.contoso.com": server})
    del sims["fs01.contoso.com"]
    raw = r"\\files.contoso.com\ASRExport"
    assert one(verdicts("path.alias", sims, aliased, alias_directory("FS01$")), raw).status is Status.PASS
    # strict name checking on and no alternate name: the SMB server refuses the alias
    sims["files.contoso.com"] = file_server("FS01.contoso.com", "ASRExport", "10.0.0.50")
    refused = one(verdicts("path.alias", sims, aliased, alias_directory("FS01$")), raw)
    assert refused.status is Status.FAIL and "does not answer to files.contoso.com" in refused.message
    # turned off: it answers any name
    sims["files.contoso.com"] = file_server("FS01.contoso.com", "ASRExport", "10.0.0.50", strict_name_checking_disabled=1)
    off = one(verdicts("path.alias", sims, aliased, alias_directory(None)), raw)
    assert off.status is Status.FAIL and "no account holds HOST/files.contoso.com" in off.message
    assert table(verdicts("path.alias", lab())) == {EXPORT: "skip", IMPORT: "skip"}
    sims["files.contoso.com"] = file_server("FS01.contoso.com", "ASRExport", "10.0.0.50", fault=Fault.SOAP_FAULT)
    assert one(verdicts("path.alias", sims, aliased, alias_directory("FS01$")), raw).status is Status.ERROR


# --------------------------------------------------------------------------- replica.server


def test_replica_server_through_windows() -> None:
    off = hyperv("HV11.contoso.com", "10.1.0.11", replication={
        "enabled": False, "kerberos_port": 80, "certificate_port": 443, "allowed_authentication": "Kerberos"},
        replica_authorizations=[SimAuthorization("hv99.fabrikam.com", "E:\\Replicas", "OTHER")])
    found = verdicts("replica.server", lab(**{"hv11.contoso.com": off}), site(**REPLICA))
    result = one(found, "hv11.contoso.com")
    assert result.status is Status.FAIL
    for words in ("not enabled", "allows Kerberos", "no authorization entry matches HV01.contoso.com",
                  "no authorization entry matches HV02.contoso.com"):
        assert words in result.message, result.message
    assert result.remediation is not None
    assert [a.kind for a in result.remediation.actions] == ["host.replica-server", "host.replica-authorization",
                                                            "host.replica-authorization", "host.create-folder"]
    assert one(verdicts("replica.server", lab(), site(**REPLICA)), "hv11.contoso.com").status is Status.PASS
    assert one(verdicts("replica.server", lab()), "hv11.contoso.com").status is Status.SKIP  # Site Recovery's job
    down = lab(**{"hv11.contoso.com": hyperv("HV11.contoso.com", "10.1.0.11", fault=Fault.CLIXML_ERROR)})
    assert one(verdicts("replica.server", down, site(**REPLICA)), "hv11.contoso.com").status is Status.ERROR


# --------------------------------------------------------------------------- replica.certificate


def test_replica_certificate_through_windows() -> None:
    now = datetime.now(UTC)
    sims = lab(**{
        "hv01.contoso.com": hyperv("HV01.contoso.com", "10.0.0.1", certificates=[SimCertificate(
            "CN=HV01.contoso.com", not_before=now - timedelta(days=400), not_after=now - timedelta(days=35))]),
        "hv02": hyperv("HV02.contoso.com", "10.0.0.2", certificates=[SimCertificate(
            "CN=HV02.contoso.com", ekus=[CLIENT_AUTH])]),
        "hv11.contoso.com": hyperv("HV11.contoso.com", "10.1.0.11", certificates=[
            SimCertificate("CN=HV11.contoso.com", chain_status=["UntrustedRoot"]),
            SimCertificate("CN=HV11.contoso.com, O=Contoso", dns_names=["hv11.contoso.com"])])})
    found = verdicts("replica.certificate", sims, site(**REPLICA))
    assert table(found) == {"hv01.contoso.com": "fail", "hv02": "fail", "hv11.contoso.com": "pass"}
    assert "expired on" in one(found, "hv01.contoso.com").message
    assert "no Server Authentication" in one(found, "hv02").message
    untrusted = lab(**{"hv11.contoso.com": hyperv("HV11.contoso.com", "10.1.0.11", certificates=[
        SimCertificate("CN=HV11.contoso.com", chain_status=["UntrustedRoot"])])})
    assert "UntrustedRoot" in one(verdicts("replica.certificate", untrusted, site(**REPLICA)), "hv11.contoso.com").message
    assert {f.status for f in verdicts("replica.certificate", lab())} == {Status.SKIP}
    down = lab(**{"hv02": hyperv("HV02.contoso.com", "10.0.0.2", fault=Fault.TRUNCATED)})
    assert one(verdicts("replica.certificate", down, site(**REPLICA)), "hv02").status is Status.ERROR


def cluster_verdicts(n1: list[SimCertificate], n2: list[SimCertificate], broker: bool = True) -> list[Finding]:
    """replica.certificate on a site whose target is the cluster HVC1, named in `hosts` by its name, as the
    pipeline collects it: host collection through the cluster's name, the cluster script (its nodes and
    Replica Broker HVC1-BRK), then each node, all through real pywinrm to the simulated cluster and nodes."""
    cluster = SimulatedCluster(Name="HVC1", Domain="contoso.com", nodes=[ClusterNode("HVC1-N1"), ClusterNode("HVC1-N2")])
    if broker:
        cluster.add_broker("HVC1-BRK")
    sims = lab(**{"hvc1-n1.contoso.com": hyperv("HVC1-N1.contoso.com", "10.1.0.21", certificates=n1),
                  "hvc1-n2.contoso.com": hyperv("HVC1-N2.contoso.com", "10.1.0.22", certificates=n2)})
    del sims["hv11.contoso.com"]
    the_site = site(**REPLICA, target__hosts=["hvc1.contoso.com"])
    assert the_site.winrm is not None
    check = CHECKS["replica.certificate"]
    with WinRMEndpoint(sims, password=PASSWORD, clusters={cluster.fqdn: cluster}) as ep:
        factory = ep.protocol_factory(10)
        collectors = Collectors(hosts=functools.partial(collect_hosts, session_factory=factory),
                                remote=functools.partial(run_remote, session_factory=factory))
        facts = collect(the_site, needs_of([check]), collectors, lambda env, purpose: PASSWORD)
    return run_check(check, CheckContext(site=the_site, facts=facts))


def test_replica_certificate_judges_a_cluster_nodes_broker_name_through_windows() -> None:
    both = [SimCertificate("CN=HVC1-N1.contoso.com", dns_names=["HVC1-N1.contoso.com", "HVC1-BRK.contoso.com"])]
    node_only = [SimCertificate("CN=HVC1-N2.contoso.com", dns_names=["HVC1-N2.contoso.com"])]
    found = cluster_verdicts(both, node_only)
    # the nodes are named as the cluster names them (Get-ClusterNode's name in the cluster's domain)
    assert table(found) == {"hv01.contoso.com": "pass", "hv02": "pass", "HVC1-N1.contoso.com": "pass",
                            "HVC1-N2.contoso.com": "fail"}
    n1, n2 = one(found, "HVC1-N1.contoso.com"), one(found, "HVC1-N2.contoso.com")
    assert n1.status is Status.PASS and "the Replica Broker HVC1-BRK.contoso.com of cluster" in n1.message
    assert "no certificate for the Replica Broker HVC1-BRK.contoso.com of cluster hvc1.contoso.com" in n2.message
    assert n2.evidence["cluster"] == n1.evidence["cluster"] == "hvc1.contoso.com"  # as the site file writes it
    assert one(found, "hv01.contoso.com").status is Status.PASS and "Broker" not in one(found, "hv01.contoso.com").message
    without = cluster_verdicts(both, node_only, broker=False)  # a cluster with no Replica Broker role
    assert table(without)["HVC1-N2.contoso.com"] == "pass"
    assert all(f.message.endswith("(the Replica Broker's certificate is not judged: no Replica Broker role found on "
                                  "cluster hvc1.contoso.com)") for f in without if f.subject.startswith("HVC1-"))


# --------------------------------------------------------------------------- policy.supported-os


@pytest.mark.parametrize(("caption", "version", "asr", "replica"), [
    ("Microsoft Windows Server 2016 Datacenter", "10.0.14393", "pass", "pass"),
    ("Microsoft Windows Server 2019 Datacenter", "10.0.17763", "warn", "pass"),
    ("Microsoft Hyper-V Server 2012 R2", "6.3.9600", "pass", "pass"),
    ("Microsoft Windows Server 2008 R2 Enterprise", "6.1.7601", "warn", "warn"),
])
def test_supported_os_through_windows(caption: str, version: str, asr: str, replica: str) -> None:
    host = hyperv("HV02.contoso.com", "10.0.0.2")
    host.os_caption, host.os_version, host.os_build = caption, version, version.rsplit(".", 1)[-1]
    sims = lab(hv02=host)
    assert one(verdicts("policy.supported-os", sims), "hv02").status.value == asr
    assert one(verdicts("policy.supported-os", sims, site(**REPLICA)), "hv02").status.value == replica


def test_supported_os_is_an_error_for_a_host_that_did_not_answer_and_whose_account_was_not_read() -> None:
    down = lab(hv02=hyperv("HV02.contoso.com", "10.0.0.2", fault=Fault.HTTP_500))
    found = verdicts("policy.supported-os", down, dir_facts=the_directory(computers={}))
    assert one(found, "hv02").status is Status.ERROR


def test_clock_skew_reads_the_time_source_group_policy_sets() -> None:
    """The policy key wins over the service's own: read through the simulated registry, a policy-set Type
    makes the fix a by-hand step naming the policy; without the policy key, the local fix as before."""
    sims = lab(**{"hv02": hyperv("HV02.contoso.com", "10.0.0.2", clock_offset_seconds=420, time_source_type="NT5DS",
                                 time_policy_type="NTP", time_policy_ntp_server="time.example.org,0x8")})
    skewed = one(verdicts("host.clock-skew", sims), "hv02")
    assert skewed.status is Status.FAIL and skewed.evidence["time_source_type"] == "NT5DS"
    assert skewed.evidence["time_source_type_policy"] == "NTP"
    assert skewed.evidence["ntp_server_policy"] == "time.example.org,0x8"
    assert skewed.remediation is not None and [a.kind for a in skewed.remediation.actions] == ["manual"]
    plain = lab(**{"hv02": hyperv("HV02.contoso.com", "10.0.0.2", clock_offset_seconds=420, time_source_type="NTP")})
    skewed = one(verdicts("host.clock-skew", plain), "hv02")
    assert "time_source_type_policy" not in skewed.evidence
    assert skewed.remediation is not None and skewed.remediation.actions[0].kind == "host.time-sync"

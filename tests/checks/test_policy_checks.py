"""policy.* status rules."""

from __future__ import annotations

import json

from builders import directory, facts, hosts, run, site, statuses

from offlineprep.collect.hosts import parse_output
from offlineprep.facts import FirewallRule, ReplicationServer


def messages(check: str, **overrides: object) -> list[str]:
    return [f.message for f in run(check, site(**overrides)) if f.status.value == "fail"]


def test_policy_settings_one_finding_per_broken_rule() -> None:
    assert statuses(run("policy.settings")) == {("Gold", "pass")}
    assert any("copy frequency" in m for m in messages("policy.settings", policy__copy_frequency="10m"))
    assert messages("policy.settings", policy__copy_frequency="30s") == []
    assert any("1-12" in m for m in messages("policy.settings", policy__app_consistent_snapshot_frequency_hours=13))
    assert any("less than" in m for m in messages(
        "policy.settings", policy__app_consistent_snapshot_frequency_hours=6, policy__recovery_point_retention_hours=4))
    assert any("Kerberos" in m for m in messages("policy.settings", policy__authentication="kerberos",
                                                 policy__host_os="Windows Server 2012"))
    both = messages("policy.settings", policy__copy_frequency="1h", policy__app_consistent_snapshot_frequency_hours=0)
    assert len(both) == 2
    no_import = site(target={"hosts": ["hv11.contoso.com"]})
    assert any("import_path" in f.message for f in run("policy.settings", no_import))
    assert statuses(run("policy.settings", site(policy=None))) == {("policy", "skip")}


def test_same_host_os() -> None:
    assert statuses(run("policy.same-host-os")) == {("Gold", "pass")}
    h = hosts()
    h["hv02"] = h["hv02"].model_copy(update={"os_caption": "Microsoft Windows Server 2016 Datacenter"})
    assert statuses(run("policy.same-host-os", the_facts=facts(host_facts=h))) == {("Gold", "fail")}
    assert statuses(run("policy.same-host-os", site(policy__host_os="Windows Server 2016"))) == {("Gold", "fail")}


def test_replication_port_from_policy_host_or_default() -> None:
    assert statuses(run("policy.replication-port")) == {("hv11.contoso.com", "pass")}
    assert statuses(run("policy.replication-port", site(policy__port=9000))) == {("hv11.contoso.com", "warn")}
    h = hosts()
    h["hv11.contoso.com"] = h["hv11.contoso.com"].model_copy(update={
        "replication_server": ReplicationServer(certificate_port=443),
        "firewall_rules": [FirewallRule(name="VIRT-HVRHTTPSL-In-TCP-NoScope", enabled=False, direction="inbound",
                                        action="allow", protocol="TCP", local_ports=["443"])]})
    found = run("policy.replication-port", the_facts=facts(host_facts=h))
    assert statuses(found) == {("hv11.contoso.com", "warn")}
    assert found[0].evidence["port"] == 443
    h["hv11.contoso.com"] = h["hv11.contoso.com"].model_copy(update={
        "firewall_rules": [FirewallRule(name="range", enabled=True, direction="inbound", action="allow",
                                        protocol="TCP", local_ports=["400-500"])]})
    assert statuses(run("policy.replication-port", the_facts=facts(host_facts=h))) == {("hv11.contoso.com", "pass")}


def test_replica_server_not_enabled_yet_its_default_ports_are_not_the_listener() -> None:
    # Get-VMReplicationServer on a host where Replica was never turned on: enabled False, 80 / 443
    h = hosts()
    h["hv11.contoso.com"] = h["hv11.contoso.com"].model_copy(update={
        "replication_server": ReplicationServer(enabled=False, kerberos_port=80, certificate_port=443),
        "firewall_rules": [FirewallRule(name="VIRT-HVRHTTPSL-In-TCP-NoScope", enabled=True, direction="inbound",
                                        action="allow", protocol="TCP", local_ports=["443"])]})
    found = run("policy.replication-port", the_facts=facts(host_facts=h))
    assert statuses(found) == {("hv11.contoso.com", "warn")}
    assert found[0].evidence["port"] == 8084 and found[0].evidence["port_source"] == "the walkthrough's default"
    # once enabled, the host's own listener port is the one to open
    h["hv11.contoso.com"] = h["hv11.contoso.com"].model_copy(update={
        "replication_server": ReplicationServer(enabled=True, kerberos_port=80, certificate_port=443)})
    found = run("policy.replication-port", the_facts=facts(host_facts=h))
    assert statuses(found) == {("hv11.contoso.com", "pass")} and found[0].evidence["port"] == 443


def test_same_host_os_compares_releases_not_captions() -> None:
    # the free Microsoft Hyper-V Server 2012 R2 is the same release as Windows Server 2012 R2
    h = hosts()
    h["hv02"] = h["hv02"].model_copy(update={"os_caption": "Microsoft Hyper-V Server 2012 R2"})
    assert statuses(run("policy.same-host-os", the_facts=facts(host_facts=h))) == {("Gold", "pass")}
    # a semi-annual-channel caption has no year: the build (17763) names the release
    h["hv02"] = h["hv02"].model_copy(update={"os_caption": "Microsoft Windows Server Datacenter",
                                             "os_version": "10.0.17763"})
    found = run("policy.same-host-os", the_facts=facts(host_facts=h))
    assert statuses(found) == {("Gold", "fail")} and "Windows Server 2019" in found[0].message
    # only the build is known
    h["hv02"] = h["hv02"].model_copy(update={"os_caption": None, "os_version": None, "os_build": "9600"})
    assert statuses(run("policy.same-host-os", the_facts=facts(host_facts=h))) == {("Gold", "pass")}
    # unreachable host: AD's operatingSystem and operatingSystemVersion "6.3 (9600)"
    h["hv02"] = h["hv02"].model_copy(update={"reachable": False, "os_caption": None, "os_build": None})
    d = directory()
    d.computers["hv02"] = d.computers["hv02"].model_copy(
        update={"operating_system": "Hyper-V Server 2012 R2", "operating_system_version": "6.3 (9600)"})
    assert statuses(run("policy.same-host-os", the_facts=facts(d, h))) == {("Gold", "pass")}


def test_kerberos_rule_judges_releases() -> None:
    h = hosts()
    h["hv02"] = h["hv02"].model_copy(update={"os_caption": "Microsoft Windows Server 2012 Datacenter",
                                             "os_version": "6.2.9200"})
    kerb = site(policy__authentication="kerberos")
    assert any("Kerberos" in f.message for f in run("policy.settings", kerb, facts(host_facts=h))
               if f.status.value == "fail")
    h["hv02"] = h["hv02"].model_copy(update={"os_caption": "Microsoft Hyper-V Server 2012 R2", "os_version": None})
    assert statuses(run("policy.settings", kerb, facts(host_facts=h))) == {("Gold", "pass")}


def test_kerberos_is_valid_on_windows_server_2012_r2_or_later() -> None:
    """Microsoft's current ASR text: "Kerberos is only relevant for Hyper-V host servers running on
    Windows Server 2012 R2 or later". 2016 and 2019 hosts failed before; only older ones fail now."""
    kerb = site(policy__authentication="kerberos", policy__host_os="Windows Server 2016")
    h = hosts()
    for name in ("hv01.contoso.com", "hv02", "hv11.contoso.com"):
        h[name] = h[name].model_copy(update={"os_caption": "Microsoft Windows Server 2016 Datacenter",
                                             "os_version": "10.0.14393"})
    assert statuses(run("policy.settings", kerb, facts(host_facts=h))) == {("Gold", "pass")}
    for later in ("Windows Server 2019", "Windows Server 2022", "Windows Server 2012 R2"):
        assert messages("policy.settings", policy__authentication="kerberos", policy__host_os=later) == []
    for older in ("Windows Server 2012", "Windows Server 2008 R2"):
        found = messages("policy.settings", policy__authentication="kerberos", policy__host_os=older)
        assert found == [f"Kerberos authentication needs hosts running Windows Server 2012 R2 or later, not {older} "
                         "(use certificate)"]
    h["hv02"] = h["hv02"].model_copy(update={"os_caption": "Microsoft Windows Server 2012 Standard",
                                             "os_version": "6.2.9200"})
    failing = [f.message for f in run("policy.settings", kerb, facts(host_facts=h)) if f.status.value == "fail"]
    assert failing == ["Kerberos authentication needs hosts running Windows Server 2012 R2 or later, not "
                       "Windows Server 2012 (use certificate)"]


def _rules(*rules: FirewallRule):  # type: ignore[no-untyped-def]
    h = hosts()
    h["hv11.contoso.com"] = h["hv11.contoso.com"].model_copy(update={"firewall_rules": list(rules)})
    return facts(host_facts=h)


def test_replication_port_comma_lists_and_block_rules() -> None:
    listed = FirewallRule(name="list", enabled=True, direction="inbound", action="allow", protocol="TCP",
                          local_ports=["80, 443, 8080-8090"])
    assert statuses(run("policy.replication-port", the_facts=_rules(listed))) == {("hv11.contoso.com", "pass")}
    block = FirewallRule(name="Block 8084", enabled=True, direction="inbound", action="block", protocol="Any",
                         local_ports=["8000-9000"])
    found = run("policy.replication-port", the_facts=_rules(listed, block))
    assert statuses(found) == {("hv11.contoso.com", "warn")}
    fix = found[0].remediation
    assert fix is not None and "Disable-NetFirewallRule" in fix.powershell and "'Block 8084'" in fix.powershell
    assert "New-NetFirewallRule" not in fix.powershell  # an allow rule exists; the block rule is the problem
    assert fix.revert is not None and "Enable-NetFirewallRule" in fix.revert


def test_a_failed_script_section_is_named_in_the_error() -> None:
    # the host's firewall section threw: the parser keeps the host's text, the check names it
    doc = {"schema": "offlineprep/host/v1", "computer_name": "HV11.contoso.com", "vms": [],
           "errors": {"firewall_rules": "Get-NetFirewallRule : Access is denied."}}
    parsed = parse_output("hv11.contoso.com", json.dumps(doc).encode(), b"", 0)
    assert parsed.firewall_rules is None
    assert parsed.section_errors == {"firewall_rules": "Get-NetFirewallRule : Access is denied."}
    h = hosts()
    h["hv11.contoso.com"] = h["hv11.contoso.com"].model_copy(update={
        "firewall_rules": None, "section_errors": parsed.section_errors})
    found = run("policy.replication-port", the_facts=facts(host_facts=h))
    assert statuses(found) == {("hv11.contoso.com", "error")}
    assert "Access is denied" in found[0].message

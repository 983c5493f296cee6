"""Issue 19 items 5-7 through real pywinrm against the simulator: each new member answered as Windows
answers it, failing shapes included (a Group Policy block rule, local rules ignored by policy, a rule
limited to a program; InstallPending; a primary DNS suffix apart from the AD domain; no Hyper-V module;
SMB server name hardening)."""

from __future__ import annotations

from typing import Any

from builders import directory, site

from offlineprep.collect.hosts import collect_hosts
from offlineprep.collect.requests import HostRequest
from offlineprep.engine import CheckContext, discover, run_check
from offlineprep.facts import Facts, HostFacts, ToolStamp
from offlineprep.lab.windows import SimProfile, SimRule, SimulatedHost
from offlineprep.lab.winrm_endpoint import WinRMEndpoint
from offlineprep.model import Finding, Status
from offlineprep.site import WinRMConfig

PASSWORD = "Issue19-S3cret-7f0c"
CHECKS = {c.id: c for c in discover(include_entry_points=False).checks}
REPLICA = {"enabled": True, "kerberos_port": 8083, "certificate_port": 8084, "allowed_authentication": "Certificate"}


def collect_hv11(host: SimulatedHost) -> HostFacts:
    config = WinRMConfig(transport="basic", scheme="http", user="lab\\preflight", timeout_seconds=5)
    with WinRMEndpoint({"hv11.contoso.com": host}, password=PASSWORD) as ep:
        return collect_hosts(config, [HostRequest("hv11.contoso.com", hyperv=True)], PASSWORD,
                             session_factory=ep.protocol_factory(5))["hv11.contoso.com"]


def run(check_id: str, facts: HostFacts, hosts: dict[str, HostFacts] | None = None) -> list[Finding]:
    every = {"hv11.contoso.com": facts, **(hosts or {})}
    return run_check(CHECKS[check_id], CheckContext(site=site(), facts=Facts(tool=ToolStamp(version="test"),
                                                                             directory=directory(), hosts=every)))


def hv11(**kw: Any) -> SimulatedHost:
    kw.setdefault("replication", REPLICA)
    kw.setdefault("hyperv_installed", True)
    return SimulatedHost(kw.pop("computer_name", "HV11.contoso.com"), **kw)


def firewall_finding(host: SimulatedHost) -> Finding:
    return next(f for f in run("policy.replication-port", collect_hv11(host)) if f.subject == "hv11.contoso.com")


def test_a_group_policy_block_rule_arrives_with_its_gpo_and_gets_a_step_by_hand() -> None:
    host = hv11(firewall=[SimRule("ASR-8084", ["8084"]),
                          SimRule("Block HVR", ["8084"], action="Block", source_type="GroupPolicy", gpo="HV Hardening")])
    facts = collect_hv11(host)
    rules = {r.name: r for r in facts.firewall_rules or []}
    assert (rules["Block HVR"].source_type, rules["Block HVR"].policy_store_source) == ("GroupPolicy", "HV Hardening")
    assert (rules["ASR-8084"].source_type, rules["ASR-8084"].policy_store_source) == ("Local", "PersistentStore")
    found = firewall_finding(host)
    assert found.status is Status.WARN and found.remediation is not None
    assert [a.kind for a in found.remediation.actions] == ["manual"]
    assert "'HV Hardening'" in found.remediation.powershell


def test_local_rules_ignored_by_group_policy_are_named() -> None:
    host = hv11(firewall=[SimRule("ASR-8084", ["8084"])],
                firewall_profiles=[SimProfile("Domain", allow_local_firewall_rules="False"), SimProfile("Private"),
                                   SimProfile("Public")])
    facts = collect_hv11(host)
    assert {p.name: p.allow_local_firewall_rules for p in facts.firewall_profiles or []}["Domain"] is False
    found = firewall_finding(host)
    assert found.status is Status.WARN and "AllowLocalFirewallRules False" in found.message


def test_a_rule_limited_to_a_program_does_not_cover_the_listener() -> None:
    host = hv11(firewall=[SimRule("App-8084", ["8084"], program=r"C:\Tools\app.exe")])
    facts = collect_hv11(host)
    assert (facts.firewall_rules or [])[0].program == r"C:\Tools\app.exe"
    assert firewall_finding(host).status is Status.WARN
    host.firewall = [SimRule("System-8084", ["8084"], program="System")]
    assert firewall_finding(host).status is Status.PASS


# --------------------------------------------------------------------------- item 7: host identity


def test_the_fqdn_comes_from_the_primary_dns_suffix_in_a_disjoint_namespace() -> None:
    """Before: DNSHostName + '.' + the AD domain, HV11.na.contoso.com, a name DNS and the host's own
    dNSHostName do not hold (Microsoft, "Disjoint Namespace")."""
    facts = collect_hv11(hv11(computer_name="HV11.contoso.com", ad_domain="na.contoso.com"))
    assert facts.computer_name == "HV11.contoso.com"
    assert facts.domain == "na.contoso.com" and facts.primary_dns_suffix == "contoso.com"


def test_install_pending_arrives_as_restart_needed() -> None:
    host = hv11(hyperv_installed=False, hyperv_install_state="InstallPending")
    facts = collect_hv11(host)
    assert facts.hyperv_install_state == "InstallPending" and facts.hyperv_installed is False
    found = next(f for f in run("host.hyperv-ready", facts) if f.subject == "hv11.contoso.com")
    assert found.status is Status.FAIL and "restart needed" in found.message


def test_a_missing_hyperv_module_is_the_named_cause_of_the_sections_it_stops() -> None:
    facts = collect_hv11(hv11(hyperv_module=False))
    assert facts.hyperv_module is False and facts.vms is None and facts.replication_server is None
    assert "Hyper-V PowerShell module is not installed" in facts.section_errors["vms"]
    assert "Hyper-V PowerShell module is not installed" in facts.section_errors["replication_server"]
    found = next(f for f in run("host.hyperv-ready", facts) if f.subject == "hv11.contoso.com")
    assert found.status is Status.FAIL and "Hyper-V PowerShell module" in found.message


# --------------------------------------------------------------------------- item 6: SMB server name hardening


def test_smb_server_name_hardening_arrives_with_the_server_names() -> None:
    from offlineprep.lab.windows import SimFolder, SimShare
    from offlineprep.names import parse_path

    fs = SimulatedHost("FS01.contoso.com", shares=[SimShare("ASRExport", "D:\\ASRExport")],
                       folders=[SimFolder("D:\\ASRExport", "O:BAG:SYD:(A;OICI;FA;;;BA)")],
                       strict_name_checking_disabled=1, smb_name_hardening_level=2)
    config = WinRMConfig(transport="basic", scheme="http", user="lab\\preflight", timeout_seconds=5)
    with WinRMEndpoint({"fs01.contoso.com": fs}, password=PASSWORD) as ep:
        facts = collect_hosts(config, [HostRequest("fs01.contoso.com",
                                                   paths=[parse_path(r"\\files.contoso.com\ASRExport")])],
                              PASSWORD, session_factory=ep.protocol_factory(5))["fs01.contoso.com"]
    assert facts.server_names is not None
    assert (facts.server_names.name_hardening_level, facts.server_names.disable_strict_name_checking) == (2, 1)

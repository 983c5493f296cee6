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
    return SimulatedHost("HV11.contoso.com", hyperv_installed=True, **kw)


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

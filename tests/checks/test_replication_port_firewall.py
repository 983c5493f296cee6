"""policy.replication-port judges the firewall as Windows applies it (issue 11 item 11): actions
NotConfigured/Allow/Block, ports Any/RPC/ranges/lists, rule profiles against the networks' profiles,
a profile with the firewall off, remote-address scopes against the source hosts' addresses."""

from __future__ import annotations

from typing import Any

import pwsh_syntax
import pytest
from builders import facts, hosts, run, site, statuses

from offlineprep.actions.types import OpenFirewallPort, hyperv_host
from offlineprep.facts import FirewallProfile, FirewallRule, NetworkProfile

HOST = "hv11.contoso.com"  # the target host; the policy uses certificate authentication: its own port 8084


def rule(name: str = "r", ports: tuple[str, ...] = ("8084",), **kw: Any) -> FirewallRule:
    return FirewallRule(name=name, enabled=True, direction="inbound", action=kw.pop("action", "allow"),
                        protocol=kw.pop("protocol", "TCP"), local_ports=list(ports), **kw)


def judge(*rules: FirewallRule, networks: tuple[str, ...] | None = ("Domain",),
          profiles: list[FirewallProfile] | None = None, the_site: Any = None):  # type: ignore[no-untyped-def]
    h = hosts()
    h[HOST] = h[HOST].model_copy(update={
        "firewall_rules": list(rules),
        "network_profiles": None if networks is None else [NetworkProfile(interface=f"nic{i}", category=c)
                                                           for i, c in enumerate(networks)],
        "firewall_profiles": profiles})
    found = run("policy.replication-port", the_site, facts(host_facts=h))
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize(("the_rule", "status"), [
    (rule(action="notconfigured"), "warn"),  # NotConfigured allows nothing
    (rule(ports=("Any",)), "pass"),
    (rule(ports=("RPC",)), "warn"),  # dynamic RPC ports are not the listener's
    (rule(ports=("RPCEPMap", "Teredo")), "warn"),
    (rule(ports=("80", "443", "8080-8090")), "pass"),
    (rule(ports=("8000-8083",)), "warn"),
    (rule(protocol="UDP"), "warn"),
    (rule(protocol="Any", ports=()), "pass"),
    (rule(profiles=["Public"]), "warn"),  # the network is Domain: a Public-only rule does not apply
    (rule(profiles=["Domain", "Private"]), "pass"),
])
def test_actions_ports_and_profiles(the_rule: FirewallRule, status: str) -> None:
    assert judge(the_rule).status.value == status


def test_a_public_only_rule_on_a_domain_network_is_named_and_fixed_for_the_domain_profile() -> None:
    # before: the rule's profile was not read, so it passed
    found = judge(rule("ASR-8084", profiles=["Public"]))
    assert found.status.value == "warn"
    assert "Domain profile (network nic0): no enabled inbound allow rule for the Domain profile" in found.message
    fix = found.remediation
    assert fix is not None and [(a.kind, a.profile, a.remote_address) for a in fix.actions
                                if isinstance(a, OpenFirewallPort)] == [("host.firewall-open", "Domain", ["Any"])]
    assert fix.actions[0].owner == hyperv_host(HOST) and fix.actions[0].before == ["ASR-8084"]
    assert "-Profile $FirewallProfile" in fix.powershell and "'Domain'" in fix.powershell
    pwsh_syntax.assert_values_in_literals(fix.powershell, ["Domain", "offlineprep-HVR-8084-Domain", HOST])


def test_a_rule_made_for_one_profile_is_not_taken_for_another_on_a_second_run() -> None:
    """The fix enables a rule of its own name that exists already; a rule it made for the Domain
    profile must not pass for the Private profile's rule when the host later joins a private network."""
    domain = judge(rule("ASR-8084", profiles=["Public"])).remediation
    both = judge(rule("ASR-8084", profiles=["Public"]), networks=("Domain", "Private")).remediation
    every = judge(networks=None).remediation
    names = [[a.rule_name for a in fix.actions if isinstance(a, OpenFirewallPort)] for fix in (domain, both, every)
             if fix is not None]
    assert names == [["offlineprep-HVR-8084-Domain"], ["offlineprep-HVR-8084-Domain-Private"], ["offlineprep-HVR-8084"]]


def test_every_network_profile_must_be_covered() -> None:
    found = judge(rule(profiles=["Domain"]), networks=("Domain", "Public"))
    assert found.status.value == "warn" and "Public profile (network nic1)" in found.message
    assert "'Public'" in (found.remediation.powershell if found.remediation else "")


def test_unknown_networks_need_every_profile() -> None:
    assert judge(rule(profiles=["Domain"]), networks=None).status.value == "warn"
    assert judge(rule(), networks=None).status.value == "pass"  # Profile Any


def test_a_profile_with_the_firewall_off_or_default_allow_lets_the_port_in() -> None:
    off = [FirewallProfile(name="Domain", enabled=False)]
    assert judge(profiles=off).status.value == "pass"
    allow = [FirewallProfile(name="Domain", enabled=True, default_inbound_action="allow")]
    assert judge(profiles=allow).status.value == "pass"
    assert judge(profiles=[FirewallProfile(name="Domain")]).status.value == "warn"  # NotConfigured: on, Block


def test_block_all_incoming_makes_allow_rules_useless() -> None:
    found = judge(rule(), profiles=[FirewallProfile(name="Domain", allow_inbound_rules=False)])
    assert found.status.value == "warn" and "AllowInboundRules False" in found.message


def test_a_block_rule_wins_and_is_disabled_by_the_fix() -> None:
    found = judge(rule("allow"), rule("Block 8084", ports=("8000-9000",), action="block", protocol="Any"))
    assert found.status.value == "warn"
    fix = found.remediation
    assert fix is not None and "Disable-NetFirewallRule" in fix.powershell and "'Block 8084'" in fix.powershell
    assert "New-NetFirewallRule" not in fix.powershell
    pwsh_syntax.assert_valid(fix.powershell)


@pytest.mark.parametrize(("scope", "status", "words"), [
    (["10.0.0.0/24"], "pass", "holds every source host"),  # hv01 10.0.0.1, hv02 10.0.0.2
    (["10.0.0.1-10.0.0.2"], "pass", "holds every source host"),
    (["10.0.0.0/255.255.255.0"], "pass", "holds every source host"),
    (["10.0.0.1"], "warn", "leaves out hv02 (10.0.0.2)"),
    (["LocalSubnet"], "warn", "depends on the host's network"),
    (["Intranet", "192.168.0.0/16"], "warn", "depends on the host's network"),
    (["Intranet", "10.0.0.0/8"], "pass", "holds every source host"),
])
def test_remote_address_scopes_are_judged_against_the_source_hosts(scope: list[str], status: str, words: str) -> None:
    found = judge(rule("scoped", remote_addresses=scope))
    assert found.status.value == status and words in found.message, found.message


def test_a_scoped_rule_is_fixed_with_a_rule_for_the_source_hosts_only() -> None:
    found = judge(rule("scoped", remote_addresses=["10.0.0.1"]))
    fix = found.remediation
    assert fix is not None and [(a.profile, a.remote_address) for a in fix.actions
                                if isinstance(a, OpenFirewallPort)] == [("Domain", ["10.0.0.1", "10.0.0.2"])]
    assert "-RemoteAddress $RemoteAddress" in fix.powershell and "@('10.0.0.1', '10.0.0.2')" in fix.powershell
    pwsh_syntax.assert_values_in_literals(fix.powershell, ["10.0.0.1", "10.0.0.2"])


def test_rules_that_could_not_be_read_turn_a_pass_into_a_warning() -> None:
    h = hosts()
    h[HOST] = h[HOST].model_copy(update={"section_errors": {"firewall_rules": "wrong shape: firewall_rules[3].action"}})
    found = run("policy.replication-port", None, facts(host_facts=h))
    assert statuses(found) == {(HOST, "warn")} and "firewall_rules[3]" in found[0].message


def test_the_hosts_own_port_is_read_from_its_documented_properties() -> None:
    # the port the policy uses when [policy] port is not set is the host's KerberosAuthenticationPort /
    # CertificateAuthenticationPort (see tests/hosts/test_windows_members.py for the members read)
    found = judge(rule(ports=("8084",)), the_site=site(policy__authentication="certificate"))
    assert found.status.value == "pass" and "the host's replication server setting" in found.message


def test_a_scope_that_names_every_source_host_passes_whatever_keywords_it_adds() -> None:
    assert judge(rule("scoped", remote_addresses=["LocalSubnet", "10.0.0.0/24"])).status.value == "pass"


# --------------------------------------------------------------------------- issue 19 item 5: where rules come from


def test_a_group_policy_block_rule_is_a_step_by_hand_naming_its_gpo() -> None:
    """Before: Disable-NetFirewallRule -Name of a GPO rule, which acts on the PersistentStore where the
    rule is not (MS-FASP FW_RULE_ORIGIN_GP): the fix changed nothing."""
    found = judge(rule("allow", source_type="Local", policy_store_source="PersistentStore"),
                  rule("GPO block", ports=("8084",), action="block", source_type="GroupPolicy",
                       policy_store_source="Hyper-V Hardening"))
    assert found.status.value == "warn"
    fix = found.remediation
    assert fix is not None
    assert [a.kind for a in fix.actions] == ["manual"]
    assert "Disable-NetFirewallRule -Name" not in fix.powershell
    text = fix.actions[0].text  # type: ignore[attr-defined]
    assert "'Hyper-V Hardening'" in text and "GPO block" in text and "gpupdate" in text


def test_a_local_block_rule_is_disabled_in_the_named_store() -> None:
    found = judge(rule("allow", source_type="Local"),
                  rule("Block 8084", action="block", source_type="Local", policy_store_source="PersistentStore"))
    fix = found.remediation
    assert fix is not None and [a.kind for a in fix.actions] == ["host.firewall-disable"]
    assert "Disable-NetFirewallRule -Name $Names -PolicyStore PersistentStore" in fix.powershell
    pwsh_syntax.assert_valid(fix.powershell)


def test_local_rules_ignored_by_policy_do_not_cover_and_the_fix_names_the_policy() -> None:
    """Before: a local allow rule passed on a profile whose Group Policy says AllowLocalFirewallRules
    False (MS-GPFAS AllowLocalPolicyMerge 0), and the fix added one more local rule."""
    profiles = [FirewallProfile(name="Domain", allow_local_firewall_rules=False)]
    found = judge(rule("ASR-8084", source_type="Local"),
                  rule("GPO other", ports=("3389",), source_type="GroupPolicy", policy_store_source="Servers"),
                  profiles=profiles)
    assert found.status.value == "warn"
    assert "AllowLocalFirewallRules False" in found.message and "ASR-8084" in found.message
    fix = found.remediation
    assert fix is not None and [a.kind for a in fix.actions] == ["manual"]
    assert "New-NetFirewallRule" not in fix.powershell and "Servers" in fix.actions[0].text  # type: ignore[attr-defined]
    # a Group Policy allow rule still counts there
    assert judge(rule("GPO 8084", source_type="GroupPolicy", policy_store_source="Servers"),
                 profiles=profiles).status.value == "pass"


@pytest.mark.parametrize(("program", "service", "status"), [
    ("Any", "Any", "pass"),
    ("System", "Any", "pass"),  # the built-in Hyper-V Replica listener rules name the program System
    (r"%SystemRoot%\system32\vmms.exe", "Any", "warn"),
    ("Any", "vmms", "warn"),
    (None, None, "pass"),  # not read (an older facts file): as before
])
def test_a_rule_limited_to_a_program_or_service_does_not_cover_the_listener(program: str | None, service: str | None,
                                                                             status: str) -> None:
    found = judge(rule("ASR-8084", program=program, service=service))
    assert found.status.value == status
    if status == "warn":
        assert "allow only a program or a service" in found.message


def test_a_block_rule_for_another_program_does_not_block_the_listener() -> None:
    assert judge(rule("allow"), rule("block app", action="block", program=r"C:\app.exe")).status.value == "pass"


def test_the_open_port_fix_names_the_local_store() -> None:
    fix = judge(rule("ASR-8084", profiles=["Public"])).remediation
    assert fix is not None
    assert "New-NetFirewallRule" in fix.powershell and "-PolicyStore PersistentStore" in fix.powershell
    assert fix.revert is not None and "Remove-NetFirewallRule -Name $Name -PolicyStore PersistentStore" in fix.revert

"""Issue 19 item 5: apply's firewall steps act on the local store (-PolicyStore PersistentStore), where a
rule that Group Policy defines is not: the simulator answers Get-NetFirewallRule -PolicyStore
PersistentStore as Windows does, so disabling a Group Policy rule from the host finds nothing."""

from __future__ import annotations

from offlineprep.apply import hosts as remote
from offlineprep.lab.windows import SimRule, SimulatedHost
from offlineprep.lab.winrm_endpoint import WinRMEndpoint
from offlineprep.remediation import disable_firewall_rules
from offlineprep.site import WinRMConfig


def _apply(sim: SimulatedHost, names: list[str]) -> str:
    action = disable_firewall_rules("hv11.lab.test", 8084, names)
    config = WinRMConfig(transport="basic", scheme="http", user="lab\\preflight", timeout_seconds=15)
    with WinRMEndpoint({"hv11.lab.test": sim}, username="lab\\preflight", password="pw") as endpoint:
        run = remote.run_on_host(config, "hv11.lab.test", remote.request_document("apply", [remote.request_item(action)]),
                                 endpoint.protocol_factory(15), "pw")
    answer = run.answers[action.id]
    return f"{answer.outcome}: {answer.message}"


def test_a_local_block_rule_is_disabled_in_the_local_store() -> None:
    sim = SimulatedHost("HV11.lab.test", hyperv_installed=True, firewall=[SimRule("Block 8084", ["8084"], action="Block")])
    assert _apply(sim, ["Block 8084"]).startswith("applied") and sim.firewall[0].enabled is False


def test_a_group_policy_block_rule_is_not_in_the_local_store_and_stays_enabled() -> None:
    sim = SimulatedHost("HV11.lab.test", hyperv_installed=True,
                        firewall=[SimRule("GPO Block", ["8084"], action="Block", source_type="GroupPolicy", gpo="HV")])
    said = _apply(sim, ["GPO Block"])
    assert sim.firewall[0].enabled is True
    assert said.startswith("changed") and "GPO Block" in said, said

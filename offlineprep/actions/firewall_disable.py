"""host.firewall-disable: inbound block rules covering a port disabled (a block rule wins over every
allow rule); the revert enables them again. apply.ps1 does it on the host (Invoke-FirewallDisable).

Only rules of the local store (-PolicyStore PersistentStore, named in every cmdlet): a rule that Group
Policy defines lives in its GPO, and Disable-NetFirewallRule on the host cannot change it, so
policy.replication-port never builds this action for one (a step by hand names the GPO instead)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from offlineprep.actions.base import ActionBase, ApplyWay, Phase, machine_name, remote


class DisableFirewallRules(ActionBase):
    """Disable inbound block rules: a block rule wins over every allow rule (Windows Firewall)."""

    kind: Literal["host.firewall-disable"] = "host.firewall-disable"
    rights: str = "Administrators on the host"
    names: list[str]  # the rules' Names (locale-independent)
    port: int

    phase: ClassVar[Phase] = Phase.HOST
    modules: ClassVar[tuple[str, ...]] = ("NetSecurity",)
    apply_way: ClassVar[ApplyWay | None] = "host"

    def describe(self) -> tuple[str, str]:
        return f"{machine_name(self.owner)}: " + ", ".join(self.names), f"Disable the block rules for TCP {self.port}"

    def fix_lines(self) -> list[str]:
        return _toggle_rules(self, enable=False)

    def revert_lines(self) -> list[str]:
        return _toggle_rules(self, enable=True)

    def change(self) -> str:
        return f"enabled -> disabled (local store, PersistentStore): {', '.join(self.names) if self.names else 'none'}"

    def assumed_before(self) -> dict[str, Any] | None:
        return {"rules": [{"name": name, "state": "enabled"} for name in self.names]}


def _toggle_rules(a: DisableFirewallRules, enable: bool) -> list[str]:
    verb = "Enable-NetFirewallRule" if enable else "Disable-NetFirewallRule"
    return remote(a.owner, "[string[]]$Names", [f"{verb} -Name $Names -PolicyStore PersistentStore"], [list(a.names)])

"""host.firewall-open: an inbound allow rule of our own for one TCP port (New-NetFirewallRule, or
enabled when it exists); the revert removes it. apply.ps1 does it on the host (Invoke-FirewallOpen).

Every cmdlet names the store it acts on: -PolicyStore PersistentStore, the host's local rules (the
NetSecurity cmdlets' default, said out loud). A rule that Group Policy defines is not there, and a
local rule does nothing where Group Policy ignores local rules (AllowLocalFirewallRules False):
policy.replication-port gives those a step by hand instead.
https://learn.microsoft.com/powershell/module/netsecurity/new-netfirewallrule (-PolicyStore)"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from offlineprep.actions.base import ActionBase, ApplyWay, Phase, machine_name, remote


class OpenFirewallPort(ActionBase):
    """An inbound allow rule of our own for one TCP port, for the given profiles and remote addresses."""

    kind: Literal["host.firewall-open"] = "host.firewall-open"
    rights: str = "Administrators on the host"
    rule_name: str
    display_name: str
    port: int
    profile: str = "Any"  # New-NetFirewallRule -Profile: Any, Domain, Private, Public (comma list)
    remote_address: list[str] = Field(default_factory=lambda: ["Any"])
    before: list[str] = Field(default_factory=list)  # names of the enabled inbound allow rules covering the port

    phase: ClassVar[Phase] = Phase.HOST
    modules: ClassVar[tuple[str, ...]] = ("NetSecurity",)
    apply_way: ClassVar[ApplyWay | None] = "host"

    def describe(self) -> tuple[str, str]:
        return f"{machine_name(self.owner)}: TCP {self.port}", f"Allow inbound TCP {self.port}"

    def fix_lines(self) -> list[str]:
        return _open_port(self)

    def revert_lines(self) -> list[str]:
        return _close_port(self)

    def change(self) -> str:
        addresses = ", ".join(self.remote_address) if self.remote_address else "none"
        return (f"no rule {self.rule_name} -> inbound allow TCP {self.port}, profile {self.profile}, "
                f"from {addresses} (local store, PersistentStore)")

    def assumed_before(self) -> dict[str, Any] | None:
        # our own rule, by name: a rule of that name that covered the port would have made the check pass
        return {"rule": "enabled" if self.rule_name in self.before else "absent"}

    def assumed_after(self) -> dict[str, Any] | None:
        return {"rule": "enabled"}


def _open_port(a: OpenFirewallPort) -> list[str]:
    return remote(a.owner, "[string]$Name, [string]$DisplayName, [string]$Port, [string]$FirewallProfile, "
                            "[string[]]$RemoteAddress", [
        "if (-not (Get-NetFirewallRule -Name $Name -PolicyStore PersistentStore -ErrorAction SilentlyContinue)) {",
        "    New-NetFirewallRule -Name $Name -DisplayName $DisplayName -Direction Inbound -Protocol TCP -LocalPort $Port "
        "-Action Allow -Profile $FirewallProfile -RemoteAddress $RemoteAddress -PolicyStore PersistentStore | Out-Null",
        "}",
        "else { Enable-NetFirewallRule -Name $Name -PolicyStore PersistentStore }",
    ], [a.rule_name, a.display_name, str(a.port), a.profile, list(a.remote_address)])


def _close_port(a: OpenFirewallPort) -> list[str]:
    return remote(a.owner, "[string]$Name", [
        "if (Get-NetFirewallRule -Name $Name -PolicyStore PersistentStore -ErrorAction SilentlyContinue) {",
        "    Remove-NetFirewallRule -Name $Name -PolicyStore PersistentStore",
        "}",
    ], [a.rule_name])

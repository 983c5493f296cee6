"""Section `firewall_rules`: the enabled inbound rules in force, with their port and address filters."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from offlineprep.collect.sections.base import Part, Reading, Section, list_of
from offlineprep.facts import FirewallRule


class FirewallRuleAnswer(Part):
    name: str
    display_name: str | None = None
    enabled: str  # True | False
    direction: str  # Inbound | Outbound
    action: str  # NotConfigured | Allow | Block
    profile: str  # Any, or a comma list of Domain, Private, Public
    protocol: str | None = None  # TCP, UDP, Any, or a number; null: the rule has no port filter
    local_ports: list_of(str) = Field(default_factory=list)  # type: ignore[valid-type]
    remote_addresses: list_of(str) = Field(default_factory=list)  # type: ignore[valid-type]
    policy_store_source_type: str | None = None  # Local | GroupPolicy | Dynamic | Generated | Hardcoded | MDM
    policy_store_source: str | None = None  # PersistentStore, or the GPO's name
    program: str | None = None  # NetFirewallApplicationFilter.Program (Any, System, a path)
    service: str | None = None  # NetFirewallServiceFilter.Service (Any, or a service name)


def facts(reading: Reading) -> dict[str, Any]:
    if reading.answer.firewall_rules is None:
        return {"firewall_rules": None}
    return {"firewall_rules": [
        FirewallRule(name=r.name, display_name=r.display_name or "", enabled=r.enabled.casefold() == "true",
                     direction=r.direction.casefold(), action=r.action.casefold(), protocol=r.protocol or "Any",
                     local_ports=list(r.local_ports),
                     profiles=[x.strip() for x in r.profile.split(",") if x.strip()] or ["Any"],
                     remote_addresses=list(r.remote_addresses) or ["Any"],
                     source_type=r.policy_store_source_type or None,
                     policy_store_source=r.policy_store_source or None,
                     program=r.program or None, service=r.service or None)
        for r in reading.answer.firewall_rules
    ]}


SECTION = Section("firewall_rules", {"firewall_rules": list_of(FirewallRuleAnswer) | None}, facts)

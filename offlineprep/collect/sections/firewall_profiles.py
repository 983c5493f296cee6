"""Section `firewall_profiles`: the per-profile firewall state in force (ActiveStore)."""

from __future__ import annotations

from typing import Any

from offlineprep.collect.sections.base import Part, Reading, Section, list_of
from offlineprep.facts import FirewallProfile


class FirewallProfileAnswer(Part):
    name: str  # Domain | Private | Public
    enabled: str | None = None  # True | False | NotConfigured
    default_inbound_action: str | None = None  # Allow | Block | NotConfigured
    allow_inbound_rules: str | None = None  # True | False | NotConfigured
    allow_local_firewall_rules: str | None = None  # True | False | NotConfigured (Group Policy's merge setting)


def _gpo_bool(value: str | None) -> bool | None:
    """True/False of the ActiveStore; NotConfigured (or anything else) is None: Windows' default applies."""
    return {"true": True, "false": False}.get((value or "").casefold())


def _action(value: str | None) -> str | None:
    folded = (value or "").casefold()
    return folded if folded in {"allow", "block"} else None


def facts(reading: Reading) -> dict[str, Any]:
    if reading.answer.firewall_profiles is None:
        return {"firewall_profiles": None}
    return {"firewall_profiles": [
        FirewallProfile(name=p.name, enabled=_gpo_bool(p.enabled), default_inbound_action=_action(
            p.default_inbound_action), allow_inbound_rules=_gpo_bool(p.allow_inbound_rules),
            allow_local_firewall_rules=_gpo_bool(p.allow_local_firewall_rules))
        for p in reading.answer.firewall_profiles
    ]}


SECTION = Section("firewall_profiles", {"firewall_profiles": list_of(FirewallProfileAnswer) | None}, facts)

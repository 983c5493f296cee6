"""Section `network_profiles`: which firewall profile each connected network uses."""

from __future__ import annotations

from typing import Any

from offlineprep.collect.sections.base import Part, Reading, Section, list_of
from offlineprep.facts import NetworkProfile

_PROFILE_OF_CATEGORY = {"domainauthenticated": "Domain", "private": "Private", "public": "Public"}


class NetworkProfileAnswer(Part):
    interface: str | None = None
    category: str | None = None  # DomainAuthenticated | Private | Public


def facts(reading: Reading) -> dict[str, Any]:
    if reading.answer.network_profiles is None:
        return {"network_profiles": None}
    return {"network_profiles": [
        NetworkProfile(interface=n.interface, category=_PROFILE_OF_CATEGORY.get((n.category or "").casefold(),
                                                                                n.category))
        for n in reading.answer.network_profiles
    ]}


SECTION = Section("network_profiles", {"network_profiles": list_of(NetworkProfileAnswer) | None}, facts)

"""Section `ip_addresses`: the addresses of the host's IP-enabled adapters."""

from __future__ import annotations

from typing import Any

from offlineprep.collect.sections.base import Reading, Section, list_of


def facts(reading: Reading) -> dict[str, Any]:
    return {"ip_addresses": list(reading.answer.ip_addresses or [])}


SECTION = Section("ip_addresses", {"ip_addresses": list_of(str) | None}, facts)

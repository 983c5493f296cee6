"""Section `server_names`: the names the SMB server answers to besides its own (path.alias)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from offlineprep.collect.sections.base import Part, Reading, Section, list_of
from offlineprep.facts import ServerNames


class ServerNamesAnswer(Part):
    disable_strict_name_checking: int | None = None  # LanmanServer\Parameters DisableStrictNameChecking
    optional_names: list_of(str) = Field(default_factory=list)  # type: ignore[valid-type]  # ... OptionalNames
    alternate_names: list_of(str) = Field(default_factory=list)  # type: ignore[valid-type]  # DnsCache AlternateComputerNames
    name_hardening_level: int | None = None  # Get-SmbServerConfiguration SmbServerNameHardeningLevel


def facts(reading: Reading) -> dict[str, Any]:
    names: ServerNamesAnswer | None = reading.answer.server_names
    if names is None:
        return {"server_names": None}
    return {"server_names": ServerNames(disable_strict_name_checking=names.disable_strict_name_checking,
                                        optional_names=list(names.optional_names),
                                        alternate_names=list(names.alternate_names),
                                        name_hardening_level=names.name_hardening_level)}


SECTION = Section("server_names", {"server_names": ServerNamesAnswer | None}, facts)

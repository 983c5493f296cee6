"""What every section of the collection script shares: the answer's part models (an unknown key is
refused), the list a one-element ConvertTo-Json array becomes, the reading a section turns into
facts, and `Section` itself."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationInfo


def _as_list(value: Any, info: ValidationInfo) -> Any:
    """ConvertTo-Json writes a one-element array piped into it as the element itself, and $null as null."""
    if info.context and info.context.get("strict_shape"):
        return value
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def list_of(item: Any) -> Any:
    return Annotated[list[item], BeforeValidator(_as_list)]


class Part(BaseModel):
    """An unknown key is a shape the script does not print: refused, so script and simulator cannot drift."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class Reading:
    """One host's validated answer, as every section's `facts` reads it. `answer`: the HostAnswer
    (each section reads its own keys); `errors`: the script's own section errors; `problems` and
    `rejected`: parts of the wrong shape, by section (see collect.answer.read_answer); `observed`:
    this machine's clock when the host read its own, and the uncertainty (seconds)."""

    host: str
    answer: Any
    errors: dict[str, str] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    rejected: dict[str, list[Any]] = field(default_factory=dict)
    observed: tuple[datetime, float] | None = None


@dataclass(frozen=True)
class Section:
    """One section of collect.ps1: its name (Try-Section's, the key of `errors`, and its part
    winrm/scripts/collect/NN-<name>.ps1), the answer keys it writes with their pydantic types (each
    absent when the section failed or was not asked for), and the HostFacts fields it gives."""

    name: str
    answer: dict[str, Any]
    facts: Callable[[Reading], dict[str, Any]]


def utc_time(text: str | None) -> datetime | None:
    """A time the script wrote with ToString('o') ('2026-11-24T09:30:00.1234567Z', UTC): Python keeps
    six fractional digits, Windows writes seven. None for anything else."""
    if not text:
        return None
    match = _ROUND_TRIP.match(text.strip())
    if match is None:
        return None
    try:
        value = datetime.fromisoformat(match.group(1) + (match.group(2) or "")[:7])
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_ROUND_TRIP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]00:00)?$")

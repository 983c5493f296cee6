"""Section `clock`: the host's own UTC clock, read first, and W32Time's Type and NtpServer, the
service's own and Group Policy's, which wins (host.clock-skew)."""

from __future__ import annotations

from typing import Any

from offlineprep.collect.sections.base import Part, Reading, Section, utc_time
from offlineprep.facts import HostClock


class ClockAnswer(Part):
    utc: str  # [DateTime]::UtcNow, round-trip format ('o'), read when the script starts
    time_source_type: str | None = None  # HKLM\SYSTEM\CurrentControlSet\Services\W32Time\Parameters Type
    ntp_server: str | None = None  # the same key's NtpServer
    # HKLM\SOFTWARE\Policies\Microsoft\W32Time\Parameters: set only when Group Policy sets them, and then they win
    policy_time_source_type: str | None = None
    policy_ntp_server: str | None = None


def facts(reading: Reading) -> dict[str, Any]:
    clock: ClockAnswer | None = reading.answer.clock
    utc = utc_time(clock.utc) if clock is not None else None
    observed = reading.observed
    return {
        "clock": HostClock(utc=utc, observed_at=observed[0], uncertainty_seconds=observed[1])
        if utc is not None and observed is not None else None,
        "time_source_type": (clock.time_source_type or None) if clock else None,
        "ntp_server": (clock.ntp_server or None) if clock else None,
        "time_policy_type": (clock.policy_time_source_type or None) if clock else None,
        "time_policy_ntp_server": (clock.policy_ntp_server or None) if clock else None,
    }


SECTION = Section("clock", {"clock": ClockAnswer | None}, facts)

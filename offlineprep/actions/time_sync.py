"""host.time-sync: a domain member takes its time from the domain hierarchy (w32tm) and resynchronises;
the revert puts the time source back as read. apply.ps1 does it on the machine (Invoke-TimeSync)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from offlineprep.actions.base import ActionBase, ApplyWay, Phase, machine_name, not_read, remote

# w32tm /config /syncfromflags: each W32Time\Parameters Type it leaves (Microsoft, "Windows Time
# service tools and settings": MANUAL, DOMHIER, NO, ALL)
SYNC_FROM_FLAGS = {"NTP": "MANUAL", "NT5DS": "DOMHIER", "NoSync": "NO", "AllSync": "ALL"}

W32TIME_KEY = "HKLM:\\SYSTEM\\CurrentControlSet\\Services\\W32Time\\Parameters"


class SyncTime(ActionBase):
    """Let a domain member take its time from the domain hierarchy (W32Time Type NT5DS, w32tm
    /config /syncfromflags:DOMHIER) and resynchronise now (w32tm /resync /rediscover). The revert
    puts the time source back as read (the clock itself is not set back: a wrong clock is what the
    check found)."""

    kind: Literal["host.time-sync"] = "host.time-sync"
    rights: str = "Administrators on the machine"
    before_type: str | None = None  # W32Time\Parameters Type as read; None: not read
    after_type: Literal["NT5DS"] = "NT5DS"

    phase: ClassVar[Phase] = Phase.HOST
    modules: ClassVar[tuple[str, ...]] = ("w32tm.exe",)
    apply_way: ClassVar[ApplyWay | None] = "host"

    def describe(self) -> tuple[str, str]:
        return machine_name(self.owner), "Synchronise the clock with the domain hierarchy"

    def fix_lines(self) -> list[str]:
        return _sync_time(self)

    def revert_lines(self) -> list[str]:
        return _restore_time_source(self)

    def change(self) -> str:
        source = (f"W32Time Type {self.after_type} (as it is)" if self.before_type == self.after_type
                  else f"W32Time Type: {self.before_type or 'not read'} -> {self.after_type}")
        return f"{source}, then the clock resynchronised (w32tm /resync /rediscover)"

    def host_request(self, recorded: dict[str, Any] | None) -> dict[str, Any]:
        # w32tm /config /syncfromflags: the flag that leaves the Type wanted, and for a revert the one that gives
        # back the Type read before apply (none for a Type it cannot set: the script says so)
        item: dict[str, Any] = {"sync_flags": SYNC_FROM_FLAGS[self.after_type]}
        if recorded is not None:
            was = (recorded["before"] or {}).get("type")
            item["restore_flags"] = SYNC_FROM_FLAGS.get(str(was)) if was else None
        return item

    def assumed_before(self) -> dict[str, Any] | None:
        return {"type": self.before_type} if self.before_type else None

    def assumed_after(self) -> dict[str, Any] | None:
        return {"type": self.after_type}


def _w32time_type() -> str:
    return f"$type = [string](Get-ItemProperty -LiteralPath '{W32TIME_KEY}' -Name 'Type').Type"


def _sync_time(a: SyncTime) -> list[str]:
    # w32tm /config /syncfromflags:DOMHIER /update takes the time from the domain hierarchy, /resync
    # /rediscover asks for it now (Microsoft, "Windows Time service tools and settings")
    return remote(a.owner, "[string]$Flags", [
        _w32time_type(),
        f"if ($type -ne '{a.after_type}') {{",
        "    w32tm /config /syncfromflags:$Flags /update | Out-Null",
        "    if ($LASTEXITCODE -ne 0) { throw \"w32tm /config failed (exit code $LASTEXITCODE)\" }",
        "}",
        "w32tm /resync /rediscover | Out-Null",
        "if ($LASTEXITCODE -ne 0) { Write-Warning \"w32tm /resync failed (exit code $LASTEXITCODE): see w32tm /query /status\" }",
    ], [SYNC_FROM_FLAGS[a.after_type]])


def _restore_time_source(a: SyncTime) -> list[str]:
    if a.before_type == a.after_type:
        return []  # the fix changed only the clock, which is not set back
    if a.before_type not in SYNC_FROM_FLAGS:
        return not_read(a, "the time source", "w32tm /query /configuration")
    return remote(a.owner, "[string]$Flags", [
        _w32time_type(),
        f"if ($type -eq '{a.after_type}') {{",
        "    w32tm /config /syncfromflags:$Flags /update | Out-Null",
        "    if ($LASTEXITCODE -ne 0) { throw \"w32tm /config failed (exit code $LASTEXITCODE)\" }",
        "}",
    ], [SYNC_FROM_FLAGS[a.before_type]])

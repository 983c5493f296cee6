"""host.smb-name-checking: DisableStrictNameChecking = 1, so the file server's SMB server answers a
DNS alias (KB 3181029); the revert writes back the value as read. apply.ps1 does it on the file
server (Invoke-SmbNameChecking)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from offlineprep.actions.base import ActionBase, ApplyWay, Phase, machine_name, remote
from offlineprep.pwsh import quote


class AcceptAnyServerName(ActionBase):
    r"""DisableStrictNameChecking = 1 under LanmanServer\Parameters: the SMB server answers a name that
    is not its own (a DNS alias), Microsoft's resolution in KB 3181029; the Server service reads it
    when it starts. The revert writes back the value as read (removes it when there was none)."""

    kind: Literal["host.smb-name-checking"] = "host.smb-name-checking"
    rights: str = "Administrators on the file server"
    alias: str  # the name the path uses, for messages
    before: int | None = None  # DisableStrictNameChecking as read; None: not set
    after: Literal[1] = 1

    phase: ClassVar[Phase] = Phase.HOST
    modules: ClassVar[tuple[str, ...]] = ("Microsoft.PowerShell.Management",)
    apply_way: ClassVar[ApplyWay | None] = "host"

    def describe(self) -> tuple[str, str]:
        return f"{machine_name(self.owner)}: DisableStrictNameChecking", f"Answer SMB requests for {self.alias}"

    def fix_lines(self) -> list[str]:
        return _strict_names(self)

    def revert_lines(self) -> list[str]:
        return _restore_strict_names(self)

    def change(self) -> str:
        return (f"DisableStrictNameChecking: {'not set' if self.before is None else self.before} -> "
                f"{self.after} (the Server service reads it when it starts)")

    def assumed_before(self) -> dict[str, Any] | None:
        return {"value": self.before}

    def assumed_after(self) -> dict[str, Any] | None:
        return {"value": self.after}


LANMAN_KEY = "HKLM:\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters"
_RESTART_LANMAN = ("the Server service reads DisableStrictNameChecking when it starts: Restart-Service LanmanServer "
                   "-Force (it drops the open SMB sessions) or restart the file server")


def _strict_names(a: AcceptAnyServerName) -> list[str]:
    return remote(a.owner, "[string]$Value", [
        f"$now = (Get-ItemProperty -LiteralPath '{LANMAN_KEY}').DisableStrictNameChecking",
        "if ($now -ne [int]$Value) {",
        f"    Set-ItemProperty -LiteralPath '{LANMAN_KEY}' -Name 'DisableStrictNameChecking' -Value ([int]$Value) -Type DWord",
        f"    Write-Warning {quote(_RESTART_LANMAN)}",
        "}",
    ], [str(a.after)])


def _restore_strict_names(a: AcceptAnyServerName) -> list[str]:
    if a.before == a.after:
        return []
    if a.before is None:
        change = f"Remove-ItemProperty -LiteralPath '{LANMAN_KEY}' -Name 'DisableStrictNameChecking'"
    else:
        change = (f"Set-ItemProperty -LiteralPath '{LANMAN_KEY}' -Name 'DisableStrictNameChecking' -Value {int(a.before)} "
                  "-Type DWord")
    return remote(a.owner, "[string]$Value", [
        f"$now = (Get-ItemProperty -LiteralPath '{LANMAN_KEY}').DisableStrictNameChecking",
        "if ($now -eq [int]$Value) {",
        f"    {change}",
        f"    Write-Warning {quote(_RESTART_LANMAN)}",
        "}",
    ], [str(a.after)])

"""host.start-service: a stopped Windows service started (vmms; LanmanServer for SMB); not reverted.
apply.ps1 does it on the machine (Invoke-StartService)."""

from __future__ import annotations

from typing import ClassVar, Literal

from offlineprep.actions.base import ActionBase, ApplyWay, Phase, machine_name, remote


class StartService(ActionBase):
    """Start a Windows service that is stopped (vmms; LanmanServer, the Server service, for SMB). Not
    reverted: stopping vmms or the Server service again stops replication or the shares."""

    kind: Literal["host.start-service"] = "host.start-service"
    rights: str = "Administrators on the machine"
    service: str  # the service's Name (locale-independent): vmms, LanmanServer
    before: str | None = None  # Get-Service .Status as read; None: not read

    phase: ClassVar[Phase] = Phase.HOST
    modules: ClassVar[tuple[str, ...]] = ("Microsoft.PowerShell.Management",)
    revertible: ClassVar[bool] = False
    apply_way: ClassVar[ApplyWay | None] = "host"

    def describe(self) -> tuple[str, str]:
        return f"{machine_name(self.owner)}: {self.service}", f"Start the {self.service} service"

    def fix_lines(self) -> list[str]:
        return _start_service(self)

    def change(self) -> str:
        return f"the service {self.service}: {self.before or 'not running'} -> Running"

    def not_reverted(self) -> str:
        return (f"not undone: stopping {self.service} again stops replication (vmms) or the shares (LanmanServer) "
                "(docs/fixes.md)")


def _start_service(a: StartService) -> list[str]:
    return remote(a.owner, "[string]$Name", [
        "if ((Get-Service -Name $Name).Status -ne 'Running') { Start-Service -Name $Name }",
    ], [a.service])

"""host.kerberos-refresh: after a delegation change, AD replication from the domain controller written
to, then the host's own Kerberos tickets purged. Last of all, once per host (`follows_ad_changes`);
apply.ps1 purges the tickets on the host (Invoke-KerberosRefresh) and runs no repadmin.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from offlineprep.actions.base import DIRECTORY, ActionBase, ApplyWay, Owner, Phase, machine_name
from offlineprep.pwsh import comment, quote


class RefreshTickets(ActionBase):
    """After a delegation change: AD replication from the domain controller written to, then the
    host's own Kerberos tickets purged (or a reboot), so VMMS asks the KDC again."""

    kind: Literal["host.kerberos-refresh"] = "host.kerberos-refresh"
    rights: str = "Administrators on the host; repadmin needs Domain Admins"
    directory: Owner = DIRECTORY

    phase: ClassVar[Phase] = Phase.REMINDER
    apply_way: ClassVar[ApplyWay | None] = "host"
    follows_ad_changes: ClassVar[bool] = True

    def describe(self) -> tuple[str, str]:
        return machine_name(self.owner), "Purge the computer's own Kerberos tickets"

    def fix_lines(self) -> list[str]:
        return _refresh(self)

    def revert_lines(self) -> list[str]:
        return _refresh(self)

    def change(self) -> str:
        return "the computer's own Kerberos tickets -> purged (klist purge -li 0x3e7), after the AD changes"

    def apply_rights(self) -> str:
        """apply runs no repadmin: the ticket purge is the host's own."""
        return "Administrators on the host (klist purge -li 0x3e7 purges the computer's own logon session)"


def replicate_lines(directory: Owner | None) -> list[str]:
    """AD replication pushed from the domain controller written to; a missing repadmin is a warning,
    never a stop: the ticket purges after it must still run (Microsoft: repadmin /syncall)."""
    dc = quote(directory.name) + " " if directory is not None and directory.name else ""
    return ["if (Get-Command -Name 'repadmin.exe' -ErrorAction SilentlyContinue) { "
            f"repadmin /syncall {dc}/A /d /e /P }}",
            "else { Write-Warning 'repadmin.exe was not found (RSAT AD DS tools): let AD replication reach the domain "
            "controllers the hosts use before the tickets are purged' }"]


def purge_lines(host: str) -> list[str]:
    """The computer's own logon session (LUID 0x3e7) as a quoted argument: bare, 0x3e7 is a number literal
    in argument mode (Microsoft: about_Parsing, "Argument mode"), so quoted the text reaches klist as written
    in every PowerShell version, as apply.ps1 passes it."""
    return [f"Invoke-Command -ComputerName {quote(host)} -ScriptBlock {{ klist purge -li '0x3e7' }}   # or reboot the host"]


def _refresh(a: RefreshTickets) -> list[str]:
    host = a.owner.name if a.owner is not None and a.owner.name else "localhost"
    return [comment("After a delegation change: AD replication, then fresh Kerberos tickets on the host"),
            *replicate_lines(a.directory), *purge_lines(host)]

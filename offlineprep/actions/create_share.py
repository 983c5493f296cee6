"""host.create-share: the folder created if needed, and shared (New-SmbShare); the revert removes the
share. apply.ps1 does it on the file server (Invoke-CreateShare)."""

from __future__ import annotations

from typing import ClassVar, Literal

from offlineprep.actions.base import ActionBase, ApplyWay, Phase, machine_name, remote


class CreateShare(ActionBase):
    """Create the folder if needed and share it (New-SmbShare: Everyone gets Read by default)."""

    kind: Literal["host.create-share"] = "host.create-share"
    rights: str = "Administrators on the file server"
    share: str
    local_path: str
    before: Literal["absent"] = "absent"
    # the clustered file server's client access point the share belongs to (New-SmbShare -ScopeName: a share
    # of a clustered file server role is scoped to its name); None: the default scope
    # https://learn.microsoft.com/powershell/module/smbshare/new-smbshare (-ScopeName)
    scope: str | None = None

    phase: ClassVar[Phase] = Phase.SHARE
    modules: ClassVar[tuple[str, ...]] = ("SmbShare",)
    optional_in_id: ClassVar[tuple[str, ...]] = ("scope",)
    apply_way: ClassVar[ApplyWay | None] = "host"

    def describe(self) -> tuple[str, str]:
        where = f" (scope {self.scope})" if self.scope else ""
        return f"{machine_name(self.owner)}: {self.share}{where}", f"Share {self.local_path} as {self.share}{where}"

    def fix_lines(self) -> list[str]:
        return _create_share(self)

    def revert_lines(self) -> list[str]:
        return _remove_share(self)

    def change(self) -> str:
        where = f" in the scope {self.scope}" if self.scope else ""
        return f"no share {self.share}{where} -> {self.local_path} shared as {self.share}{where}"


def _create_share(a: CreateShare) -> list[str]:
    if a.scope:
        return remote(a.owner, "[string]$Name, [string]$Path, [string]$Scope", [
            "if (-not (Test-Path -LiteralPath $Path)) { New-Item -ItemType Directory -Path $Path | Out-Null }",
            "if (-not (Get-SmbShare -Name $Name -ScopeName $Scope -ErrorAction SilentlyContinue)) {",
            "    New-SmbShare -Name $Name -Path $Path -ScopeName $Scope | Out-Null",
            "}",
        ], [a.share, a.local_path, a.scope])
    return remote(a.owner, "[string]$Name, [string]$Path", [
        "if (-not (Test-Path -LiteralPath $Path)) { New-Item -ItemType Directory -Path $Path | Out-Null }",
        "if (-not (Get-SmbShare -Name $Name -ErrorAction SilentlyContinue)) { New-SmbShare -Name $Name -Path $Path | Out-Null }",
    ], [a.share, a.local_path])


def _remove_share(a: CreateShare) -> list[str]:
    if a.scope:
        return remote(a.owner, "[string]$Name, [string]$Scope", [
            "if (Get-SmbShare -Name $Name -ScopeName $Scope -ErrorAction SilentlyContinue) {",
            "    Remove-SmbShare -Name $Name -ScopeName $Scope -Force",
            "}",
        ], [a.share, a.scope])
    return remote(a.owner, "[string]$Name", [
        "if (Get-SmbShare -Name $Name -ErrorAction SilentlyContinue) { Remove-SmbShare -Name $Name -Force }",
    ], [a.share])

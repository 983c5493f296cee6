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

    phase: ClassVar[Phase] = Phase.SHARE
    modules: ClassVar[tuple[str, ...]] = ("SmbShare",)
    apply_way: ClassVar[ApplyWay | None] = "host"

    def describe(self) -> tuple[str, str]:
        return f"{machine_name(self.owner)}: {self.share}", f"Share {self.local_path} as {self.share}"

    def fix_lines(self) -> list[str]:
        return _create_share(self)

    def revert_lines(self) -> list[str]:
        return _remove_share(self)

    def change(self) -> str:
        return f"no share {self.share} -> {self.local_path} shared as {self.share}"


def _create_share(a: CreateShare) -> list[str]:
    return remote(a.owner, "[string]$Name, [string]$Path", [
        "if (-not (Test-Path -LiteralPath $Path)) { New-Item -ItemType Directory -Path $Path | Out-Null }",
        "if (-not (Get-SmbShare -Name $Name -ErrorAction SilentlyContinue)) { New-SmbShare -Name $Name -Path $Path | Out-Null }",
    ], [a.share, a.local_path])


def _remove_share(a: CreateShare) -> list[str]:
    return remote(a.owner, "[string]$Name", [
        "if (Get-SmbShare -Name $Name -ErrorAction SilentlyContinue) { Remove-SmbShare -Name $Name -Force }",
    ], [a.share])

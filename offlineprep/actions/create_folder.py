"""host.create-folder: a missing folder created (New-Item); not reverted. apply.ps1 does it on the
file server or host (Invoke-CreateFolder)."""

from __future__ import annotations

from typing import ClassVar, Literal

from offlineprep.actions.base import ActionBase, ApplyWay, Phase, machine_name, remote


class CreateFolder(ActionBase):
    """Create a missing folder. Not reverted: by then it may hold the exported virtual machines."""

    kind: Literal["host.create-folder"] = "host.create-folder"
    rights: str = "write access to the parent folder (Administrators on the file server)"
    local_path: str
    before: Literal["absent"] = "absent"

    phase: ClassVar[Phase] = Phase.SHARE
    revertible: ClassVar[bool] = False
    apply_way: ClassVar[ApplyWay | None] = "host"

    def describe(self) -> tuple[str, str]:
        return f"{machine_name(self.owner)}: {self.local_path}", "Create the folder"

    def fix_lines(self) -> list[str]:
        return _create_folder(self)

    def change(self) -> str:
        return f"no folder -> {self.local_path} created"

    def not_reverted(self) -> str:
        return "not undone: the folder may hold the exported virtual machines by now (docs/fixes.md)"


def _create_folder(a: CreateFolder) -> list[str]:
    return remote(a.owner, "[string]$Path", [
        "if (-not (Test-Path -LiteralPath $Path)) { New-Item -ItemType Directory -Path $Path | Out-Null }",
    ], [a.local_path])

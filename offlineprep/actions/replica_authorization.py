"""host.replica-authorization: a primary server authorized on a Replica server
(New-VMReplicationAuthorizationEntry); the revert removes the entry. apply.ps1 does it on the host
(Invoke-ReplicaAuthorization)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from offlineprep.actions.base import ActionBase, ApplyWay, Phase, machine_name, remote


class ReplicaAuthorization(ActionBase):
    """New-VMReplicationAuthorizationEntry: let a primary server replicate to this Replica server
    (which must not accept any server: Microsoft, New-VMReplicationAuthorizationEntry). The revert
    removes the entry."""

    kind: Literal["host.replica-authorization"] = "host.replica-authorization"
    rights: str = "Administrators (or Hyper-V Administrators) on the host"
    allowed_primary_server: str  # the primary's FQDN
    storage_location: str  # -ReplicaStorageLocation
    trust_group: str = "DEFAULT"
    before: Literal["absent"] = "absent"

    phase: ClassVar[Phase] = Phase.HOST
    modules: ClassVar[tuple[str, ...]] = ("Hyper-V",)
    apply_way: ClassVar[ApplyWay | None] = "host"

    def describe(self) -> tuple[str, str]:
        return f"{machine_name(self.owner)}: Replica server", f"Accept replication from {self.allowed_primary_server}"

    def fix_lines(self) -> list[str]:
        return _authorize_primary(self, add=True)

    def revert_lines(self) -> list[str]:
        return _authorize_primary(self, add=False)

    def change(self) -> str:
        return (f"no entry for {self.allowed_primary_server} -> an entry, storage {self.storage_location}, "
                f"trust group {self.trust_group}")

    def assumed_before(self) -> dict[str, Any] | None:
        return {"entry": "absent"}

    def assumed_after(self) -> dict[str, Any] | None:
        return {"entry": "present", "storage_location": self.storage_location, "trust_group": self.trust_group}


def _authorize_primary(a: ReplicaAuthorization, add: bool) -> list[str]:
    if add:
        return remote(a.owner, "[string]$Server, [string]$Storage, [string]$Group", [
            "if (-not (Get-VMReplicationAuthorizationEntry -AllowedPrimaryServer $Server -ErrorAction SilentlyContinue)) {",
            "    New-VMReplicationAuthorizationEntry -AllowedPrimaryServer $Server -ReplicaStorageLocation $Storage "
            "-TrustGroup $Group | Out-Null",
            "}",
        ], [a.allowed_primary_server, a.storage_location, a.trust_group])
    return remote(a.owner, "[string]$Server", [
        "if (Get-VMReplicationAuthorizationEntry -AllowedPrimaryServer $Server -ErrorAction SilentlyContinue) {",
        "    Remove-VMReplicationAuthorizationEntry -AllowedPrimaryServer $Server",
        "}",
    ], [a.allowed_primary_server])

"""host.replica-server: the Replica server settings the policy needs (Set-VMReplicationServer); the
revert writes back each setting as read, when the host still holds what the fix wrote. apply.ps1
does it on the host (Invoke-ReplicaServer).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from offlineprep.actions.base import ActionBase, ApplyWay, Owner, Phase, machine_name, not_read, remote

# Set-VMReplicationServer's parameters, in the order one call needs them, and their type
_REPLICA_SETTINGS = [("ReplicationEnabled", bool), ("AllowedAuthenticationType", str),
                     ("ReplicationAllowedFromAnyServer", bool), ("DefaultStorageLocation", str),
                     ("CertificateThumbprint", str)]
# the same, as apply.ps1 is told them: whether each is a boolean (the others are strings)
REPLICA_SETTINGS = {name: kind is bool for name, kind in _REPLICA_SETTINGS}
ReplicaSetting = Literal["ReplicationEnabled", "AllowedAuthenticationType", "ReplicationAllowedFromAnyServer",
                         "DefaultStorageLocation", "CertificateThumbprint"]

# What the type may write, and the shape of each value (as text, the way apply.ps1 gets it): the whitelist the
# model enforces here and apply.ps1 enforces again on the host (Test-ReplicaSetting), before anything is written.
# The check (checks/replica_server.py) turns replication on, allows the policy's authentication and names a
# certificate; nothing else. ReplicationAllowedFromAnyServer (accept replication from any primary) and
# DefaultStorageLocation (where replicas land) are read, never written. Values: Microsoft, Set-VMReplicationServer
# (-AllowedAuthenticationType Kerberos | Certificate | CertificateAndKerberos; -CertificateThumbprint, the
# certificate's SHA-1 thumbprint, 40 hexadecimal digits).
REPLICA_WRITABLE: dict[str, str] = {
    "ReplicationEnabled": r"^(True|False)$",
    "AllowedAuthenticationType": r"^(Kerberos|Certificate|CertificateAndKerberos)$",
    "CertificateThumbprint": r"^[0-9A-Fa-f]{40}$",
}
WritableSetting = Literal["ReplicationEnabled", "AllowedAuthenticationType", "CertificateThumbprint"]


def writable_value(name: str, text: str) -> bool:
    """Whether `name` is a setting the type writes and `text` a value of its shape."""
    pattern = REPLICA_WRITABLE.get(name)
    return pattern is not None and re.fullmatch(pattern, text) is not None


class ReplicaServerSettings(ActionBase):
    """Set-VMReplicationServer: the Replica server settings that differ from what the policy needs.
    `before` and `after` hold the settings as read and as wanted, by parameter name
    (ReplicationEnabled, AllowedAuthenticationType, ReplicationAllowedFromAnyServer,
    DefaultStorageLocation, CertificateThumbprint); only those in `after` are written. The revert
    writes `before` back for each of them, when the host still holds what the fix wrote."""

    kind: Literal["host.replica-server"] = "host.replica-server"
    rights: str = "Administrators (or Hyper-V Administrators) on the host"
    before: dict[ReplicaSetting, str | bool | None] = Field(default_factory=dict)
    after: dict[WritableSetting, str | bool]

    phase: ClassVar[Phase] = Phase.HOST
    modules: ClassVar[tuple[str, ...]] = ("Hyper-V",)
    apply_way: ClassVar[ApplyWay | None] = "host"

    @model_validator(mode="after")
    def _only_the_settings_the_type_writes(self) -> ReplicaServerSettings:
        """`after` (written by apply) and, for the same settings, `before` (written back by revert): the
        parameters and values REPLICA_WRITABLE allows, each of its own type; a plan that says more is refused."""
        for name, value in self.after.items():
            if REPLICA_SETTINGS[name] is not isinstance(value, bool) or not writable_value(name, setting_text(value)):
                raise ValueError(f"host.replica-server: {name} = {value!r} is not a value this step writes")
        if self.after.get("ReplicationEnabled") is False:
            raise ValueError("host.replica-server: the step turns replication on, never off")
        for name in self.after:
            was = self.before.get(name)
            if was is None or was == "":
                continue
            if REPLICA_SETTINGS[name] is not isinstance(was, bool) or not writable_value(name, setting_text(was)):
                raise ValueError(f"host.replica-server: {name} read before = {was!r} is not a value revert writes back")
        return self

    def describe(self) -> tuple[str, str]:
        return f"{machine_name(self.owner)}: Replica server", "Set " + ", ".join(f"{k} {v}" for k, v in self.after.items())

    def fix_lines(self) -> list[str]:
        return _replica_server(self)

    def revert_lines(self) -> list[str]:
        return _restore_replica_server(self)

    def change(self) -> str:
        return "; ".join(f"{name}: {_setting(self.before.get(name))} -> {_setting(value)}"
                         for name, value in self.after.items())

    def host_request(self, recorded: dict[str, Any] | None) -> dict[str, Any]:
        return {"settings": replica_settings(self, recorded)}

    def assumed_before(self) -> dict[str, Any] | None:
        return {name: setting_text(value) for name, value in self.before.items()}

    def assumed_after(self) -> dict[str, Any] | None:
        return {**{name: setting_text(value) for name, value in self.before.items()},
                **{name: setting_text(value) for name, value in self.after.items()}}


def _setting(value: object) -> str:
    if value is None or value == "":
        return "none"
    return str(value)


def setting_text(value: object) -> str:
    """A Replica server setting as apply.ps1 reads and compares it: 'True'/'False', '' for none."""
    if isinstance(value, bool):
        return "True" if value else "False"
    return "" if value is None else str(value)


def replica_settings(action: ReplicaServerSettings, recorded: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Per setting the fix writes: its name, whether it is a boolean, the value wanted and the value the
    plan read (`before`, None when not read); for a revert also the value apply read before (`restore`,
    None when it is not put back: a storage location or thumbprint that was not set stays, as in the
    fix script's revert) and the value apply left (`left`)."""
    out = []
    for name, value in action.after.items():
        is_bool = REPLICA_SETTINGS.get(name, isinstance(value, bool))
        setting: dict[str, Any] = {"name": name, "kind": "bool" if is_bool else "string", "after": setting_text(value),
                                   "before": setting_text(action.before[name]) if name in action.before else None}
        if recorded is not None:
            was = (recorded.get("before") or {}).get(name)
            setting["restore"] = None if was is None or (not is_bool and not was) else str(was)
            left = (recorded.get("after") or {}).get(name)
            setting["left"] = str(left) if left is not None else setting["after"]
        out.append(setting)
    return out


def _replica_settings(owner: Owner | None, want: dict[str, str | bool | None],
                      only_if: dict[str, str | bool | None] | None) -> list[str]:
    """One Set-VMReplicationServer with each setting of `want` that differs on the host now; with
    `only_if`, only when the host still holds those values (what the fix left, for the revert).
    Values travel as strings ('' for none, 'True'/'False' for a boolean) and are turned back into
    the parameter's type on the host."""
    names = [n for n, _ in _REPLICA_SETTINGS if n in want]
    params = ", ".join([f"[string]${n}" for n in names] + [f"[string]$Was{n}" for n in names if only_if is not None])
    body = ["$rs = Get-VMReplicationServer", "$change = @{}"]
    if only_if is not None:
        body.append("$still = $true")
    for name, kind in _REPLICA_SETTINGS:
        if name not in want:
            continue
        if kind is bool:
            value, current = f"[bool]::Parse(${name})", f"[bool]$rs.{name}"
            was = f"([bool]::Parse($Was{name}) -eq {current})"
        else:
            value, current = f"${name}", f"[string]$rs.{name}"
            was = f"($Was{name} -eq {current})"
        if only_if is not None:
            body.append(f"if (-not {was}) {{ $still = $false }}")
        body.append(f"if ({value} -ne {current}) {{ $change['{name}'] = {value} }}")
    condition = "$change.Count -gt 0" + (" -and $still" if only_if is not None else "")
    body.append(f"if ({condition}) {{ Set-VMReplicationServer @change -Force }}")
    if only_if is not None:
        body.append("elseif (-not $still) { Write-Warning 'the Replica server settings changed since the fix: "
                    "not put back' }")
    args = [setting_text(want.get(n)) for n in names]
    if only_if is not None:
        args += [setting_text(only_if.get(n)) for n in names]
    return remote(owner, params, body, args)


def _replica_server(a: ReplicaServerSettings) -> list[str]:
    return _replica_settings(a.owner, {str(k): v for k, v in a.after.items()}, None)


def _restore_replica_server(a: ReplicaServerSettings) -> list[str]:
    """Each setting the fix wrote goes back as read; a storage location or certificate thumbprint
    that was not set before stays (Set-VMReplicationServer sets them, it does not clear them, and
    neither has an effect once the settings that use them are back)."""
    kinds = dict(_REPLICA_SETTINGS)
    before: dict[str, str | bool | None] = {k: a.before.get(k) for k in a.after
                                            if kinds.get(k) is bool or a.before.get(k)}
    if any(v is None for v in before.values()):
        return not_read(a, "the Replica server settings", "Get-VMReplicationServer")
    if not before:
        return []
    after: dict[str, str | bool] = {str(k): v for k, v in a.after.items()}
    return _replica_settings(a.owner, before, {k: after[k] for k in before})

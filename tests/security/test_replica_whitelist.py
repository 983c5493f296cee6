"""Issue 20, item 4: Set-VMReplicationServer takes only the parameters its action type allows.

Before, `after` was any dict: a plan step `host.replica-server` with `ReplicationAllowedFromAnyServer:
True` (accept replication from any primary) or a `DefaultStorageLocation` of the attacker's choice was
accepted by the model, and apply.ps1 splatted every name the request carried into
`Set-VMReplicationServer @change`, with the request's own `kind` deciding what became a boolean.
Now the model allows the three settings the check writes (REPLICA_WRITABLE: ReplicationEnabled on,
AllowedAuthenticationType, CertificateThumbprint) with values of their shape, and apply.ps1 checks
the same whitelist itself (Test-ReplicaSetting) before it reads or writes anything.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pwsh_syntax
import pytest
from pydantic import ValidationError

from offlineprep.actions import types as t
from offlineprep.lab.apply_twin import HostState
from offlineprep.lab.windows import SimulatedHost

APPLY_PS1 = Path(__file__).parents[2] / "offlineprep" / "winrm" / "scripts" / "apply.ps1"
HOST = t.hyperv_host("hv11.lab.test")


@pytest.mark.parametrize("after", [
    {"ReplicationAllowedFromAnyServer": True},  # any primary may replicate here
    {"DefaultStorageLocation": "C:\\Windows\\System32"},  # where replicas land
    {"KerberosAuthenticationPort": "1"},  # a parameter no step writes
    {"ReplicationEnabled": False},  # the step turns replication on, never off
    {"AllowedAuthenticationType": "Kerberos; Stop-Computer"},
    {"CertificateThumbprint": "not a thumbprint"},
])
def test_a_plan_step_that_writes_another_setting_is_refused(after: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        t.ReplicaServerSettings.model_validate({"kind": "host.replica-server", "owner": HOST.model_dump(),
                                                "after": after})


def test_what_the_check_writes_still_loads() -> None:
    step = t.ReplicaServerSettings(owner=HOST, before={"ReplicationEnabled": False, "AllowedAuthenticationType": "Kerberos",
                                                       "ReplicationAllowedFromAnyServer": False,
                                                       "DefaultStorageLocation": "D:\\Replicas", "CertificateThumbprint": ""},
                                   after={"ReplicationEnabled": True, "AllowedAuthenticationType": "CertificateAndKerberos",
                                          "CertificateThumbprint": "0123456789abcdef0123456789ABCDEF01234567"})
    assert set(step.after) == {"ReplicationEnabled", "AllowedAuthenticationType", "CertificateThumbprint"}


def _host() -> SimulatedHost:
    return SimulatedHost("hv11.lab.test", hyperv_installed=True,
                         replication={"enabled": True, "kerberos_port": 80, "certificate_port": 443,
                                      "allowed_authentication": "Kerberos", "allowed_from_any_server": False})


def _run(host: SimulatedHost, settings: list[dict[str, Any]], mode: str = "apply") -> dict[str, Any]:
    return HostState(host).run({"mode": mode, "actions": [{"id": "s1", "kind": "host.replica-server",
                                                          "settings": settings}]})[0]


def test_the_script_refuses_a_setting_outside_the_whitelist_whatever_the_request_says() -> None:
    """The apply script's part (its simulator twin runs the same rule): a request crafted past the model."""
    host = _host()
    answer = _run(host, [{"name": "ReplicationAllowedFromAnyServer", "kind": "bool", "after": "True", "before": None}])
    assert answer["outcome"] == "failed" and "does not write ReplicationAllowedFromAnyServer" in answer["message"]
    assert host.replication_server().ReplicationAllowedFromAnyServer is False
    # a revert's value is checked the same way
    answer = _run(host, [{"name": "AllowedAuthenticationType", "kind": "string", "after": "Kerberos", "before": None,
                          "restore": "Kerberos' -ReplicationAllowedFromAnyServer $true", "left": "Kerberos"}], "revert")
    assert answer["outcome"] == "failed"
    # the untampered step still applies
    answer = _run(host, [{"name": "AllowedAuthenticationType", "kind": "string", "after": "CertificateAndKerberos",
                          "before": "Kerberos"}])
    assert answer["outcome"] == "applied", answer
    assert host.replication_server().AllowedAuthenticationType == "CertificateAndKerberos"


def test_apply_ps1_checks_the_same_whitelist_as_the_model() -> None:
    from offlineprep.actions.replica_server import REPLICA_WRITABLE

    script = APPLY_PS1.read_text(encoding="utf-8")
    body = script[script.index("function Test-ReplicaSetting"):script.index("function Assert-ReplicaSettings")]
    pwsh_syntax.assert_valid(body, "Test-ReplicaSetting")
    table = dict(re.findall(r"'(\w+)' \{ return \(\$Value -cmatch '([^']+)'\) \}", body))
    assert table == REPLICA_WRITABLE
    # a boolean by the whitelist's name, never by the request's `kind`; every Set-VMReplicationServer call splats
    # the $change table that only Test-ReplicaSetting's names reach
    assert "$setting.kind" not in script
    assert "Assert-ReplicaSettings $item\n    $now = Get-ReplicaSettings" in script

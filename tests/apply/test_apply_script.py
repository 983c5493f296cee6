"""apply.ps1 and its request path: a valid script that never changes with the values it is given, the
values travelling as base64 JSON data, hostile ones included, through real pywinrm to the endpoint
(which runs only scripts it knows by digest) and back."""

from __future__ import annotations

import base64
import json
import re
import sys
from pathlib import Path

import pwsh_syntax
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "actions"))

from action_samples import every_action

from offlineprep.actions import powershell as ps
from offlineprep.actions import types as t
from offlineprep.apply import hosts as remote
from offlineprep.apply.model import How, Outcome, StepRecord
from offlineprep.apply.planner import how
from offlineprep.lab.windows import SimFolder, SimShare, SimulatedHost
from offlineprep.lab.winrm_endpoint import WinRMEndpoint
from offlineprep.site import WinRMConfig
from offlineprep.winrm.delivery import command_line, command_line_length

HOSTILE = [
    "CONTOSO\\x'; Remove-Item C:\\ -Recurse; '",
    "O\u2019Brien\u2018; Stop-Computer; \u201a\u201b",
    "$(Stop-Computer -Force)",
    "`$env:SECRET`n; x",
    "line1\nline2\r\nRemove-Item x",
    "x\u202eexe.txt\x85y \"quoted\" {braces}",
]


def host_actions(value: str) -> list[t.ActionBase]:
    return [a for a in every_action(value, machine="fs01.lab.test") if how(a)[0] is How.HOST]


def test_the_script_parses_and_carries_the_revert_function_of_the_fix_script() -> None:
    from offlineprep.actions.acl_grant import RESTORE_MARKER

    script = remote.apply_script()
    parsed = pwsh_syntax.assert_valid(script, "apply.ps1")
    assert RESTORE_MARKER in remote.SCRIPT_PATH.read_text(encoding="utf-8") and RESTORE_MARKER not in script
    assert "\n".join(ps.RESTORE_FUNCTION) in script  # the one Restore-AccountAces, not a copy of it
    # no value is ever expanded into a string: the only expandable (double-quoted) string is each answer's line end
    literals = {parsed.source[n.start_byte:n.end_byte].decode() for n in parsed.nodes() if n.type == "string_literal"}
    assert {s for s in literals if s.startswith('"')} == {'"`n"'}


def test_every_host_action_kind_apply_runs_is_carried_out_by_the_script() -> None:
    script = remote.apply_script()
    kinds = {a.kind for a in host_actions("x")}
    assert kinds == {"host.create-share", "host.create-folder", "host.share-rights", "host.ntfs-rights",
                     "host.local-group-member", "host.firewall-open", "host.firewall-disable",
                     "host.kerberos-refresh", "host.start-service", "host.time-sync", "host.replica-server",
                     "host.replica-authorization", "host.smb-name-checking"}
    for kind in kinds:
        assert f"'{kind}' {{" in script


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_travel_as_data_and_the_script_stays_the_same(value: str) -> None:
    items = [remote.request_item(a) for a in host_actions(value)]
    payload = remote.stdin_payload(remote.request_document("apply", items)).decode("utf-8")
    first, _, script = payload.partition("\n")
    assert script == remote.apply_script()  # the same bytes whatever the values: the endpoint's digest holds
    assert re.fullmatch(r"[A-Za-z0-9+/=]+", first)  # one base64 line: a newline in a value cannot end it
    document = json.loads(base64.b64decode(first).decode("utf-8"))
    assert document == {"mode": "apply", "actions": json.loads(json.dumps(items))}
    # every action but the ticket purge and the time sync (which name only their host) carries the value, exactly;
    # an NTFS grant takes only a value icacls reads as one argument (tests/security/test_native_arguments.py)
    unnamed = {"host.kerberos-refresh", "host.time-sync"}
    if not any(isinstance(a, t.GrantNtfsRights) and value in a.local_path for a in host_actions(value)):
        unnamed.add("host.ntfs-rights")
    assert all(any(value in s for s in _strings(item["action"])) for item in document["actions"]
               if item["kind"] not in unnamed)
    assert command_line_length() < 8191 and value not in " ".join(command_line()[1])


def _strings(data: object) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for v in data.values() for s in _strings(v)]
    if isinstance(data, list):
        return [s for v in data for s in _strings(v)]
    return []


def test_hostile_values_reach_the_host_exactly_through_pywinrm_and_the_script_acts_on_them() -> None:
    value = HOSTILE[0]
    sid = "S-1-5-21-100-200-300-1101"
    folder = f"D:\\{value}"
    sim = SimulatedHost("FS01.lab.test", shares=[SimShare(value, folder, f"O:SYG:SYD:(A;;0x1200a9;;;{sid})")],
                        folders=[SimFolder(folder, f"O:BAG:SYD:(A;OICI;0x1200a9;;;{sid})")])
    share = t.GrantShareRights(owner=t.file_server("fs01.lab.test"), share=value, account=value, account_sid=sid,
                               access_right="Full", before_sddl=sim.shares[0].sddl)
    ntfs = t.GrantNtfsRights(owner=t.file_server("fs01.lab.test"), local_path=folder, account=value, account_sid=sid,
                             mask=0x1F01FF, what="Full Control", before_sddl=sim.folders[0].ntfs_sddl)
    config = WinRMConfig(transport="basic", scheme="http", user="lab\\preflight", timeout_seconds=15)
    with WinRMEndpoint({"fs01.lab.test": sim}, username="lab\\preflight", password="pw") as endpoint:
        document = remote.request_document("apply", [remote.request_item(share), remote.request_item(ntfs)])
        run = remote.run_on_host(config, "fs01.lab.test", document, endpoint.protocol_factory(15), "pw")
        assert endpoint.unknown_scripts == 0
        received = endpoint.apply_requests["fs01.lab.test"][0]
    assert received["actions"][0]["action"]["share"] == value and received["actions"][1]["action"]["local_path"] == folder
    assert run.finished and run.problem is None
    assert {a.id: a.outcome for a in run.answers.values()} == {share.id: "applied", ntfs.id: "applied"}
    assert "0x1f01ff" in sim.shares[0].sddl and "0x1f01ff" in sim.folders[0].ntfs_sddl


def test_a_script_that_is_not_ours_is_refused_by_the_host() -> None:
    sim = SimulatedHost("FS01.lab.test")
    config = WinRMConfig(transport="basic", scheme="http", user="lab\\preflight", timeout_seconds=15)
    original = remote.apply_script
    with WinRMEndpoint({"fs01.lab.test": sim}, username="lab\\preflight", password="pw") as endpoint:
        try:
            remote.apply_script = lambda: original() + "\nStop-Computer -Force\n"  # type: ignore[assignment]
            run = remote.run_on_host(config, "fs01.lab.test", remote.request_document("apply", []),
                                     endpoint.protocol_factory(15), "pw")
        finally:
            remote.apply_script = original  # type: ignore[assignment]
        assert endpoint.unknown_scripts == 1
    assert run.started and not run.finished and "only runs offlineprep's" in (run.problem or "")


def test_a_revert_request_carries_the_state_apply_read() -> None:
    action = t.OpenFirewallPort(owner=t.hyperv_host("hv11"), rule_name="offlineprep-HVR-8084",
                                display_name="offlineprep-HVR-8084", port=8084)
    applied = StepRecord(number=1, how=How.HOST, action=action, outcome=Outcome.APPLIED,
                         before={"rule": "disabled"}, after={"rule": "enabled"})
    assert remote.request_item(action, applied)["recorded"] == {"before": {"rule": "disabled"},
                                                                "after": {"rule": "enabled"}}
    unknown = applied.model_copy(update={"outcome": Outcome.UNKNOWN, "before": None, "after": None})
    # nothing was read back: our own rule was absent when planned (no rule of that name covered the port)
    assert remote.request_item(action, unknown)["recorded"] == {"before": {"rule": "absent"},
                                                                "after": {"rule": "enabled"}}

"""Host steps: one PowerShell command per machine (winrm/scripts/apply.ps1), the actions as data.

Delivered exactly like the collection script (offlineprep.winrm.delivery.stream_payload): a short
encoded bootstrap, then the request (base64 JSON) and the script on its stdin; the script runs as a
script block with the request as its only argument, so no value is ever spliced into code. The
script answers one JSON line per action as soon as it is done, so a command cut short (a timeout,
a dropped connection) still tells which actions finished: those lines are kept, and the actions
without one are "unknown" once the command was started, "not run" if it never was.

Each request item is the typed action as the plan holds it (`action`), plus what the script needs
beyond it: the account's SID and the rights and inheritance flags whose presence means "already
granted" (`sid`, `mask`, `flags`), icacls' argument (`grant`, the same text the fix script
passes), the accounts other grants of the run add to the same descriptor (`others`), w32tm's
/syncfromflags value (`sync_flags`, `restore_flags`), the Replica server settings as text
(`settings`), and for a revert the state apply read before and after (`recorded`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from offlineprep.acl import SHARE_CHANGE, SHARE_FULL, SHARE_READ
from offlineprep.actions import powershell as ps
from offlineprep.actions import types as t
from offlineprep.apply.model import Outcome, StepRecord
from offlineprep.site import WinRMConfig
from offlineprep.winrm import delivery
from offlineprep.winrm.causes import Deadline, client_problem, describe_winrm_error
from offlineprep.winrm.delivery import ProtocolFactory
from offlineprep.winrm.scripts import script
from offlineprep.winrm.text import scrub

log = logging.getLogger(__name__)

APPLY = script("apply")
SCRIPT_PATH = APPLY.path
RESTORE_MARKER = "# @RESTORE-ACCOUNT-ACES@"
ANSWER_OUTCOMES = ("applied", "already", "changed", "failed", "reverted", "as-before")
SHARE_MASKS = {"Full": SHARE_FULL, "Change": SHARE_CHANGE, "Read": SHARE_READ}
_INHERITANCE_FLAGS = {"OI": 1, "CI": 2, "NP": 4, "IO": 8}  # AceFlags (Microsoft: System.Security.AccessControl.AceFlags)


def apply_script() -> str:
    """apply.ps1 with the revert's Restore-AccountAces put in: the one function the fix script uses too."""
    text = APPLY.text
    return text.replace(RESTORE_MARKER, "\n".join(ps.RESTORE_FUNCTION))


def ace_flags(inheritance: str) -> int:
    flags = 0
    for name, bit in _INHERITANCE_FLAGS.items():
        if f"({name})" in inheritance.upper():
            flags |= bit
    return flags


def request_item(action: t.ActionBase, recorded: StepRecord | None = None) -> dict[str, Any]:
    """One action as the script receives it (`recorded`: for a revert, the apply's step record)."""
    item: dict[str, Any] = {"id": action.id, "kind": action.kind, "action": action.model_dump(mode="json")}
    if isinstance(action, t.GrantShareRights):
        item.update(sid=action.account_sid, mask=SHARE_MASKS[action.access_right], flags=0)
    elif isinstance(action, t.GrantNtfsRights):
        item.update(sid=action.account_sid, mask=action.mask, flags=ace_flags(action.inheritance),
                    grant=ps.ntfs_grant_argument(action))
    if recorded is not None:
        item["recorded"] = {"before": recorded.before or _assumed_before(action),
                            "after": recorded.after if recorded.after is not None else _assumed_after(action)}
    if isinstance(action, t.SyncTime):
        # w32tm /config /syncfromflags: the flag that leaves the Type wanted, and for a revert the one that gives
        # back the Type read before apply (none for a Type it cannot set: the script says so)
        item["sync_flags"] = t.SYNC_FROM_FLAGS[action.after_type]
        if recorded is not None:
            was = (item["recorded"]["before"] or {}).get("type")
            item["restore_flags"] = t.SYNC_FROM_FLAGS.get(str(was)) if was else None
    elif isinstance(action, t.ReplicaServerSettings):
        item["settings"] = replica_settings(action, item.get("recorded"))
    return item


# Set-VMReplicationServer's parameters a fix may write, and whether each is a boolean (the others are strings)
REPLICA_SETTINGS = {"ReplicationEnabled": True, "AllowedAuthenticationType": False,
                    "ReplicationAllowedFromAnyServer": True, "DefaultStorageLocation": False,
                    "CertificateThumbprint": False}


def setting_text(value: object) -> str:
    """A Replica server setting as apply.ps1 reads and compares it: 'True'/'False', '' for none."""
    if isinstance(value, bool):
        return "True" if value else "False"
    return "" if value is None else str(value)


def replica_settings(action: t.ReplicaServerSettings, recorded: dict[str, Any] | None) -> list[dict[str, Any]]:
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


def _acl_object(action: t.ActionBase) -> tuple[str, str] | None:
    if isinstance(action, t.GrantShareRights):
        return ("share", action.share.casefold())
    if isinstance(action, t.GrantNtfsRights):
        return ("ntfs", action.local_path.rstrip("\\").casefold())
    return None


def add_others(items: Sequence[dict[str, Any]], actions: Sequence[t.ActionBase]) -> None:
    """Each grant learns the accounts other grants of the same run add on the same share or folder
    (`others`): the script compares the descriptor without their entries, so one step's grant does not
    make the next step's descriptor look changed since planned (or since applied)."""
    for item, action in zip(items, actions, strict=True):
        key = _acl_object(action)
        if key is None or not isinstance(action, t.AclGrant):
            continue
        own = (action.account_sid or "").upper()
        others = {a.account_sid.upper() for a in actions if a is not action and _acl_object(a) == key
                  and isinstance(a, t.AclGrant) and a.account_sid}
        item["others"] = sorted(others - {own})


def _assumed_before(action: t.ActionBase) -> dict[str, Any] | None:
    """For a step whose apply outcome is unknown (nothing was read back): the state the plan saw."""
    if isinstance(action, t.OpenFirewallPort):
        # our own rule, by name: a rule of that name that covered the port would have made the check pass
        return {"rule": "enabled" if action.rule_name in action.before else "absent"}
    if isinstance(action, t.DisableFirewallRules):
        return {"rules": [{"name": name, "state": "enabled"} for name in action.names]}
    if isinstance(action, t.SyncTime):
        return {"type": action.before_type} if action.before_type else None
    if isinstance(action, t.ReplicaServerSettings):
        return {name: setting_text(value) for name, value in action.before.items()}
    if isinstance(action, t.ReplicaAuthorization):
        return {"entry": "absent"}
    if isinstance(action, t.AcceptAnyServerName):
        return {"value": action.before}
    return None


def _assumed_after(action: t.ActionBase) -> dict[str, Any] | None:
    if isinstance(action, t.OpenFirewallPort):
        return {"rule": "enabled"}
    if isinstance(action, t.SyncTime):
        return {"type": action.after_type}
    if isinstance(action, t.ReplicaServerSettings):
        return {**{name: setting_text(value) for name, value in action.before.items()},
                **{name: setting_text(value) for name, value in action.after.items()}}
    if isinstance(action, t.ReplicaAuthorization):
        return {"entry": "present", "storage_location": action.storage_location, "trust_group": action.trust_group}
    if isinstance(action, t.AcceptAnyServerName):
        return {"value": action.after}
    return None  # share, NTFS, share creation: the script checks for the grant (or the share) itself


def request_document(mode: Literal["apply", "revert"], items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"mode": mode, "actions": list(items)}


def stdin_payload(document: dict[str, Any]) -> bytes:
    return delivery.script_payload(document, apply_script())


# --------------------------------------------------------------------------- answers


class StepAnswer(BaseModel):
    """One line of the script's answer."""

    id: str
    outcome: Literal["applied", "already", "changed", "failed", "reverted", "as-before"]
    message: str = ""
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


@dataclass
class HostRun:
    """What one machine answered: the lines that arrived, and why the rest did not."""

    answers: dict[str, StepAnswer] = field(default_factory=dict)
    finished: bool = False  # the script's last line arrived
    started: bool = False  # the command was started: a step without a line may have run
    problem: str | None = None
    seconds: float = 0.0


def read_answers(stdout: bytes) -> tuple[dict[str, StepAnswer], bool, list[str]]:
    """(answers by action id, whether the final line arrived, lines that were not an answer)."""
    answers: dict[str, StepAnswer] = {}
    finished, odd = False, []
    for line in stdout.decode("utf-8", "replace").lstrip("\ufeff").splitlines():
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError:
            odd.append(line[:120])
            continue
        if isinstance(data, dict) and data.get("done") is True:
            finished = True
            continue
        try:
            answer = StepAnswer.model_validate(data)
        except ValidationError:
            odd.append(line[:120])
            continue
        answers[answer.id] = answer
    return answers, finished, odd


def run_on_host(config: WinRMConfig, machine: str, document: dict[str, Any], factory: ProtocolFactory,
                password: str | None) -> HostRun:
    """Send the request to `machine` and read what came back, however far it got."""
    started = time.monotonic()
    run = HostRun()
    missing = client_problem(config)
    if missing is not None:
        run.problem = missing
        return run
    progress = delivery.Progress()
    try:
        stdout, stderr, code = delivery.stream_payload(factory(machine), stdin_payload(document),
                                                       started + config.timeout_seconds, delivery.CollectionStats(),
                                                       progress)
    except Exception as exc:
        _, message = describe_winrm_error(exc, machine, config)
        if progress.command_sent and isinstance(exc, Deadline):
            message = (f"{machine} did not finish the apply script within {config.timeout_seconds:g} s "
                       "(timeout_seconds of [winrm])")
        run.problem = scrub(message, password)
        run.started = progress.command_sent
        run.answers, run.finished, _ = read_answers(bytes(progress.output))
        run.seconds = round(time.monotonic() - started, 3)
        return run
    run.started = True
    run.answers, run.finished, odd = read_answers(stdout)
    if code != 0:
        run.problem = scrub(f"the apply script failed on {machine} (exit code {code}): "
                            f"{delivery.decode_clixml(stderr)}", password)
    elif not run.finished:
        run.problem = f"the apply script on {machine} stopped before its last line" + (
            f" (it wrote: {odd[0]!r})" if odd else "")
    run.seconds = round(time.monotonic() - started, 3)
    return run


def outcome_of(answer: StepAnswer) -> Outcome:
    return Outcome(answer.outcome)

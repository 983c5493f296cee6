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
(`settings`), and for a revert the state apply read before and after (`recorded`). Each kind's
module says what its items carry (`host_request`, `assumed_before`, `assumed_after`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from offlineprep.actions import types as t
from offlineprep.actions.acl_grant import with_restore_function
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
ANSWER_OUTCOMES = ("applied", "already", "changed", "failed", "reverted", "as-before")


def apply_script() -> str:
    """apply.ps1 with the revert's Restore-AccountAces put in: the one function the fix script uses too."""
    return with_restore_function(APPLY.text)


def request_item(action: t.ActionBase, recorded: StepRecord | None = None) -> dict[str, Any]:
    """One action as the script receives it (`recorded`: for a revert, the apply's step record), with
    what its kind's module says the script needs beyond the action (`host_request`)."""
    item: dict[str, Any] = {"id": action.id, "kind": action.kind, "action": action.model_dump(mode="json")}
    states = None
    if recorded is not None:
        states = {"before": recorded.before or action.assumed_before(),
                  "after": recorded.after if recorded.after is not None else action.assumed_after()}
        item["recorded"] = states
    item.update(action.host_request(states))
    return item


def add_others(items: Sequence[dict[str, Any]], actions: Sequence[t.ActionBase]) -> None:
    """Each grant learns the accounts other grants of the same run add on the same share or folder
    (`others`): the script compares the descriptor without their entries, so one step's grant does not
    make the next step's descriptor look changed since planned (or since applied)."""
    grants = [a for a in actions if isinstance(a, t.AclGrant)]
    for item, action in zip(items, actions, strict=True):
        if not isinstance(action, t.AclGrant):
            continue
        key = action.descriptor_key()
        own = (action.account_sid or "").upper()
        others = {a.account_sid.upper() for a in grants if a is not action and a.descriptor_key() == key
                  and a.account_sid}
        item["others"] = sorted(others - {own})


def request_document(mode: Literal["apply", "revert", "preview"], items: Sequence[dict[str, Any]]) -> dict[str, Any]:
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
        except (ValueError, RecursionError):  # not JSON, or hostile nesting beyond the recursion limit
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

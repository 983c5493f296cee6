"""A plan from the results of a run: the typed actions of the failing findings, in a safe order.

The order and the grouping are the fix script's (offlineprep.render.fixscript.plan): AD first (it
needs replication time), then each file server's and host's changes, the ticket purges last, each
action once however many findings it answers. So the plan, the fix script and the report's
snippets are the same actions. What apply cannot do is planned too, as a `by-hand` step that says
why: a reminder (move a share, free space, a policy value), a WinRM listener (it runs on the
machine itself, since WinRM cannot reach it), resource-based delegation on an account of another
domain (apply writes through the site's one domain controller), a role to install (it needs a
restart), a fix a check pack wrote as text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from offlineprep import __version__
from offlineprep.actions import types as t
from offlineprep.apply.model import (
    PLAN_SCHEMA,
    RECORD_SCHEMA,
    FindingRef,
    How,
    Plan,
    PlanSite,
    Record,
    Step,
    StepRecord,
)
from offlineprep.errors import UsageError
from offlineprep.model import Finding, Results, Status, ToolInfo, at_threshold
from offlineprep.names import NameError_, validate_host_name
from offlineprep.privatefile import check_private
from offlineprep.render import fixscript

_Loaded = TypeVar("_Loaded", Plan, Record)  # what _validated reads a plan or record file as
_Ordered = TypeVar("_Ordered", Step, StepRecord)  # what run_order orders

# the kinds apply carries out, by way (each kind's module says: `apply_way`; docs/apply.md)
HOST_KINDS = t.kinds_applied("host")
DIRECTORY_KINDS = t.kinds_applied("ldap")


def how(action: t.ActionBase) -> tuple[How, str | None]:
    """How apply carries `action` out, and for a step by hand, why not by apply."""
    why = action.by_hand()
    if why is not None:
        return How.BY_HAND, why
    if action.apply_way == "ldap":
        if action.owner is None or not action.owner.name:
            return How.BY_HAND, "the site file names no domain controller ([directory] server) to send it to"
        return How.DIRECTORY, None
    if action.apply_way == "host":
        if action.owner is None or not action.owner.name:
            return How.BY_HAND, "no machine is named to run it on"
        return How.HOST, None
    return How.BY_HAND, f"apply does not carry out {action.kind} actions"


def plannable(finding: Finding, fail_on: str) -> bool:
    return at_threshold(finding, fail_on) and finding.status in (Status.FAIL, Status.WARN)


def make_plan(results: Results, directory_server: str | None, *, checks: Sequence[str] = (),
              fail_on: str = "fail") -> Plan:
    """The plan for the findings of `results` at or above `fail_on` (not waived)."""
    chosen = [f for f in results.findings if plannable(f, fail_on)]
    refs = [_ref(f) for f in chosen]
    index = {id(f): i for i, f in enumerate(chosen)}
    grouped = fixscript.plan(results.model_copy(update={"findings": chosen}))
    steps: list[Step] = []

    def add(action: t.ActionBase, findings: list[int]) -> None:
        way, why = how(action)
        steps.append(Step(number=len(steps) + 1, how=way, action=action, findings=sorted(set(findings)), by_hand=why))

    for section in grouped.ordered():
        for block in section.blocks:
            answered = [index[id(f)] for f in block.findings if id(f) in index]
            if block.legacy is not None:
                text = (f"{block.legacy.summary} (a fix written as PowerShell text by a check pack, with no action that "
                        "says where it runs: see the report)")
                add(t.ManualStep(text=text), answered)
                continue
            for action in block.actions:
                add(action, answered)
    for refresh in grouped.refresh:  # last: after every AD change (docs/fixes.md, the fix script)
        answered = [index[id(f)] for f in chosen if f.remediation is not None
                    and any(a.id == refresh.id for a in f.remediation.actions)]
        add(refresh, answered)
    steps = [s.model_copy(update={"number": n}) for n, s in enumerate(run_order(chain(steps)), 1)]
    machines: dict[str, str] = {}
    for step in steps:
        if step.how is How.HOST and step.machine:
            machines.setdefault(step.machine.casefold(), step.machine)
    not_evaluated = [_ref(f) for f in results.findings if f.status is Status.ERROR and not f.waived]
    return Plan(tool=ToolInfo(version=__version__), generated_at=datetime.now(UTC),
                site=PlanSite(directory_server=directory_server, machines=list(machines.values())),
                checks=list(checks), fail_on=fail_on, findings=refs, steps=steps, not_evaluated=not_evaluated)


def chain(steps: list[Step]) -> list[Step]:
    """Each AD step's before-state is the state the steps before it leave. The checks build each action
    from the facts, so two actions on one attribute of one object (the cifs entries of a host for the
    export computer, then for the import computer) both start from the state read: the second would be
    refused as "changed since planned" once the first ran. Here the second starts where the first ends,
    and a value an earlier step adds already is not added twice (a step left with nothing to add goes)."""
    states: dict[object, object] = {}  # per chained attribute of an object: its state as the steps so far leave it
    out: list[Step] = []
    for step in steps:
        action = step.action.chained(states) if step.action.chain_key() is not None else step.action
        if action is None:
            continue
        out.append(step.model_copy(update={"number": len(out) + 1, "action": action}))
    return out


def run_order(steps: Sequence[_Ordered], directory_of: Callable[[_Ordered], object] | None = None) -> list[_Ordered]:
    """The steps in the order apply runs them, which is the order the plan numbers them in and the record keeps:
    the AD steps first, one domain controller after another (each in the order the steps came), then each
    machine's steps (machines in the order they first come; on each machine its ticket purge last, after every
    AD change), then the steps by hand, which apply does not run. Machines run in parallel, each in this order;
    `runner` reports their steps in this order too. `directory_of`: which directory an AD step goes to (the
    runner's, from the site file); by default the domain controller the step names."""

    def dc(step: _Ordered) -> object:
        if directory_of is not None:
            return directory_of(step)
        owner = step.action.owner
        return (owner.name or "").casefold() if owner is not None else ""

    directories: dict[object, list[_Ordered]] = {}
    machines: dict[str, list[_Ordered]] = {}
    by_hand: list[_Ordered] = []
    for step in steps:
        if step.how is How.DIRECTORY:
            directories.setdefault(dc(step), []).append(step)
        elif step.how is How.HOST:
            owner = step.action.owner
            machines.setdefault((owner.name or "").casefold() if owner is not None else "", []).append(step)
        else:
            by_hand.append(step)
    ordered = [s for group in directories.values() for s in group]
    for group in machines.values():
        ordered += sorted(group, key=lambda s: s.action.follows_ad_changes)
    return ordered + by_hand


def _ref(f: Finding) -> FindingRef:
    return FindingRef(check=f.check, status=f.status, subject=f.subject, target=f.target, account=f.account,
                      message=f.message)


# --------------------------------------------------------------------------- reading a plan back


def plan_text(plan: Plan) -> str:
    return json.dumps(plan.model_dump(mode="json", by_alias=True), indent=2, ensure_ascii=False) + "\n"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_plan(path: Path) -> Plan:
    """A plan file as `plan` wrote it. Every way it can be wrong is a usage error naming the file,
    and so is an action whose id no longer matches its content (the id is a hash of every other
    field: a hand-edited action would run something nobody planned)."""
    data = _load_json(path, PLAN_SCHEMA, "plan", "offlineprep plan --config SITE.toml --output PLAN.json")
    raw_steps: list[Any] = data["steps"] if isinstance(data.get("steps"), list) else []
    plan = _validated(Plan, data, path, "plan")
    check_machine_names(plan.steps, path, "plan")
    for step, raw in zip(plan.steps, raw_steps, strict=False):
        written = raw.get("action", {}).get("id") if isinstance(raw, dict) and isinstance(raw.get("action"), dict) else None
        if written != step.action.id:
            raise UsageError(f"{path}: step {step.number}'s action id {written!r} does not match its content "
                             f"({step.action.id}): the plan was edited; make it again with `offlineprep plan`")
    numbers = [s.number for s in plan.steps]
    if numbers != list(range(1, len(numbers) + 1)):
        raise UsageError(f"{path}: the steps are not numbered 1 to {len(numbers)} in order: the plan was edited")
    return plan


def _validated(model: type[_Loaded], data: dict[str, Any], path: Path, what: str) -> _Loaded:
    """`data` as `model`; the first thing wrong with it is a usage error naming the file and the field."""
    from offlineprep.jsonfile import validated

    return validated(model, data, path, what)


def _load_json(path: Path, schema: str, what: str, how_to_make: str) -> dict[str, Any]:
    """The one reader of our JSON documents (offlineprep.jsonfile), refusing a file another user owns
    or may write: whoever can write a plan or a record decides what apply or revert is asked to do."""
    from offlineprep.jsonfile import read_document

    return read_document(path, what=what, schema=schema, how_to_make=how_to_make, private=True)


def check_machine_names(steps: Sequence[Step | StepRecord], path: Path, what: str) -> None:
    """Every machine and domain controller a step names is a host name (no port, path, fragment or
    user part): such a name becomes a URL that receives credentials (docs/security.md, "Names")."""
    for step in steps:
        owner = step.action.owner
        if owner is None or owner.name is None:
            continue
        try:
            validate_host_name(owner.name, context=f"step {step.number}'s machine")
        except NameError_ as exc:
            raise UsageError(f"{path}: {exc}: not a valid offlineprep {what}; nothing was sent") from None


def check_site(plan: Plan, directory_server: str | None, has_winrm: bool, plan_file: Path) -> None:
    """The site file must be one the plan can run with: the same domain controller for AD steps (a plan is
    never sent to another domain's DC), and a [winrm] table for host steps."""
    if any(s.how is How.DIRECTORY for s in plan.steps):
        planned = plan.site.directory_server
        if not directory_server or (planned or "").casefold() != directory_server.casefold():
            raise UsageError(f"{plan_file} sends its AD steps to {planned}, but the site file's [directory] server is "
                             f"{directory_server or 'missing'}: apply the plan with the site file it was made with")
    if any(s.how is How.HOST for s in plan.steps) and not has_winrm:
        raise UsageError(f"{plan_file} has steps on {', '.join(plan.site.machines)}, but the site file has no [winrm] "
                         "table to reach them: apply the plan with the site file it was made with")


def load_record(path: Path) -> Record:
    """A record as `apply` wrote it (a record of a run cut short included), in a file no other user can
    write (revert changes AD and hosts from it: docs/security.md)."""
    writable_by_others(path, "record")
    data = _load_json(path, RECORD_SCHEMA, "record", "offlineprep apply PLAN.json --config SITE.toml --yes")
    record = _validated(Record, data, path, "record")
    check_machine_names(record.steps, path, "record")
    if record.mode != "apply":
        raise UsageError(f"{path} is the record of a revert: revert the record of the apply"
                         + (f" ({record.reverts})" if record.reverts else ""))
    return record


def writable_by_others(path: Path, what: str) -> None:
    """Refuse a file another user owns, or that its group or anyone may write (privatefile.check_private,
    the one rule for plans and records), or whose folder they may rename it in (sticky /tmp aside):
    whoever can write it decides what revert changes."""
    import stat

    check_private(path, what)
    try:
        folder = path.resolve().parent.stat()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the {what}'s folder: {exc.strerror or exc}") from None
    if folder.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not folder.st_mode & stat.S_ISVTX:
        raise UsageError(f"{path}: other users may replace the {what} in its folder "
                         f"({stat.filemode(folder.st_mode)}, not sticky): move it to a folder of your own")


def check_record_bound(record: Record, record_file: Path) -> None:
    """A record is bound to the plan it applied: the plan file it names must still hash to the SHA-256 the
    record holds, and each step of the record must be that plan's step of the same number and action id.
    A record edited on its own (another step, another number) is refused before anything is read."""
    if not record.plan_file or not record.plan_sha256:
        raise UsageError(f"{record_file} names no plan and hash: revert takes only a record that apply wrote for a "
                         "plan file")
    plan_path = Path(record.plan_file)
    candidates = [plan_path] if plan_path.is_absolute() else [plan_path, record_file.parent / plan_path.name]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        raise UsageError(f"{record_file} was made from {record.plan_file}, which is not there any more: revert "
                         "checks the record against the plan it applied")
    if digest(found) != record.plan_sha256:
        raise UsageError(f"{record_file} was made from a plan with SHA-256 {record.plan_sha256}, but {found} hashes "
                         f"to {digest(found)}: the record or the plan was edited; nothing was reverted")
    plan = load_plan(found)
    ids = {s.number: s.action.id for s in plan.steps}
    for step in record.steps:
        if ids.get(step.number) != step.action.id:
            raise UsageError(f"{record_file}: step {step.number} ({step.action.kind}) is not step {step.number} of "
                             f"{found}: the record was edited; nothing was reverted")

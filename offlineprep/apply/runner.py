"""apply and revert, end to end: the steps in order, the record written as the run goes, the re-check.

apply: the AD steps one after another over one LDAP connection as the account for changes, then the
host steps, one PowerShell command per machine, machines in parallel (bounded by [winrm]
concurrency). The record is written before anything is sent (every step "not run" but the steps
by hand), again when a step starts ("unknown" until it answers) and when it ends: a run cut short
by a crash, Ctrl-C or a lost connection leaves a record that says exactly what was done, what was
not, and what was sent without an answer. Then the checks the plan addressed are collected and
judged again, with the read-only account, and the verdict of each finding goes into the record.

revert: from a record, every step that may have changed something (applied, unknown, or failed
after a change), in reverse order: the AD steps, then the host steps, then the ticket purge again
on the hosts whose delegation was put back. Each step restores the state read before apply only
where the state is still the one apply left.
"""

from __future__ import annotations

import getpass
import json
import logging
import socket
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from offlineprep import __version__, pipeline
from offlineprep.actions import types as t
from offlineprep.apply.model import (
    FAILED_OUTCOMES,
    FindingRef,
    How,
    Identity,
    Outcome,
    Plan,
    Record,
    RestoredStep,
    Step,
    StepRecord,
    Verification,
    VerifiedFinding,
)
from offlineprep.apply.planner import run_order
from offlineprep.apply.replan import PlanRefused, Replanned, replan
from offlineprep.engine import CheckSpec, needs_of
from offlineprep.facts import Facts
from offlineprep.model import Results, Status, ToolInfo, status_at_threshold
from offlineprep.names import DomainName, HostName
from offlineprep.site import DirectoryConfig, Site, WinRMConfig
from offlineprep.verdict import judge

log = logging.getLogger(__name__)

PasswordSource = Callable[[str, str], str | None]  # (environment variable, purpose) -> password
ProtocolFactory = Callable[[str], Any]


@dataclass
class Connections:
    """Where changes go: the seams tests and the demo use; the defaults are the site file's DC and hosts."""

    directory_connect: Callable[[DirectoryConfig, str | None], Any] | None = None  # ldap3 connection, bound
    host_factory: Callable[[WinRMConfig, str | None], ProtocolFactory] | None = None  # (config, password) -> factory
    collectors: pipeline.Collectors = field(default_factory=pipeline.Collectors)  # the re-check


def change_account(config: DirectoryConfig | WinRMConfig | None) -> str | None:
    if config is None:
        return None
    return config.apply_user or config.user


# --------------------------------------------------------------------------- secrets


def directory_of(site: Site, action: t.ActionBase) -> DirectoryConfig | None:
    """The site file's directory an AD action goes to: the one whose server is the domain controller
    the plan bound the action to (each domain's fixes go to its own DC, docs/inventory.md); with a
    single directory, that one. None: the action names a DC the site file no longer lists."""
    directories = site.directories
    if len(directories) <= 1:
        return directories[0] if directories else None
    dc = action.owner.name if action.owner is not None else None
    if not dc:
        return site.primary_directory
    by_server = next((d for d in directories if HostName(urlsplit(d.server).hostname or "") == HostName(dc)), None)
    # an owner may name its domain instead of a DC (-Server takes either)
    return by_server or next((d for d in directories if d.domain and DomainName(d.domain).key == DomainName(dc).key),
                             None)


def directories_used(site: Site, steps: Sequence[Step | StepRecord]) -> list[DirectoryConfig]:
    """The directories the AD steps among `steps` go to, in the site file's order."""
    used = {id(d) for s in steps if s.how is How.DIRECTORY for d in [directory_of(site, s.action)] if d is not None}
    return [d for d in site.directories if id(d) in used]


def secrets_for_changes(site: Site, steps: Sequence[Step | StepRecord]) -> list[pipeline.SecretRequest]:
    """The passwords of the accounts for changes that `steps` will use, in the order they are used."""
    wanted = []
    for d in directories_used(site, steps):
        if d.auth == "kerberos":
            continue
        env = d.apply_password_env if d.apply_user else d.password_env
        wanted.append(pipeline.SecretRequest(env, "LDAP (changes)" if d.apply_user else "LDAP"))
    w = site.winrm
    if any(s.how is How.HOST for s in steps) and w is not None and w.transport not in {"kerberos", "certificate"}:
        env = w.apply_password_env if w.apply_user else w.password_env
        wanted.append(pipeline.SecretRequest(env, "WinRM (changes)" if w.apply_user else "WinRM"))
    return wanted


def secrets_for_reading(site: Site, steps: Sequence[Step | StepRecord]) -> list[pipeline.SecretRequest]:
    """The read-only accounts' passwords revert needs to read the live state of `steps` (its dry run, its
    re-check): each directory's of the AD steps, WinRM's for the host steps."""
    wanted = [pipeline.SecretRequest(d.password_env, "LDAP") for d in directories_used(site, steps)
              if d.auth != "kerberos"]
    w = site.winrm
    if any(s.how is How.HOST for s in steps) and w is not None and w.transport not in {"kerberos", "certificate"}:
        wanted.append(pipeline.SecretRequest(w.password_env, "WinRM"))
    return wanted


def _password(config: DirectoryConfig | WinRMConfig, password_for: PasswordSource, purpose: str) -> str | None:
    if isinstance(config, DirectoryConfig) and config.auth == "kerberos":
        return None
    if isinstance(config, WinRMConfig) and config.transport in {"kerberos", "certificate"}:
        return None
    if config.apply_user:
        return password_for(config.apply_password_env, f"{purpose} (changes)")
    return password_for(config.password_env, purpose)


# --------------------------------------------------------------------------- the record as it goes


class RecordWriter:
    """Keeps the record and writes it after every change of state (atomically, from any thread). Each
    step's JSON is kept as text and made again only when that step changes: a record of 300 steps is
    written some 700 times in a run, and serialising every step each time cost seconds."""

    def __init__(self, record: Record, path: Path | None, scrub: Callable[[str], str] = lambda s: s) -> None:
        self.record = record
        self.path = path
        self.scrub = scrub
        self._lock = threading.Lock()
        self._texts: dict[int, str] = {}
        self._head: str | None = None  # everything but the steps, made again by save()

    def update(self, index: int, **fields: Any) -> None:
        self.update_many([(index, fields)])

    def update_many(self, changes: Sequence[tuple[int, dict[str, Any]]]) -> None:
        """Several steps changed at once (a machine's answers): one write."""
        with self._lock:
            for index, fields in changes:
                self.record.steps[index] = self.record.steps[index].model_copy(update=fields)
                self._texts.pop(index, None)
            self._save()

    def save(self) -> None:
        """Write it all again (after a change outside the steps: the end of the run, the re-check)."""
        with self._lock:
            self._texts.clear()
            self._head = None
            self._save()

    def _save(self) -> None:
        if self.path is None:
            return
        from offlineprep.render import write_atomically

        steps = []
        for index, step in enumerate(self.record.steps):
            if index not in self._texts:
                self._texts[index] = _indented(json.dumps(step.model_dump(mode="json"), indent=2, ensure_ascii=False))
            steps.append(self._texts[index])
        if self._head is None:
            self._head = json.dumps(self.record.model_dump(mode="json", by_alias=True, exclude={"steps"}), indent=2,
                                    ensure_ascii=False)
        head = self._head
        text = head[:-2] + ',\n  "steps": [\n' + ",\n".join(steps) + "\n  ]\n}\n" if steps else record_text(self.record)
        write_atomically(self.path, self.scrub(text))


def _indented(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def record_text(record: Record) -> str:
    return json.dumps(record.model_dump(mode="json", by_alias=True), indent=2, ensure_ascii=False) + "\n"


def _now() -> datetime:
    return datetime.now(UTC)


def _identity(site: Site, steps: Sequence[Step | StepRecord]) -> Identity:
    """As whom `steps` run: the account for changes of every directory they use, and WinRM's."""
    try:
        local_user = getpass.getuser()
    except Exception:  # no user name in this environment: the record says so
        local_user = "unknown"
    accounts = [a for a in (change_account(d) for d in directories_used(site, steps)) if a]
    return Identity(directory=", ".join(dict.fromkeys(accounts)) or None,
                    winrm=change_account(site.winrm) if any(s.how is How.HOST for s in steps) else None,
                    local_user=local_user, local_machine=socket.gethostname())


StepCallback = Callable[[StepRecord], None]


class InOrder:
    """Tells `on_step` of each step at `indexes` of the record as it ends, in the order of `indexes` (the run
    order, which the numbers follow): machines run in parallel and answer in any order, and a step is told
    once every step before it has been. `flush` tells what is left at the end of the run."""

    def __init__(self, writer: RecordWriter, indexes: Sequence[int], on_step: StepCallback | None) -> None:
        self.writer = writer
        self.order = list(indexes)
        self.on_step = on_step
        self.done: set[int] = set()
        self.next = 0
        self._lock = threading.Lock()

    def tell(self, index: int) -> None:
        with self._lock:
            self.done.add(index)
            self._release(everything=False)

    def flush(self) -> None:
        with self._lock:
            self._release(everything=True)

    def _release(self, everything: bool) -> None:
        while self.next < len(self.order) and (everything or self.order[self.next] in self.done):
            if self.on_step is not None:
                self.on_step(self.writer.record.steps[self.order[self.next]])
            self.next += 1


# --------------------------------------------------------------------------- apply


def apply_plan(plan: Plan, site: Site, *, connections: Connections, password_for: PasswordSource,
               record_path: Path | None, checks: Sequence[CheckSpec], plan_file: str | None = None,
               plan_sha256: str | None = None, scrub: Callable[[str], str] = lambda s: s,
               on_step: StepCallback | None = None, replanned: Replanned | None = None) -> Record:
    """Carry out the plan's steps that a plan made now also makes, and return the record (written to
    `record_path` as it goes). The plan is held against a fresh one first (`replan`, unless the caller
    did: `replanned`); a step the fresh plan lacks raises PlanRefused before anything is sent or written."""
    held = replanned if replanned is not None else replan(plan, site, checks, connections.collectors, password_for)
    if held.refused:
        raise PlanRefused(plan_file or "the plan", held.refused)
    run = held.approved  # the fresh plan's own steps, numbered as the file numbers them
    record = Record(tool=ToolInfo(version=__version__), mode="apply", plan_file=plan_file, plan_sha256=plan_sha256,
                    started_at=_now(), directory_server=run.site.directory_server,
                    as_whom=_identity(site, run.steps), findings=list(plan.findings))
    # the order of the run, which a plan's numbers follow (planner.run_order) and the record keeps
    steps = ordered_for_run([*run.steps, *held.passing.values()], site)
    for step in steps:
        if step.number in held.passing and step is held.passing[step.number]:
            record.steps.append(StepRecord(number=step.number, how=step.how, action=step.action,
                                           outcome=Outcome.ALREADY, message="the findings it answers pass now: "
                                           "nothing to do, nothing sent"))
        elif step.how is How.BY_HAND:
            record.steps.append(StepRecord(number=step.number, how=step.how, action=step.action,
                                           outcome=Outcome.BY_HAND, message=step.by_hand or ""))
        else:
            record.steps.append(StepRecord(number=step.number, how=step.how, action=step.action,
                                           outcome=Outcome.NOT_RUN, message="apply stopped before this step"))
    plan = plan.model_copy(update={"steps": steps})
    writer = RecordWriter(record, record_path, scrub)
    writer.save()
    carried = [i for i, r in enumerate(record.steps) if r.outcome is Outcome.NOT_RUN]
    directory_steps = [i for i in carried if plan.steps[i].how is How.DIRECTORY]
    host_steps = [i for i in carried if plan.steps[i].how is How.HOST]
    teller = InOrder(writer, carried, on_step)
    _directory(writer, directory_steps, site, connections, password_for, None, teller)
    # the ticket purge is for an AD change of this run: a run that changed nothing in AD (a second apply of the
    # same plan) purges nothing (docs/apply.md)
    if not any(record.steps[i].outcome is Outcome.APPLIED for i in directory_steps):
        for i in [i for i in host_steps if plan.steps[i].action.follows_ad_changes]:
            writer.update(i, outcome=Outcome.ALREADY, message="no AD change in this run, so no ticket purge: if an "
                          "earlier apply changed this host's delegation and its purge did not run, run "
                          "klist purge -li 0x3e7 on the host (or restart it)")
            _tell(teller, writer, i)
            host_steps.remove(i)
    _hosts(writer, host_steps, site, connections, password_for, "apply", teller)
    teller.flush()
    record.finished_at = _now()
    record.complete = True
    writer.save()
    return record


def ordered_for_run(steps: Sequence[Step], site: Site) -> list[Step]:
    """`steps` in the order apply runs them (planner.run_order, each AD step grouped with its directory's)."""
    return run_order(steps, directory_of=lambda s: id(directory_of(site, s.action)))


@dataclass
class Recheck:
    """The re-check after the writes: the results as preflight would judge them, and the record's summary."""

    results: Results
    verification: Verification


def recheck(plan: Plan, record: Record, site: Site, checks: Sequence[CheckSpec], connections: Connections,
            password_for: PasswordSource, writer_path: Path | None = None,
            scrub: Callable[[str], str] = lambda s: s, options: pipeline.RunOptions | None = None) -> Recheck:
    """After the writes, the re-check: the one place apply judges what it did (a wait for AD replication
    belongs just before it). Collects and judges again, with the read-only account, every check the plan's
    run evaluated (preflight's selection, `plan.checks`; the plan's findings' checks for a plan without it),
    the whole site as preflight judges it (`options`: its --fail-on, waivers and the checks known), and
    keeps in the record the verdict preflight would give, the findings that block, each planned finding's
    new status, and the steps by hand still to do (their findings do not pass)."""
    wanted = list(dict.fromkeys(plan.checks or sorted({f.check for f in plan.findings})))
    known = {c.id: c for c in checks}
    selected = [known[c] for c in wanted if c in known]
    options = options or pipeline.RunOptions(fail_on=plan.fail_on)
    if options.known_checks is None:
        options.known_checks = [c.id for c in checks]
    verification = Verification(checks=[c.id for c in selected], directory_read_from=pipeline.directory_server(site),
                                missing_checks=[c for c in wanted if c not in known])
    facts = pipeline.collect(site, needs_of(selected), connections.collectors, password_for) if selected else \
        Facts.model_validate({"tool": {"version": __version__}})
    results = pipeline.build_results(site, selected, facts, options)
    now = {FindingRef(check=f.check, status=f.status, subject=f.subject, target=f.target, account=f.account,
                      message=f.message).key: f for f in results.findings}
    for ref in plan.findings:
        found = now.get(ref.key)
        verification.findings.append(VerifiedFinding(finding=ref, status=found.status if found else None,
                                                     message=found.message if found else
                                                     "the re-check did not judge this subject again"))
    # a check of the plan this run cannot load is one not evaluated: never READY (SPEC §13)
    judged = judge(results, problems=[f"{c}: a check of the plan this run does not know (give apply the "
                                      "--checks-dir plan was given)" for c in verification.missing_checks])
    verification.verdict, verification.headline, verification.exit_code = (judged.verdict, judged.headline,
                                                                            judged.exit_code)
    verification.reason = judged.reason
    verification.blocking = [FindingRef(check=f.check, status=f.status, subject=f.subject, target=f.target,
                                        account=f.account, message=f.message) for f in judged.blocking]
    verification.by_hand_left = [s.number for s in plan.steps if s.how is How.BY_HAND and s.findings
                                 and not all(_passes(verification.findings[i], plan.fail_on)
                                             for i in s.findings if 0 <= i < len(verification.findings))]
    record.verification = verification
    RecordWriter(record, writer_path, scrub).save()
    return Recheck(results=results, verification=verification)


def verify(plan: Plan, record: Record, site: Site, checks: Sequence[CheckSpec], connections: Connections,
           password_for: PasswordSource, writer_path: Path | None = None,
           scrub: Callable[[str], str] = lambda s: s) -> Verification:
    """`recheck`, for callers that want only what the record keeps."""
    return recheck(plan, record, site, checks, connections, password_for, writer_path, scrub).verification


def _passes(verified: VerifiedFinding, fail_on: str) -> bool:
    return verified.status is not None and verified.status is not Status.ERROR \
        and not status_at_threshold(verified.status, fail_on)


def addressed(plan: Plan) -> set[int]:
    """The findings (indexes) that at least one step apply carries out answers."""
    return {i for s in plan.steps if s.how is not How.BY_HAND for i in s.findings}


def by_hand_only(plan: Plan) -> set[int]:
    done_by_apply = addressed(plan)
    return {i for s in plan.steps if s.how is How.BY_HAND for i in s.findings} - done_by_apply


def apply_exit_code(plan: Plan, record: Record) -> int:
    """3 an action failed (refused, changed since planned, not run, unknown); else the re-check's, as preflight
    exits for it: 0 only when it is READY, 1 a finding blocks (a step left by hand among them), 3 some could not
    be evaluated. A finding apply addressed that the re-check did not judge again is not confirmed: 1. No
    re-check at all: 1 (nothing confirmed)."""
    if any(s.outcome in FAILED_OUTCOMES for s in record.steps):
        return 3
    verification = record.verification
    if verification is None:
        return 1
    if verification.exit_code is None:  # a record of an older version: the findings apply addressed
        return 1 if still_failing(plan, verification) else 0
    if verification.exit_code == 0 and (still_failing(plan, verification) or verification.by_hand_left):
        return 1
    return verification.exit_code


def still_failing(plan: Plan, verification: Verification) -> list[VerifiedFinding]:
    """The findings apply addressed that the re-check did not find passing."""
    wanted = addressed(plan)
    return [v for i, v in enumerate(verification.findings) if i in wanted and not _passes(v, plan.fail_on)]


# --------------------------------------------------------------------------- revert


def revert_record(applied: Record, site: Site, *, connections: Connections, password_for: PasswordSource,
                  record_path: Path | None, record_file: str | None = None,
                  scrub: Callable[[str], str] = lambda s: s, on_step: StepCallback | None = None) -> Record:
    """Put back the state before apply of every step that may have changed something, where the state is
    still the one apply left; report every other step. Then read again what it put back (`verify_revert`)."""
    directory, hosts, purges = revert_sources(applied)
    source = [*directory, *hosts, *purges]  # record.steps[i] reverts source[i]
    taken = {id(s) for s in source}
    record = Record(tool=ToolInfo(version=__version__), mode="revert", reverts=record_file, started_at=_now(),
                    plan_file=applied.plan_file, plan_sha256=applied.plan_sha256,
                    directory_server=applied.directory_server, as_whom=_identity(site, source),
                    findings=list(applied.findings))
    for step in source:
        record.steps.append(StepRecord(number=step.number, how=step.how, action=step.action, outcome=Outcome.NOT_RUN,
                                       message="revert stopped before this step"))
    for step in reversed(applied.steps):
        if id(step) in taken:
            continue
        if step.how is How.BY_HAND:
            outcome, message = Outcome.BY_HAND, "a step by hand: undo it by hand, if it was done"
        elif not step.may_have_changed():
            outcome, message = Outcome.NOTHING_APPLIED, f"apply changed nothing here ({step.outcome.value})"
        else:
            outcome, message = Outcome.NOT_REVERTIBLE, step.action.not_reverted()
        record.steps.append(StepRecord(number=step.number, how=step.how, action=step.action, outcome=outcome,
                                       message=message))
    writer = RecordWriter(record, record_path, scrub)
    writer.save()
    first_host = len(directory)
    first_purge = first_host + len(hosts)
    teller = InOrder(writer, range(len(source)), on_step)
    _directory(writer, list(range(first_host)), site, connections, password_for, source, teller)
    # the ticket purge again once delegation is back as before (docs/fixes.md, "Revert"); none otherwise
    ad_back = any(record.steps[i].outcome is Outcome.REVERTED for i in range(first_host))
    host_indexes = list(range(first_host, first_purge))
    for i in range(first_purge, len(source)):
        if ad_back:
            host_indexes.append(i)
        else:
            writer.update(i, outcome=Outcome.NOTHING_APPLIED, message="no AD change was put back: no ticket purge needed")
            _tell(teller, writer, i)
    _hosts(writer, host_indexes, site, connections, password_for, "revert", teller, source)
    teller.flush()
    record.finished_at = _now()
    record.complete = True
    writer.save()
    verify_revert(record, source, site, connections, password_for)
    writer.save()
    return record


def revert_sources(applied: Record) -> tuple[list[StepRecord], list[StepRecord], list[StepRecord]]:
    """The apply's steps revert takes up, in the order it runs them: the AD steps last change first, then the
    host steps last change first (machines in parallel, each in this order), then the ticket purges again."""
    candidates = [s for s in applied.steps if s.may_have_changed() and s.how is not How.BY_HAND]
    directory = [s for s in reversed(candidates) if s.how is How.DIRECTORY and s.action.reverted_by_apply()]
    hosts = [s for s in reversed(candidates) if s.how is How.HOST and s.action.reverted_by_apply()
             and not s.action.follows_ad_changes]
    purges = [s for s in candidates if s.action.follows_ad_changes]
    return directory, hosts, purges


def preview_revert(applied: Record, site: Site, connections: Connections,
                   password_for: PasswordSource) -> list[StepRecord]:
    """What revert would do to each step it takes up, in its order, from the state read NOW (a dry run), by
    the same code that writes, stopped before the write: each AD step read over LDAP with the read-only
    account, each machine's steps by one apply.ps1 in mode "preview" (its reads and decisions, no write)
    with the read-only WinRM account. "reverted": it is as apply left it and would be put back;
    "as-before"; "changed": left alone. The ticket purges follow the AD steps."""
    directory, hosts, purges = revert_sources(applied)
    out = _read_directory_steps(directory, site, connections, password_for, "revert")
    out += _read_host_steps(hosts, site, connections, password_for)
    ad_back = any(s.outcome is Outcome.REVERTED for s in out)
    for step in purges:
        out.append(step.model_copy(update={
            "outcome": Outcome.REVERTED if ad_back else Outcome.NOTHING_APPLIED, "before": None, "after": None,
            "message": "the ticket purge again, once the AD changes are put back" if ad_back
            else "no AD change would be put back: no ticket purge"}))
    return out


def verify_revert(record: Record, source: Sequence[StepRecord], site: Site, connections: Connections,
                  password_for: PasswordSource) -> None:
    """Revert's own re-check: each step it put back (or found as before) is read again, live, and must be as
    before apply: the AD steps over LDAP, the host steps by apply.ps1 in mode "preview" (the ticket purges
    aside: nothing to read). Kept in the record (`verification.restored`)."""
    done = [i for i, s in enumerate(record.steps[:len(source)])
            if s.outcome in (Outcome.REVERTED, Outcome.AS_BEFORE) and not s.action.follows_ad_changes]
    # steps chained on one attribute of one object (the plan's `chain`): each starts where the one before it
    # left the attribute, so only the first of them holds the state before apply; it alone is read again
    first: dict[object, int] = {}
    for i in done:
        key = source[i].action.chain_key()
        if key is not None and (key not in first or source[i].number < source[first[key]].number):
            first[key] = i
    done = [i for i in done if source[i].action.chain_key() is None or first[source[i].action.chain_key()] == i]
    read = _read_directory_steps([source[i] for i in done if source[i].how is How.DIRECTORY], site, connections,
                                 password_for, "revert")
    read += _read_host_steps([source[i] for i in done if source[i].how is How.HOST], site, connections, password_for)
    recorded = {id(source[i]): source[i] for i in done}
    restored = []
    for step in read:
        outcome, message = step.outcome, step.message
        was = step.before if step.how is How.HOST else None
        # apply.ps1 compares descriptors as SDDL text; one Windows writes back may spell the same descriptor
        # otherwise (aliases, hexadecimal masks): the state read now and the one before apply, compared as
        # descriptors (MS-DTYP), is what says whether it is back
        if outcome is not Outcome.AS_BEFORE and was is not None and _same_state(was, _before_of(step, recorded)):
            outcome, message = Outcome.AS_BEFORE, "read again: the same state as before apply"
        restored.append(RestoredStep(number=step.number, outcome=outcome, message=message))
    record.verification = Verification(directory_read_from=pipeline.directory_server(site), restored=restored)


def _read_directory_steps(steps: Sequence[StepRecord], site: Site, connections: Connections,
                          password_for: PasswordSource, mode: str) -> list[StepRecord]:
    """The AD steps judged from the state read now (a Changer in preview: nothing is sent)."""
    from offlineprep.apply import directory as ad

    out: list[StepRecord] = []
    by_config: dict[int, tuple[DirectoryConfig | None, list[StepRecord]]] = {}
    for step in steps:
        config = directory_of(site, step.action)
        by_config.setdefault(id(config), (config, []))[1].append(step)
    read: dict[int, StepRecord] = {}
    for config, group in by_config.values():
        if config is None:
            for step in group:
                read[id(step)] = step.model_copy(update={"outcome": Outcome.NOT_RUN, "message": "not read: its domain "
                                                         "controller is the server of no [[directory]] of the site file"})
            continue
        try:
            password = None if config.auth == "kerberos" else password_for(config.password_env, "LDAP")
            conn = ad.connect_for_reading(config, password, connections.directory_connect)
            changer = ad.Changer(conn, config.base_dn, config.user, preview=True)
        except Exception as exc:  # the DC could not be reached or refused the bind
            log.debug("LDAP connection for reading failed", exc_info=True)
            reason = ad.describe_connect_error(exc, config)
            for step in group:
                read[id(step)] = step.model_copy(update={"outcome": Outcome.NOT_RUN, "message": f"not read: {reason}"})
            continue
        # steps chained on one attribute of one object, taken last change first: once the later one would be put
        # back, the earlier one finds the state that one recorded before it, which is the state this one left
        put_back: dict[object, StepRecord] = {}
        try:
            for step in group:
                key = step.action.chain_key()
                later = put_back.get(key) if key is not None else None
                if later is not None:
                    read[id(step)] = step.model_copy(update={
                        "outcome": Outcome.REVERTED, "before": later.before, "after": None, "changes": [],
                        "message": f"would be put back after step {later.number}: it starts from the state step "
                                   f"{later.number} puts back"})
                    put_back[key] = step
                    continue
                done = changer.revert(step.action, step) if mode == "revert" else changer.apply(step.action)
                read[id(step)] = step.model_copy(update={"outcome": done.outcome, "message": done.message,
                                                         "before": done.before, "after": None, "changes": []})
                if key is not None and mode == "revert" and done.outcome is Outcome.REVERTED:
                    put_back[key] = step
        finally:
            try:
                conn.unbind()
            except Exception:  # the connection may be gone already
                log.debug("unbind failed", exc_info=True)
    out = [read[id(s)] for s in steps]
    return out


def _read_host_steps(steps: Sequence[StepRecord], site: Site, connections: Connections,
                     password_for: PasswordSource) -> list[StepRecord]:
    """The host steps judged from the state read now: one apply.ps1 per machine in mode "preview" (revert's
    reads and decisions, stopped before each write), machines in parallel, as the read-only WinRM account."""
    if not steps:
        return []
    from offlineprep.apply import hosts as remote
    from offlineprep.winrm.delivery import make_protocol

    config = site.winrm
    if config is None:
        return [s.model_copy(update={"outcome": Outcome.NOT_RUN, "before": None, "after": None, "changes": [],
                                     "message": "not read: the site file has no [winrm] table"}) for s in steps]
    password = None if config.transport in {"kerberos", "certificate"} else password_for(config.password_env, "WinRM")
    if connections.host_factory is not None:
        factory = connections.host_factory(config, password)
    else:
        def factory(host: str) -> Any:
            return make_protocol(config, host, password)
    by_machine: dict[str, list[StepRecord]] = {}
    for step in steps:
        by_machine.setdefault(_machine(step).casefold(), []).append(step)
    read: dict[int, StepRecord] = {}

    def one(group: list[StepRecord]) -> None:
        machine = _machine(group[0])
        items = [remote.request_item(s.action, s) for s in group]
        remote.add_others(items, [s.action for s in group])
        run = remote.run_on_host(config, machine, remote.request_document("preview", items), factory, password)
        for step in group:
            answer = run.answers.get(step.action.id)
            if answer is None:
                read[id(step)] = step.model_copy(update={
                    "outcome": Outcome.NOT_RUN, "before": None, "after": None, "changes": [],
                    "message": f"not read: {run.problem or 'no answer from ' + machine}"})
            else:
                read[id(step)] = step.model_copy(update={"outcome": remote.outcome_of(answer), "message": answer.message,
                                                         "before": answer.before, "after": None, "changes": []})

    with ThreadPoolExecutor(max_workers=max(1, config.concurrency), thread_name_prefix="preview") as pool:
        for future in [pool.submit(one, group) for group in by_machine.values()]:
            future.result()
    return [read[id(s)] for s in steps]


def _before_of(step: StepRecord, recorded: dict[int, StepRecord]) -> dict[str, Any] | None:
    """The state before apply of the apply's step `step` was read from (same number and action)."""
    return next((r.before for r in recorded.values() if r.number == step.number and r.action.id == step.action.id),
                None)


def _same_state(now: dict[str, Any], before: dict[str, Any] | None) -> bool:
    """Two states a host step read, equal, a descriptor (`sddl`) compared as the descriptor it is."""
    from offlineprep.acl import format_sddl, parse_sddl

    if before is None or set(now) != set(before):
        return False
    for key, value in now.items():
        if key == "sddl" and isinstance(value, str) and isinstance(before[key], str):
            try:
                if format_sddl(parse_sddl(value)) != format_sddl(parse_sddl(before[key])):
                    return False
            except ValueError:
                return False
        elif value != before[key]:
            return False
    return True


def _machine(step: StepRecord) -> str:
    owner = step.action.owner
    return owner.name if owner is not None and owner.name else "the machine"


def revert_exit_code(record: Record) -> int:
    """3 a step failed or could not be run; 1 a step was left alone (changed since applied), or revert's own
    re-check (`verify_revert`) did not read a step it put back as before apply; else 0: everything apply
    changed that revert takes up is back, read again after the writes."""
    outcomes = {s.outcome for s in record.steps}
    if outcomes & {Outcome.FAILED, Outcome.NOT_RUN, Outcome.UNKNOWN}:
        return 3
    if Outcome.CHANGED in outcomes:
        return 1
    verification = record.verification
    if verification is not None and any(r.outcome is not Outcome.AS_BEFORE for r in verification.restored):
        return 1
    return 0


# --------------------------------------------------------------------------- running steps


def _directory(writer: RecordWriter, indexes: list[int], site: Site, connections: Connections,
               password_for: PasswordSource, source: list[StepRecord] | None, on_step: InOrder | None) -> None:
    """The AD steps at `indexes` of the record, in order, each through its own domain's directory
    (`source`: the apply's records, for a revert)."""
    groups: dict[int, tuple[DirectoryConfig, list[int]]] = {}
    for i in indexes:
        action = writer.record.steps[i].action
        config = directory_of(site, action)
        if config is None:
            dc = action.owner.name if action.owner is not None else "?"
            writer.update(i, outcome=Outcome.NOT_RUN, message=f"not sent: its domain controller {dc} is the server "
                          "of no [[directory]] of the site file")
            _tell(on_step, writer, i)
            continue
        groups.setdefault(id(config), (config, []))[1].append(i)
    for config, group in groups.values():
        _directory_steps(writer, group, config, connections, password_for, source, on_step)


def _directory_steps(writer: RecordWriter, indexes: list[int], config: DirectoryConfig, connections: Connections,
                     password_for: PasswordSource, source: list[StepRecord] | None,
                     on_step: InOrder | None) -> None:
    """The AD steps at `indexes`, through one directory's DC."""
    from offlineprep.apply import directory as ad

    try:
        conn = ad.connect_for_changes(config, _password(config, password_for, "LDAP"), connections.directory_connect)
        changer = ad.Changer(conn, config.base_dn, change_account(config))
    except Exception as exc:  # the DC could not be reached or refused the bind: nothing was sent
        log.debug("LDAP connection for changes failed", exc_info=True)
        reason = ad.describe_connect_error(exc, config)
        for i in indexes:
            writer.update(i, outcome=Outcome.NOT_RUN, message=f"not sent: {reason}", started_at=None)
            _tell(on_step, writer, i)
        return
    stopped: dict[tuple[str, str], int] = {}  # an attribute of an object whose earlier step did not go through
    try:
        for i in indexes:
            step = writer.record.steps[i]
            if changer.broken is not None:
                writer.update(i, outcome=Outcome.NOT_RUN, message=f"not sent: {changer.broken} earlier in this run")
                _tell(on_step, writer, i)
                continue
            key = step.action.chain_key()
            if key is not None and key in stopped and source is None:
                # this step starts where step N leaves the attribute (the plan chains them): not without it
                writer.update(i, outcome=Outcome.NOT_RUN, message=f"not sent: it starts from the state step "
                              f"{stopped[key]} leaves, and step {stopped[key]} did not go through")
                _tell(on_step, writer, i)
                continue
            writer.update(i, outcome=Outcome.UNKNOWN, message="in progress (no answer recorded yet)",
                          started_at=_now())
            done = changer.apply(step.action) if source is None else changer.revert(step.action, source[i])
            writer.update(i, outcome=done.outcome, message=done.message, before=done.before, after=done.after,
                          changes=done.changes, finished_at=_now())
            if key is not None and done.outcome in FAILED_OUTCOMES:
                stopped.setdefault(key, step.number)
            _tell(on_step, writer, i)
    finally:
        try:
            conn.unbind()
        except Exception:  # the connection may be gone already
            log.debug("unbind failed", exc_info=True)


def _hosts(writer: RecordWriter, indexes: list[int], site: Site, connections: Connections,
           password_for: PasswordSource, mode: str, on_step: InOrder | None,
           source: list[StepRecord] | None = None) -> None:
    """The host steps at `indexes`, one command per machine, machines in parallel."""
    if not indexes:
        return
    from offlineprep.apply import hosts as remote
    from offlineprep.winrm.delivery import make_protocol

    config = site.winrm
    assert config is not None  # checked before
    password = _password(config, password_for, "WinRM")
    change_config = config.model_copy(update={"user": change_account(config)})
    if connections.host_factory is not None:
        factory = connections.host_factory(change_config, password)
    else:
        def factory(host: str) -> Any:
            return make_protocol(change_config, host, password)
    by_machine: dict[str, list[int]] = {}
    names: dict[str, str] = {}
    for i in indexes:
        machine = writer.record.steps[i].action.owner
        name = machine.name if machine is not None and machine.name else "?"
        by_machine.setdefault(name.casefold(), []).append(i)
        names.setdefault(name.casefold(), name)
    # the ticket purge last on each machine, after its other changes (and after every AD change)
    for group in by_machine.values():
        group.sort(key=lambda i: writer.record.steps[i].action.follows_ad_changes)

    def one(key: str) -> None:
        group = by_machine[key]
        machine = names[key]
        items = [remote.request_item(writer.record.steps[i].action, source[i] if source is not None else None)
                 for i in group]
        remote.add_others(items, [writer.record.steps[i].action for i in group])
        started = _now()
        writer.update_many([(i, {"outcome": Outcome.UNKNOWN, "message": f"sent to {machine}; no answer recorded yet",
                                 "started_at": started}) for i in group])
        run = remote.run_on_host(change_config, machine, remote.request_document(
            "revert" if mode == "revert" else "apply", items), factory, password)
        finished = _now()
        changes: list[tuple[int, dict[str, Any]]] = []
        for i in group:
            action = writer.record.steps[i].action
            answer = run.answers.get(action.id)
            if answer is not None:
                outcome = remote.outcome_of(answer)
                if outcome is Outcome.APPLIED and mode == "revert":
                    outcome = Outcome.REVERTED  # the ticket purge of a revert
                changes.append((i, {"outcome": outcome, "message": answer.message, "before": answer.before,
                                    "after": answer.after, "changes": [f"{machine}: apply.ps1 ({mode}) {action.kind}"],
                                    "finished_at": finished}))
            elif run.started:
                changes.append((i, {"outcome": Outcome.UNKNOWN, "finished_at": finished,
                                    "changes": [f"{machine}: apply.ps1 ({mode})"],
                                    "message": f"the command was running on {machine} when it ended without this "
                                               f"step's answer: {run.problem or 'no reason given'}; whether it ran is "
                                               "unknown (revert reads the state first)"}))
            else:
                changes.append((i, {"outcome": Outcome.NOT_RUN, "finished_at": finished,
                                    "message": f"not sent: {run.problem or 'the command did not start'}"}))
        writer.update_many(changes)
        for i in group:
            _tell(on_step, writer, i)

    pool = ThreadPoolExecutor(max_workers=max(1, config.concurrency), thread_name_prefix="apply")
    try:
        futures = {pool.submit(one, key): key for key in by_machine}
        for future in as_completed(futures):
            try:
                future.result()
            except Exception:  # a bug of ours costs this machine's steps only
                log.exception("host steps on %s failed", names[futures[future]])
                for i in by_machine[futures[future]]:
                    if writer.record.steps[i].outcome is Outcome.UNKNOWN:
                        writer.update(i, message="offlineprep failed while this machine's answer was read "
                                                 "(OFFLINEPREP_DEBUG=1 shows why); whether it ran is unknown")
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _tell(on_step: InOrder | None, writer: RecordWriter, index: int) -> None:
    if on_step is not None:
        on_step.tell(index)

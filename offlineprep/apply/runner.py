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
    Step,
    StepRecord,
    Verification,
    VerifiedFinding,
)
from offlineprep.apply.replan import PlanRefused, Replanned, replan
from offlineprep.engine import CheckSpec, needs_of
from offlineprep.model import Status, ToolInfo, status_at_threshold
from offlineprep.names import DomainName, HostName
from offlineprep.site import DirectoryConfig, Site, WinRMConfig

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
    steps = sorted([*run.steps, *held.passing.values()], key=lambda s: s.number)
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
    _directory(writer, directory_steps, site, connections, password_for, None, on_step)
    # the ticket purge is for an AD change of this run: a run that changed nothing in AD (a second apply of the
    # same plan) purges nothing (docs/apply.md)
    if not any(record.steps[i].outcome is Outcome.APPLIED for i in directory_steps):
        for i in [i for i in host_steps if plan.steps[i].action.follows_ad_changes]:
            writer.update(i, outcome=Outcome.ALREADY, message="no AD change in this run, so no ticket purge: if an "
                          "earlier apply changed this host's delegation and its purge did not run, run "
                          "klist purge -li 0x3e7 on the host (or restart it)")
            _tell(on_step, writer, i)
            host_steps.remove(i)
    _hosts(writer, host_steps, site, connections, password_for, "apply", on_step)
    record.finished_at = _now()
    record.complete = True
    writer.save()
    return record


def verify(plan: Plan, record: Record, site: Site, checks: Sequence[CheckSpec], connections: Connections,
           password_for: PasswordSource, writer_path: Path | None = None,
           scrub: Callable[[str], str] = lambda s: s) -> Verification:
    """Collect and judge again the checks of the planned findings (read-only account), and keep each
    finding's new verdict in the record."""
    ids = sorted({f.check for f in plan.findings})
    selected = [c for c in checks if c.id in ids]
    verification = Verification(checks=[c.id for c in selected], directory_read_from=pipeline.directory_server(site))
    if selected:
        facts = pipeline.collect(site, needs_of(selected), connections.collectors, password_for)
        results = pipeline.build_results(site, selected, facts, pipeline.RunOptions(fail_on=plan.fail_on))
        now = {FindingRef(check=f.check, status=f.status, subject=f.subject, target=f.target, account=f.account,
                          message=f.message).key: f for f in results.findings}
        for ref in plan.findings:
            found = now.get(ref.key)
            verification.findings.append(VerifiedFinding(finding=ref, status=found.status if found else None,
                                                         message=found.message if found else
                                                         "the re-check did not judge this subject again"))
    else:
        verification.findings = [VerifiedFinding(finding=ref) for ref in plan.findings]
    record.verification = verification
    RecordWriter(record, writer_path, scrub).save()
    return verification


def addressed(plan: Plan) -> set[int]:
    """The findings (indexes) that at least one step apply carries out answers."""
    return {i for s in plan.steps if s.how is not How.BY_HAND for i in s.findings}


def by_hand_only(plan: Plan) -> set[int]:
    done_by_apply = addressed(plan)
    return {i for s in plan.steps if s.how is How.BY_HAND for i in s.findings} - done_by_apply


def apply_exit_code(plan: Plan, record: Record) -> int:
    """3 an action failed (refused, changed since planned, not run, unknown); 1 applied but a check the
    plan addressed still fails, or could not be judged again (not confirmed is not a pass); 0 applied
    and those checks pass."""
    if any(s.outcome in FAILED_OUTCOMES for s in record.steps):
        return 3
    verification = record.verification
    if verification is None:
        return 0
    return 1 if still_failing(plan, verification) else 0


def still_failing(plan: Plan, verification: Verification) -> list[VerifiedFinding]:
    """The findings apply addressed that the re-check did not find passing."""
    wanted = addressed(plan)
    return [v for i, v in enumerate(verification.findings) if i in wanted
            and (v.status is None or v.status is Status.ERROR or status_at_threshold(v.status, plan.fail_on))]



# --------------------------------------------------------------------------- revert


def revert_record(applied: Record, site: Site, *, connections: Connections, password_for: PasswordSource,
                  record_path: Path | None, record_file: str | None = None,
                  scrub: Callable[[str], str] = lambda s: s, on_step: StepCallback | None = None) -> Record:
    """Put back the state before apply of every step that may have changed something, where the state is
    still the one apply left; report every other step."""
    candidates = [s for s in applied.steps if s.may_have_changed() and s.how is not How.BY_HAND]
    directory = [s for s in reversed(candidates) if s.how is How.DIRECTORY and s.action.reverted_by_apply()]
    hosts = [s for s in reversed(candidates) if s.how is How.HOST and s.action.reverted_by_apply()
             and not s.action.follows_ad_changes]
    purges = [s for s in candidates if s.action.follows_ad_changes]
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
    _directory(writer, list(range(first_host)), site, connections, password_for, source, on_step)
    # the ticket purge again once delegation is back as before (docs/fixes.md, "Revert"); none otherwise
    ad_back = any(record.steps[i].outcome is Outcome.REVERTED for i in range(first_host))
    host_indexes = list(range(first_host, first_purge))
    for i in range(first_purge, len(source)):
        if ad_back:
            host_indexes.append(i)
        else:
            writer.update(i, outcome=Outcome.NOTHING_APPLIED, message="no AD change was put back: no ticket purge needed")
    _hosts(writer, host_indexes, site, connections, password_for, "revert", on_step, source)
    record.finished_at = _now()
    record.complete = True
    writer.save()
    return record


def revert_exit_code(record: Record) -> int:
    """3 a step failed or could not be run; 1 a step was left alone (changed since applied); else 0."""
    outcomes = {s.outcome for s in record.steps}
    if outcomes & {Outcome.FAILED, Outcome.NOT_RUN, Outcome.UNKNOWN}:
        return 3
    if Outcome.CHANGED in outcomes:
        return 1
    return 0


# --------------------------------------------------------------------------- running steps


def _directory(writer: RecordWriter, indexes: list[int], site: Site, connections: Connections,
               password_for: PasswordSource, source: list[StepRecord] | None, on_step: StepCallback | None) -> None:
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
                     on_step: StepCallback | None) -> None:
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
           password_for: PasswordSource, mode: str, on_step: StepCallback | None,
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


def _tell(on_step: StepCallback | None, writer: RecordWriter, index: int) -> None:
    if on_step is not None:
        on_step(writer.record.steps[index])

"""Findings and results: the data every check produces and every renderer consumes.

A finding is data, an error is data. Checks yield `Outcome`s; the engine stamps the check id and
severity onto them (so a check cannot forge another's identity) and turns them into `Finding`s.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import Enum, IntEnum, StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from offlineprep.actions.types import Action, Phase

__all__ = ["Phase"]  # re-exported: checks and renderers import it from here


class Status(str, Enum):
    """What a check decided for one subject.

    `error` means "could not be evaluated" (unreachable, access denied, unparseable answer): the
    message says which. `skip` means "does not apply", with the reason.
    """

    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    ERROR = "error"
    SKIP = "skip"


class SeverityLabel(StrEnum):
    """A severity as findings, the catalogue and the JSON results write it."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Severity(IntEnum):
    """How much a check matters when it fails; ordered so that comparisons read naturally."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> SeverityLabel:
        return SeverityLabel(self.name.lower())


class Remediation(BaseModel):
    """The fix of a finding: typed `actions` (offlineprep.actions, docs/fixes.md), and their
    PowerShell rendering for the report (`powershell`, and `revert`, which undoes the change once
    initial replication has finished: delegation and broad permissions should not outlive their
    purpose). Build one with offlineprep.remediation; the text is never parsed back.

    A remediation without actions (a check pack written before actions existed) keeps working: the
    report shows its text, and the fix script prints it as a manual step, since nothing says where
    it would run.
    """

    model_config = ConfigDict(frozen=True)

    summary: str
    powershell: str
    revert: str | None = None
    phase: Phase = Phase.REMINDER
    actions: list[Action] = Field(default_factory=list)


class CauseOrigin(StrEnum):
    """Where the facts a check lacked should have come from."""

    DIRECTORY = "directory"  # LDAP
    HOST = "host"  # WinRM to the machine
    PATH = "path"  # one path on the machine
    FACTS_FILE = "facts-file"  # a saved facts file that lacks them
    RUN = "run"  # this run did not ask for them


class CauseKind(StrEnum):
    """Why: the collector's error kind (offlineprep.facts.ErrorKind, same values), or one of the
    causes that are no collection error."""

    UNREACHABLE = "unreachable"
    NAME_RESOLUTION = "name-resolution"
    CLIENT = "client"
    TIMEOUT = "timeout"
    AUTH = "auth"
    TLS = "tls"
    ACCESS_DENIED = "access-denied"
    PROTOCOL = "protocol"
    GARBAGE = "garbage"
    REMOTE = "remote"
    INTERNAL = "internal"
    MISSING = "missing"  # not collected (not asked in this run, or not in the facts file)
    DOWN = "down"  # a cluster node its cluster reports down: not asked


class Cause(BaseModel):
    """Why a finding could not be evaluated, as data: the facts a check lacked and the reason.

    One unreachable DC or host makes many findings `error`; every output but JSON shows each cause
    once, with the number of findings it left unevaluated. Findings are grouped by `key` (data, never
    the message text). `origin` is where the facts should have come from: "directory" (LDAP),
    "host" (WinRM to `machine`), "path" (one path on `machine`), or "facts-file" (a saved facts
    file that lacks them); `kind` is the collector's error kind (unreachable, timeout, auth, tls, ...)
    or "missing"; `text` is the one plain sentence an administrator acts on.
    """

    model_config = ConfigDict(frozen=True)

    origin: CauseOrigin
    machine: str
    kind: CauseKind
    text: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.origin, self.machine.casefold(), self.kind, self.text)

    @classmethod
    def not_in_facts_file(cls, machine: str, what: str, facts_file: str) -> Cause:
        return cls(origin=CauseOrigin.FACTS_FILE, machine=machine, kind=CauseKind.MISSING,
                   text=f"{what} is not in the facts file {facts_file}: collect it again with this site file "
                        "(offlineprep collect, or preflight --save-facts)")

    def headline(self, checks: int, findings: int) -> str:
        """"dc1.contoso.com does not resolve in DNS — 8 checks not evaluated (20 findings)": checks
        count check ids, findings count (check, subject) pairs; the second is said when it differs."""
        return f"{self.text} — {not_evaluated(checks, findings)}"


def counted(number: int, word: str) -> str:
    """"1 finding", "12 findings": the one way every output counts findings and checks."""
    return f"{number:,} {word}{'' if number == 1 else 's'}"


def not_evaluated(checks: int, findings: int) -> str:
    """"8 checks not evaluated (20 findings)"; "1 check not evaluated" when they are one and the same."""
    tail = f" ({counted(findings, 'finding')})" if findings != checks else ""
    return f"{counted(checks, 'check')} not evaluated{tail}"


class Outcome(BaseModel):
    """What a check function yields: everything of a finding except its identity."""

    model_config = ConfigDict(frozen=True)

    status: Status
    subject: str
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    target: str | None = None
    account: str | None = None
    remediation: Remediation | None = None
    cause: Cause | None = None  # set (by checkkit's helpers) on an `error` that missing facts explain


class Finding(BaseModel):
    """One judged (check, subject[, target][, account]) tuple, as written to every output."""

    model_config = ConfigDict(frozen=True)

    check: str
    status: Status
    severity: SeverityLabel  # Severity.label: the JSON reads "high", as docs/results.schema.json shows
    subject: str
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    target: str | None = None
    account: str | None = None
    remediation: Remediation | None = None
    waived: bool = False
    waiver: WaiverEntry | None = None
    cause: Cause | None = None

    @property
    def sort_key(self) -> tuple[str, str, str, str]:
        return (self.check, self.subject, self.target or "", self.account or "")


class Verdict(str, Enum):
    READY = "ready"
    NOT_READY = "not-ready"
    INCOMPLETE = "incomplete"

    @property
    def word(self) -> str:
        return {"ready": "READY", "not-ready": "NOT READY", "incomplete": "INCOMPLETE"}[self.value]


# --------------------------------------------------------------------------- what blocks


def not_blocking(findings: list[Finding], fail_on: FailOn | str) -> list[Finding]:
    """Failures, warnings and errors that do not block under `fail_on` and are not waived: the warnings
    under --fail-on fail or error, and every one of them under --fail-on never. Every output lists them."""
    return [f for f in findings if f.status in (Status.FAIL, Status.WARN, Status.ERROR) and not f.waived
            and not blocks(f, fail_on)]


def not_blocking_title(findings: list[Finding]) -> str:
    return "Warnings" if all(f.status is Status.WARN for f in findings) else "Not blocking"


def by_cause(findings: list[Finding]) -> tuple[list[tuple[Cause, list[Finding]]], list[Finding]]:
    """The unwaived `error` findings that a cause explains, grouped by it (largest group first),
    and every other finding. Terminal, HTML and Markdown show each group once; JSON keeps all."""
    groups: dict[tuple[str, str, str, str], list[Finding]] = {}
    causes: dict[tuple[str, str, str, str], Cause] = {}
    rest = []
    for f in findings:
        if f.status is Status.ERROR and f.cause is not None and not f.waived:
            groups.setdefault(f.cause.key, []).append(f)
            causes.setdefault(f.cause.key, f.cause)
        else:
            rest.append(f)
    ordered = sorted(groups, key=lambda k: (-len(groups[k]), k))
    return [(causes[k], groups[k]) for k in ordered], rest

# `--fail-on` as a rank: a finding at or above it makes the exit code 1
STATUS_RANK = {Status.PASS: 0, Status.SKIP: 0, Status.WARN: 1, Status.ERROR: 2, Status.FAIL: 3}


class FailOn(StrEnum):
    """`--fail-on`: the lowest status that makes the exit code 1 (`never`: none does)."""

    FAIL = "fail"
    ERROR = "error"
    WARN = "warn"
    NEVER = "never"

    @property
    def rank(self) -> int:
        return {FailOn.WARN: 1, FailOn.ERROR: 2, FailOn.FAIL: 3, FailOn.NEVER: 99}[self]


FAIL_ON_RANK = {f.value: f.rank for f in FailOn}
FAIL_ON_VALUES = tuple(f.value for f in FailOn)


def status_at_threshold(status: Status, fail_on: FailOn | str) -> bool:
    """The status is at or above `--fail-on`."""
    return STATUS_RANK[status] >= FailOn(fail_on).rank


def at_threshold(finding: Finding, fail_on: FailOn | str) -> bool:
    """The finding makes the exit code 1 under `--fail-on`: not waived, status at or above it."""
    return not finding.waived and status_at_threshold(finding.status, fail_on)


def blocks(finding: Finding, fail_on: FailOn | str) -> bool:
    """The one definition of "blocking" every output uses: the finding keeps the exit code from being
    0 under `--fail-on` (1 at or above the threshold; 3 for an `error` below it). A waived finding
    never blocks; a warning blocks only under `--fail-on warn`; under `--fail-on never` no finding
    blocks (offlineprep.verdict: the problems of the run itself still do)."""
    if finding.waived or FailOn(fail_on) is FailOn.NEVER:
        return False
    return at_threshold(finding, fail_on) or finding.status is Status.ERROR


class Topology(BaseModel):
    """The site as the report draws it: subjects exactly as written in the site file."""

    source_hosts: list[str] = Field(default_factory=list)
    export_path: str | None = None
    import_path: str | None = None
    target_hosts: list[str] = Field(default_factory=list)


class WaiverEntry(BaseModel):
    """One waiver (offlineprep.waivers: a [[waiver]] of the waivers file) as findings and the waiver
    report carry it. `target` and `account` narrow it to one pair or one account; absent when unset."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    check: str  # a check id or a glob
    subject: str  # a glob, case-insensitive
    justification: str
    expires: date  # the last day it applies
    target: str | None = None
    account: str | None = None

    @model_serializer(mode="wrap")
    def _only_what_is_set(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if not (k in {"target", "account"} and v is None)}


class WaiverReport(BaseModel):
    applied: list[WaiverEntry] = Field(default_factory=list)
    expired: list[WaiverEntry] = Field(default_factory=list)
    unused: list[WaiverEntry] = Field(default_factory=list)


class ToolInfo(BaseModel):
    name: str = "offlineprep"
    version: str


class DocLink(BaseModel):
    model_config = ConfigDict(frozen=True)

    title: str
    url: str


class CheckInfo(BaseModel):
    """A check as the results document describes it, so a report renders without the check code."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    severity: SeverityLabel
    why: str = ""  # one paragraph, in an administrator's words
    docs: list[DocLink] = Field(default_factory=list)  # Microsoft documentation
    walkthrough_step: str = ""  # the step of Microsoft's walkthrough it checks


class Selection(BaseModel):
    """Which checks this run evaluated out of those it knew (`--only` / `--skip`)."""

    checks_run: list[str]
    checks_known: list[str]
    only: list[str] = Field(default_factory=list)
    skip: list[str] = Field(default_factory=list)

    @property
    def partial(self) -> bool:
        return bool(set(self.checks_known) - set(self.checks_run))

    @property
    def note(self) -> str:
        """"partial: 1 of 15 checks" for a run that left checks out, else ""."""
        if not self.partial:
            return ""
        return f"partial: {len(self.checks_run)} of {len(self.checks_known)} checks"


class FactsSource(BaseModel):
    """The saved facts a run evaluated (`preflight --facts`): which file, when they were collected and
    by which version. Every output says it (`text`), so a report of old facts is never read as today's."""

    model_config = ConfigDict(frozen=True)

    file: str  # as given on the command line
    collected_at: datetime
    version: str  # the offlineprep version that collected them

    @property
    def text(self) -> str:
        """"from facts collected at 2026-12-06 14:02 UTC by offlineprep 0.9.0 (facts.json)"."""
        when = self.collected_at.astimezone(UTC) if self.collected_at.tzinfo else self.collected_at
        return f"from facts collected at {when:%Y-%m-%d %H:%M} UTC by offlineprep {self.version} ({self.file})"


RESULTS_SCHEMA = "offlineprep/results/v1"


class Unreached(BaseModel):
    """This machine reached none of the site's machines, for a reason of its own side (its DNS, its
    routes or proxy, a refusal on every one, a library or ticket it lacks): the run evaluated nothing
    of theirs. Every output says it once, as the cause of an INCOMPLETE verdict, instead of listing a
    blocking finding per machine and check (offlineprep.verdict); the JSON keeps every finding."""

    model_config = ConfigDict(frozen=True)

    machines: list[str]  # every machine it tried (hosts and file servers; domain controllers when they failed too)
    text: str  # "this machine reached none of the 6 machines of the site: ..."


class Results(BaseModel):
    """The versioned results document (`--json`); every renderer is a function of this alone."""

    model_config = ConfigDict(populate_by_name=True)

    schema_id: str = Field(default=RESULTS_SCHEMA, alias="schema")
    tool: ToolInfo
    generated_at: datetime
    verdict: Verdict
    summary: dict[str, int]
    findings: list[Finding]
    topology: Topology = Field(default_factory=Topology)
    statistics: dict[str, Any] = Field(default_factory=dict)
    waivers: WaiverReport = Field(default_factory=WaiverReport)
    problems: list[str] = Field(default_factory=list)  # check packs that failed to load, etc.
    selection: Selection | None = None  # None in a results file of an older version: not known
    catalogue: list[CheckInfo] = Field(default_factory=list)  # the checks that ran
    fail_on: FailOn = FailOn.FAIL  # the --fail-on the outputs were judged by
    facts_from: FactsSource | None = None  # saved facts (`--facts`) this run evaluated; None: collected live
    # some checks left out (`--only`/`--skip`): the verdict covers only those that ran (offlineprep.verdict)
    partial: bool = False
    unreached: Unreached | None = None  # this machine reached none of the site's machines

    def check_info(self, check_id: str) -> CheckInfo | None:
        return next((c for c in self.catalogue if c.id == check_id), None)

"""The plan (`offlineprep/plan/v1`) and the record (`offlineprep/record/v1`) as pydantic models.

A plan is what `offlineprep plan` found to change: the failing findings and, for each, the typed
actions that fix them (offlineprep.actions, docs/fixes.md), numbered in the order `apply` runs them,
each marked with how apply carries it out (over LDAP, by PowerShell on the machine, or not at all:
by hand). A record is what `apply` (or `revert`) did: per step the outcome, the state read before
and after, the LDAP changes or commands sent, when and as whom; written as the run goes, so a run
cut short still leaves one. docs/apply.md describes both; docs/plan.schema.json and
docs/record.schema.json are generated from these models (a test keeps them current).
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from offlineprep.actions import types as t
from offlineprep.actions.types import Action
from offlineprep.model import Status, ToolInfo, Verdict

PLAN_SCHEMA: Literal["offlineprep/plan/v1"] = "offlineprep/plan/v1"
RECORD_SCHEMA: Literal["offlineprep/record/v1"] = "offlineprep/record/v1"


class How(str, Enum):
    """How apply carries a step out."""

    DIRECTORY = "directory"  # an LDAP modify to the site's domain controller
    HOST = "host"  # in the one PowerShell command apply runs on the machine (winrm/scripts/apply.ps1)
    BY_HAND = "by-hand"  # not at all: a step to do by hand (the plan says why)


class FindingRef(BaseModel):
    """A finding the plan answers, as the run that made the plan judged it."""

    model_config = ConfigDict(frozen=True)

    check: str
    status: Status
    subject: str
    target: str | None = None
    account: str | None = None
    message: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.check, self.subject.casefold(), (self.target or "").casefold(), (self.account or "").casefold())

    @property
    def label(self) -> str:
        return (f"{self.check} {self.subject}" + (f" -> {self.target}" if self.target else "")
                + (f" as {self.account}" if self.account else ""))


class Step(BaseModel):
    """One action of the plan, in the order apply runs it."""

    model_config = ConfigDict(frozen=True)

    number: int  # 1, 2, ...: the order of the run
    how: How
    action: Action
    findings: list[int] = Field(default_factory=list)  # indexes into Plan.findings: what the step answers
    by_hand: str | None = None  # for `by-hand`: why apply does not do it

    @property
    def machine(self) -> str | None:
        """The machine the step runs on (None for AD steps and reminders)."""
        owner = self.action.owner
        return owner.name if owner is not None and owner.kind != "directory" else None


class PlanSite(BaseModel):
    """What the plan was made for: apply refuses a site file that names another DC or lacks a machine."""

    directory_server: str | None = None  # the host of [directory] server: every AD step is sent there
    machines: list[str] = Field(default_factory=list)  # every machine a host step runs on, as the site file names it


class Plan(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    schema_id: Literal["offlineprep/plan/v1"] = Field(default=PLAN_SCHEMA, alias="schema")
    tool: ToolInfo
    generated_at: datetime
    site: PlanSite
    checks: list[str] = Field(default_factory=list)  # the checks the run evaluated
    fail_on: str = "fail"  # findings at or above this status are planned (warn includes the warnings)
    findings: list[FindingRef] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)
    not_evaluated: list[FindingRef] = Field(default_factory=list)  # `error` findings: nothing could be planned for them

    def findings_of(self, step: Step) -> list[FindingRef]:
        return [self.findings[i] for i in step.findings if 0 <= i < len(self.findings)]


class Outcome(str, Enum):
    """What happened to one step. `changed` is "changed since planned" (apply: refused) or "changed
    since applied" (revert: left alone); the message says which state was found."""

    APPLIED = "applied"  # the change was made (and read back)
    ALREADY = "already"  # the state was already the one the action leaves: nothing was sent
    CHANGED = "changed"
    FAILED = "failed"  # refused or broken; the message says what, if anything, was changed
    NOT_RUN = "not-run"  # never attempted: what it needed (the DC, the host) could not be reached first
    UNKNOWN = "unknown"  # sent without an answer: it may or may not have been made (revert reads the state)
    BY_HAND = "by-hand"  # not done by apply
    REVERTED = "reverted"  # revert: the state before apply is back
    AS_BEFORE = "as-before"  # revert: the state is already the one before apply: nothing was sent
    NOT_REVERTIBLE = "not-revertible"  # revert: undoing it would break something (docs/fixes.md says why)
    NOTHING_APPLIED = "nothing-applied"  # revert: apply changed nothing in this step


# outcomes that count as "an action failed" (exit 3)
FAILED_OUTCOMES = frozenset({Outcome.CHANGED, Outcome.FAILED, Outcome.NOT_RUN, Outcome.UNKNOWN})


class StepRecord(BaseModel):
    number: int
    how: How
    action: Action
    outcome: Outcome
    message: str = ""
    before: dict[str, Any] | None = None  # the state read just before (None: not read)
    after: dict[str, Any] | None = None  # the state read just after (None: not read)
    changes: list[str] = Field(default_factory=list)  # what was sent: LDAP modifications, commands
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def may_have_changed(self) -> bool:
        """Whether this step of an apply may have changed something revert must look at: applied,
        unknown (sent, no answer), or failed after a change was read back."""
        if self.outcome in (Outcome.APPLIED, Outcome.UNKNOWN):
            return True
        return self.outcome is Outcome.FAILED and self.after is not None and self.after != self.before


class Identity(BaseModel):
    """As whom the changes were made."""

    directory: str | None = None  # the account of the LDAP binds that made AD changes
    winrm: str | None = None  # the account WinRM ran the host scripts as
    local_user: str = ""  # who ran offlineprep, on which machine
    local_machine: str = ""


class VerifiedFinding(BaseModel):
    finding: FindingRef  # as planned
    status: Status | None = None  # as the re-check judged it; None: not judged again (by hand only, or not found)
    message: str = ""


class RestoredStep(BaseModel):
    """Revert's own re-check of one step it put back: the state read again after the writes."""

    number: int
    outcome: Outcome  # as-before: read back as before apply; anything else: not back (the message says what)
    message: str = ""


class Verification(BaseModel):
    """The re-check after apply: the checks of the plan's run (preflight's selection), collected and judged
    again as preflight judges them, and the plan's findings in it. After a revert: the steps it put back,
    read again (`restored`)."""

    checks: list[str] = Field(default_factory=list)
    findings: list[VerifiedFinding] = Field(default_factory=list)
    directory_read_from: str | None = None
    verdict: Verdict | None = None  # the re-check's verdict, as preflight states it (None: a record of an older version)
    headline: str | None = None  # e.g. "NOT READY" or "READY (partial: 8 of 24 checks)"
    reason: str | None = None  # the verdict's one sentence, as preflight says it
    exit_code: int | None = None  # what preflight would exit with for the re-check (0 READY, 1 blocking, 3 incomplete)
    blocking: list[FindingRef] = Field(default_factory=list)  # every finding of the re-check that blocks
    by_hand_left: list[int] = Field(default_factory=list)  # numbers of the steps by hand whose findings still fail
    missing_checks: list[str] = Field(default_factory=list)  # checks of the plan this run does not know
    restored: list[RestoredStep] = Field(default_factory=list)


class Record(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    schema_id: Literal["offlineprep/record/v1"] = Field(default=RECORD_SCHEMA, alias="schema")
    tool: ToolInfo
    mode: Literal["apply", "revert"]
    plan_file: str | None = None
    plan_sha256: str | None = None
    reverts: str | None = None  # revert: the record of the apply it undid
    started_at: datetime
    finished_at: datetime | None = None
    complete: bool = False  # False while running, and in a record of a run cut short
    directory_server: str | None = None
    as_whom: Identity = Field(default_factory=Identity)
    findings: list[FindingRef] = Field(default_factory=list)
    steps: list[StepRecord] = Field(default_factory=list)
    verification: Verification | None = None


def machine_of(action: t.ActionBase) -> str | None:
    owner = action.owner
    return owner.name if owner is not None and owner.kind != "directory" else None


def plan_json_schema() -> dict[str, Any]:
    return Plan.model_json_schema(by_alias=True)


def record_json_schema() -> dict[str, Any]:
    return Record.model_json_schema(by_alias=True)

"""Findings and results: the data every check produces and every renderer consumes.

A finding is data, an error is data. Checks yield `Outcome`s; the engine stamps the check id and
severity onto them (so a check cannot forge another's identity) and turns them into `Finding`s.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum, IntEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

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


class Severity(IntEnum):
    """How much a check matters when it fails; ordered so that comparisons read naturally."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()


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


class Finding(BaseModel):
    """One judged (check, subject[, target][, account]) tuple, as written to every output."""

    model_config = ConfigDict(frozen=True)

    check: str
    status: Status
    severity: str  # Severity.label; a string so the JSON reads as the SPEC shows it
    subject: str
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    target: str | None = None
    account: str | None = None
    remediation: Remediation | None = None
    waived: bool = False
    waiver: dict[str, Any] | None = None

    @property
    def sort_key(self) -> tuple[str, str, str, str]:
        return (self.check, self.subject, self.target or "", self.account or "")


class Verdict(str, Enum):
    READY = "ready"
    NOT_READY = "not-ready"
    INCOMPLETE = "incomplete"


class Topology(BaseModel):
    """The site as the report draws it: subjects exactly as written in the site file."""

    source_hosts: list[str] = Field(default_factory=list)
    export_path: str | None = None
    import_path: str | None = None
    target_hosts: list[str] = Field(default_factory=list)


class WaiverReport(BaseModel):
    applied: list[dict[str, Any]] = Field(default_factory=list)
    expired: list[dict[str, Any]] = Field(default_factory=list)
    unused: list[dict[str, Any]] = Field(default_factory=list)


class ToolInfo(BaseModel):
    name: str = "offlineprep"
    version: str


RESULTS_SCHEMA = "offlineprep/results/v1"


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

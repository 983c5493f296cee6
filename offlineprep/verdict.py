"""The verdict of a run, decided once: every output (terminal, HTML, Markdown, JUnit, JSON) and the
exit code read it from `judge`, so no two of them can disagree (SPEC §13; README "Verdicts and exit
codes" is the table this module implements).

The contract, for a pipeline author who reads only the exit code or only the first word:

- READY (exit 0): nothing blocks under `--fail-on`.
- NOT READY (exit 1): a finding at or above `--fail-on` (a failure; an `error` too under
  `--fail-on error`; a warning too under `--fail-on warn`). The word and the exit code move together:
  a warning that exits 1 under `--fail-on warn` is NOT READY, never READY.
- INCOMPLETE (exit 3): nothing at the threshold, but something could not be evaluated: an `error`
  finding, a check that failed to load, an output that could not be written, or a machine that
  reached none of the site's machines (`Results.unreached`).
- `--fail-on never` is a report-only run: the words are those of `--fail-on fail`, and findings never
  make the exit code non-zero; the problems of the run itself (a check that did not load, an output
  not written, nothing reached) still exit 3, since then the report itself is not whole.
- `(partial: k of n checks)` follows the word whenever `--only`/`--skip` left checks out.

The problems of the run are never READY: they make it INCOMPLETE at least. A finding the
"unreached" cause explains (an `error` whose cause is a machine this machine could not reach) is
counted once, under that cause, never as a blocking finding of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from offlineprep.model import (
    Cause,
    CauseOrigin,
    FailOn,
    Finding,
    Results,
    Status,
    Unreached,
    Verdict,
    at_threshold,
    blocks,
    by_cause,
    counted,
)

EXIT = {Verdict.READY: 0, Verdict.NOT_READY: 1, Verdict.INCOMPLETE: 3}
COLOUR = {Verdict.READY: "green", Verdict.NOT_READY: "red", Verdict.INCOMPLETE: "magenta"}
STATUSES = ("pass", "fail", "warn", "error", "skip")


@dataclass(frozen=True)
class Counts:
    """The numbers every output prints, from the findings themselves (never a stored summary): each
    finding counted once, a waived one as waived and not under its status, so they add up to `findings`."""

    findings: int
    checks: int  # the checks that ran
    statuses: dict[str, int]  # unwaived findings per status
    waived: int
    blocking: int

    def line(self) -> str:
        """"58 findings of 24 checks: 1 pass, 5 fail, 0 warn, 44 error, 8 skip (1 waived)"."""
        waived = f", {self.waived:,} waived" if self.waived else ""
        parts = ", ".join(f"{self.statuses[s]:,} {s}" for s in STATUSES)
        return f"{counted(self.findings, 'finding')} of {counted(self.checks, 'check')}: {parts}{waived}"


@dataclass(frozen=True)
class NotEvaluated:
    """The unwaived `error` findings, as every output but JSON shows them: those the unreached cause
    explains (one line), the others grouped by their cause, then those without a cause."""

    unreached: list[Finding] = field(default_factory=list)
    causes: list[tuple[Cause, list[Finding]]] = field(default_factory=list)
    loose: list[Finding] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.unreached) + sum(len(found) for _, found in self.causes) + len(self.loose)

    @property
    def checks(self) -> int:
        found = [*self.unreached, *(f for _, group in self.causes for f in group), *self.loose]
        return len({f.check for f in found})


@dataclass(frozen=True)
class Judgement:
    """A run's verdict under one `--fail-on`: what every output says and the exit code."""

    verdict: Verdict
    fail_on: FailOn
    exit_code: int
    partial_note: str  # "partial: 1 of 15 checks", or ""
    reason: str  # one sentence: why this verdict
    blocking: tuple[Finding, ...]  # the findings that keep the exit code from being 0
    problems: tuple[str, ...]  # of the run itself: a check not loaded, an output not written
    unreached: Unreached | None
    not_evaluated: NotEvaluated
    counts: Counts

    @property
    def word(self) -> str:
        return self.verdict.word

    @property
    def headline(self) -> str:
        """"READY (partial: 1 of 15 checks)"."""
        return self.word + (f" ({self.partial_note})" if self.partial_note else "")

    @property
    def colour(self) -> str:
        return COLOUR[self.verdict]

    @property
    def partial(self) -> bool:
        return bool(self.partial_note)

    def blocks(self, finding: Finding) -> bool:
        """`finding` (one of the judged results', by identity) is among those that block."""
        return id(finding) in self._blocking_ids

    @property
    def _blocking_ids(self) -> frozenset[int]:
        ids = self.__dict__.get("_ids")
        if ids is None:
            ids = frozenset(id(f) for f in self.blocking)
            object.__setattr__(self, "_ids", ids)
        return ids

    @property
    def blocking_text(self) -> str:
        """"49 blocking under --fail-on fail"."""
        return f"{self.counts.blocking:,} blocking under --fail-on {self.fail_on.value}"


def explained_by(unreached: Unreached | None, finding: Finding) -> bool:
    """An `error` whose cause is a machine this machine reached none of."""
    if unreached is None or finding.status is not Status.ERROR or finding.waived or finding.cause is None:
        return False
    if finding.cause.origin not in (CauseOrigin.HOST, CauseOrigin.PATH, CauseOrigin.DIRECTORY):
        return False
    return finding.cause.machine.casefold() in {m.casefold() for m in unreached.machines}


def summary(findings: Iterable[Finding]) -> dict[str, int]:
    """The JSON `summary`: unwaived findings per status, and the waived ones, adding up to all findings."""
    out = {s: 0 for s in STATUSES}
    out["waived"] = 0
    for f in findings:
        out["waived" if f.waived else f.status.value] += 1
    return out


def judge(results: Results, fail_on: FailOn | str | None = None, problems: Sequence[str] = ()) -> Judgement:
    """The verdict, its words and the exit code of `results` under `fail_on` (default: the run's),
    with `problems` of the run beyond those the results carry (an output that could not be written)."""
    threshold = FailOn(fail_on or results.fail_on)
    unreached = results.unreached
    all_problems = tuple(dict.fromkeys([*results.problems, *problems]))
    counted_findings = [f for f in results.findings if not f.waived and not explained_by(unreached, f)]
    run_problem = bool(all_problems) or unreached is not None
    fails = [f for f in counted_findings if f.status is Status.FAIL]
    errors = [f for f in counted_findings if f.status is Status.ERROR]
    if threshold is FailOn.NEVER:
        verdict = Verdict.NOT_READY if fails else Verdict.INCOMPLETE if errors or run_problem else Verdict.READY
        code = 3 if run_problem else 0
    else:
        at = [f for f in counted_findings if at_threshold(f, threshold)]
        verdict = Verdict.NOT_READY if at else Verdict.INCOMPLETE if errors or run_problem else Verdict.READY
        code = EXIT[verdict]
    blocking = tuple(f for f in counted_findings if blocks(f, threshold))

    explained = [f for f in results.findings if explained_by(unreached, f)]
    causes, rest = by_cause([f for f in results.findings if not explained_by(unreached, f)])
    loose = [f for f in rest if f.status is Status.ERROR and not f.waived]
    not_evaluated = NotEvaluated(unreached=explained, causes=causes, loose=loose)

    selection = results.selection
    checks = len(selection.checks_run) if selection is not None else len({f.check for f in results.findings})
    statuses = summary(results.findings)
    counts = Counts(findings=len(results.findings), checks=checks, waived=statuses.pop("waived"),
                    statuses=statuses, blocking=len(blocking))
    return Judgement(verdict=verdict, fail_on=threshold, exit_code=code,
                     partial_note=selection.note if selection is not None else "",
                     reason=_reason(verdict, threshold, errors, all_problems, unreached, explained),
                     blocking=blocking, problems=all_problems, unreached=unreached, not_evaluated=not_evaluated,
                     counts=counts)


def _reason(verdict: Verdict, threshold: FailOn, errors: list[Finding], problems: tuple[str, ...],
            unreached: Unreached | None, explained: list[Finding]) -> str:
    if verdict is Verdict.READY:
        text = "every selected prerequisite holds"
    elif verdict is Verdict.NOT_READY:
        text = "fix what blocks before enabling replication"
    elif unreached is not None:
        checks = len({f.check for f in explained})
        text = f"{unreached.text} — nothing of theirs was evaluated ({counted(checks, 'check')}, " \
               f"{counted(len(explained), 'finding')})"
    elif problems:
        text = f"the run itself is not whole: {problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1
                                                                 else "")
    else:
        text = f"nothing failed, but {counted(len(errors), 'finding')} could not be evaluated"
    if threshold is FailOn.NEVER:
        text += "; --fail-on never: findings do not set the exit code"
    return text


def with_verdict(results: Results, fail_on: FailOn | str | None = None, problems: Sequence[str] = ()) -> Results:
    """`results` as the JSON writes them: `fail_on`, `verdict`, `partial`, `summary` and `problems`
    set from `judge`, never from what a file held."""
    threshold = FailOn(fail_on or results.fail_on)
    judged = judge(results, threshold, problems)
    return results.model_copy(update={"fail_on": threshold, "verdict": judged.verdict, "partial": judged.partial,
                                      "summary": summary(results.findings), "problems": list(judged.problems)})

"""A plan file is an approval, not a program (SPEC §12): apply collects again, plans again, and carries
out only the file's steps the fresh plan also makes.

Anyone who can write the plan file (it is a pipeline artifact, shared and stored) can recompute an
action's id: the id is an unkeyed hash of the action's content. So the id proves nothing about who
wrote the step. What apply trusts instead is the directory and the hosts, read now: the plan's
findings are collected and judged again with the same checks (the plan's checks, its subjects only:
the findings it names), planned again with the planner `plan` uses, and a step of the file is carried
out only when the fresh plan holds the same action (same content id) done the same way. The step
carried out is the fresh plan's own, so its owner is a machine of the inventory read now and its
target the subject of a finding that fails now.

A step the fresh plan lacks refuses the whole apply, before anything is sent, naming the step: a
tampered step, or a state that changed since the plan was made (the fresh action starts from
another state, so its id differs) — in both cases the approval no longer describes what would be
done. One exception keeps a second apply of the same plan harmless: a step whose findings all pass
now is not carried out at all ("already": nothing is sent for it), whatever its action says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from offlineprep import pipeline
from offlineprep.apply import describe
from offlineprep.apply.model import FindingRef, How, Plan, Step
from offlineprep.apply.planner import make_plan, plannable
from offlineprep.engine import CheckSpec, needs_of
from offlineprep.errors import OfflineprepError
from offlineprep.facts import Facts
from offlineprep.model import Finding, Results, Status, status_at_threshold
from offlineprep.names import HostName
from offlineprep.site import Site

PasswordSource = pipeline.PasswordSource


@dataclass(frozen=True)
class Refusal:
    """A step of the file that the fresh plan does not make: its number, kind, where, and why."""

    number: int
    kind: str
    where: str
    what: str
    change: str
    reason: str
    now: str | None = None  # what a plan made now does instead on the same target, from the state read now

    def line(self) -> str:
        return f"step {self.number} ({self.kind}, {self.where}: {self.what}): {self.reason}"


class PlanRefused(OfflineprepError):
    """The plan holds a step a fresh plan does not make: nothing was applied. Exit 3 (a step refused)."""

    exit_code = 3

    def __init__(self, plan_file: str, refusals: Sequence[Refusal]) -> None:
        self.refusals = list(refusals)
        lines = "\n  ".join(r.line() for r in self.refusals)
        super().__init__(f"{plan_file}: {len(self.refusals)} step(s) are not what a plan made now would do, so "
                         f"nothing was applied:\n  {lines}\nThe plan was edited, or what it read has changed since "
                         "it was made: make it again with `offlineprep plan` and review it")


@dataclass
class Replanned:
    """The file's plan held against a fresh one.

    `approved`: the steps to carry out, each the fresh plan's own step (its number the file's), with the
    fresh findings; `passing`: numbers of file steps whose findings all pass now (nothing is sent for
    them); `refused`: file steps the fresh plan does not make."""

    approved: Plan
    fresh: Plan
    results: Results
    facts: Facts
    passing: dict[int, Step] = field(default_factory=dict)
    refused: list[Refusal] = field(default_factory=list)


def plan_checks(plan: Plan, checks: Sequence[CheckSpec]) -> list[CheckSpec]:
    """The checks of the plan's findings (what the re-plan and the re-check judge again)."""
    ids = {f.check for f in plan.findings}
    return [c for c in checks if c.id in ids]


def replan(plan: Plan, site: Site, checks: Sequence[CheckSpec], collectors: pipeline.Collectors,
           password_for: PasswordSource) -> Replanned:
    """Collect the plan's checks again, plan the plan's findings again, and hold the file's steps against it."""
    selected = plan_checks(plan, checks)
    facts = pipeline.collect(site, needs_of(selected), collectors, password_for) if selected else Facts.model_validate(
        {"tool": {"version": "0"}})
    results = pipeline.build_results(site, selected, facts, pipeline.RunOptions(fail_on=plan.fail_on))
    return hold(plan, site, results, facts)


def hold(plan: Plan, site: Site, results: Results, facts: Facts) -> Replanned:
    """The file's plan against the plan made now from `results` (pure: tests give the results)."""
    wanted = {ref.key for ref in plan.findings}
    # the plan's subjects only: the findings it names (a finding it left out, waived for one, stays out,
    # and the steps chain exactly as they did when the plan was made)
    current = [f for f in results.findings if _key(f) in wanted]
    fresh = make_plan(results.model_copy(update={"findings": current}), pipeline.directory_server(site),
                      checks=list(plan.checks), fail_on=plan.fail_on)
    by_id = {s.action.id: s for s in fresh.steps}
    now = {_key(f): f for f in current}
    approved: list[Step] = []
    passing: dict[int, Step] = {}
    refused: list[Refusal] = []
    for step in plan.steps:
        mine = by_id.get(step.action.id)
        if mine is not None and mine.how is step.how:
            approved.append(mine.model_copy(update={"number": step.number}))
            continue
        claimed = plan.findings_of(step)
        if claimed and all(_passes(now.get(ref.key), plan.fail_on) for ref in claimed):
            passing[step.number] = step
            continue
        if mine is not None:
            reason = f"a plan made now does it {mine.how.value}, the file says {step.how.value}"
        elif not claimed:
            reason = "it answers no finding of the plan"
        elif not any(ref.key in now for ref in claimed):
            reason = "no finding it answers is one the checks find now"
        else:
            reason = ("a plan made now does not make this action (its content differs: the plan was edited, or "
                      "the state it starts from changed since the plan was made)")
        instead = mine or _same_target(step, fresh.steps)
        refused.append(Refusal(number=step.number, kind=step.action.kind,
                               where=describe.where(step, plan.site.directory_server),
                               what=describe.what(step.action), change=describe.change(step.action),
                               reason=reason, now=describe.change(instead.action) if instead is not None else None))
    approved_plan = fresh.model_copy(update={"steps": approved, "generated_at": plan.generated_at})
    refused += _outside(approved_plan, site, facts)
    return Replanned(approved=approved_plan, fresh=fresh, results=results, facts=facts, passing=passing,
                     refused=refused)


def _outside(plan: Plan, site: Site, facts: Facts) -> list[Refusal]:
    """Steps whose owner is no machine of the inventory read now, or whose directory is no DC of the
    site file: the planner makes none, and this says so should it ever (defence in depth)."""
    machines = set()
    if facts.inventory is not None:
        machines = {HostName(h.name).key for h in facts.inventory.hosts}
        # a clustered Replica server is configured through its broker, never node by node (docs/clusters.md):
        # the broker's name is a machine of the inventory too
        machines |= {HostName(c.broker.fqdn).key for c in facts.inventory.clusters if c.broker and c.broker.fqdn}
    machines |= {HostName(name).key for name in (facts.hosts or {})}
    servers = {HostName(s).key for s in (pipeline.directory_server(site),) if s}
    servers |= {HostName(urlsplit(d.server).hostname or "").key for d in site.directories}
    out = []
    for step in plan.steps:
        owner = step.action.owner
        if step.how is How.BY_HAND or owner is None or not owner.name:
            continue
        known = servers if step.how is How.DIRECTORY else machines
        if HostName(owner.name).key not in known:
            out.append(Refusal(number=step.number, kind=step.action.kind,
                               where=describe.where(step, plan.site.directory_server),
                               what=describe.what(step.action), change=describe.change(step.action),
                               reason=f"{owner.name} is not a machine of the site's inventory"))
    return out


def _same_target(step: Step, fresh: Sequence[Step]) -> Step | None:
    """The fresh plan's step of the same kind on the same target and machine: what the file's step would be,
    made from the state read now (shown beside a refusal, so the dry run says the live state)."""
    target = step.action.written()[0]
    owner = (step.action.owner.name or "").casefold() if step.action.owner is not None else ""
    return next((s for s in fresh if s.action.kind == step.action.kind and s.action.written()[0] == target
                 and ((s.action.owner.name or "").casefold() if s.action.owner is not None else "") == owner), None)


def _key(f: Finding) -> tuple[str, str, str, str]:
    return FindingRef(check=f.check, status=f.status, subject=f.subject, target=f.target, account=f.account,
                      message=f.message).key


def _passes(finding: Finding | None, fail_on: str) -> bool:
    """Judged now and not failing: nothing is left for a step of it to do."""
    return finding is not None and finding.status is not Status.ERROR and not plannable(finding, fail_on) \
        and not status_at_threshold(finding.status, fail_on)

"""apply --wait-replication: after the writes, every writable DC is read again, bounded, until all of them
hold the same values for the objects the run judges (issue 22.3, SPEC 14), then the re-check runs.

apply writes to the DC the site file names; a host asks a DC of its own site for its tickets, and that
DC has the change only once AD replication has brought it (docs/replication.md). Whether every DC
shows what apply wrote is what ad.replicated judges: the same check runs on each reading (one judgment,
not a second one here), so the wait ends when it finds no DC behind and no DC unread. Each poll reads
the directories only (the inventory, hosts and clusters discovered once, at the first poll); the last
poll's findings name the DCs still behind when the time is up. Without --wait-replication apply reads
once and says which DCs are behind (SPEC 14: "without it, apply says which DCs are still behind").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from offlineprep import pipeline
from offlineprep.engine import CheckContext, CheckSpec, Need, run_check
from offlineprep.facts import Facts
from offlineprep.model import Finding, Status
from offlineprep.site import Site

CHECK_ID = "ad.replicated"
POLL_SECONDS = 2.0  # between two readings of every DC; unpaused Samba DCs converge in 1-4 s


@dataclass
class ReplicationWait:
    """How the wait ended: `agreed` every DC holds the same values; else `behind` are ad.replicated's
    findings that do not pass at the last reading (the DCs behind, or unread), after `seconds`."""

    agreed: bool
    seconds: float
    polls: int
    behind: list[Finding] = field(default_factory=list)


PollCallback = Callable[[int, float, list[Finding]], None]  # (poll number, seconds so far, findings behind)


def behind_now(site: Site, check: CheckSpec, collectors: pipeline.Collectors, password_for: pipeline.PasswordSource,
               previous: Facts | None = None) -> tuple[list[Finding], Facts]:
    """One reading of every DC of every domain, judged by ad.replicated: the findings that do not pass,
    and the facts read (their inventory lets the next reading skip discovery)."""
    if previous is None or previous.inventory is None:
        facts = pipeline.collect(site, frozenset({Need.DIRECTORY}), collectors, password_for)
    else:
        facts = pipeline.collect_directories(site, previous.inventory, collectors, password_for)
    return _not_passing(site, check, facts), facts


def _not_passing(site: Site, check: CheckSpec, facts: Facts) -> list[Finding]:
    findings = run_check(check, CheckContext(site=site, facts=facts))
    return [f for f in findings if f.status in (Status.FAIL, Status.ERROR)]


def wait_for_replication(site: Site, check: CheckSpec, collectors: pipeline.Collectors,
                         password_for: pipeline.PasswordSource, seconds: float, *,
                         on_poll: PollCallback | None = None, interval: float = POLL_SECONDS,
                         sleep: Callable[[float], None] = time.sleep,
                         clock: Callable[[], float] = time.monotonic) -> ReplicationWait:
    """Read every DC until they agree or `seconds` have passed (at least one reading; never a sleep
    past the deadline)."""
    started = clock()
    facts: Facts | None = None
    polls = 0
    while True:
        lagging, facts = behind_now(site, check, collectors, password_for, facts)
        polls += 1
        elapsed = clock() - started
        if on_poll is not None:
            on_poll(polls, elapsed, lagging)
        if not lagging:
            return ReplicationWait(agreed=True, seconds=round(elapsed, 1), polls=polls)
        if elapsed + interval > seconds:
            return ReplicationWait(agreed=False, seconds=round(elapsed, 1), polls=polls, behind=lagging)
        sleep(interval)

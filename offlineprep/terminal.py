"""What the commands print on the terminal (rich): the summary and verdict of a run, the check
catalogue, the progress of a collection, and the steps of plan, apply and revert.

Every text that comes from AD or a host goes through `term` (no markup, no escape sequences, no
bidi controls); the reports are the renderers' (`offlineprep/render/`), the exit codes `cli.py`'s.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from offlineprep.display import visible
from offlineprep.model import Finding, Phase, Results, Status, WaiverEntry, by_cause, counted, not_evaluated
from offlineprep.suggest import did_you_mean
from offlineprep.verdict import COLOUR, STATUSES, judge

if TYPE_CHECKING:
    from offlineprep.engine import Catalogue, CheckSpec
    from offlineprep.facts import CollectionError, Facts, HostFacts

def _console(stderr: bool = False) -> Console:
    """Rich wraps at 80 columns when the output is no terminal (a pipeline log, `| tee`): a finding
    or an error split over three lines is harder to grep than one long line. So, off a terminal and
    unless COLUMNS says otherwise, lines are never wrapped and tables get room."""
    # emoji off: a host's name such as ":warning:" is shown as written, not as a symbol
    console = Console(stderr=stderr, highlight=False, emoji=False)
    if not console.is_terminal:
        console.soft_wrap = True
        if not os.environ.get("COLUMNS"):
            console.width = 200
    return console


out = _console()
err = _console(stderr=True)


def place(path: Path) -> str:
    """Where an output went, in words: `-` is standard output."""
    return "standard output" if str(path) == "-" else str(path)


def summary_on_stderr(yes: bool) -> None:
    """What a command prints goes to stderr when one of its outputs is standard output (`--json -`), so
    that stdout holds that output alone and stays parseable; else to stdout. Set by each command."""
    out.stderr = yes

STATUS_STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow", "error": "magenta", "skip": "dim"}
OUTCOME_STYLE = {"applied": "green", "already": "green", "reverted": "green", "as-before": "green",
                 "changed": "bold red", "failed": "bold red", "not-run": "magenta", "unknown": "bold magenta",
                 "by-hand": "yellow", "not-revertible": "yellow", "nothing-applied": "dim"}
LISTED = 25  # lines per list in the terminal; the reports hold the rest

def term(text: str) -> str:
    """Text from AD, a host or a results file, made safe for the terminal: no markup, and every line end,
    escape sequence or bidi control shown escaped (`\\n`, `\\x1b`, `\\u202e`: display.visible), so a
    name with a newline cannot print a line of its own."""
    return escape(visible(text))


# --------------------------------------------------------------------------- preflight, report, collect, checks


def _who(f: Finding) -> str:
    return f.subject + (f" -> {f.target}" if f.target else "") + (f" as {f.account}" if f.account else "")


def finding_line(f: Finding) -> str:
    style = STATUS_STYLE[f.status.value]
    return f"  [{style}]{f.status.value.upper():5}[/] {term(f.check)} {term(_who(f))}: {term(f.message)}"


def fix_line(f: Finding) -> str:
    """The fix of a finding in one line under it: what (the fix's summary), where it runs and as whom
    (its first typed action's owner, and the rights the account needs, as the fix script says them); ""
    when no fix is known. The fix script and the HTML report hold every step and its revert."""
    fix = f.remediation
    if fix is None:
        return ""
    first = fix.actions[0] if fix.actions else None
    owner = first.owner if first is not None else None
    reminder = first is not None and first.apply_way is None and first.phase is Phase.REMINDER  # a step by hand
    if first is None or owner is None or reminder or (owner.kind != "directory" and not owner.name):
        where = "by hand" + (f" on {owner.name}" if owner is not None and owner.name else "")
    elif owner.kind == "directory":
        where = "in AD" + (f" through {owner.name}" if owner.name else "")
    elif first.on_the_machine:
        where = f"on {owner.name} itself, signed in there"
    else:
        where = f"on {owner.name} over WinRM"
    whom = f"; rights: {first.rights}" if first is not None and first.rights else ""
    more = len(fix.actions) - 1
    tail = f" (+{more} more {'step' if more == 1 else 'steps'})" if more > 0 else ""
    return f"\n        [dim]fix:[/] {term(fix.summary)} — {term(where + whom)}{tail}"


FIXES_HINT = ("Every fix in full, with its revert: --fix-script FILE (PowerShell, never run by offlineprep) or "
              "--html FILE")


def waived_line(f: Finding) -> str:
    waiver = f.waiver
    if waiver is None:
        return "\n        [dim]waived[/]"
    return f"\n        [dim]waived until {waiver.expires.isoformat()}:[/] {term(waiver.justification)}"


def print_list(title: str, lines: list[str], total: int) -> None:
    out.print(title)
    for line in lines[:LISTED]:
        out.print(line)
    if total > LISTED:
        out.print(f"  … and {total - LISTED:,} more (see the reports)")


def print_summary(results: Results, outputs: dict[str, Path], problems: list[str],
                  title: str = "offlineprep preflight") -> None:
    """The same summary for preflight and report: counts per check, what could not be evaluated
    (once per cause), the failures, the warnings, and the verdict, all from `verdict.judge` (the
    exit code's judgement too). Each section says whether it blocks; the blocking ones add up to the
    verdict line's count. A waived finding is counted as waived, never under its status."""
    judged = judge(results, problems=problems)
    table = Table(title=title, show_lines=False)
    table.add_column("check")
    for status in [*STATUSES, "waived"]:
        table.add_column(status, justify="right", style=STATUS_STYLE.get(status, "dim"))
    per_check: dict[str, dict[str, int]] = {}
    for f in results.findings:
        per_check.setdefault(f.check, dict.fromkeys([*STATUSES, "waived"], 0))["waived" if f.waived else f.status.value] += 1
    for check_id, counts in per_check.items():
        table.add_row(term(check_id), *(str(counts[s] or "") for s in [*STATUSES, "waived"]))
    out.print(table)
    if results.facts_from is not None:
        out.print(f"[bold]Judged {term(results.facts_from.text)}[/]")

    fail_on = judged.fail_on.value
    missing = judged.not_evaluated
    if missing.count:
        lines = []
        if missing.unreached and judged.unreached is not None:
            checks = sorted({f.check for f in missing.unreached})
            lines.append(f"  [magenta]ERROR[/] not reached from here (the cause: the verdict below) — "
                         f"{not_evaluated(len(checks), len(missing.unreached))}, not counted as blocking "
                         f"({term(', '.join(checks))})")
        for cause, found in missing.causes:
            checks = sorted({f.check for f in found})
            lines.append(f"  [magenta]ERROR[/] {term(cause.headline(len(checks), len(found)))} ({term(', '.join(checks))})")
        lines += [finding_line(f) for f in missing.loose]
        held = sum(1 for f in judged.blocking if f.status is Status.ERROR)
        note = _blocking_note(bool(held), fail_on) if held in (0, missing.count) else \
            f", {held:,} of them blocking under --fail-on {fail_on}"
        print_list(f"[bold]Could not be evaluated[/] ({counted(missing.count, 'finding')} of "
                   f"{counted(missing.checks, 'check')}{note}):", lines, len(lines))
    _, rest = by_cause(results.findings)
    fixed = False  # a blocking finding with a fix was listed: say where every fix is in full
    for status, label in ((Status.FAIL, "Failures"), (Status.WARN, "Warnings")):
        found = [f for f in rest if f.status is status and not f.waived]
        if found:
            held = judged.blocks(found[0])
            print_list(f"[bold]{label}[/] ({len(found):,}{_blocking_note(held, fail_on)}):",
                       [finding_line(f) + (fix_line(f) if held else "") for f in found], len(found))
            if held and not fixed and any(f.remediation is not None for f in found):
                out.print(FIXES_HINT)  # under the first blocking list, once
                fixed = True
    accepted = [f for f in results.findings if f.waived and f.status in (Status.FAIL, Status.WARN, Status.ERROR)]
    if accepted:
        print_list(f"[bold]Waived[/] ({len(accepted):,}, not counted for the verdict):",
                   [finding_line(f) + waived_line(f) for f in accepted], len(accepted))
    w = results.waivers
    if w.applied or w.expired or w.unused:
        out.print(f"waivers: {len(w.applied)} applied, {len(w.expired)} expired (no longer applied), "
                  f"{len(w.unused)} matched nothing")
        for item in w.expired:
            err.print(f"[yellow]expired waiver[/] (no longer applied): {term(waiver_text(item))}")
        known = results.selection.checks_known if results.selection is not None else []
        for item in w.unused:
            check_glob = item.check
            hint = ""
            if known and not any(fnmatch.fnmatchcase(c, check_glob) for c in known):
                hint = f" — no check has that id{did_you_mean(check_glob, known)}"
            err.print(f"[yellow]unused waiver[/] (matched no finding): {term(waiver_text(item))}{term(hint)}")
    for problem in judged.problems:
        err.print(f"[yellow]problem:[/] {term(problem)}")
    for fmt, path in outputs.items():
        if not any(str(path) in p for p in problems):
            out.print(f"{fmt} written to {term(place(path))}")
    selection = results.selection
    if selection is not None and selection.partial:
        left_out = [c for c in selection.checks_known if c not in set(selection.checks_run)]
        out.print(f"[yellow]partial run:[/] {len(selection.checks_run)} of {counted(len(selection.checks_known), 'check')} "
                  f"ran; the {counted(len(left_out), 'check')} left out: {term(', '.join(left_out))}")
    out.print(f"[bold {judged.colour}]{term(judged.headline)}[/]: {judged.counts.line()}; {judged.blocking_text} — "
              f"{term(judged.reason)}")


def _blocking_note(held: bool, fail_on: str) -> str:
    return f", blocking under --fail-on {fail_on}" if held else f", not blocking under --fail-on {fail_on}"


def waiver_text(waiver: WaiverEntry) -> str:
    who = "".join(f" {key} {value}" for key, value in (("target", waiver.target), ("account", waiver.account)) if value)
    return f"{waiver.check} subject {waiver.subject}{who}, expires {waiver.expires.isoformat()}: {waiver.justification}"


def print_collected(output: Path, facts: Facts, failed: Sequence[str], directory_error: CollectionError | None) -> None:
    """What `collect` wrote, and what it could not read (the first hosts; the facts file holds them all)."""
    hosts = facts.hosts or {}
    read = list((facts.directories or {}).values())
    out.print(f"facts written to {term(place(output))}: {len(hosts)} hosts ({len(failed)} with errors)"
              + (f", directory: {'error' if directory_error else 'ok'}" if read else ""))
    if directory_error:
        err.print(f"[magenta]not read:[/] Active Directory: {term(directory_error.message)}")
    for name in failed[:LISTED]:
        problem = hosts[name].error
        err.print(f"[magenta]not read:[/] {term(name)}: {term(problem.message if problem else 'no answer')}")
    if len(failed) > LISTED:
        err.print(f"  … and {len(failed) - LISTED} more hosts with errors (see the facts file)")


CATALOGUE_WIDTH = 100  # the widest the catalogue's paragraphs go, however wide the terminal


def _wrapped(text: str, width: int, indent: str, first: str = "", hang: str = "") -> list[str]:
    """`first` + `text` in lines of at most `width`, each after `indent` (and `hang` after the first);
    a URL is never broken."""
    import textwrap

    return textwrap.wrap(visible(text), width=width, initial_indent=indent + first, subsequent_indent=indent + hang,
                         break_long_words=False, break_on_hyphens=False) or [indent + first]


def catalogue_lines(checks: Sequence[CheckSpec], width: int) -> list[str]:
    """Each check as `offlineprep checks` shows it: id, severity and what it reads; the title; why it
    matters; the step of Microsoft's walkthrough; Microsoft's documentation, each link on a line of its
    own (a URL is the one thing longer than `width`). Plain text: the caller escapes it."""
    lines: list[str] = []
    for c in checks:
        needs = ", ".join(sorted(n.value for n in c.needs)) or "nothing collected"
        lines += [*_wrapped(f"{c.id} ({c.severity.label}; reads {needs})", width, ""),
                  *_wrapped(c.title, width, "  ")]
        if c.why:
            lines += _wrapped(c.why, width, "  ", "Why: ")
        if c.walkthrough_step:
            lines += _wrapped(c.walkthrough_step, width, "  ", "Walkthrough step: ")
        if c.docs:
            lines.append("  Microsoft documentation:")
            for doc in c.docs:
                lines += [*_wrapped(doc.title, width, "    ", "- ", "  "), f"      {visible(doc.url)}"]
        lines.append("")
    return lines


def print_catalogue(catalogue: Catalogue, version: str, checks: Sequence[CheckSpec] | None = None) -> None:
    """The catalogue (or the `checks` asked for), readable on an 80-column terminal."""
    shown = list(catalogue.checks if checks is None else checks)
    width = max(40, min(out.width, CATALOGUE_WIDTH))
    head = [] if checks is not None else [
        *_wrapped(f"offlineprep {version}: {len(shown)} checks (`offlineprep checks ID|GLOB...` shows some; "
                  "--json, all as data)", width, ""), ""]
    for line in [*head, *catalogue_lines(shown, width)]:
        out.print(escape(line), soft_wrap=True)
    for problem in catalogue.problems:
        err.print(f"[yellow]problem:[/] {term(problem)}")


@contextmanager
def host_progress(total: int) -> Iterator[Callable[[HostFacts], None] | None]:
    """A progress bar over the `total` hosts of a collection, on stderr when it is a terminal; yields
    what to call as each host is done (None: no bar, nothing to call). It goes when it is done."""
    if total == 0 or not err.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("querying hosts"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[last]}"), console=err, transient=True,
    ) as progress:
        task = progress.add_task("hosts", total=total, last="")

        def done(host: HostFacts) -> None:
            mark = "ok" if host.error is None else f"error: {host.error.kind.value}"
            progress.update(task, advance=1, last=term(f"{host.name} {mark}"))

        yield done


# --------------------------------------------------------------------------- plan, apply, revert (docs/apply.md)


def print_plan_steps(plan: Any, site: Any, title: str, names: Any = None, passing: Any = None,
                     refused: Sequence[Any] = (), live: bool = False) -> None:
    """A plan as plan and apply show it: the rights it needs, the steps apply runs (where, what, the
    change: from the values each writes, SIDs and DNs with the names they resolve to now), the steps by
    hand, the findings nothing answers; for apply, the file's steps whose findings pass now, and those
    a plan made now does not make (refused)."""
    from offlineprep.apply import describe, runner
    from offlineprep.apply.model import How

    out.print(f"[bold]{escape(title)}[/]")
    rights = describe.rights_needed(plan, runner.change_account(site.primary_directory), runner.change_account(site.winrm))
    if rights:
        out.print("Rights needed, before any step runs:")
        for place, needed in rights:
            out.print(f"  {term(place)}: {term(needed)}")
    ordered = runner.ordered_for_run(plan.steps, site)  # a plan's numbers follow it; an older plan's may not
    doable = [s for s in ordered if s.how is not How.BY_HAND]
    by_hand = [s for s in ordered if s.how is How.BY_HAND]
    if doable:
        out.print("Steps apply runs, in this order (the AD steps, then each machine's; machines in parallel), "
                  + ("each from the state read now:" if live else "each from the state read for the plan:"))
    for step in doable:
        out.print(f"  {step.number:>3}  {term(describe.where(step, plan.site.directory_server))}  "
                  f"{term(describe.what(step.action, names))}")
        out.print(f"       [dim]{term(describe.change(step.action, names))}[/]")
    if by_hand:
        out.print("[yellow]By hand[/] (apply does not do these):")
        for step in by_hand:
            out.print(f"  {step.number:>3}  {term(describe.where(step, plan.site.directory_server))}  "
                      f"{term(step.by_hand or describe.what(step.action, names))}")
    if passing:
        out.print("Nothing to do (the findings they answer pass now; nothing is sent for them):")
        for number, step in sorted(passing.items()):
            out.print(f"  {number:>3}  {term(step.action.kind)}: {term(describe.what(step.action, names))}")
    if refused:
        out.print("[bold red]Refused[/] (a plan made now does not make these; apply changes nothing):")
        def said(text: str) -> str:
            return term(names.said(text) if names is not None else text)

        for refusal in refused:
            out.print(f"  {refusal.number:>3}  {term(refusal.kind)}  {term(refusal.where)}  {said(refusal.what)}")
            out.print(f"       [dim]{said(refusal.change)}[/]")
            if refusal.now is not None:
                out.print(f"       [dim]read now: {said(refusal.now)}[/]")
            out.print(f"       [dim]refused: {term(refusal.reason)}[/]")
    unanswered = [f for i, f in enumerate(plan.findings) if not any(i in s.findings for s in plan.steps)]
    for ref in unanswered:
        out.print(f"  [yellow]no fix known[/] for {term(ref.label)}: {term(ref.message)}")
    if not plan.steps and not unanswered and not passing and not refused:
        out.print("nothing to do: no finding fails")


def print_step_done(step: Any, directory_server: str | None) -> None:
    """One step of apply or revert as it ends: its outcome, where, and what happened."""
    from offlineprep.apply import describe

    style = OUTCOME_STYLE.get(step.outcome.value, "")
    out.print(f"  [{style}]{step.outcome.value:>15}[/]  {step.number:>3}  "
              f"{term(describe.where(step, directory_server))}  {term(step.message)}")


def print_apply_verdict(plan: Any, applied: Any, code: int) -> None:
    """The re-check after apply: each finding the plan answered now, the steps by hand still to do, what else
    blocks, and the closing line, which states the re-check's verdict in preflight's words (and apply's exit)."""
    from offlineprep.apply import runner

    verification = applied.verification
    addressed, by_hand = runner.addressed(plan), runner.by_hand_only(plan)
    still = runner.still_failing(plan, verification) if verification is not None else []
    if verification is not None:
        out.print(f"Re-check after apply ({len(verification.checks)} checks, as preflight judges them: "
                  f"{escape(', '.join(verification.checks))}):")
        for i, verified in enumerate(verification.findings):
            ref = verified.finding
            now = verified.status.value if verified.status is not None else "not judged"
            style = STATUS_STYLE.get(now, "")
            tag = "" if i in addressed else " [yellow](by hand)[/]" if i in by_hand else " [yellow](no fix known)[/]"
            out.print(f"  [{style}]{now.upper():5}[/] {term(ref.label)} (was {ref.status.value}){tag}: "
                      f"{term(verified.message)}")
        planned = {ref.key for ref in plan.findings}
        others = [ref for ref in verification.blocking if ref.key not in planned]
        for ref in others[:LISTED]:
            out.print(f"  [{STATUS_STYLE.get(ref.status.value, '')}]{ref.status.value.upper():5}[/] {term(ref.label)} "
                      f"(not in the plan): {term(ref.message)}")
        for check in verification.missing_checks:
            out.print(f"  [magenta]not evaluated[/]: {term(check)}, a check of the plan this run does not know "
                      "(give the same --checks-dir as plan)")
    left = [s for s in plan.steps if verification is not None and s.number in verification.by_hand_left]
    if left:
        out.print("[yellow]Left by hand[/] (blocking until done; apply does not do these):")
        for step in left:
            out.print(f"  {step.number:>3}  {term(step.by_hand or '')}")
    failed = [s for s in applied.steps if s.outcome.value in ("changed", "failed", "not-run", "unknown")]
    if failed:
        out.print(f"[bold red]APPLY INCOMPLETE[/]: {len(failed)} of {len(applied.steps)} steps did not run as planned "
                  "(above, and in the record)")
    if verification is None or verification.headline is None:
        out.print(f"[bold red]NOT CONFIRMED[/]: no re-check judged the changes; exit {code}")
        return
    blocking = len(verification.blocking)
    style = f"bold {COLOUR[verification.verdict]}" if verification.verdict is not None else ""
    tail = verification.reason or ""
    by_hand_note = (f", {len(left)} of them left by hand (step{'s' if len(left) > 1 else ''} "
                    f"{', '.join(str(s.number) for s in left)})") if left else ""
    line = (f"[{style}]{term(verification.headline)}[/] after apply: {blocking:,} blocking{by_hand_note} — {tail}"
            if blocking else f"[{style}]{term(verification.headline)}[/] after apply — {tail}")
    if still and code == 1 and not blocking:
        line += (f"; but {len(still)} of the findings apply addressed were not judged again (not confirmed is not "
                 "a pass)")
    if verification.verdict is not None and verification.verdict.value == "not-ready" and still:
        reread = verification.directory_read_from
        line += (f". A delegation change reaches the other domain controllers by AD replication; the re-check read "
                 f"{escape(reread or 'the directory')}: if that name leads to several DCs, run `offlineprep preflight` "
                 "again once replication is done")
    out.print(f"{line} (exit {code})")


def print_revert_steps(record_file: Path, applied: Any, steps: Sequence[Any], preview: Sequence[Any] | None = None,
                       server: str | None = None) -> None:
    """What revert puts back, in the order it runs (`steps`: runner.revert_sources). A dry run (`preview`, the
    same steps judged from the state read now) says per step what revert would do and the state now → the
    state it puts back; --yes lists the steps before it runs them."""
    from offlineprep.apply import describe

    out.print(f"[bold]offlineprep revert {escape(str(record_file))}[/]: apply of {applied.started_at:%Y-%m-%d %H:%M} UTC "
              f"as {escape(applied.as_whom.directory or applied.as_whom.winrm or '?')}"
              + ("" if applied.complete else " [yellow](a record of a run cut short)[/]")
              + (" (dry run: each step's state read now)" if preview is not None else ""))
    if not steps:
        out.print("  nothing to put back: apply changed nothing")
        return
    out.print("Steps revert runs, in this order (the AD steps, then each machine's; machines in parallel):")
    now = list(preview) if preview is not None else [None] * len(steps)
    for step, live in zip(steps, now, strict=True):
        where = term(describe.where(step, applied.directory_server or server))
        if live is None:
            out.print(f"  {step.number:>3}  {where}  {term(describe.what(step.action))} [dim](apply: "
                      f"{step.outcome.value})[/]")
            continue
        word, style = PREVIEW_WORDS.get(live.outcome.value, (live.outcome.value, ""))
        out.print(f"  [{style}]{word:>16}[/]  {step.number:>3}  {where}  {term(describe.what(step.action))}")
        if live.before is not None:
            target = step.before if live.outcome.value == "reverted" else None
            out.print(f"       [dim]now: {term(state_text(live.before))}"
                      + (f" → {term(state_text(target))} (as before apply)" if target is not None else "") + "[/]")
        out.print(f"       [dim]{term(live.message)}[/]")


PREVIEW_WORDS = {"reverted": ("would put back", "green"), "as-before": ("as before", "green"),
                 "changed": ("changed: left", "bold red"), "not-run": ("not read", "magenta"),
                 "failed": ("cannot", "bold red"), "nothing-applied": ("nothing to do", "dim"),
                 "not-revertible": ("not undone", "yellow"), "unknown": ("unknown", "bold magenta")}


def state_text(state: dict[str, Any] | None) -> str:
    """A state read from AD or a host, in one line: `attribute: value, value; ...` (a flags value in hex)."""
    if not state:
        return "none"
    parts = []
    for key, value in state.items():
        if isinstance(value, list):
            shown = ", ".join(str(v) for v in value) or "none"
        elif isinstance(value, int) and not isinstance(value, bool) and key.casefold() == "useraccountcontrol":
            shown = f"0x{value:X}"
        else:
            shown = "none" if value is None else str(value)
        parts.append(f"{key}: {shown}")
    return "; ".join(parts)


def print_revert_verdict(reverted: Any, code: int, path: Path) -> None:
    """Revert's outcomes counted, its own re-check (what it put back, read again), and its verdict."""
    counts: dict[str, int] = {}
    for step in reverted.steps:
        counts[step.outcome.value] = counts.get(step.outcome.value, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    verification = reverted.verification
    restored = verification.restored if verification is not None else []
    not_back = [r for r in restored if r.outcome.value != "as-before"]
    if restored:
        out.print(f"Re-check after revert: {len(restored) - len(not_back)} of {len(restored)} steps read again as "
                  "before apply (AD over LDAP, the machines by apply.ps1 reading without writing)")
        for r in not_back:
            out.print(f"  [bold red]{r.outcome.value:>15}[/]  {r.number:>3}  {term(r.message)}")
    verdict = {0: "[bold green]REVERTED[/]", 1: "[bold yellow]PARTLY REVERTED[/]", 3: "[bold red]REVERT INCOMPLETE[/]"}
    out.print(f"{verdict.get(code, '')}: {summary}; revert record written to {escape(str(path))} (exit {code})")

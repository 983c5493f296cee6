"""The command line (Typer). Thin: parse, call the engine, print, map our errors to exit codes.

Exit codes (README, "Exit codes"): 0 ready; 1 findings at or above --fail-on; 2 bad usage or invalid site file;
3 no failure but some checks could not be evaluated; 4 internal error (a bug: one line, the full
traceback with OFFLINEPREP_DEBUG=1). An internal bug never exits 0.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import re
import sys
import traceback
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperCommand

from offlineprep import __version__
from offlineprep.display import BIDI_CONTROLS
from offlineprep.engine import Catalogue, CheckSpec, discover, needs_of
from offlineprep.errors import OfflineprepError, UsageError
from offlineprep.facts import Facts, HostFacts
from offlineprep.model import FailOn, Finding, Results, Status, WaiverEntry, by_cause, not_blocking, not_blocking_title
from offlineprep.model import blocks as _blocks
from offlineprep.secrets import SecretScrubber, get_secret
from offlineprep.suggest import did_you_mean

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Read-only preflight for Hyper-V offline initial replication (ASR VMM-to-VMM, Hyper-V Replica).",
    pretty_exceptions_enable=False,
    # plain help: Typer's rich help shows a flag as `--demo <bool>` and a list as `<list[str]>`
    rich_markup_mode=None,
)


def _console(stderr: bool = False) -> Console:
    """Rich wraps at 80 columns when the output is no terminal (a pipeline log, `| tee`): a finding
    or an error split over three lines is harder to grep than one long line. So, off a terminal and
    unless COLUMNS says otherwise, lines are never wrapped and tables get room."""
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal:
        console.soft_wrap = True
        if not os.environ.get("COLUMNS"):
            console.width = 200
    return console


out = _console()
err = _console(stderr=True)

STATUS_STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow", "error": "magenta", "skip": "dim"}
VERDICT_TEXT = {
    "ready": ("bold green", "every selected prerequisite holds"),
    "not-ready": ("bold red", "fix what blocks above before enabling replication"),
    "incomplete": ("bold magenta", "nothing failed, but some checks could not be evaluated"),
}


_scrubber = SecretScrubber()
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff" + BIDI_CONTROLS + "]")


def _term(text: str) -> str:
    """Text from AD or a host, made safe for the terminal: no markup, no escape sequences."""
    return escape(_CONTROL.sub("?", text))


def _password_for(env_name: str, purpose: str) -> str:
    secret = get_secret(env_name, purpose)
    _scrubber.add(secret)
    return secret


class _ScrubbingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _scrubber(record.getMessage())
        record.args = ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = _scrubber("".join(traceback.format_exception(*record.exc_info)))
            record.exc_info = None
        return True


def _setup_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ScrubbingFilter())
    handler.setFormatter(logging.Formatter("offlineprep: %(levelname)s: %(message)s"))
    root = logging.getLogger("offlineprep")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if os.environ.get("OFFLINEPREP_DEBUG") else logging.WARNING)
    root.propagate = False


def _catalogue(checks_dirs: list[Path] | None) -> Catalogue:
    for folder in checks_dirs or []:
        if not Path(folder).is_dir():  # a typo would otherwise run only the built-in checks, and pass
            raise UsageError(f"--checks-dir {folder}: no such folder")
    return discover([Path(d) for d in checks_dirs or []])


def _select(catalogue: Catalogue, only: list[str] | None, skip: list[str] | None) -> list[CheckSpec]:
    for glob in catalogue.unmatched(only or []):
        raise UsageError(f"--only {glob!r} matches no check{catalogue.suggest(glob)}; "
                         "see `offlineprep checks` for the ids")
    for glob in catalogue.unmatched(skip or []):
        err.print(f"[yellow]warning:[/] --skip {escape(repr(glob))} matches no check{escape(catalogue.suggest(glob))}; "
                  "nothing was left out for it")
    selected = catalogue.select(only or [], skip or [])
    if not selected:
        raise UsageError(f"--skip {', '.join(map(repr, skip or []))} leaves no check to run; see `offlineprep checks`")
    return selected


def _outputs(**paths: Path | None) -> dict[str, Path]:
    names = {"html": "html", "json": "json", "junit": "junit", "markdown": "markdown", "fix_script": "fix-script"}
    return {names[k]: v for k, v in paths.items() if v is not None}


# --------------------------------------------------------------------------- commands

# The usage line of each command, with its arguments named as the README writes them (Typer would
# print `{results_file}`)
USAGE = {
    "preflight": "(--config SITE.toml | --demo) [OPTIONS]",
    "collect": "--config SITE.toml --output FACTS.json [OPTIONS]",
    "report": "RESULTS.json [OPTIONS]",
    "checks": "[OPTIONS]",
    "init": "[SITE.toml | -] [OPTIONS]",
    "plan": "(--config SITE.toml | --demo) --output PLAN.json [OPTIONS]",
    "apply": "PLAN.json (--config SITE.toml | --demo) [--yes] [--record RECORD.json] [OPTIONS]",
    "revert": "RECORD.json (--config SITE.toml | --demo) [--yes] [OPTIONS]",
}


class _Command(TyperCommand):
    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [USAGE.get(self.name or "", "[OPTIONS]")]


ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", metavar="SITE.toml", help="The site file (TOML).")]
OnlyOption = Annotated[list[str] | None, typer.Option(
    "--only", metavar="GLOB", help="Run only the checks whose id matches (repeatable), e.g. 'ad.*'.")]
SkipOption = Annotated[list[str] | None, typer.Option(
    "--skip", metavar="GLOB", help="Leave out the checks whose id matches (repeatable).")]
ChecksDirOption = Annotated[list[Path] | None, typer.Option(
    "--checks-dir", metavar="DIR", help="A folder of your own checks (repeatable).")]
FailOnOption = Annotated[FailOn, typer.Option(
    "--fail-on", case_sensitive=False, metavar="fail|warn|error|never",
    help="The lowest status that exits 1 (default fail); errors exit 3 unless something exits 1.")]
ExitZeroOption = Annotated[bool, typer.Option("--exit-zero", help="Always exit 0 (report-only runs).")]
HtmlOption = Annotated[Path | None, typer.Option("--html", metavar="FILE", help="Write the HTML report.")]
JsonOption = Annotated[Path | None, typer.Option("--json", metavar="FILE", help="Write the JSON results.")]
JunitOption = Annotated[Path | None, typer.Option("--junit", metavar="FILE", help="Write JUnit XML.")]
MarkdownOption = Annotated[Path | None, typer.Option("--markdown", metavar="FILE", help="Write a Markdown summary.")]
YesOption = Annotated[bool, typer.Option("--yes", help="Make the changes (without it: a dry run that changes nothing).")]
FixScriptOption = Annotated[Path | None, typer.Option(
    "--fix-script", metavar="FILE", help="Write the PowerShell fix script (never run by offlineprep).")]


@app.command(cls=_Command, short_help="Collect, check and report.")
def preflight(
    config: ConfigOption = None,
    demo: Annotated[bool, typer.Option("--demo", help="Run against the built-in lab instead of a site file.")] = False,
    facts_file: Annotated[Path | None, typer.Option(
        "--facts", metavar="FACTS.json", help="Evaluate saved facts (from collect or --save-facts); no network.")] = None,
    save_facts: Annotated[Path | None, typer.Option(
        "--save-facts", metavar="FACTS.json", help="Also write the facts collected, to evaluate again with --facts.")] = None,
    html: HtmlOption = None,
    json_file: JsonOption = None,
    junit: JunitOption = None,
    markdown: MarkdownOption = None,
    fix_script: FixScriptOption = None,
    only: OnlyOption = None,
    skip: SkipOption = None,
    fail_on: FailOnOption = FailOn.FAIL,
    concurrency: Annotated[int | None, typer.Option(
        "--concurrency", min=1, max=512, metavar="N", help="Hosts queried at once (overrides [winrm] concurrency).")] = None,
    timeout: Annotated[float | None, typer.Option(
        "--timeout", min=1, metavar="SECONDS", help="Per-host timeout (overrides [winrm] timeout_seconds).")] = None,
    checks_dir: ChecksDirOption = None,
    waivers: Annotated[Path | None, typer.Option(
        "--waivers", metavar="FILE", help="Waivers file (TOML): accepted findings, each with a reason and an end date.")] = None,
    exit_zero: ExitZeroOption = False,
) -> None:
    """Collect, check and report: the verdict, what blocks, and the PowerShell that fixes it."""
    from offlineprep import pipeline
    from offlineprep.render import write_atomically, write_outputs
    from offlineprep.site import Site
    from offlineprep.sitefile import load_site
    from offlineprep.waivers import load_waivers

    if demo == (config is not None):
        raise UsageError("give exactly one of --config SITE.toml or --demo")
    if facts_file is not None and save_facts is not None:
        raise UsageError("--save-facts writes the facts a run collects; with --facts nothing is collected")
    outputs = _outputs(html=html, json=json_file, junit=junit, markdown=markdown, fix_script=fix_script)
    catalogue = _catalogue(checks_dir)
    selected = _select(catalogue, only, skip)
    waiver_list = load_waivers(waivers) if waivers else []

    collectors = pipeline.Collectors()
    cleanup: Callable[[], None] = lambda: None  # noqa: E731
    site: Site
    if demo:
        try:
            from offlineprep.demo import start_demo
        except ImportError as exc:
            raise UsageError(f"the demo lab is not available in this build: {exc}") from None
        lab = start_demo()
        site, collectors, cleanup = lab.site, lab.collectors, lab.stop
    else:
        assert config is not None
        site = load_site(config)
    site = _override_winrm(site, concurrency, timeout)

    try:
        if facts_file is not None:
            facts = _load_facts(facts_file)
        else:
            facts = _collect_with_progress(site, needs_of(selected), collectors)
    finally:
        cleanup()
    if save_facts is not None:
        write_atomically(save_facts, _scrubber(facts.to_json()) + "\n")

    options = pipeline.RunOptions(fail_on=fail_on.value, waivers=waiver_list, problems=list(catalogue.problems),
                                  known_checks=catalogue.ids, only=list(only or []), skip=list(skip or []),
                                  facts_file=str(facts_file) if facts_file is not None else None)
    results = pipeline.build_results(site, selected, facts, options)
    results = _scrub_results(results)
    problems = write_outputs(results, outputs)
    _print_summary(results, outputs, problems)
    if save_facts is not None:
        out.print(f"facts written to {escape(str(save_facts))} (evaluate them again with --facts)")
    code = pipeline.exit_code(results)
    if problems and code == 0:
        code = 4  # a requested file we could not write is not "ready"
    raise typer.Exit(0 if exit_zero else code)


@app.command(cls=_Command, short_help="Gather facts only, to evaluate elsewhere with --facts.")
def collect(
    config: Annotated[Path, typer.Option("--config", "-c", metavar="SITE.toml", help="The site file (TOML).")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FACTS.json", help="The facts file to write (JSON).")],
    only: OnlyOption = None,
    skip: SkipOption = None,
    checks_dir: ChecksDirOption = None,
) -> None:
    """Gather facts only, to evaluate elsewhere with `preflight --facts`. Exit 3 when a host or the
    directory could not be read (the facts file is still written, with the reason)."""
    from offlineprep import pipeline
    from offlineprep.render import write_atomically
    from offlineprep.sitefile import load_site

    site = load_site(config)
    selected = _select(_catalogue(checks_dir), only, skip)
    facts = _collect_with_progress(site, needs_of(selected), pipeline.Collectors())
    write_atomically(output, _scrubber(facts.to_json()) + "\n")
    hosts = facts.hosts or {}
    failed = sorted(name for name, h in hosts.items() if h.error is not None or not h.reachable)
    read = list((facts.directories or {}).values())
    directory_error = next((d.error for d in read if d.error is not None), None)
    out.print(f"facts written to {escape(str(output))}: {len(hosts)} hosts ({len(failed)} with errors)"
              + (f", directory: {'error' if directory_error else 'ok'}" if read else ""))
    if directory_error:
        err.print(f"[magenta]not read:[/] Active Directory: {_term(directory_error.message)}")
    for name in failed[:25]:
        problem = hosts[name].error
        err.print(f"[magenta]not read:[/] {_term(name)}: {_term(problem.message if problem else 'no answer')}")
    if len(failed) > 25:
        err.print(f"  … and {len(failed) - 25} more hosts with errors (see the facts file)")
    raise typer.Exit(3 if failed or directory_error else 0)


@app.command(cls=_Command, short_help="The summary, verdict and outputs of saved results.")
def report(
    results_file: Annotated[Path, typer.Argument(metavar="RESULTS.json", help="JSON results of an earlier run (--json).",
                                                 show_default=False)],
    html: HtmlOption = None,
    json_file: JsonOption = None,
    junit: JunitOption = None,
    markdown: MarkdownOption = None,
    fix_script: FixScriptOption = None,
    fail_on: Annotated[FailOn | None, typer.Option(
        "--fail-on", case_sensitive=False, metavar="fail|warn|error|never",
        help="The lowest status that exits 1; default: the one the run used.")] = None,
    exit_zero: ExitZeroOption = False,
) -> None:
    """Print the summary and verdict of saved results and re-render any output from them; exits as
    preflight did (0 ready, 1 blocking findings, 3 not evaluated)."""
    from offlineprep import pipeline
    from offlineprep.render import json_out, write_outputs

    results = json_out.load(results_file)
    if fail_on is not None:
        results = results.model_copy(update={"fail_on": fail_on.value})
    outputs = _outputs(html=html, json=json_file, junit=junit, markdown=markdown, fix_script=fix_script)
    problems = write_outputs(results, outputs)
    _print_summary(results, outputs, problems, title=f"offlineprep report: {results_file}")
    code = pipeline.exit_code(results)
    if problems and code == 0:
        code = 4
    raise typer.Exit(0 if exit_zero else code)


@app.command("checks", cls=_Command, short_help="The check catalogue.")
def list_checks(
    as_json: Annotated[bool, typer.Option("--json", help="The catalogue as JSON (why, documentation links).")] = False,
    checks_dir: ChecksDirOption = None,
) -> None:
    """The check catalogue: id, severity, what each needs, title."""
    catalogue = _catalogue(checks_dir)
    if as_json:
        payload = {"checks": [c.catalogue_entry() for c in catalogue.checks], "problems": catalogue.problems}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return
    table = Table(title=f"offlineprep {__version__}: {len(catalogue.checks)} checks")
    for column in ("id", "severity", "needs", "title"):
        table.add_column(column)
    for c in catalogue.checks:
        table.add_row(c.id, c.severity.label, ", ".join(sorted(n.value for n in c.needs)), escape(c.title))
    out.print(table)
    for problem in catalogue.problems:
        err.print(f"[yellow]problem:[/] {escape(problem)}")


@app.command(cls=_Command, short_help="Write a commented example site file.")
def init(
    path: Annotated[Path, typer.Argument(metavar="SITE.toml", help="Where to write the example site file; - for stdout.",
                                         show_default=False)] = Path("site.toml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented example site file (it validates as it is); `init -` prints it."""
    from offlineprep.example import EXAMPLE_SITE
    from offlineprep.render import write_atomically

    if str(path) == "-":
        sys.stdout.write(EXAMPLE_SITE)
        return
    if path.exists() and not force:
        raise UsageError(f"{path} exists; use --force to overwrite")
    write_atomically(path, EXAMPLE_SITE)
    out.print(f"example site file written to {escape(str(path))}: edit it, then run "
              f"`offlineprep preflight --config {escape(str(path))}`")


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        out.print(f"offlineprep {__version__}")
        raise typer.Exit(0)


# --------------------------------------------------------------------------- plan, apply, revert (docs/apply.md)


class PlanFailOn(str, Enum):
    fail = "fail"
    warn = "warn"


DemoOption = Annotated[bool, typer.Option(
    "--demo", help="Against the built-in lab (one lab per process: scripts/demo.sh --apply runs the loop).")]
OUTCOME_STYLE = {"applied": "green", "already": "green", "reverted": "green", "as-before": "green",
                 "changed": "bold red", "failed": "bold red", "not-run": "magenta", "unknown": "bold magenta",
                 "by-hand": "yellow", "not-revertible": "yellow", "nothing-applied": "dim"}


@app.command("plan", cls=_Command, short_help="Plan the fixes of the failing findings (changes nothing).")
def plan_command(
    output: Annotated[Path, typer.Option("--output", "-o", metavar="PLAN.json", help="The plan file to write (JSON).")],
    config: ConfigOption = None,
    demo: DemoOption = False,
    only: OnlyOption = None,
    skip: SkipOption = None,
    fail_on: Annotated[PlanFailOn, typer.Option(
        "--fail-on", case_sensitive=False, metavar="fail|warn",
        help="Plan the fixes of failures (default), or of failures and warnings.")] = PlanFailOn.fail,
    waivers: Annotated[Path | None, typer.Option(
        "--waivers", metavar="FILE", help="Waivers file (TOML): waived findings are not planned.")] = None,
    checks_dir: ChecksDirOption = None,
) -> None:
    """Collect and check like preflight, then write the typed actions that fix the failing findings as a
    plan (offlineprep/plan/v1). Nothing is changed; `offlineprep apply PLAN.json` shows, then runs, it.
    Exit 0 written; 3 written, but some checks could not be evaluated (nothing is planned for them)."""
    from offlineprep import pipeline
    from offlineprep.apply.planner import make_plan, plan_text
    from offlineprep.render import write_atomically
    from offlineprep.waivers import load_waivers

    site, connections = _site_for_changes(config, demo)
    catalogue = _catalogue(checks_dir)
    selected = _select(catalogue, only, skip)
    waiver_list = load_waivers(waivers) if waivers else []
    facts = _collect_with_progress(site, needs_of(selected), connections.collectors)
    options = pipeline.RunOptions(fail_on=fail_on.value, waivers=waiver_list, known_checks=catalogue.ids,
                                  only=list(only or []), skip=list(skip or []))
    results = pipeline.build_results(site, selected, facts, options)
    plan = make_plan(results, pipeline.directory_server(site), checks=[c.id for c in selected], fail_on=fail_on.value)
    write_atomically(output, _scrubber(plan_text(plan)))
    _print_plan_steps(plan, site, title=f"offlineprep plan: {len(plan.steps)} steps for {len(plan.findings)} findings")
    for ref in plan.not_evaluated[:LISTED]:
        err.print(f"[magenta]not evaluated[/] (nothing planned): {_term(ref.label)}: {_term(ref.message)}")
    how = "--demo" if demo else f"--config {escape(str(config))}"
    out.print(f"plan written to {escape(str(output))}; see what apply would do: "
              f"offlineprep apply {escape(str(output))} {how}")
    raise typer.Exit(3 if plan.not_evaluated else 0)


@app.command("apply", cls=_Command, short_help="Run a plan's steps (a dry run without --yes), then check again.")
def apply_command(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN.json", help="A plan written by offlineprep plan.",
                                              show_default=False)],
    config: ConfigOption = None,
    demo: DemoOption = False,
    yes: YesOption = False,
    record: Annotated[Path | None, typer.Option(
        "--record", metavar="RECORD.json", help="Where to write the record (default: next to the plan).")] = None,
    checks_dir: ChecksDirOption = None,
) -> None:
    """Print every step of the plan (where, from which state to which, with which rights) and change
    nothing; with --yes make exactly those changes, write the record, and check again. Exit 0 applied
    and the checks pass; 1 applied but a check still fails; 3 a step failed; 2 usage."""
    from offlineprep import pipeline
    from offlineprep.apply import planner, runner
    from offlineprep.apply.model import How

    plan = planner.load_plan(plan_file)
    site, connections = _site_for_changes(config, demo)
    planner.check_site(plan, pipeline.directory_server(site), site.winrm is not None, plan_file)
    _print_plan_steps(plan, site, title=f"offlineprep apply {plan_file}: {len(plan.steps)} steps for "
                                        f"{len(plan.findings)} findings" + ("" if yes else " (dry run)"))
    doable = [s for s in plan.steps if s.how is not How.BY_HAND]
    if not yes:
        out.print(f"[bold]Dry run[/]: nothing was changed. Run it again with --yes to make these {len(doable)} "
                  "changes and check again.")
        raise typer.Exit(0)
    if not doable:
        out.print("nothing for apply to do: every step is one to do by hand")
        raise typer.Exit(0)
    record_path = record or _default_record_path(plan_file)
    if record_path.exists():
        raise UsageError(f"{record_path} exists: a record is what revert needs, so it is never overwritten; "
                         "choose another --record")
    recheck = [c for c in _catalogue(checks_dir).checks if c.id in {f.check for f in plan.findings}]
    how_many = {way: sum(1 for s in plan.steps if s.how is way) for way in How}
    password_for = _ask_passwords(site, runner.secrets_for_changes(site, plan.steps), needs_of(recheck),
                                  directory=bool(how_many[How.DIRECTORY]), hosts=bool(how_many[How.HOST]))
    out.print(f"[bold]Applying[/] {len(doable)} steps; the record is written to {escape(str(record_path))} as it goes")
    applied = runner.apply_plan(plan, site, connections=connections, password_for=password_for,
                                record_path=record_path, plan_file=str(plan_file),
                                plan_sha256=planner.digest(plan_file), scrub=_scrubber,
                                on_step=lambda step: _print_step_done(step, plan.site.directory_server))
    out.print("[bold]Checking again[/] what the plan addressed (read-only account)")
    runner.verify(plan, applied, site, recheck, connections, password_for, record_path, _scrubber)
    code = runner.apply_exit_code(plan, applied)
    _print_apply_verdict(plan, applied, site, code)
    if demo:  # another process starts a lab of its own, as it was built
        out.print(f"record written to {escape(str(record_path))}; the demo undoes it in the same lab with "
                  "scripts/demo.sh --apply --revert")
    else:
        out.print(f"record written to {escape(str(record_path))}; to undo: offlineprep revert "
                  f"{escape(str(record_path))} --config {escape(str(config))} --yes")
    raise typer.Exit(code)


@app.command("revert", cls=_Command, short_help="Put back what an apply changed (a dry run without --yes).")
def revert_command(
    record_file: Annotated[Path, typer.Argument(metavar="RECORD.json", help="The record an apply wrote.",
                                                show_default=False)],
    config: ConfigOption = None,
    demo: DemoOption = False,
    yes: YesOption = False,
    record: Annotated[Path | None, typer.Option(
        "--record", metavar="FILE", help="Where to write the revert's own record (default: next to the record).")]
    = None,
) -> None:
    """Restore exactly the recorded state before apply of every step that changed something, where the
    state is still what apply left; report every other step. Exit 0 all put back; 1 some were changed
    since apply and left alone; 3 a step failed or could not be run; 2 usage."""
    from offlineprep import pipeline
    from offlineprep.apply import planner, runner
    from offlineprep.apply.model import How

    applied = planner.load_record(record_file)
    site, connections = _site_for_changes(config, demo)
    server = pipeline.directory_server(site)
    if any(s.how is How.DIRECTORY and s.may_have_changed() for s in applied.steps) and \
            (applied.directory_server or "").casefold() != (server or "").casefold():
        raise UsageError(f"{record_file} changed AD through {applied.directory_server}, but the site file's "
                         f"[directory] server is {server}: revert with the site file apply used")
    changed = [s for s in applied.steps if s.may_have_changed() and s.how is not How.BY_HAND]
    out.print(f"[bold]offlineprep revert {escape(str(record_file))}[/]: apply of {applied.started_at:%Y-%m-%d %H:%M} UTC "
              f"as {escape(applied.as_whom.directory or applied.as_whom.winrm or '?')}"
              + ("" if applied.complete else " [yellow](a record of a run cut short)[/]"))
    for step in reversed(changed):
        note = "" if step.action.revertible else " [yellow](not undone)[/]"
        out.print(f"  {step.number:>3}  {_term(_where(step, applied.directory_server))}  {_term(_what(step.action))} "
                  f"[dim]({step.outcome.value})[/]{note}")
    if not changed:
        out.print("  nothing to put back: apply changed nothing")
    if not yes:
        out.print("[bold]Dry run[/]: nothing was changed. Run it again with --yes to put these back where they are "
                  "still as apply left them.")
        raise typer.Exit(0)
    how_many = {How.DIRECTORY: sum(1 for s in changed if s.how is How.DIRECTORY),
                How.HOST: sum(1 for s in changed if s.how is How.HOST)}
    password_for = _ask_passwords(site, runner.secrets_for_changes(site, changed), frozenset(),
                                  directory=bool(how_many[How.DIRECTORY]), hosts=bool(how_many[How.HOST]))
    path = record or record_file.with_name(record_file.stem + f".revert-{_stamp()}.json")
    if path.exists():
        raise UsageError(f"{path} exists: choose another --record")
    reverted = runner.revert_record(applied, site, connections=connections, password_for=password_for,
                                    record_path=path, record_file=str(record_file), scrub=_scrubber,
                                    on_step=lambda step: _print_step_done(step, applied.directory_server))
    code = runner.revert_exit_code(reverted)
    counts: dict[str, int] = {}
    for step in reverted.steps:
        counts[step.outcome.value] = counts.get(step.outcome.value, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    verdict = {0: "[bold green]REVERTED[/]", 1: "[bold yellow]PARTLY REVERTED[/]", 3: "[bold red]REVERT INCOMPLETE[/]"}
    out.print(f"{verdict.get(code, '')}: {summary}; revert record written to {escape(str(path))}")
    raise typer.Exit(code)


def _site_for_changes(config: Path | None, demo: bool) -> tuple[Any, Any]:
    from offlineprep.apply.runner import Connections
    from offlineprep.sitefile import load_site

    if demo == (config is not None):
        raise UsageError("give exactly one of --config SITE.toml or --demo")
    if demo:
        try:
            from offlineprep.demo import shared_lab
        except ImportError as exc:
            raise UsageError(f"the demo lab is not available in this build: {exc}") from None
        lab = shared_lab()
        return lab.site, lab.connections()
    assert config is not None
    return load_site(config), Connections()


def _ask_passwords(site: Any, for_changes: list[Any], recheck_needs: Any, *, directory: bool,
                   hosts: bool) -> Callable[[str, str], str]:
    """This machine's readiness first, then every password at once (the accounts for changes and the
    read-only ones of the re-check), before anything is sent."""
    from offlineprep import localcheck, pipeline

    plan = pipeline.collection_scope(site, recheck_needs) if recheck_needs else None
    problems = localcheck.problems(site, directory=directory or bool(plan and plan.directory),
                                   hosts=hosts or bool(plan and plan.hosts))
    if problems:
        raise UsageError("this machine is not ready to make the changes:\n  " + "\n  ".join(problems))
    wanted = list(for_changes) + (pipeline.secrets_needed(site, recheck_needs) if recheck_needs else [])
    passwords: dict[str, str] = {}
    for request in wanted:
        if request.env not in passwords:
            passwords[request.env] = _password_for(request.env, request.purpose)

    def password_for(env_name: str, purpose: str) -> str:
        return passwords.get(env_name) or _password_for(env_name, purpose)

    return password_for


def _stamp() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _default_record_path(plan_file: Path) -> Path:
    return plan_file.with_name(plan_file.stem + f".record-{_stamp()}.json")


def _where(step: Any, directory_server: str | None) -> str:
    from offlineprep.apply.describe import where

    return where(step, directory_server)


def _what(action: Any) -> str:
    from offlineprep.apply.describe import what

    return what(action)


def _print_plan_steps(plan: Any, site: Any, title: str) -> None:
    from offlineprep.apply import describe, runner
    from offlineprep.apply.model import How

    out.print(f"[bold]{escape(title)}[/]")
    rights = describe.rights_needed(plan, runner.change_account(site.primary_directory), runner.change_account(site.winrm))
    if rights:
        out.print("Rights needed, before any step runs:")
        for place, needed in rights:
            out.print(f"  {_term(place)}: {_term(needed)}")
    doable = [s for s in plan.steps if s.how is not How.BY_HAND]
    by_hand = [s for s in plan.steps if s.how is How.BY_HAND]
    if doable:
        out.print("Steps apply runs, in order:")
    for step in doable:
        out.print(f"  {step.number:>3}  {_term(describe.where(step, plan.site.directory_server))}  "
                  f"{_term(describe.what(step.action))}")
        out.print(f"       [dim]{_term(describe.change(step.action))}[/]")
    if by_hand:
        out.print("[yellow]By hand[/] (apply does not do these):")
        for step in by_hand:
            out.print(f"  {step.number:>3}  {_term(describe.where(step, plan.site.directory_server))}  "
                      f"{_term(step.by_hand or describe.what(step.action))}")
    unanswered = [f for i, f in enumerate(plan.findings) if not any(i in s.findings for s in plan.steps)]
    for ref in unanswered:
        out.print(f"  [yellow]no fix known[/] for {_term(ref.label)}: {_term(ref.message)}")
    if not plan.steps and not unanswered:
        out.print("nothing to do: no finding fails")


def _print_step_done(step: Any, directory_server: str | None) -> None:
    from offlineprep.apply import describe

    style = OUTCOME_STYLE.get(step.outcome.value, "")
    out.print(f"  [{style}]{step.outcome.value:>15}[/]  {step.number:>3}  "
              f"{_term(describe.where(step, directory_server))}  {_term(step.message)}")


def _print_apply_verdict(plan: Any, applied: Any, site: Any, code: int) -> None:
    from offlineprep.apply import runner

    verification = applied.verification
    addressed, by_hand = runner.addressed(plan), runner.by_hand_only(plan)
    still = runner.still_failing(plan, verification) if verification is not None else []
    if verification is not None:
        out.print(f"Re-check ({escape(', '.join(verification.checks))}):")
        for i, verified in enumerate(verification.findings):
            ref = verified.finding
            now = verified.status.value if verified.status is not None else "not judged"
            style = STATUS_STYLE.get(now, "")
            tag = "" if i in addressed else " [yellow](by hand)[/]" if i in by_hand else " [yellow](no fix known)[/]"
            out.print(f"  [{style}]{now.upper():5}[/] {_term(ref.label)} (was {ref.status.value}){tag}: "
                      f"{_term(verified.message)}")
    for step in plan.steps:
        if step.by_hand and any(i in by_hand for i in step.findings):
            out.print(f"  [yellow]by hand[/]: {_term(step.by_hand)}")
    failed = [s for s in applied.steps if s.outcome.value in ("changed", "failed", "not-run", "unknown")]
    left = len(by_hand) + sum(1 for i in range(len(plan.findings)) if i not in addressed and i not in by_hand)
    tail = f"; {left} {'needs' if left == 1 else 'need'} steps by hand (above)" if left else ""
    if code == 3:
        out.print(f"[bold red]APPLY INCOMPLETE[/]: {len(failed)} of {len(applied.steps)} steps did not run as planned "
                  f"(above, and in the record){tail}")
    elif code == 1:
        reread = verification.directory_read_from if verification is not None else None
        out.print(f"[bold red]NOT READY[/]: applied, but {len(still)} of the {len(addressed)} findings apply addressed "
                  "still fail or could not be judged again (above). A delegation change reaches the other domain "
                  "controllers by AD replication; "
                  f"the re-check read {escape(reread or 'the directory')}: if that name leads to several DCs, run "
                  f"`offlineprep preflight` again once replication is done{tail}")
    else:
        out.print(f"[bold green]READY[/] for the {len(addressed)} findings apply addressed{tail}")


# --------------------------------------------------------------------------- helpers


def _override_winrm(site: Any, concurrency: int | None, timeout: float | None) -> Any:
    if site.winrm is None or (concurrency is None and timeout is None):
        return site
    update: dict[str, Any] = {}
    if concurrency is not None:
        update["concurrency"] = concurrency
    if timeout is not None:
        update["timeout_seconds"] = timeout
    return site.model_copy(update={"winrm": site.winrm.model_copy(update=update)})


def _load_facts(path: Path) -> Facts:
    """A facts file from another machine, maybe another version, maybe edited: every way it can be
    wrong is a usage error naming the file, never an internal error."""
    from pydantic import ValidationError

    from offlineprep.facts import FACTS_SCHEMA, FACTS_SCHEMAS

    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM from a PowerShell 5 round trip is fine
    except OSError as exc:
        raise UsageError(f"{path}: cannot read facts: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start}): not an offlineprep facts file") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{path}: not JSON ({exc}): not an offlineprep facts file") from None
    if not isinstance(data, dict) or "schema" not in data:
        raise UsageError(f"{path}: not an offlineprep facts file (a JSON object with \"schema\": "
                         f"\"{FACTS_SCHEMA}\" expected; write one with `offlineprep collect`)")
    if data["schema"] not in FACTS_SCHEMAS:
        raise UsageError(f"{path}: facts schema {data['schema']!r} is not supported: this offlineprep "
                         f"{__version__} reads {FACTS_SCHEMA}; collect again with this version")
    try:
        return Facts.model_validate(data)  # already parsed (by json: see offlineprep.jsontext)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(f"{path}: not a valid offlineprep facts file at {where}: {first['msg']}") from None


def _collect_with_progress(site: Any, needs: Any, collectors: Any) -> Facts:
    """Check this machine, ask for every password, then collect with a progress bar: a prompt is
    never drawn over by the bar, and nothing goes over the network before the local checks pass."""
    from offlineprep import localcheck, pipeline

    plan = pipeline.collection_scope(site, needs)
    problems = localcheck.problems(site, directory=plan.directory is not None, hosts=plan.winrm)
    if problems:
        raise UsageError("this machine is not ready to run the checks:\n  " + "\n  ".join(problems))
    passwords: dict[str, str] = {}
    for request in pipeline.secrets_needed(site, needs):
        if request.env not in passwords:
            passwords[request.env] = _password_for(request.env, request.purpose)

    def password_for(env_name: str, purpose: str) -> str:
        return passwords.get(env_name) or _password_for(env_name, purpose)

    total = len(plan.hosts)
    if total == 0 or not err.is_terminal:
        return _collect_reporting_interrupt(site, needs, collectors, password_for, None, total)
    with Progress(
        TextColumn("querying hosts"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[last]}"), console=err, transient=True,
    ) as progress:
        task = progress.add_task("hosts", total=total, last="")

        def done(host: HostFacts) -> None:
            mark = "ok" if host.error is None else f"error: {host.error.kind.value}"
            progress.update(task, advance=1, last=_term(f"{host.name} {mark}"))

        return _collect_reporting_interrupt(site, needs, collectors, password_for, done, total)


def _collect_reporting_interrupt(site: Any, needs: Any, collectors: Any, password_for: Any, callback: Any,
                                 total: int) -> Facts:
    from offlineprep import pipeline

    finished: list[str] = []

    def track(host: HostFacts) -> None:
        finished.append(host.name)
        if callback:
            callback(host)

    try:
        return pipeline.collect(site, needs, collectors, password_for, on_host_done=track)
    except KeyboardInterrupt:
        err.print(f"[yellow]interrupted[/]: {len(finished)} of {total} hosts had answered; no output file was written")
        sys.stdout.flush()
        sys.stderr.flush()
        # WinRM worker threads may sit in a socket read until their timeout; nothing is left to
        # write (outputs come after collection), so end now instead of waiting for them
        os._exit(130)


def _scrub_results(results: Results) -> Results:
    """Last line of defence: no secret in use this run may reach a results document."""
    # json with ensure_ascii=False, not pydantic's JSON: the text stays in memory, so an unpaired
    # surrogate from a host is no problem, and a non-ASCII secret is not hidden behind \u escapes
    text = json.dumps(results.model_dump(mode="json", by_alias=True), ensure_ascii=False)
    cleaned = _scrubber(text)
    return results if cleaned == text else Results.model_validate(json.loads(cleaned))


LISTED = 25  # lines per list in the terminal; the reports hold the rest


def _who(f: Finding) -> str:
    return f.subject + (f" -> {f.target}" if f.target else "") + (f" as {f.account}" if f.account else "")


def _finding_line(f: Finding) -> str:
    style = STATUS_STYLE[f.status.value]
    return f"  [{style}]{f.status.value.upper():5}[/] {_term(f.check)} {_term(_who(f))}: {_term(f.message)}"


def _print_list(title: str, lines: list[str], total: int) -> None:
    out.print(title)
    for line in lines[:LISTED]:
        out.print(line)
    if total > LISTED:
        out.print(f"  … and {total - LISTED:,} more (see the reports)")


def _print_summary(results: Results, outputs: dict[str, Path], problems: list[str],
                   title: str = "offlineprep preflight") -> None:
    """The same summary for preflight and report: counts per check, what could not be evaluated
    (once per cause), the failures, the warnings, and the verdict. "Blocking" is `model.blocks`,
    the findings that keep the exit code from being 0, as in every other output."""
    table = Table(title=title, show_lines=False)
    table.add_column("check")
    for status in Status:
        table.add_column(status.value, justify="right", style=STATUS_STYLE[status.value])
    per_check: dict[str, dict[str, int]] = {}
    for f in results.findings:
        per_check.setdefault(f.check, {s.value: 0 for s in Status})[f.status.value] += 1
    for check_id, counts in per_check.items():
        table.add_row(escape(check_id), *(str(counts[s.value] or "") for s in Status))
    out.print(table)

    causes, rest = by_cause(results.findings)
    blocking = [f for f in rest if _blocks(f, results.fail_on)]
    advisory = sorted(not_blocking(rest, results.fail_on), key=lambda f: f.status is not Status.FAIL)
    if causes:
        count = sum(len(found) for _, found in causes)
        lines = [f"  [magenta]ERROR[/] {_term(cause.headline(len(found)))} ({_term(', '.join(sorted({f.check for f in found})))})"
                 for cause, found in causes]
        _print_list(f"[bold]Could not be evaluated[/] ({count:,} findings, {len(causes)} "
                    f"{'cause' if len(causes) == 1 else 'causes'}):", lines, len(lines))
    if blocking:
        fails = [f for f in blocking if f.status is Status.FAIL]
        # errors without a known cause, and warnings under --fail-on warn
        others = [f for f in blocking if f.status is not Status.FAIL]
        ordered = fails + sorted(others, key=lambda f: f.status is not Status.ERROR)
        label = "Failures" if not others else "Blocking"
        _print_list(f"[bold]{label}[/] ({len(ordered):,}):", [_finding_line(f) for f in ordered], len(ordered))
    if advisory:
        _print_list(f"[bold]{not_blocking_title(advisory)}[/] ({len(advisory):,}, not blocking under --fail-on "
                    f"{results.fail_on}):", [_finding_line(f) for f in advisory], len(advisory))
    w = results.waivers
    if w.applied or w.expired or w.unused:
        out.print(f"waivers: {len(w.applied)} applied, {len(w.expired)} expired (no longer applied), "
                  f"{len(w.unused)} matched nothing")
        for item in w.expired:
            err.print(f"[yellow]expired waiver[/] (no longer applied): {_term(_waiver_text(item))}")
        known = results.selection.checks_known if results.selection is not None else []
        for item in w.unused:
            check_glob = item.check
            hint = ""
            if known and not any(fnmatch.fnmatchcase(c, check_glob) for c in known):
                hint = f" — no check has that id{did_you_mean(check_glob, known)}"
            err.print(f"[yellow]unused waiver[/] (matched no finding): {_term(_waiver_text(item))}{_term(hint)}")
    for problem in [*results.problems, *problems]:
        err.print(f"[yellow]problem:[/] {escape(problem)}")
    for fmt, path in outputs.items():
        if not any(str(path) in p for p in problems):
            out.print(f"{fmt} written to {escape(str(path))}")
    selection = results.selection
    if selection is not None and selection.partial:
        left_out = [c for c in selection.checks_known if c not in set(selection.checks_run)]
        out.print(f"[yellow]partial run:[/] {len(selection.checks_run)} of {len(selection.checks_known)} checks "
                  f"evaluated; not evaluated: {escape(', '.join(left_out))}")
    s = results.summary
    style, tail = VERDICT_TEXT[results.verdict.value]
    waived = f" ({s['waived']} waived)" if s.get("waived") else ""
    blocking_total = len(results.blocking())
    out.print(f"[{style}]{escape(results.headline)}[/]: {s['pass']} pass, {s['fail']} fail, {s['warn']} warn, "
              f"{s['error']} error, {s['skip']} skip{waived}; {blocking_total:,} blocking — {tail}")


def _waiver_text(waiver: WaiverEntry) -> str:
    who = "".join(f" {key} {value}" for key, value in (("target", waiver.target), ("account", waiver.account)) if value)
    return f"{waiver.check} subject {waiver.subject}{who}, expires {waiver.expires.isoformat()}: {waiver.justification}"


def main() -> None:
    """Console entry point: map our errors to exit codes; a bug is exit 4, never 0."""
    _setup_logging()
    try:
        # standalone_mode=False makes click *return* the code of typer.Exit instead of raising it
        returned = app(prog_name="offlineprep", standalone_mode=False)
        sys.exit(returned if isinstance(returned, int) else 0)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except OfflineprepError as exc:
        err.print(f"offlineprep: error: {escape(_scrubber(str(exc)))}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("offlineprep: interrupted")
        sys.exit(130)
    except Exception as exc:
        # typer >= 0.2x vendors click; its exceptions carry exit_code and format_message()
        if type(exc).__name__ == "Abort":
            sys.exit(130)
        code = getattr(exc, "exit_code", None)
        if hasattr(exc, "format_message") and isinstance(code, int):
            message = exc.format_message()
            if message:  # `offlineprep` alone has printed its help and has nothing to add
                err.print(f"offlineprep: usage: {escape(_scrubber(message))}")
            sys.exit(2 if code in (1, 2) else code)
        err.print(f"offlineprep: internal error: {type(exc).__name__}: {escape(_scrubber(str(exc)))} "
                  "(a bug; set OFFLINEPREP_DEBUG=1 for the traceback)")
        if os.environ.get("OFFLINEPREP_DEBUG"):
            err.print(_scrubber(traceback.format_exc()), markup=False)
        sys.exit(4)

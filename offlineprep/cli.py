"""The command line (Typer). Thin: parse, call the engine, print, map our errors to exit codes.

Exit codes (README, "Exit codes"): 0 ready; 1 findings at or above --fail-on; 2 bad usage or invalid site file;
3 no failure but some checks could not be evaluated; 4 internal error (a bug: one line, the full
traceback with OFFLINEPREP_DEBUG=1). An internal bug never exits 0.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from offlineprep import __version__, prompts, terminal
from offlineprep.engine import Catalogue, CheckSpec, discover, needs_of
from offlineprep.errors import OfflineprepError, UsageError
from offlineprep.facts import Facts
from offlineprep.model import FailOn, Finding
from offlineprep.prompts import scrubber
from offlineprep.render import STDOUT
from offlineprep.terminal import LISTED, err, escape, out, term
from offlineprep.verdict import judge

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Read-only preflight for Hyper-V offline initial replication (ASR VMM-to-VMM, Hyper-V Replica).",
    pretty_exceptions_enable=False,
    # plain help: Typer's rich help shows a flag as `--demo <bool>` and a list as `<list[str]>`
    rich_markup_mode=None,
)


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


def _outputs(also: dict[str, Path | None] | None = None, **paths: Path | None) -> dict[str, Path]:
    """The report outputs asked for, by format, once every file the command will write (`also`: other
    options that write one, such as --save-facts) passed `_check_output_paths`; what the command prints
    then goes to stderr when one of them is standard output."""
    names = {"html": "html", "json": "json", "junit": "junit", "markdown": "markdown", "fix_script": "fix-script"}
    chosen = {names[k]: v for k, v in paths.items() if v is not None}
    written = {f"--{fmt}": path for fmt, path in chosen.items()}
    written.update({option: path for option, path in (also or {}).items() if path is not None})
    _check_output_paths(written)
    terminal.summary_on_stderr(any(str(p) == STDOUT for p in written.values()))
    return chosen


def _check_output_paths(options: dict[str, Path]) -> None:
    """Every file a command will write, checked before anything is asked for or sent: a usage error
    (exit 2) naming each option and path that cannot be written (a folder, a missing folder, a file where
    a folder should be, two options on one file, more than one on standard output), all at once. A
    late failure would cost the run's collection, and a folder made silently hides a typo."""
    problems: list[str] = []
    dashes = [option for option, path in options.items() if str(path) == STDOUT]
    if len(dashes) > 1:
        problems.append(f"{' and '.join(dashes)} all write to standard output (-): at most one output may")
    seen: dict[str, str] = {}
    for option, path in options.items():
        if str(path) == STDOUT:
            continue
        where = f"{option} {path}"
        key = os.path.realpath(path)
        if key in seen:
            problems.append(f"{seen[key]} and {where} are the same file: give each output its own")
            continue
        seen[key] = where
        if path.is_dir():
            problems.append(f"{where}: is a folder; give a file name in it")
            continue
        folder = path.parent
        existing = next((p for p in [folder, *folder.parents] if p.exists() or p.is_symlink()), Path("."))
        if not existing.is_dir():
            problems.append(f"{where}: {existing} is a file, not a folder")
        elif existing != folder:
            problems.append(f"{where}: the folder {folder} does not exist (create it first)")
        elif not os.access(folder, os.W_OK | os.X_OK):
            problems.append(f"{where}: the folder {folder} is not writable")
    if problems:
        raise UsageError("cannot write the outputs, and nothing was sent:\n  " + "\n  ".join(problems))


# --------------------------------------------------------------------------- commands

# The usage line of each command, with its arguments named as the README writes them (Typer would
# print `{results_file}`)
USAGE = {
    "preflight": "(--config SITE.toml | --demo) [OPTIONS]",
    "collect": "--config SITE.toml --output FACTS.json [OPTIONS]",
    "report": "RESULTS.json [OPTIONS]",
    "checks": "[ID|GLOB...] [OPTIONS]",
    "init": "[SITE.toml | -] [OPTIONS]",
    "plan": "(--config SITE.toml | --demo) --output PLAN.json [OPTIONS]",
    "apply": "PLAN.json (--config SITE.toml | --demo) [--yes] [--record RECORD.json] [OPTIONS]",
    "revert": "RECORD.json (--config SITE.toml | --demo) [--yes] [OPTIONS]",
    "demo": "[--apply [--revert]] [--workdir DIR]",
}


class _Command(TyperCommand):
    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [USAGE.get(self.name or "", "[OPTIONS]")]

    def get_help(self, ctx: Any) -> str:
        # an argument of many values (`checks [ID|GLOB...]`) is named by its metavar; Typer adds `<list[str]>`
        return str(super().get_help(ctx)).replace(" <list[str]>", "")


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
    outputs = _outputs(html=html, json=json_file, junit=junit, markdown=markdown, fix_script=fix_script,
                       also={"--save-facts": save_facts})
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

    if not demo and facts_file is None:
        _warn_weak_transports(site)
    try:
        if facts_file is not None:
            facts = _load_facts(facts_file)
            _refuse_other_site(site, facts, facts_file, "the demo's site" if demo else f"the site file {config}")
        else:
            facts = _collect_with_progress(site, needs_of(selected), collectors)
    finally:
        cleanup()
    if save_facts is not None:
        write_atomically(save_facts, scrubber(facts.to_json()) + "\n")

    options = pipeline.RunOptions(fail_on=fail_on.value, waivers=waiver_list, problems=list(catalogue.problems),
                                  known_checks=catalogue.ids, only=list(only or []), skip=list(skip or []),
                                  facts_file=str(facts_file) if facts_file is not None else None)
    results = pipeline.build_results(site, selected, facts, options)
    results = prompts.scrub_results(results)
    problems = write_outputs(results, outputs)
    terminal.print_summary(results, outputs, problems)
    if save_facts is not None:
        out.print(f"facts written to {escape(str(save_facts))} (evaluate them again with --facts)")
    code = judge(results, problems=problems).exit_code  # an output not written is never READY
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

    _outputs(also={"--output": output})
    site = load_site(config)
    selected = _select(_catalogue(checks_dir), only, skip)
    _warn_weak_transports(site)
    facts = _collect_with_progress(site, needs_of(selected), pipeline.Collectors())
    write_atomically(output, scrubber(facts.to_json()) + "\n")
    hosts = facts.hosts or {}
    failed = sorted(name for name, h in hosts.items() if h.error is not None or not h.reachable)
    directory_error = next((d.error for d in (facts.directories or {}).values() if d.error is not None), None)
    terminal.print_collected(output, facts, failed, directory_error)
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
    from offlineprep.render import json_out, write_outputs

    results = json_out.load(results_file)
    if fail_on is not None:
        results = results.model_copy(update={"fail_on": fail_on.value})
    outputs = _outputs(html=html, json=json_file, junit=junit, markdown=markdown, fix_script=fix_script)
    problems = write_outputs(results, outputs)
    terminal.print_summary(results, outputs, problems, title=f"offlineprep report: {results_file}")
    code = judge(results, problems=problems).exit_code
    raise typer.Exit(0 if exit_zero else code)


@app.command("checks", cls=_Command, short_help="The check catalogue.")
def list_checks(
    ids: Annotated[list[str] | None, typer.Argument(
        metavar="[ID|GLOB...]", help="Ids or globs, e.g. 'path.*' (default: all).",
        show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The catalogue as JSON (why, documentation links).")] = False,
    checks_dir: ChecksDirOption = None,
) -> None:
    """The check catalogue: each check's id, severity, what it reads, title, why it matters and Microsoft's
    documentation; with ids or globs, those checks only."""
    catalogue = _catalogue(checks_dir)
    unknown = catalogue.unmatched(ids or [])
    if unknown:
        raise UsageError("no check has the id " + ", ".join(f"{glob!r}{catalogue.suggest(glob)}" for glob in unknown)
                         + "; `offlineprep checks` lists them all")
    chosen = catalogue.select(ids or [])
    if as_json:
        payload = {"checks": [c.catalogue_entry() for c in chosen], "problems": catalogue.problems}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return
    terminal.print_catalogue(catalogue, __version__, chosen if ids else None)


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
    "--demo", help="Against the built-in lab (one lab per process: offlineprep demo --apply runs the loop).")]


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
    from offlineprep.apply import describe
    from offlineprep.apply.planner import make_plan, plan_text
    from offlineprep.render import write_atomically
    from offlineprep.waivers import load_waivers

    site, connections = _site_for_changes(config, demo)
    if not demo:
        _warn_weak_transports(site)
    catalogue = _catalogue(checks_dir)
    selected = _select(catalogue, only, skip)
    waiver_list = load_waivers(waivers) if waivers else []
    facts = _collect_with_progress(site, needs_of(selected), connections.collectors)
    options = pipeline.RunOptions(fail_on=fail_on.value, waivers=waiver_list, known_checks=catalogue.ids,
                                  only=list(only or []), skip=list(skip or []))
    results = pipeline.build_results(site, selected, facts, options)
    plan = make_plan(results, pipeline.directory_server(site), checks=[c.id for c in selected], fail_on=fail_on.value)
    write_atomically(output, scrubber(plan_text(plan)))
    terminal.print_plan_steps(plan, site, title=f"offlineprep plan: {len(plan.steps)} steps for {len(plan.findings)} findings",
                              names=describe.names_from(facts))
    for ref in plan.not_evaluated[:LISTED]:
        err.print(f"[magenta]not evaluated[/] (nothing planned): {term(ref.label)}: {term(ref.message)}")
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
    waivers: Annotated[Path | None, typer.Option(
        "--waivers", metavar="FILE", help="The waivers file plan was given: the re-check judges as preflight does.")]
    = None,
    wait_replication: Annotated[float | None, typer.Option(
        "--wait-replication", metavar="SECONDS", min=0,
        help="After the AD changes, read every writable DC until all hold them (at most SECONDS), then check "
             "again. Without it apply reads them once and says which DCs are still behind.")] = None,
) -> None:
    """Print every step of the plan in the order it runs (where, from the state read now to which, with which
    rights) and change nothing; with --yes make exactly those changes, write the record, and check again as
    preflight does (the plan's checks, the whole site). Exit 0 the re-check is READY; 1 it is NOT READY (a
    finding blocks, a step left by hand among them); 3 a step failed, or the re-check is INCOMPLETE; 2 usage."""
    from offlineprep import pipeline
    from offlineprep.apply import describe, planner, replan, runner
    from offlineprep.apply.model import How
    from offlineprep.waivers import load_waivers

    plan = planner.load_plan(plan_file)
    site, connections = _site_for_changes(config, demo)
    planner.check_site(plan, pipeline.directory_server(site), site.winrm is not None, plan_file)
    record_path = record or _default_record_path(plan_file)
    if yes and record_path.exists():
        raise UsageError(f"{record_path} exists: a record is what revert needs, so it is never overwritten; "
                         "choose another --record")
    _refuse_weak_transports(site, plan.steps, demo, yes, "apply")
    waiver_list = load_waivers(waivers) if waivers else []
    catalogue = _catalogue(checks_dir).checks
    recheck = [c for c in catalogue if c.id in set(plan.checks)] or replan.plan_checks(plan, catalogue)
    how_many = {way: sum(1 for s in plan.steps if s.how is way) for way in How}
    # every password at once, before anything is sent: the read-only ones collect again (the re-plan, and with
    # --yes the re-check), the accounts for changes make them
    password_for = _ask_passwords(site, runner.secrets_for_changes(site, plan.steps) if yes else [],
                                  needs_of(recheck if yes else replan.plan_checks(plan, catalogue)),
                                  directory=yes and bool(how_many[How.DIRECTORY]),
                                  hosts=yes and bool(how_many[How.HOST]))
    held = replan.replan(plan, site, catalogue, connections.collectors, password_for)
    terminal.print_plan_steps(held.approved, site, title=f"offlineprep apply {plan_file}: {len(plan.steps)} steps for "
                                                         f"{len(plan.findings)} findings" + ("" if yes else " (dry run)"),
                              names=describe.names_from(held.facts), passing=held.passing, refused=held.refused,
                              live=True)
    if held.refused:
        raise replan.PlanRefused(str(plan_file), held.refused)
    doable = [s for s in held.approved.steps if s.how is not How.BY_HAND]
    if not yes:
        out.print(f"[bold]Dry run[/]: nothing was changed. Run it again with --yes to make these {len(doable)} "
                  "changes and check again.")
        raise typer.Exit(0)
    if not doable and not held.passing:
        out.print("nothing for apply to do: every step is one to do by hand")
        raise typer.Exit(0)
    out.print(f"[bold]Applying[/] {len(doable)} steps; the record is written to {escape(str(record_path))} as it goes")
    applied = runner.apply_plan(plan, site, connections=connections, password_for=password_for,
                                record_path=record_path, checks=catalogue, plan_file=str(plan_file),
                                plan_sha256=planner.digest(plan_file), scrub=scrubber, replanned=held,
                                on_step=lambda step: terminal.print_step_done(step, plan.site.directory_server))
    if how_many[How.DIRECTORY]:
        _wait_for_replication(site, catalogue, connections.collectors, password_for, wait_replication)
    out.print("[bold]Checking again[/] as preflight does (read-only account)")
    options = pipeline.RunOptions(fail_on=plan.fail_on, waivers=waiver_list, known_checks=[c.id for c in catalogue])
    runner.recheck(plan, applied, site, catalogue, connections, password_for, record_path, scrubber, options)
    code = runner.apply_exit_code(plan, applied)
    terminal.print_apply_verdict(plan, applied, code)
    if demo:  # another process starts a lab of its own, as it was built
        out.print(f"record written to {escape(str(record_path))}; the demo undoes it in the same lab with "
                  "scripts/demo.sh --apply --revert")
    else:
        out.print(f"record written to {escape(str(record_path))}; to undo: offlineprep revert "
                  f"{escape(str(record_path))} --config {escape(str(config))} --yes")
    raise typer.Exit(code)


def _wait_for_replication(site: Any, catalogue: Sequence[CheckSpec], collectors: Any, password_for: Any,
                          seconds: float | None) -> None:
    """apply's AD changes were made on the DC the site file names; a host asks its own site's DC. With
    --wait-replication every DC is read until all agree (bounded, a line per reading); without it, once,
    naming the DCs still behind (SPEC 14; offlineprep.apply.replication)."""
    from offlineprep.apply.replication import CHECK_ID, wait_for_replication

    check = next((c for c in catalogue if c.id == CHECK_ID), None)
    if check is None:
        return
    if seconds is not None:
        out.print(f"[bold]Waiting[/] up to {seconds:g} s for every domain controller to hold the changes")

    def progress(polls: int, elapsed: float, behind: list[Finding]) -> None:
        if seconds is not None:
            left = f"{len(behind)} not on every DC yet" if behind else "every DC agrees"
            out.print(f"  reading {polls}, {elapsed:.0f} s of {seconds:g}: {left}")

    wait = wait_for_replication(site, check, collectors, password_for, seconds or 0, on_poll=progress)
    if wait.agreed:
        out.print("every domain controller holds the same values" + (f" (after {wait.seconds:g} s)" if seconds else ""))
        return
    head = (f"still not on every domain controller after {wait.seconds:g} s" if seconds is not None else
            "not on every domain controller yet (apply --wait-replication SECONDS waits for them)")
    out.print(f"[yellow]{escape(head)}[/]:")
    for finding in wait.behind[:5]:
        out.print(f"  {escape(finding.subject)}: {escape(finding.message)}")
    if len(wait.behind) > 5:
        out.print(f"  and {len(wait.behind) - 5} more")


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
    state is still what apply left; report every other step; then read again what it put back. Without
    --yes, a dry run: each step's state read now, and what revert would do with it. Exit 0 all put back
    and read again as before apply; 1 some were changed since apply and left alone, or not read back as
    before; 3 a step failed or could not be run; 2 usage."""
    from offlineprep import pipeline
    from offlineprep.apply import planner, runner
    from offlineprep.apply.model import How

    applied = planner.load_record(record_file)
    planner.check_record_bound(applied, record_file)
    site, connections = _site_for_changes(config, demo)
    server = pipeline.directory_server(site)
    if any(s.how is How.DIRECTORY and s.may_have_changed() for s in applied.steps) and \
            (applied.directory_server or "").casefold() != (server or "").casefold():
        raise UsageError(f"{record_file} changed AD through {applied.directory_server}, but the site file's "
                         f"[directory] server is {server}: revert with the site file apply used")
    changed = [s for s in applied.steps if s.may_have_changed() and s.how is not How.BY_HAND]
    _refuse_weak_transports(site, changed, demo, yes, "revert")
    ordered = [s for part in runner.revert_sources(applied) for s in part]
    how_many = {How.DIRECTORY: sum(1 for s in changed if s.how is How.DIRECTORY),
                How.HOST: sum(1 for s in changed if s.how is How.HOST)}
    if not yes:
        # the dry run reads the live state of each step (read-only accounts), as revert reads it before writing
        password_for = _ask_passwords(site, runner.secrets_for_reading(site, ordered), frozenset(),
                                      directory=bool(how_many[How.DIRECTORY]), hosts=bool(how_many[How.HOST]))
        preview = runner.preview_revert(applied, site, connections, password_for)
        terminal.print_revert_steps(record_file, applied, ordered, preview, server)
        out.print("[bold]Dry run[/]: nothing was changed. Run it again with --yes to put these back where they are "
                  "still as apply left them.")
        raise typer.Exit(0)
    terminal.print_revert_steps(record_file, applied, ordered, None, server)
    password_for = _ask_passwords(site, [*runner.secrets_for_changes(site, changed),
                                         *runner.secrets_for_reading(site, ordered)], frozenset(),
                                  directory=bool(how_many[How.DIRECTORY]), hosts=bool(how_many[How.HOST]))
    path = record or record_file.with_name(record_file.stem + f".revert-{_stamp()}.json")
    if path.exists():
        raise UsageError(f"{path} exists: choose another --record")
    reverted = runner.revert_record(applied, site, connections=connections, password_for=password_for,
                                    record_path=path, record_file=str(record_file), scrub=scrubber,
                                    on_step=lambda step: terminal.print_step_done(step, applied.directory_server))
    code = runner.revert_exit_code(reverted)
    terminal.print_revert_verdict(reverted, code, path)
    raise typer.Exit(code)


@app.command("demo", cls=_Command, short_help="The built-in lab: the preflight, or with --apply the whole loop.")
def demo_command(
    apply: Annotated[bool, typer.Option(
        "--apply", help="The loop of docs/apply.md: preflight, plan, apply (a dry run, then --yes), the re-check.")]
    = False,
    revert: Annotated[bool, typer.Option("--revert", help="With --apply: also revert the record at the end.")] = False,
    workdir: Annotated[Path | None, typer.Option(
        "--workdir", metavar="DIR", help="Where plan.json and record.json go (default: a new temporary folder).")]
    = None,
) -> None:
    """The built-in lab (an in-process directory, a simulated VMM server, failover cluster and Windows hosts
    on loopback, with mistakes on purpose). Without --apply: the read-only preflight, as `preflight --demo`.
    With --apply: the loop, in one process, so every command sees the changes of the one before; exits as
    apply does (as revert does with --revert)."""
    if revert and not apply:
        raise UsageError("--revert undoes what --apply changed: give --apply --revert")
    if not apply:
        preflight(demo=True)
        return
    import tempfile

    raise typer.Exit(_demo_loop(workdir or Path(tempfile.mkdtemp(prefix="offlineprep-demo-")), revert=revert))


def _demo_loop(workdir: Path, revert: bool = False) -> int:
    """The whole loop against one lab, through the commands themselves: preflight, plan, apply (a dry run,
    then --yes), and with `revert` the revert of the record (after an apply that exited 1 too: it changed
    what it could, and the lab keeps steps by hand). Returns apply's exit code (revert's, if run)."""
    workdir.mkdir(parents=True, exist_ok=True)
    plan, record = workdir / "plan.json", workdir / "record.json"
    if record.exists():
        record.unlink()  # a record from an earlier demo run is of another lab
    steps: list[tuple[str, list[str], Callable[[], object]]] = [
        ("Read-only preflight of the lab (the mistakes are on purpose)", ["preflight", "--demo"],
         lambda: preflight(demo=True)),
        ("Plan the fixes of what fails", ["plan", "--demo", "--output", str(plan)],
         lambda: plan_command(output=plan, demo=True)),
        ("What apply would do (a dry run: nothing is changed)", ["apply", str(plan), "--demo"],
         lambda: apply_command(plan, demo=True)),
        ("Apply the plan, then check again", ["apply", str(plan), "--demo", "--yes", "--record", str(record)],
         lambda: apply_command(plan, demo=True, yes=True, record=record))]
    if revert:
        steps.append(("Put everything back as it was", ["revert", str(record), "--demo", "--yes"],
                      lambda: revert_command(record, demo=True, yes=True)))
    code = 0
    for number, (title, args, command) in enumerate(steps, 1):
        print(f"\n=== {number}. {title}: offlineprep {' '.join(args)}\n", flush=True)
        code = _exit_code(command)
        # apply's 1 is "applied, but the re-check is not READY" (the lab's steps by hand): the revert still runs
        if args[0] != "preflight" and code != 0 and not (args[0] == "apply" and code == 1 and revert):
            print(f"offlineprep {args[0]} exited {code}", flush=True)
            return code
    return code


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


def _warn_weak_transports(site: Any) -> None:
    """Each connection the site file leaves unprotected, once, naming the setting (docs/security.md)."""
    from offlineprep.site import weak_transports

    for problem in weak_transports(site):
        err.print(f"[yellow]warning:[/] {escape(problem)}")


def _refuse_weak_transports(site: Any, steps: Any, demo: bool, yes: bool, command: str) -> None:
    """apply and revert change AD and hosts only over LDAP with TLS and encrypted WinRM; a dry run warns.
    The demo's lab is in this process and on loopback."""
    from offlineprep.apply.model import How
    from offlineprep.apply.runner import directories_used
    from offlineprep.site import weak_transports

    if demo:
        return
    hosts = any(s.how is How.HOST for s in steps)
    problems = weak_transports(site, directories_used(site, steps), winrm=hosts)
    allowed = weak_transports(site, [], winrm=hosts) if site.winrm is not None and site.winrm.allow_unencrypted else []
    for problem in allowed:  # the site file's own choice, for a lab: said, not refused
        err.print(f"[yellow]warning:[/] {escape(problem)} (allow_unencrypted = true)")
    problems = [p for p in problems if p not in allowed]
    if problems and yes:
        raise UsageError(f"{command} makes changes only over protected connections, and nothing was sent:\n  "
                         + "\n  ".join(problems))
    for problem in problems:
        err.print(f"[yellow]warning:[/] {escape(problem)}; {command} --yes refuses it")


def _ask_passwords(site: Any, for_changes: list[Any], recheck_needs: Any, *, directory: bool,
                   hosts: bool) -> prompts.PasswordFor:
    """This machine's readiness first, then every password at once (the accounts for changes and the
    read-only ones of the re-check), before anything is sent."""
    from offlineprep import localcheck, pipeline

    plan = pipeline.collection_scope(site, recheck_needs) if recheck_needs else None
    problems = localcheck.problems(site, directory=directory or bool(plan and plan.directory),
                                   hosts=hosts or bool(plan and plan.hosts))
    if problems:
        raise UsageError("this machine is not ready to make the changes:\n  " + "\n  ".join(problems))
    return prompts.ask_all([*for_changes, *(pipeline.secrets_needed(site, recheck_needs) if recheck_needs else [])])


def _stamp() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _default_record_path(plan_file: Path) -> Path:
    return plan_file.with_name(plan_file.stem + f".record-{_stamp()}.json")


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
    from offlineprep.facts import FACTS_SCHEMA, FACTS_SCHEMAS
    from offlineprep.jsonfile import load_document

    return load_document(path, Facts, what="facts file", schema=FACTS_SCHEMA, older=FACTS_SCHEMAS,
                         how_to_make="offlineprep collect --config SITE.toml --output FACTS.json")


def _refuse_other_site(site: Any, facts: Facts, facts_file: Path, which: str) -> None:
    """Saved facts judge the subjects they were collected for: with a site file naming others, every
    output would mix this file's paths with the facts' hosts. Refused, naming each difference."""
    from offlineprep import pipeline

    differences = pipeline.site_not_in_facts(site, facts)
    if differences:
        raise UsageError(f"{facts_file} does not hold what {which} names, so it cannot be judged from it; "
                         "collect again with this site file (offlineprep collect --config SITE.toml --output "
                         "FACTS.json):\n  " + "\n  ".join(differences))


def _collect_with_progress(site: Any, needs: Any, collectors: Any) -> Facts:
    """Check this machine, ask for every password, then collect with a progress bar: a prompt is
    never drawn over by the bar, and nothing goes over the network before the local checks pass."""
    from offlineprep import localcheck, pipeline

    plan = pipeline.collection_scope(site, needs)
    problems = localcheck.problems(site, directory=plan.directory is not None, hosts=plan.winrm)
    if problems:
        raise UsageError("this machine is not ready to run the checks:\n  " + "\n  ".join(problems))
    password_for = prompts.ask_all(pipeline.secrets_needed(site, needs))
    with terminal.host_progress(len(plan.hosts)) as done:
        return _collect_reporting_interrupt(site, needs, collectors, password_for, done, len(plan.hosts))


def _collect_reporting_interrupt(site: Any, needs: Any, collectors: Any, password_for: Any, callback: Any,
                                 total: int) -> Facts:
    from offlineprep import pipeline

    finished: list[str] = []

    def track(host: Any) -> None:
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


def _in_our_words(exc: Exception) -> str | None:
    """A bad option value in the tool's words, not the validation library's Typer converts with: the
    option, the value, what it takes (every allowed value, and the nearest one); None: click's own
    message serves (an unknown option or command already names it, with a suggestion)."""
    from offlineprep.suggest import did_you_mean

    param, cause = getattr(exc, "param", None), exc.__cause__
    errors = getattr(cause, "errors", None)
    if param is None or not callable(errors):
        return None
    first = errors()[0]
    value = str(first.get("input", ""))
    name = "/".join(getattr(param, "opts", None) or []) or str(getattr(param, "metavar", None) or param.name)
    descriptor = getattr(param, "type_descriptor", None)
    annotation = getattr(descriptor, "annotation", None)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        allowed = [str(member.value) for member in annotation]
        hint = did_you_mean(value.casefold(), allowed)
        near = [a for a in allowed if value.casefold().startswith(a) or a.startswith(value.casefold())]
        if not hint and len(near) == 1:  # `warnings` for warn
            hint = f" (did you mean {near[0]!r}?)"
        return f"{name} {value!r} is not one of {', '.join(allowed)}{hint}"
    limits = first.get("ctx") or {}
    said = {"int_parsing": "a whole number is expected", "float_parsing": "a number is expected",
            "greater_than_equal": f"the least it takes is {limits.get('ge')}",
            "greater_than": f"it takes more than {limits.get('gt')}",
            "less_than_equal": f"the most it takes is {limits.get('le')}",
            "less_than": f"it takes less than {limits.get('lt')}"}.get(str(first.get("type")))
    return f"{name} {value!r}: {said}" if said else None


def main() -> None:
    """Console entry point: map our errors to exit codes; a bug is exit 4, never 0."""
    prompts.setup_logging()
    # standalone_mode=False makes click *return* the code of typer.Exit instead of raising it
    sys.exit(_exit_code(lambda: app(prog_name="offlineprep", standalone_mode=False)))


def _exit_code(command: Callable[[], object]) -> int:
    """Run a command (the whole command line, or one command of the demo's loop) and say how it ended:
    its exit code; our errors, usage errors and bugs printed in one line each, as their exit codes."""
    try:
        returned = command()
        return returned if isinstance(returned, int) else 0
    except typer.Exit as exc:
        return exc.exit_code
    except OfflineprepError as exc:
        err.print(f"offlineprep: error: {escape(scrubber(str(exc)))}")
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("offlineprep: interrupted")
        return 130
    except Exception as exc:
        # typer >= 0.2x vendors click; its exceptions carry exit_code and format_message()
        if type(exc).__name__ == "Abort":
            return 130
        code = getattr(exc, "exit_code", None)
        if hasattr(exc, "format_message") and isinstance(code, int):
            message = _in_our_words(exc) or exc.format_message()
            if message:  # `offlineprep` alone has printed its help and has nothing to add
                err.print(f"offlineprep: usage: {escape(scrubber(message))}")
            return 2 if code in (1, 2) else code
        err.print(f"offlineprep: internal error: {type(exc).__name__}: {escape(scrubber(str(exc)))} "
                  "(a bug; set OFFLINEPREP_DEBUG=1 for the traceback)")
        if os.environ.get("OFFLINEPREP_DEBUG"):
            err.print(scrubber(traceback.format_exc()), markup=False)
        return 4

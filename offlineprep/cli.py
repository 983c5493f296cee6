"""The command line (Typer). Thin: parse, call the engine, print, map our errors to exit codes.

Exit codes (SPEC §3): 0 ready; 1 findings at or above --fail-on; 2 bad usage or invalid site file;
3 no failure but some checks could not be evaluated; 4 internal error (a bug: one line, the full
traceback with OFFLINEPREP_DEBUG=1). An internal bug never exits 0.
"""

from __future__ import annotations

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

from offlineprep import __version__
from offlineprep.display import BIDI_CONTROLS
from offlineprep.engine import Catalogue, CheckSpec, discover, needs_of
from offlineprep.errors import OfflineprepError, UsageError
from offlineprep.facts import Facts, HostFacts
from offlineprep.model import Results, Status
from offlineprep.secrets import SecretScrubber, get_secret

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Read-only preflight for Hyper-V offline initial replication (ASR VMM-to-VMM, Hyper-V Replica).",
    pretty_exceptions_enable=False,
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
    "ready": ("[bold green]READY[/]", "every selected prerequisite holds"),
    "not-ready": ("[bold red]NOT READY[/]", "fix the failures above before enabling replication"),
    "incomplete": ("[bold magenta]INCOMPLETE[/]", "nothing failed, but some checks could not be evaluated"),
}


class FailOn(str, Enum):
    fail = "fail"
    warn = "warn"
    error = "error"
    never = "never"


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
        raise UsageError(f"--only {glob!r} matches no check; see `offlineprep checks` for the ids")
    for glob in catalogue.unmatched(skip or []):
        err.print(f"[yellow]warning:[/] --skip {escape(repr(glob))} matches no check; nothing was left out for it")
    selected = catalogue.select(only or [], skip or [])
    if not selected:
        raise UsageError(f"--skip {', '.join(map(repr, skip or []))} leaves no check to run; see `offlineprep checks`")
    return selected


def _outputs(**paths: Path | None) -> dict[str, Path]:
    names = {"html": "html", "json": "json", "junit": "junit", "markdown": "markdown", "fix_script": "fix-script"}
    return {names[k]: v for k, v in paths.items() if v is not None}


# --------------------------------------------------------------------------- commands


@app.command()
def preflight(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Site file (TOML).")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Run against the built-in lab.")] = False,
    facts_file: Annotated[Path | None, typer.Option("--facts", help="Evaluate saved facts; no network.")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the HTML report.")] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="Write JSON results.")] = None,
    junit: Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML.")] = None,
    markdown: Annotated[Path | None, typer.Option("--markdown", help="Write a Markdown summary.")] = None,
    fix_script: Annotated[Path | None, typer.Option("--fix-script", help="Write the PowerShell fix script.")] = None,
    only: Annotated[list[str] | None, typer.Option("--only", help="Check id glob to run (repeatable).")] = None,
    skip: Annotated[list[str] | None, typer.Option("--skip", help="Check id glob to leave out (repeatable).")] = None,
    fail_on: Annotated[FailOn, typer.Option("--fail-on", case_sensitive=False,
                                            help="Lowest status that exits 1.")] = FailOn.fail,
    concurrency: Annotated[int | None, typer.Option("--concurrency", min=1, max=512)] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", min=1, help="Per-host timeout, seconds.")] = None,
    checks_dir: Annotated[list[Path] | None, typer.Option("--checks-dir", help="Extra folder of checks.")] = None,
    waivers: Annotated[Path | None, typer.Option("--waivers", help="Waivers file (TOML).")] = None,
    exit_zero: Annotated[bool, typer.Option("--exit-zero", help="Always exit 0 (report-only runs).")] = False,
) -> None:
    """Collect, check and report."""
    from offlineprep import pipeline
    from offlineprep.render import write_outputs
    from offlineprep.site import Site
    from offlineprep.sitefile import load_site
    from offlineprep.waivers import load_waivers

    if demo == (config is not None):
        raise UsageError("give exactly one of --config SITE.toml or --demo")
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

    options = pipeline.RunOptions(fail_on=fail_on.value, waivers=waiver_list, problems=list(catalogue.problems))
    results = pipeline.build_results(site, selected, facts, options)
    results = _scrub_results(results)
    problems = write_outputs(results, outputs, fail_on=fail_on.value)
    _print_summary(results, outputs, problems)
    code = pipeline.exit_code(results, fail_on.value)
    if problems and code == 0:
        code = 4  # a requested file we could not write is not "ready"
    raise typer.Exit(0 if exit_zero else code)


@app.command()
def collect(
    config: Annotated[Path, typer.Option("--config", "-c", help="Site file (TOML).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Facts file to write (JSON).")],
    only: Annotated[list[str] | None, typer.Option("--only")] = None,
    skip: Annotated[list[str] | None, typer.Option("--skip")] = None,
    checks_dir: Annotated[list[Path] | None, typer.Option("--checks-dir")] = None,
) -> None:
    """Gather facts only, for evaluation elsewhere (`preflight --facts`)."""
    from offlineprep import pipeline
    from offlineprep.render import write_atomically
    from offlineprep.sitefile import load_site

    site = load_site(config)
    selected = _select(_catalogue(checks_dir), only, skip)
    facts = _collect_with_progress(site, needs_of(selected), pipeline.Collectors())
    write_atomically(output, _scrubber(facts.to_json()) + "\n")
    hosts = facts.hosts or {}
    failed = sum(1 for h in hosts.values() if h.error is not None)
    out.print(f"facts written to {escape(str(output))}: {len(hosts)} hosts ({failed} with errors)"
              + (f", directory: {'error' if facts.directory.error else 'ok'}" if facts.directory else ""))


@app.command()
def report(
    results_file: Annotated[Path, typer.Argument(help="Saved JSON results.")],
    html: Annotated[Path | None, typer.Option("--html")] = None,
    json_file: Annotated[Path | None, typer.Option("--json")] = None,
    junit: Annotated[Path | None, typer.Option("--junit")] = None,
    markdown: Annotated[Path | None, typer.Option("--markdown")] = None,
    fix_script: Annotated[Path | None, typer.Option("--fix-script")] = None,
    fail_on: Annotated[FailOn, typer.Option("--fail-on", case_sensitive=False)] = FailOn.fail,
) -> None:
    """Re-render outputs from saved JSON results."""
    from offlineprep.render import json_out, write_outputs

    results = json_out.load(results_file)
    outputs = _outputs(html=html, json=json_file, junit=junit, markdown=markdown, fix_script=fix_script)
    if not outputs:
        raise UsageError("name at least one output: --html, --markdown, --junit, --json or --fix-script")
    problems = write_outputs(results, outputs, fail_on=fail_on.value)
    for problem in problems:
        err.print(f"[red]problem:[/] {escape(problem)}")
    for fmt, path in outputs.items():
        if not any(str(path) in p for p in problems):
            out.print(f"{fmt} written to {escape(str(path))}")
    raise typer.Exit(4 if problems else 0)


@app.command("checks")
def list_checks(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable catalogue.")] = False,
    checks_dir: Annotated[list[Path] | None, typer.Option("--checks-dir")] = None,
) -> None:
    """The check catalogue."""
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


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the example site file.")] = Path("site.toml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented example site file (it validates as it is)."""
    from offlineprep.example import EXAMPLE_SITE
    from offlineprep.render import write_atomically

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

    from offlineprep.facts import FACTS_SCHEMA

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
    if data["schema"] != FACTS_SCHEMA:
        raise UsageError(f"{path}: facts schema {data['schema']!r} is not supported: this offlineprep "
                         f"{__version__} reads {FACTS_SCHEMA}; collect again with this version")
    try:
        return Facts.model_validate(data)  # already parsed (by json: see offlineprep.jsontext)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(f"{path}: not a valid offlineprep facts file at {where}: {first['msg']}") from None


def _collect_with_progress(site: Any, needs: Any, collectors: Any) -> Facts:
    from offlineprep import pipeline

    plan = pipeline.plan_collection(site, needs)
    total = len(plan.hosts)
    if total == 0 or not err.is_terminal:
        return _collect_reporting_interrupt(site, needs, collectors, None, total)
    with Progress(
        TextColumn("querying hosts"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[last]}"), console=err, transient=True,
    ) as progress:
        task = progress.add_task("hosts", total=total, last="")

        def done(host: HostFacts) -> None:
            mark = "ok" if host.error is None else f"error: {host.error.kind.value}"
            progress.update(task, advance=1, last=_term(f"{host.name} {mark}"))

        return _collect_reporting_interrupt(site, needs, collectors, done, total)


def _collect_reporting_interrupt(site: Any, needs: Any, collectors: Any, callback: Any, total: int) -> Facts:
    from offlineprep import pipeline

    finished: list[str] = []

    def track(host: HostFacts) -> None:
        finished.append(host.name)
        if callback:
            callback(host)

    try:
        return pipeline.collect(site, needs, collectors, _password_for, on_host_done=track)
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


def _print_summary(results: Results, outputs: dict[str, Path], problems: list[str]) -> None:
    table = Table(title="offlineprep preflight", show_lines=False)
    table.add_column("check")
    for status in Status:
        table.add_column(status.value, justify="right", style=STATUS_STYLE[status.value])
    per_check: dict[str, dict[str, int]] = {}
    for f in results.findings:
        per_check.setdefault(f.check, {s.value: 0 for s in Status})[f.status.value] += 1
    for check_id, counts in per_check.items():
        table.add_row(escape(check_id), *(str(counts[s.value] or "") for s in Status))
    out.print(table)
    blocking = [f for f in results.findings if f.status in (Status.FAIL, Status.ERROR) and not f.waived]
    for f in blocking[:25]:
        who = f.subject + (f" -> {f.target}" if f.target else "") + (f" as {f.account}" if f.account else "")
        style = STATUS_STYLE[f.status.value]
        out.print(f"  [{style}]{f.status.value.upper():5}[/] {_term(f.check)} {_term(who)}: {_term(f.message)}")
    if len(blocking) > 25:
        out.print(f"  … and {len(blocking) - 25} more (see the reports)")
    w = results.waivers
    if w.applied or w.expired or w.unused:
        out.print(f"waivers: {len(w.applied)} applied, {len(w.expired)} expired (no longer applied), "
                  f"{len(w.unused)} matched nothing")
        for item in w.expired:
            err.print(f"[yellow]expired waiver[/] (no longer applied): {_term(_waiver_text(item))}")
        for item in w.unused:
            err.print(f"[yellow]unused waiver[/] (matched no finding): {_term(_waiver_text(item))}")
    for problem in [*results.problems, *problems]:
        err.print(f"[yellow]problem:[/] {escape(problem)}")
    for fmt, path in outputs.items():
        if not any(str(path) in p for p in problems):
            out.print(f"{fmt} written to {escape(str(path))}")
    s = results.summary
    head, tail = VERDICT_TEXT[results.verdict.value]
    waived = f" ({s['waived']} waived)" if s.get("waived") else ""
    out.print(f"{head}: {s['pass']} pass, {s['fail']} fail, {s['warn']} warn, {s['error']} error, "
              f"{s['skip']} skip{waived} — {tail}")


def _waiver_text(waiver: dict[str, Any]) -> str:
    who = "".join(f" {key} {waiver[key]}" for key in ("target", "account") if waiver.get(key))
    return (f"{waiver.get('check')} subject {waiver.get('subject')}{who}, expires {waiver.get('expires')}: "
            f"{waiver.get('justification')}")


def main() -> None:
    """Console entry point: map our errors to exit codes; a bug is exit 4, never 0."""
    _setup_logging()
    try:
        # standalone_mode=False makes click *return* the code of typer.Exit instead of raising it
        returned = app(standalone_mode=False)
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

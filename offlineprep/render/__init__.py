"""Renderers: one module per format, each `write(results, path)` and a function of the results alone.

The registry imports modules lazily, so a run that asks only for JSON never loads Jinja2.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path

from offlineprep.model import Results
from offlineprep.privatefile import write_private

FORMATS: dict[str, str] = {
    "json": "offlineprep.render.json_out",
    "junit": "offlineprep.render.junit",
    "html": "offlineprep.render.html",
    "markdown": "offlineprep.render.markdown",
    "fix-script": "offlineprep.render.fixscript",
}


def writer_for(fmt: str) -> Callable[..., None]:
    module = importlib.import_module(FORMATS[fmt])
    writer: Callable[..., None] = module.write
    return writer


STDOUT = "-"  # an output path meaning standard output (cli.py lets at most one output be it)


def write_atomically(path: Path, text: str, *, bom: bool = False) -> None:
    """`-` is standard output, as UTF-8 whatever the locale (a pipeline parses it; the fix script keeps
    its byte-order mark, for a shell redirect to a .ps1 file).

    Every other output is a private file (offlineprep.privatefile): 0600 whatever the umask, never the mode
    of the file it replaces, and a reader never sees it half-written. `bom`: the fix script needs a
    UTF-8 byte-order mark (Windows PowerShell 5.1 reads a script without one in the ANSI code page,
    about_Character_Encoding); the other outputs must not have one (JSON forbids it, RFC 8259 8.1)."""
    if str(path) == STDOUT:
        sys.stdout.flush()
        data = ("\ufeff" if bom else "") + text
        binary = getattr(sys.stdout, "buffer", None)  # none when a test captured stdout as text
        if binary is None:
            sys.stdout.write(data)
        else:
            binary.write(data.encode("utf-8", "replace"))
            binary.flush()
        return
    write_private(path, text, bom=bom)


def write_outputs(results: Results, outputs: dict[str, Path], *, fail_on: str | None = None) -> list[str]:
    """Write every requested output; one that fails is reported, the others are still written.

    Every output is judged by `offlineprep.verdict` under `results.fail_on` (`fail_on` replaces it:
    `report --fail-on`). An output that cannot be written makes the run INCOMPLETE at least: the
    outputs already written are written again saying so, so that none of them says READY alone."""
    from offlineprep.verdict import with_verdict

    results = with_verdict(results, fail_on)
    problems: list[str] = []
    written: dict[str, Path] = {}
    for attempt in range(2):
        for fmt, path in (outputs if attempt == 0 else dict(written)).items():
            try:
                writer_for(fmt)(results, path)
                written[fmt] = path
            except Exception as exc:
                written.pop(fmt, None)
                problems.append(f"could not write the {fmt} output to {path}: {type(exc).__name__}: {exc}")
        if not problems or not written or attempt == 1:
            break
        results = with_verdict(results, problems=problems)
    return problems

"""Renderers: one module per format, each `write(results, path)` and a function of the results alone.

The registry imports modules lazily, so a run that asks only for JSON never loads Jinja2.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from offlineprep.model import Results

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


_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def write_atomically(path: Path, text: str, *, bom: bool = False) -> None:
    """Temp file in the same folder, then rename: a reader never sees a half-written report.

    An unpaired UTF-16 surrogate from a host cannot be written as UTF-8; values in PowerShell are
    spelled out by `pwsh.quote`, so what is left here is display text and becomes U+FFFD rather
    than costing the whole file. `bom` starts the file with a UTF-8 byte-order mark: Windows
    PowerShell 5.1 reads a script without one in the ANSI code page (about_Character_Encoding), so
    the fix script needs it; the other outputs must not have one (JSON forbids it, RFC 8259 8.1).
    """
    text = _LONE_SURROGATE.sub("\ufffd", text)
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig" if bom else "utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _mode_for(path: Path) -> int:
    """mkstemp makes the file owner-only; a report is meant to be handed on, so it gets what `open`
    would give it: the mode of the file it replaces, else 0666 less the umask."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)  # reading the umask means setting it; outputs are written from one thread
        os.umask(umask)
        return 0o666 & ~umask


def write_outputs(results: Results, outputs: dict[str, Path], *, fail_on: str | None = None) -> list[str]:
    """Write every requested output; one that fails is reported, the others are still written.

    Every output judges "blocking" by `results.fail_on`; `fail_on` replaces it (`report --fail-on`).
    """
    if fail_on is not None and fail_on != results.fail_on:
        results = results.model_copy(update={"fail_on": fail_on})
    problems = []
    for fmt, path in outputs.items():
        try:
            writer_for(fmt)(results, path)
        except Exception as exc:
            problems.append(f"could not write the {fmt} output to {path}: {type(exc).__name__}: {exc}")
    return problems

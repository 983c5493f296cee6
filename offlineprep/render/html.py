"""The HTML report: one self-contained file, no network, a CSP that allows only our own inline code.

Autoescape is on explicitly (Jinja2's default is off, and `select_autoescape` decides by suffix, so
`report.html.j2` would not be escaped) and undefined names fail loudly. The inline CSS and JS are
hashed into the Content-Security-Policy, so an injected script or style could not run even if
escaping ever failed.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from offlineprep.display import BIDI_CONTROLS
from offlineprep.model import Results
from offlineprep.render import write_atomically
from offlineprep.render.viewmodel import build
from offlineprep.resources import bundled_dir

VERDICTS = {
    "ready": ("READY", "Every selected prerequisite holds."),
    "not-ready": ("NOT READY", "Fix the failures below before enabling replication."),
    "incomplete": ("INCOMPLETE", "Nothing failed, but some checks could not be evaluated: see the errors below."),
}


LABEL = 22  # characters of a node's label that fit its 170-pixel box at 12 px; the full text is its <title>

_UNSAFE_CHARS = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f{BIDI_CONTROLS}]")


def _visible(value: Any) -> Any:
    """Every value the template prints: control and bidi-override characters (text from AD or a
    host could use U+202E to show `exe.txt` as `txt.exe`) become U+FFFD before escaping."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return _UNSAFE_CHARS.sub("\ufffd", value)
    return value


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        finalize=_visible,
        loader=jinja2.FileSystemLoader(str(bundled_dir("templates"))),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def render(results: Results, titles: dict[str, str] | None = None) -> str:
    folder = bundled_dir("templates")
    css = (folder / "report.css").read_text(encoding="utf-8")
    js = (folder / "report.js").read_text(encoding="utf-8")
    view = build(results, titles or _titles())
    place = {n.id: (20 + n.column * 200, 12 + n.row * 56) for n in view.topology.nodes}
    nodes: list[dict[str, Any]] = [
        {"node": n, "x": place[n.id][0], "y": place[n.id][1], "link": n.link or "verdict",
         "short": n.label if len(n.label) <= LABEL else n.label[:LABEL - 1] + "…"}
        for n in view.topology.nodes
    ]
    edges = [({"x": place[a][0], "y": place[a][1]}, {"x": place[b][0], "y": place[b][1]}) for a, b in view.topology.edges]
    csp = (f"default-src 'none'; style-src {_sha256(css)}; script-src {_sha256(js)}; img-src data:; "
           "base-uri 'none'; form-action 'none'")
    word, text = VERDICTS[view.verdict]
    return _environment().get_template("report.html.j2").render(
        view=view, nodes=nodes, edges=edges, csp=csp, css=Markup(css), js=Markup(js),
        verdict_word=word, verdict_text=text,
    )


def _titles() -> dict[str, str]:
    try:
        from offlineprep.engine import discover

        return {c.id: c.title for c in discover(include_entry_points=False).checks}
    except Exception:
        return {}


def write(results: Results, path: Path) -> None:
    write_atomically(path, render(results))

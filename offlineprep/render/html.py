"""The HTML report: one self-contained file, no network, a CSP that allows only our own inline code.

Autoescape is on explicitly (Jinja2's default is off, and `select_autoescape` decides by suffix, so
`report.html.j2` would not be escaped) and undefined names fail loudly. The inline CSS and JS are
hashed into the Content-Security-Policy, so an injected script or style could not run even if
escaping ever failed. Rows rendered on demand travel in a `<script type="application/json">` data
block, which is never executed (the policy does not need to allow it) and which the page's script
turns into elements with `textContent`, never markup.

The page is a function of the results alone: check titles, why and documentation links come from
the catalogue the results carry, so `offlineprep report` renders it without the check code.
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

BOX = 170  # node width in the topology, pixels
COLUMN = 200
TOP = 54  # room for the column headings
LINE_HEIGHT = 15
ROW = 72
HEADINGS = [("Source hosts", "primary site"), ("Export path", "source side"), ("Disks shipped", "offline"),
            ("Import path", "target side"), ("Target hosts", "recovery site")]

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


def _layout(view: Any) -> tuple[list[dict[str, Any]], list[tuple[dict[str, int], dict[str, int]]], int]:
    nodes: list[dict[str, Any]] = []
    place: dict[str, tuple[int, int, int]] = {}
    for n in view.topology.nodes:
        text_lines = len(n.lines) + (1 if n.id != "ship" else 0)
        height = 12 + LINE_HEIGHT * text_lines
        x, y = 20 + n.column * COLUMN, TOP + n.row * ROW
        place[n.id] = (x, y, height)
        status = n.status.upper() if n.status != "none" else ("" if n.id == "ship" or n.label.startswith("(")
                                                               else "NO FINDINGS")
        nodes.append({"node": n, "x": x, "y": y, "height": height, "link": n.link or "verdict", "word": status,
                      "lines": [(y + 16 + i * LINE_HEIGHT, line) for i, line in enumerate(n.lines)],
                      "status_y": y + 16 + len(n.lines) * LINE_HEIGHT})
    edges = [({"x": place[a][0] + BOX, "y": place[a][1] + 20}, {"x": place[b][0], "y": place[b][1] + 20})
             for a, b in view.topology.edges]
    height = max(y + h for _, y, h in place.values()) + 16 if place else TOP + ROW
    return nodes, edges, height


def render(results: Results) -> str:
    folder = bundled_dir("templates")
    css = (folder / "report.css").read_text(encoding="utf-8")
    js = (folder / "report.js").read_text(encoding="utf-8")
    view = build(results)
    nodes, edges, height = _layout(view)
    csp = (f"default-src 'none'; style-src {_sha256(css)}; script-src {_sha256(js)}; img-src data:; "
           "base-uri 'none'; form-action 'none'")
    return _environment().get_template("report.html.j2").render(
        view=view, nodes=nodes, edges=edges, svg_height=height, headings=HEADINGS, column=COLUMN, box=BOX,
        csp=csp, css=Markup(css), js=Markup(js), rows_json=Markup(view.rows_json),
        verdict_text=view.verdict_text,
    )


def write(results: Results, path: Path) -> None:
    write_atomically(path, render(results))

"""Markdown summary for a pipeline's summary page: verdict, counts, what blocks.

Text from AD and hosts is escaped for table cells: pipes, backticks, HTML, and newlines (which
would end a table row) cannot change the page's structure.
"""

from __future__ import annotations

import re
from pathlib import Path

from offlineprep.model import Finding, Results, Status
from offlineprep.render import write_atomically

VERDICT = {"ready": "✅ **READY**", "not-ready": "❌ **NOT READY**", "incomplete": "⚠️ **INCOMPLETE**"}
_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
LIMIT = 200


def cell(text: str) -> str:
    text = _CONTROL.sub(" ", text.replace("\r", " ").replace("\n", " "))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", text)


def _row(f: Finding) -> str:
    who = f.subject + (f" → {f.target}" if f.target else "") + (f" as {f.account}" if f.account else "")
    waived = " (waived)" if f.waived else ""
    return f"| {f.status.value}{waived} | `{f.check}` | {cell(who)} | {cell(f.message)} |"


def render(results: Results) -> str:
    s = results.summary
    lines = [
        "## offlineprep preflight",
        "",
        f"{VERDICT[results.verdict.value]}: {s['fail']} fail, {s['error']} error, {s['warn']} warn, "
        f"{s['pass']} pass, {s['skip']} skip" + (f", {s['waived']} waived" if s.get("waived") else ""),
        "",
    ]
    blocking = [f for f in results.findings if f.status in (Status.FAIL, Status.ERROR)]
    warnings = [f for f in results.findings if f.status is Status.WARN]
    for title, items in (("Blocking", blocking), ("Warnings", warnings)):
        if not items:
            continue
        lines += [f"### {title} ({len(items)})", "", "| status | check | subject | message |", "|---|---|---|---|"]
        lines += [_row(f) for f in items[:LIMIT]]
        if len(items) > LIMIT:
            lines.append(f"| … | | {len(items) - LIMIT} more | see the HTML or JSON report |")
        lines.append("")
    w = results.waivers
    if w.expired or w.unused:
        lines.append(f"Waivers: {len(w.expired)} expired, {len(w.unused)} matched nothing.")
        lines.append("")
    lines.append(f"<sub>offlineprep {results.tool.version}, {results.generated_at:%Y-%m-%d %H:%M UTC}</sub>")
    return "\n".join(lines) + "\n"


def write(results: Results, path: Path) -> None:
    write_atomically(path, render(results))

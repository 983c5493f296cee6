"""Markdown summary for a pipeline's summary page: verdict, counts, what blocks.

Text from AD and hosts is escaped for table cells: pipes, backticks, HTML, and newlines (which
would end a table row) cannot change the page's structure.
"""

from __future__ import annotations

import re
from pathlib import Path

from offlineprep.display import BIDI_CONTROLS
from offlineprep.model import Finding, Results, Status
from offlineprep.render import write_atomically

VERDICT = {"ready": "✅ **READY**", "not-ready": "❌ **NOT READY**", "incomplete": "⚠️ **INCOMPLETE**"}
_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\u0085]")
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")
LIMIT = 200  # rows per table; the rest is counted
CELL = 500  # characters per cell: 2 tables x 200 rows stay far below GitHub's 1 MiB job-summary limit
BUDGET = 900_000  # bytes of table rows in all: escaping can grow a cell fivefold (< is &lt;), so count
ORDER = {Status.FAIL: 0, Status.ERROR: 1, Status.WARN: 2}


def cell(text: str) -> str:
    text = _CONTROL.sub(" ", text.replace("\r", " ").replace("\n", " "))
    text = _BIDI.sub("\ufffd", text)
    if len(text) > CELL:
        text = text[:CELL - 1] + "…"
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
    # most severe first: fail before error, unwaived before waived, then check and subject
    ranked = sorted((f for f in results.findings if f.status in ORDER),
                    key=lambda f: (f.waived, ORDER[f.status], f.check, f.subject, f.target or "", f.account or ""))
    blocking = [f for f in ranked if f.status in (Status.FAIL, Status.ERROR)]
    warnings = [f for f in ranked if f.status is Status.WARN]
    budget = BUDGET
    for title, items in (("Blocking", blocking), ("Warnings", warnings)):
        if not items:
            continue
        lines += [f"### {title} ({len(items)})", "", "| status | check | subject | message |", "|---|---|---|---|"]
        shown = 0
        for f in items[:LIMIT]:
            row = _row(f)
            budget -= len(row.encode("utf-8")) + 1
            if budget < 0:
                break
            lines.append(row)
            shown += 1
        if len(items) > shown:
            lines.append(f"| … | | {len(items) - shown:,} more | see the HTML or JSON report |")
        lines.append("")
    w = results.waivers
    if w.expired or w.unused:
        lines.append(f"Waivers: {len(w.expired)} expired, {len(w.unused)} matched nothing.")
        lines.append("")
    lines.append(f"<sub>offlineprep {results.tool.version}, {results.generated_at:%Y-%m-%d %H:%M UTC}</sub>")
    return "\n".join(lines) + "\n"


def write(results: Results, path: Path) -> None:
    write_atomically(path, render(results))

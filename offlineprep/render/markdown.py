"""Markdown summary for a pipeline's summary page: verdict, counts, what blocks, the warnings.

Text from AD and hosts is escaped for table cells: pipes, backticks, HTML, and newlines (which
would end a table row) cannot change the page's structure.
"""

from __future__ import annotations

import re
from pathlib import Path

from offlineprep.display import BIDI_CONTROLS
from offlineprep.model import Cause, Finding, Results, Status, blocks, by_cause, not_blocking, not_blocking_title
from offlineprep.render import write_atomically

VERDICT = {"ready": "✅", "not-ready": "❌", "incomplete": "⚠️"}
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


def _cause_row(cause: Cause, found: list[Finding]) -> str:
    checks = ", ".join(sorted({f.check for f in found}))
    return f"| error | {cell(checks)} | {cell(cause.machine)} | {cell(cause.headline(len(found)))} |"


def render(results: Results) -> str:
    s = results.summary
    fail_on = results.fail_on
    blocking_total = len(results.blocking())
    lines = [
        "## offlineprep preflight",
        "",
        f"{VERDICT[results.verdict.value]} **{results.headline}**: {s['fail']} fail, {s['error']} error, "
        f"{s['warn']} warn, {s['pass']} pass, {s['skip']} skip" + (f", {s['waived']} waived" if s.get("waived") else "")
        + f"; {blocking_total:,} blocking under `--fail-on {fail_on}`",
        "",
    ]
    if results.selection is not None and results.selection.partial:
        left_out = [c for c in results.selection.checks_known if c not in set(results.selection.checks_run)]
        selection = results.selection
        lines += [f"> **Partial run**: {len(selection.checks_run)} of {len(selection.checks_known)} checks evaluated; "
                  f"a READY verdict covers only those. Not evaluated: "
                  f"{cell(', '.join(left_out[:30]) + (' …' if len(left_out) > 30 else ''))}.", ""]
    if results.facts_from is not None:
        lines += [f"> Judged {cell(results.facts_from.text)}.", ""]
    # "Blocking" is model.blocks, as in every output: what keeps the exit code from being 0.
    # Errors with a known cause are one row per cause; most severe first: fail before error, then
    # check and subject.
    causes, rest = by_cause(results.findings)
    ranked = sorted((f for f in rest if f.status in ORDER),
                    key=lambda f: (f.waived, ORDER[f.status], f.check, f.subject, f.target or "", f.account or ""))
    blocking = [f for f in ranked if blocks(f, fail_on)]
    advisory = not_blocking(ranked, fail_on)
    budget = BUDGET
    sections = (("Blocking", blocking_total, [_cause_row(c, found) for c, found in causes] + [_row(f) for f in blocking]),
                (not_blocking_title(advisory), len(advisory), [_row(f) for f in advisory]))
    for title, count, rows in sections:
        if not rows:
            continue
        lines += [f"### {title} ({count:,})", "", "| status | check | subject | message |", "|---|---|---|---|"]
        shown = 0
        for row in rows[:LIMIT]:
            # a lone UTF-16 surrogate from a host cannot be encoded as UTF-8; write_atomically writes it
            # as U+FFFD, three bytes, which is what surrogatepass counts for it
            budget -= len(row.encode("utf-8", "surrogatepass")) + 1
            if budget < 0:
                break
            lines.append(row)
            shown += 1
        if len(rows) > shown:
            lines.append(f"| … | | {len(rows) - shown:,} more | see the HTML or JSON report |")
        lines.append("")
    w = results.waivers
    if w.expired or w.unused:
        lines.append(f"Waivers: {len(w.expired)} expired, {len(w.unused)} matched nothing.")
        lines.append("")
    lines.append(f"<sub>offlineprep {results.tool.version}, {results.generated_at:%Y-%m-%d %H:%M UTC}</sub>")
    return "\n".join(lines) + "\n"


def write(results: Results, path: Path) -> None:
    write_atomically(path, render(results))

"""Markdown summary for a pipeline's summary page: verdict, counts, what blocks, the warnings.

Text from AD and hosts is escaped for table cells: pipes, backticks, HTML, and newlines (which
would end a table row) cannot change the page's structure.
"""

from __future__ import annotations

import re
from pathlib import Path

from offlineprep.display import BIDI_CONTROLS
from offlineprep.model import Cause, FailOn, Finding, Results, Status, counted, not_blocking_title, not_evaluated
from offlineprep.render import write_atomically
from offlineprep.verdict import judge

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
    checks = sorted({f.check for f in found})
    return f"| error | {cell(', '.join(checks))} | {cell(cause.machine)} | {cell(cause.headline(len(checks), len(found)))} |"


def render(results: Results) -> str:
    """Every count and the verdict from offlineprep.verdict.judge, as the terminal and the exit code."""
    judged = judge(results)
    fail_on = judged.fail_on.value
    lines = [
        "## offlineprep preflight",
        "",
        f"{VERDICT[judged.verdict.value]} **{judged.headline}**: {cell(judged.reason)}",
        "",
        f"{judged.counts.line()}; {judged.blocking_text.replace(f'--fail-on {fail_on}', f'`--fail-on {fail_on}`')}",
        "",
    ]
    if results.selection is not None and results.selection.partial:
        left_out = [c for c in results.selection.checks_known if c not in set(results.selection.checks_run)]
        selection = results.selection
        lines += [f"> **Partial run**: {len(selection.checks_run)} of {counted(len(selection.checks_known), 'check')} "
                  f"ran; a READY verdict covers only those. The {counted(len(left_out), 'check')} left out: "
                  f"{cell(', '.join(left_out[:30]) + (f' and {len(left_out) - 30} more' if len(left_out) > 30 else ''))}.",
                  ""]
    missing = judged.not_evaluated
    if missing.unreached and judged.unreached is not None:
        checks = len({f.check for f in missing.unreached})
        lines += [f"> **Not reached from here** (the cause: the verdict above): "
                  f"{not_evaluated(checks, len(missing.unreached))}, not counted as blocking.", ""]
    if results.facts_from is not None:
        lines += [f"> Judged {cell(results.facts_from.text)}.", ""]
    # "Blocking" is the judgement's, as in every output: what keeps the exit code from being 0.
    # Errors with a known cause are one row per cause; most severe first: fail before error, then
    # check and subject.
    ranked = sorted((f for f in results.findings if f.status in ORDER and not f.waived and f.status is not Status.ERROR),
                    key=lambda f: (ORDER[f.status], f.check, f.subject, f.target or "", f.account or ""))
    errors_block = judged.fail_on is not FailOn.NEVER
    cause_rows = [_cause_row(c, found) for c, found in missing.causes] + [_row(f) for f in missing.loose]
    error_count = missing.count - len(missing.unreached)
    blocking = [f for f in ranked if judged.blocks(f)]
    advisory = [f for f in ranked if not judged.blocks(f)]
    budget = BUDGET
    first = [_row(f) for f in blocking if f.status is Status.FAIL]  # fail before error, then warnings
    sections = (("Blocking", judged.counts.blocking, first + (cause_rows if errors_block else [])
                 + [_row(f) for f in blocking if f.status is not Status.FAIL]),
                (not_blocking_title(advisory) if errors_block or not error_count else "Not blocking",
                 len(advisory) + (0 if errors_block else error_count),
                 ([] if errors_block else cause_rows) + [_row(f) for f in advisory]))
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

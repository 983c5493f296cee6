"""The report's view model: grouping, ordering, causes and the topology computed in Python.

Templates only loop and format. Everything here is a function of `Results` alone (the check
catalogue included), so `offlineprep report results.json --html` reproduces the page a run wrote,
on a machine without the check code.

What the page holds, and why it stays small at 2,000 hosts: findings that block are shown in full
(message, evidence, fix) up to `SHOWN` per check; the rest of them, warnings beyond that, and every
pass and skip travel as compact rows (status, subject, message) in one JSON data block that the
page's script renders on demand. Errors with a known cause (a DC that does not resolve, a host that
refused the connection) are shown once per cause with the number of findings it left unevaluated.
The JSON results keep every finding with all its fields.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from offlineprep.display import BIDI_CONTROLS, https_link
from offlineprep.model import (
    Cause,
    CauseKind,
    CauseOrigin,
    CheckInfo,
    DocLink,
    FailOn,
    Finding,
    Remediation,
    Results,
    Status,
    by_cause,
    counted,
    not_blocking_title,
)
from offlineprep.names import NameError_, host_key, parse_path
from offlineprep.verdict import Judgement, judge

ORDER = {Status.FAIL: 0, Status.ERROR: 1, Status.WARN: 2, Status.SKIP: 3, Status.PASS: 4}
WORST = [Status.FAIL, Status.ERROR, Status.WARN, Status.PASS, Status.SKIP]
SEVERITY = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
SHOWN = 25  # findings per check and section shown in full; the others are rows rendered on demand
CAUSE_ROWS = 30  # findings listed under a cause in the page itself

# a fix without actions (a check pack's text): nothing says where it runs (docs/fixes.md)
LEGACY_RUNS = "offlineprep cannot tell where this fix runs: run it by hand on the machine it belongs to."

SECTION_TITLES = {
    "blocking": "What blocks",
    "warnings": "Warnings",
    "waived": "Waived",
}


@dataclass
class FindingView:
    anchor: str
    finding: Finding
    who: str  # subject [-> target] [as account]
    evidence_json: str
    runs: str  # where the fix runs and as whom ("" without a fix)


@dataclass
class CheckGroup:
    """One check within one section of the page."""

    check: str
    section: str  # blocking | warnings | waived
    info: CheckInfo
    worst: str
    counts: dict[str, int]  # of the whole check, every status
    shown: list[FindingView] = field(default_factory=list)
    more: int = 0  # further findings of this section, as rows on demand
    rows_key: str = ""  # their key in the page's data block
    anchor: str = ""


@dataclass
class CauseGroup:
    """Errors that one cause explains: shown once, with the findings it left unevaluated."""

    cause: Cause
    anchor: str
    findings: list[FindingView]
    checks: list[str]
    hidden: int  # findings beyond the first CAUSE_ROWS, counted
    rows_key: str

    @property
    def count(self) -> int:
        return len(self.findings) + self.hidden

    @property
    def headline(self) -> str:
        return self.cause.headline(len(self.checks), self.count)


@dataclass
class Node:
    id: str
    label: str
    status: str
    column: int
    row: int
    detail: str = ""
    link: str = ""  # anchor of the node's most severe finding ("" when it has none on the page)
    filter: str = ""  # what the host-or-path filter is set to when the node is clicked
    lines: list[str] = field(default_factory=list)  # the label wrapped to fit its box, nothing cut


@dataclass
class Topology:
    nodes: list[Node]
    edges: list[tuple[str, str]]
    width: int
    height: int


@dataclass
class SummaryRow:
    check: str
    title: str
    counts: dict[str, int]
    worst: str
    anchor: str  # where its findings start on the page ("" when nothing but passes)


@dataclass
class ReportView:
    results: Results
    verdict: str
    headline: str
    summary: dict[str, int]
    causes: list[CauseGroup]
    sections: dict[str, list[CheckGroup]]
    section_counts: dict[str, int]
    passing: list[CheckGroup]  # passes and skips per check, rows only
    table: list[SummaryRow]
    topology: Topology
    checks: list[str]
    blocking_count: int
    statistics: list[str]  # the run's statistics in words
    selection_text: str  # "" for a complete run
    rows_json: str  # the data block: {key: [[anchor, status, who, message, waived], ...]}
    warnings_title: str = "Warnings"  # "Not blocking" when failures do not block either (--fail-on never)
    verdict_text: str = ""  # why this verdict (offlineprep.verdict)
    colour: str = "green"
    counts_line: str = ""  # "58 findings of 25 checks: 1 pass, ..."
    causes_block: bool = True  # errors block (every --fail-on but never): the causes are under "What blocks"
    unreached: CauseGroup | None = None  # this machine reached none of the site's machines: one cause, not blocking
    not_evaluated_text: str = ""  # "44 findings of 12 checks"
    problems: list[str] = field(default_factory=list)


def who(f: Finding) -> str:
    text = f.subject
    if f.target:
        text += f" → {f.target}"
    if f.account:
        text += f" as {f.account}"
    return text


def runs_of(remediation: Remediation | None) -> str:
    """Where the fix runs and as whom, from its actions (each says where it runs and the rights it
    needs: the same words as the fix script's section headers), one sentence per place. A fix
    written only as text says nothing of where it runs: the fix script prints it as a manual step."""
    if remediation is None:
        return ""
    if not remediation.actions:
        return LEGACY_RUNS
    return " ".join(dict.fromkeys(a.placement() for a in remediation.actions))


def _info(results: Results, check_id: str, severity: str) -> CheckInfo:
    """The catalogue entry the results carry; a results file of an older version has none, and the
    page then shows the id as the title rather than asking the check code."""
    info = results.check_info(check_id) or CheckInfo(id=check_id, title=check_id, severity=severity)
    return with_safe_links(info)


def with_safe_links(info: CheckInfo) -> CheckInfo:
    """Only an `https:` documentation link is a link; any other (a `javascript:` or `data:` URL, from a
    results file or a check pack) is shown as plain text, its address beside its title, and never followed."""
    if all(https_link(d.url) for d in info.docs):
        return info
    docs = [d if https_link(d.url) else DocLink(title=f"{d.title} ({d.url}, not a https: link)", url="")
            for d in info.docs]
    return info.model_copy(update={"docs": docs})


def _section(f: Finding, judged: Judgement) -> str | None:
    if f.status in (Status.PASS, Status.SKIP):
        return None
    if judged.blocks(f):
        return "blocking"
    if f.waived:
        return "waived"
    return "warnings"  # a warning under --fail-on fail (or error), a failure too under --fail-on never


def _rank(f: Finding) -> tuple[Any, ...]:
    return (ORDER[f.status], f.subject.casefold(), (f.target or "").casefold(), (f.account or "").casefold())


class _Anchors:
    def __init__(self) -> None:
        self.counter = 0

    def next(self, prefix: str = "f") -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"


def build(results: Results) -> ReportView:
    judged = judge(results)
    anchors = _Anchors()
    rows: dict[str, list[list[Any]]] = {}

    def view(f: Finding, anchor: str | None = None) -> FindingView:
        return FindingView(anchor=anchor or anchors.next(), finding=f, who=who(f),
                           evidence_json=json.dumps(f.evidence, indent=2, sort_keys=True, default=str),
                           runs=runs_of(f.remediation))

    def row(f: Finding) -> list[Any]:
        return [anchors.next(), f.status.value, who(f), f.message, 1 if f.waived else 0]

    # ---- errors explained by a cause: once per cause; those nothing reached from here, once in all
    def grouped_by(cause: Cause, found: list[Finding], key: str) -> CauseGroup:
        found = sorted(found, key=lambda f: (f.check, *_rank(f)))
        rows[key] = [row(f) for f in found[CAUSE_ROWS:]]
        return CauseGroup(cause=cause, anchor=anchors.next("cause-"), findings=[view(f) for f in found[:CAUSE_ROWS]],
                          checks=sorted({f.check for f in found}), hidden=len(found[CAUSE_ROWS:]), rows_key=key)

    missing = judged.not_evaluated
    grouped = missing.causes
    unreached = None
    if missing.unreached and judged.unreached is not None:
        unreached = grouped_by(Cause(origin=CauseOrigin.HOST, machine="", kind=CauseKind.UNREACHABLE,
                                      text=judged.unreached.text), missing.unreached, "unreached")
    causes = [grouped_by(cause, found, f"c{i}") for i, (cause, found) in enumerate(grouped)]
    explained = {id(f) for f in missing.unreached}
    _, rest = by_cause([f for f in results.findings if id(f) not in explained])

    # ---- per check, per section
    by_check: dict[str, list[Finding]] = defaultdict(list)
    for f in results.findings:
        by_check[f.check].append(f)
    per_section: dict[str, dict[str, list[Finding]]] = {"blocking": {}, "warnings": {}, "waived": {}}
    passing: dict[str, list[Finding]] = defaultdict(list)
    for f in rest:
        section = _section(f, judged)
        if section is None:
            passing[f.check].append(f)
        else:
            per_section[section].setdefault(f.check, []).append(f)

    # a waived finding is counted as waived, never under its status (as in every output)
    counts_of = {c: {**{s.value: 0 for s in Status}, "waived": 0} for c in by_check}
    for c, found in by_check.items():
        for f in found:
            counts_of[c]["waived" if f.waived else f.status.value] += 1

    def worst_of(found: list[Finding]) -> str:
        present = {f.status for f in found}
        return next((s.value for s in WORST if s in present), "pass")

    def rank_check(check_id: str, found: list[Finding]) -> tuple[Any, ...]:
        worst = min(ORDER[f.status] for f in found)
        return (worst, min(SEVERITY.get(f.severity, 5) for f in by_check[check_id]), check_id)

    sections: dict[str, list[CheckGroup]] = {}
    for name, checks in per_section.items():
        groups = []
        for check_id, found in sorted(checks.items(), key=lambda kv: rank_check(kv[0], kv[1])):
            found.sort(key=_rank)
            group = CheckGroup(check=check_id, section=name, info=_info(results, check_id, found[0].severity),
                               worst=worst_of(found), counts=counts_of[check_id], anchor=f"{name}-{check_id}")
            group.shown = [view(f) for f in found[:SHOWN]]
            if len(found) > SHOWN:
                group.rows_key = f"{name}:{check_id}"
                rows[group.rows_key] = [row(f) for f in found[SHOWN:]]
                group.more = len(found) - SHOWN
            groups.append(group)
        sections[name] = groups
    passing_groups = []
    for check_id in sorted(passing):
        found = sorted(passing[check_id], key=_rank)
        key = f"pass:{check_id}"
        rows[key] = [row(f) for f in found]
        passing_groups.append(CheckGroup(check=check_id, section="passing",
                                         info=_info(results, check_id, found[0].severity), worst=worst_of(found),
                                         counts=counts_of[check_id], more=len(found), rows_key=key,
                                         anchor=f"passing-{check_id}"))

    section_counts = {name: sum(len(v) for v in per_section[name].values()) for name in per_section}
    section_counts["blocking" if judged.fail_on is not FailOn.NEVER else "warnings"] += sum(cg.count for cg in causes)

    # ---- the summary table, one row per check that ran (catalogue order), and the topology
    first_anchor: dict[str, str] = {}
    for name in ("blocking", "warnings", "waived"):
        for g in sections[name]:
            first_anchor.setdefault(g.check, g.anchor)
    for cg in [*causes, *([unreached] if unreached is not None else [])]:
        for check_id in cg.checks:
            first_anchor.setdefault(check_id, cg.anchor)
    order = [c.id for c in results.catalogue] + sorted(set(by_check) - {c.id for c in results.catalogue})
    table = [SummaryRow(check=c, title=_info(results, c, "high").title, counts=counts_of.get(c, {}),
                        worst=worst_of(by_check[c]) if by_check.get(c) else "none",
                        anchor=first_anchor.get(c, f"passing-{c}" if c in passing else ""))
             for c in order]
    anchor_of = {id(fv.finding): fv.anchor for name in sections for g in sections[name] for fv in g.shown}
    anchor_of.update({id(fv.finding): fv.anchor for cg in causes for fv in cg.findings})
    for cg, (_, found) in zip(causes, grouped, strict=True):  # those beyond the list lead to the cause
        for f in found:
            anchor_of.setdefault(id(f), cg.anchor)

    if unreached is not None:
        for f in missing.unreached:
            anchor_of.setdefault(id(f), unreached.anchor)
    return ReportView(
        results=results,
        verdict=judged.verdict.value,
        headline=judged.headline,
        summary={**judged.counts.statuses, "waived": judged.counts.waived},
        causes=causes,
        sections=sections,
        section_counts=section_counts,
        passing=passing_groups,
        table=table,
        topology=topology(results, anchor_of),
        checks=sorted(by_check),
        blocking_count=judged.counts.blocking,
        statistics=statistics_in_words(results.statistics),
        selection_text=selection_text(results),
        rows_json=_script_json(rows),
        warnings_title=not_blocking_title([f for found in per_section["warnings"].values() for f in found])
        if judged.fail_on is not FailOn.NEVER or not causes else "Not blocking",
        verdict_text=judged.reason[:1].upper() + judged.reason[1:] + ".",
        colour=judged.colour,
        counts_line=judged.counts.line(),
        causes_block=judged.fail_on is not FailOn.NEVER,
        unreached=unreached,
        not_evaluated_text=f"{counted(missing.count, 'finding')} of {counted(missing.checks, 'check')}",
        problems=list(judged.problems),
    )


_UNSAFE_IN_ROWS = re.compile(f"[\x7f{BIDI_CONTROLS}]")  # json.dumps escapes U+0000-U+001F itself


def _script_json(data: Any) -> str:
    """JSON for a <script type="application/json"> block: `<`, `>` and `&` escaped, so text from a
    host can neither close the element nor open a comment; bidi controls become U+FFFD, as they do
    everywhere else on the page (the script shows these rows with textContent)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = _UNSAFE_IN_ROWS.sub("\ufffd", text)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def selection_text(results: Results) -> str:
    selection = results.selection
    if selection is None or not selection.partial:
        return ""
    left_out = [c for c in selection.checks_known if c not in set(selection.checks_run)]
    how = []
    if selection.only:
        how.append("--only " + " ".join(selection.only))
    if selection.skip:
        how.append("--skip " + " ".join(selection.skip))
    chosen = f" ({', '.join(how)})" if how else ""
    shown = ", ".join(left_out[:20]) + (f" and {len(left_out) - 20} more" if len(left_out) > 20 else "")
    return (f"This run evaluated {len(selection.checks_run)} of {counted(len(selection.checks_known), 'check')}{chosen}. "
            f"The {counted(len(left_out), 'check')} left out: {shown}. A READY verdict covers only the checks that ran.")


_STATISTICS = {
    "checks_run": ("{:,} checks run", "1 check run"),
    "hosts_queried": ("{:,} machines queried over WinRM", "1 machine queried over WinRM"),
    "powershell_commands": ("{:,} PowerShell commands (one per machine)", "1 PowerShell command"),
    "winrm_seconds": ("WinRM collection took {:.1f} s", None),
    "ldap_searches": ("{:,} LDAP searches", "1 LDAP search"),
    "ldap_seconds": ("LDAP collection took {:.1f} s", None),
}


def statistics_in_words(statistics: dict[str, Any]) -> list[str]:
    """"5 machines queried over WinRM", not `hosts_queried 5`; a key of a newer version reads as words too."""
    out = []
    for key, value in statistics.items():
        known = _STATISTICS.get(key)
        if known and isinstance(value, int | float):
            many, one = known
            out.append(one if (one and value == 1) else many.format(value))
        else:
            out.append(f"{key.replace('_', ' ')}: {value}")
    return out


# --------------------------------------------------------------------------- topology


def _worst(findings: list[Finding]) -> str:
    present = {f.status for f in findings if not f.waived}
    return next((s.value for s in WORST if s in present), "none")


def _link(findings: list[Finding], anchors: dict[int, str]) -> str:
    """The anchor of the most severe unwaived finding shown on the page (then waived ones)."""
    shown = [f for f in findings if id(f) in anchors]
    shown.sort(key=lambda f: (f.waived, ORDER[f.status]))
    return anchors[id(shown[0])] if shown else ""


def _server(path: str) -> str:
    """The computer of a UNC path; "" for a local path (the topology does not carry its server)."""
    try:
        ref = parse_path(path)  # the site file's own parser: these paths already passed it
    except NameError_:
        return ""
    return ref.server if ref.is_unc else ""


LINE = 24  # characters of a label per line in a 170-pixel box at 12 px
MAX_LINES = 4


def wrap(label: str, width: int = LINE, lines: int = MAX_LINES) -> list[str]:
    """A path or host name over up to `lines` lines, broken after `\\` or `.` where possible; the
    full text is the node's <title> too, so nothing is lost when even that is not enough."""
    out: list[str] = []
    rest = label
    while rest and len(out) < lines:
        if len(rest) <= width:
            out.append(rest)
            rest = ""
            break
        cut = max(rest.rfind("\\", 1, width), rest.rfind(".", 1, width), rest.rfind(" ", 1, width))
        cut = cut + 1 if cut > width // 3 else width
        out.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        out[-1] = out[-1][: width - 1] + "…"
    return out


def topology(results: Results, anchors: dict[int, str] | None = None) -> Topology:
    """Source hosts → export path → (disks shipped) → import path → target hosts; large host
    columns collapse into one summary node so 2,000 hosts do not draw 2,000 boxes.

    A node's findings are those whose subject it is: a host's own (its delegation to a path computer
    included, that is a setting of the host's account), a path's and its computer's (reachability, its
    SPNs). The path computer as a delegation *target* does not colour the path: the fix is on the host.
    Each node links to its most severe finding; clicking it (with JavaScript) filters to its subject.
    """
    anchors = anchors or {}
    topo = results.topology
    by_subject: dict[str, list[Finding]] = defaultdict(list)
    for f in results.findings:
        by_subject[host_key(f.subject)].append(f)  # a host's findings, however its name was written

    def path_node(node_id: str, path: str | None, col: int, missing: str) -> Node:
        if not path:
            return Node(node_id, missing, "none", col, 0, lines=[missing])
        server = _server(path)
        found = list(by_subject.get(host_key(path), []))
        if server and host_key(server) != host_key(path):
            found += by_subject.get(host_key(server), [])
        return Node(node_id, path, _worst(found), col, 0, link=_link(found, anchors), filter=server or path,
                    lines=wrap(path))

    nodes: list[Node] = []
    edges: list[tuple[str, str]] = []

    def column(hosts: list[str], col: int, prefix: str) -> list[str]:
        ids = []
        if len(hosts) > 8:
            found = [f for h in hosts for f in by_subject.get(host_key(h), [])]
            bad = Counter(_worst(by_subject.get(host_key(h), [])) for h in hosts)
            detail = ", ".join(f"{n:,} {s}" for s, n in bad.most_common() if s not in {"pass", "none"}) or "all pass"
            label = f"{len(hosts):,} hosts"
            nodes.append(Node(f"{prefix}-all", label, _worst(found), col, 0, detail,
                              link=_link(found, anchors), lines=[label]))
            ids.append(f"{prefix}-all")
            return ids
        for row, host in enumerate(hosts):
            node_id = f"{prefix}-{row}"
            found = by_subject.get(host_key(host), [])
            nodes.append(Node(node_id, host, _worst(found), col, row, link=_link(found, anchors), filter=host,
                              lines=wrap(host, lines=2)))
            ids.append(node_id)
        return ids

    sources = column(topo.source_hosts, 0, "src")
    export = path_node("export", topo.export_path, 1, "(no export path)")
    shipped = Node("ship", "disks shipped", "none", 2, 0, lines=["disks shipped"])
    imp = path_node("import", topo.import_path, 3, "(no import path)")
    nodes += [export, shipped, imp]
    targets = column(topo.target_hosts, 4, "tgt")
    edges += [(s, "export") for s in sources] + [("export", "ship"), ("ship", "import")]
    edges += [("import", t) for t in targets]
    rows = max(1, len(sources), len(targets))
    return Topology(nodes=nodes, edges=edges, width=5 * 200, height=rows * 72 + 60)

"""The report's view model: grouping, ordering and the topology computed in Python.

Templates only loop and format. Everything here is a function of `Results` alone, so
`offlineprep report results.json --html` reproduces the page a run wrote.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from offlineprep.model import Finding, Results, Status
from offlineprep.names import NameError_, parse_path

ORDER = {Status.FAIL: 0, Status.ERROR: 1, Status.WARN: 2, Status.SKIP: 3, Status.PASS: 4}
WORST = [Status.FAIL, Status.ERROR, Status.WARN, Status.PASS, Status.SKIP]
SEVERITY = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
BLOCKING = (Status.FAIL, Status.ERROR, Status.WARN)
PASSES_SHOWN = 50  # per check; the rest is counted, and all of them are in the JSON


@dataclass
class FindingView:
    anchor: str
    finding: Finding
    who: str  # subject [-> target] [as account]
    evidence_json: str


@dataclass
class CheckGroup:
    check: str
    title: str
    worst: str
    counts: dict[str, int]
    blocking: list[FindingView] = field(default_factory=list)  # fail/error/warn, most severe first
    others: list[FindingView] = field(default_factory=list)  # pass/skip, capped
    hidden_passes: int = 0


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


@dataclass
class Topology:
    nodes: list[Node]
    edges: list[tuple[str, str]]
    width: int
    height: int


@dataclass
class ReportView:
    results: Results
    verdict: str
    summary: dict[str, int]
    groups: list[CheckGroup]
    topology: Topology
    subjects: list[str]
    checks: list[str]
    blocking_count: int


def who(f: Finding) -> str:
    text = f.subject
    if f.target:
        text += f" → {f.target}"
    if f.account:
        text += f" as {f.account}"
    return text


def build(results: Results, titles: dict[str, str] | None = None) -> ReportView:
    import json

    by_check: dict[str, list[Finding]] = defaultdict(list)
    for f in results.findings:
        by_check[f.check].append(f)
    groups = []
    rank: dict[str, tuple[int, int]] = {}
    counter = 0
    for check_id, findings in by_check.items():
        # waived findings no longer block: they follow the unwaived ones of their status group
        findings.sort(key=lambda f: (f.waived and f.status in BLOCKING, ORDER[f.status], f.subject, f.target or "",
                                     f.account or ""))
        counts = Counter(f.status.value for f in findings)
        worst = next((s.value for s in WORST if counts.get(s.value)), "pass")
        group = CheckGroup(check=check_id, title=(titles or {}).get(check_id, check_id), worst=worst,
                           counts={s.value: counts.get(s.value, 0) for s in Status})
        passes_seen = 0
        for f in findings:
            counter += 1
            view = FindingView(anchor=f"f{counter}", finding=f, who=who(f),
                               evidence_json=json.dumps(f.evidence, indent=2, sort_keys=True, default=str))
            if f.status in BLOCKING:
                group.blocking.append(view)
            elif passes_seen < PASSES_SHOWN:
                group.others.append(view)
                passes_seen += 1
            else:
                group.hidden_passes += 1
        unwaived = next((s for s in WORST if any(f.status is s and not f.waived for f in findings)), Status.PASS)
        rank[check_id] = (ORDER[unwaived], min(SEVERITY.get(f.severity, 5) for f in findings))
        groups.append(group)
    # most severe first: fail before error before warn (by the unwaived findings), then the check's
    # severity (critical before high), then the check id
    groups.sort(key=lambda g: (*rank[g.check], g.check))
    subjects = sorted({f.subject for f in results.findings}, key=str.casefold)
    anchors = {id(fv.finding): fv.anchor for g in groups for fv in g.blocking + g.others}
    return ReportView(
        results=results,
        verdict=results.verdict.value,
        summary=results.summary,
        groups=groups,
        topology=topology(results, anchors),
        subjects=subjects[:500],
        checks=sorted(by_check),
        blocking_count=sum(len(g.blocking) for g in groups),
    )


def _worst(findings: list[Finding]) -> str:
    present = {f.status for f in findings if not f.waived}
    return next((s.value for s in WORST if s in present), "none")


def _link(findings: list[Finding], anchors: dict[int, str]) -> str:
    """The anchor of the most severe unwaived finding shown on the page (then waived ones, then passes)."""
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
        by_subject[f.subject.casefold()].append(f)

    def path_node(node_id: str, path: str | None, col: int, missing: str) -> Node:
        if not path:
            return Node(node_id, missing, "none", col, 0)
        server = _server(path)
        found = list(by_subject.get(path.casefold(), []))
        if server and server.casefold() != path.casefold():
            found += by_subject.get(server.casefold(), [])
        return Node(node_id, path, _worst(found), col, 0, link=_link(found, anchors), filter=server or path)

    nodes: list[Node] = []
    edges: list[tuple[str, str]] = []

    def column(hosts: list[str], col: int, prefix: str) -> list[str]:
        ids = []
        if len(hosts) > 8:
            found = [f for h in hosts for f in by_subject.get(h.casefold(), [])]
            bad = Counter(_worst(by_subject.get(h.casefold(), [])) for h in hosts)
            detail = ", ".join(f"{n:,} {s}" for s, n in bad.most_common() if s not in {"pass", "none"}) or "all pass"
            nodes.append(Node(f"{prefix}-all", f"{len(hosts):,} hosts", _worst(found), col, 0, detail,
                              link=_link(found, anchors)))
            ids.append(f"{prefix}-all")
            return ids
        for row, host in enumerate(hosts):
            node_id = f"{prefix}-{row}"
            found = by_subject.get(host.casefold(), [])
            nodes.append(Node(node_id, host, _worst(found), col, row, link=_link(found, anchors), filter=host))
            ids.append(node_id)
        return ids

    sources = column(topo.source_hosts, 0, "src")
    export = path_node("export", topo.export_path, 1, "(no export path)")
    shipped = Node("ship", "disks shipped", "none", 2, 0)
    imp = path_node("import", topo.import_path, 3, "(no import path)")
    nodes += [export, shipped, imp]
    targets = column(topo.target_hosts, 4, "tgt")
    edges += [(s, "export") for s in sources] + [("export", "ship"), ("ship", "import")]
    edges += [("import", t) for t in targets]
    rows = max(1, len(sources), len(targets))
    return Topology(nodes=nodes, edges=edges, width=5 * 200, height=rows * 56 + 24)

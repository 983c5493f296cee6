"""The report's view model: grouping, ordering and the topology computed in Python.

Templates only loop and format. Everything here is a function of `Results` alone, so
`offlineprep report results.json --html` reproduces the page a run wrote.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from offlineprep.model import Finding, Results, Status

ORDER = {Status.FAIL: 0, Status.ERROR: 1, Status.WARN: 2, Status.SKIP: 3, Status.PASS: 4}
WORST = [Status.FAIL, Status.ERROR, Status.WARN, Status.PASS, Status.SKIP]
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
    counter = 0
    for check_id, findings in by_check.items():
        findings.sort(key=lambda f: (ORDER[f.status], f.subject, f.target or "", f.account or ""))
        counts = Counter(f.status.value for f in findings)
        worst = next((s.value for s in WORST if counts.get(s.value)), "pass")
        group = CheckGroup(check=check_id, title=(titles or {}).get(check_id, check_id), worst=worst,
                           counts={s.value: counts.get(s.value, 0) for s in Status})
        passes_seen = 0
        for f in findings:
            counter += 1
            view = FindingView(anchor=f"f{counter}", finding=f, who=who(f),
                               evidence_json=json.dumps(f.evidence, indent=2, sort_keys=True, default=str))
            if f.status in (Status.FAIL, Status.ERROR, Status.WARN):
                group.blocking.append(view)
            elif passes_seen < PASSES_SHOWN:
                group.others.append(view)
                passes_seen += 1
            else:
                group.hidden_passes += 1
        groups.append(group)
    groups.sort(key=lambda g: (ORDER[Status(g.worst)], g.check))
    subjects = sorted({f.subject for f in results.findings}, key=str.casefold)
    return ReportView(
        results=results,
        verdict=results.verdict.value,
        summary=results.summary,
        groups=groups,
        topology=topology(results),
        subjects=subjects[:500],
        checks=sorted(by_check),
        blocking_count=sum(len(g.blocking) for g in groups),
    )


def _worst(findings: list[Finding]) -> str:
    present = {f.status for f in findings if not f.waived}
    return next((s.value for s in WORST if s in present), "none")


def topology(results: Results) -> Topology:
    """Source hosts → export path → (disks shipped) → import path → target hosts; large host
    columns collapse into one summary node so 2,000 hosts do not draw 2,000 boxes."""
    topo = results.topology
    related: dict[str, list[Finding]] = defaultdict(list)
    for f in results.findings:
        related[f.subject.casefold()].append(f)
        if f.target:
            related[f.target.casefold()].append(f)

    def path_findings(path: str | None) -> list[Finding]:
        if not path:
            return []
        out = list(related.get(path.casefold(), []))
        server = path.lstrip("\\/").replace("/", "\\").split("\\")[0] if path.startswith(("\\\\", "//")) else ""
        if server:
            out += related.get(server.casefold(), [])
        return out

    nodes: list[Node] = []
    edges: list[tuple[str, str]] = []

    def column(hosts: list[str], col: int, prefix: str) -> list[str]:
        ids = []
        if len(hosts) > 8:
            found = [f for h in hosts for f in related.get(h.casefold(), [])]
            bad = Counter(_worst(related.get(h.casefold(), [])) for h in hosts)
            detail = ", ".join(f"{n} {s}" for s, n in bad.most_common() if s not in {"pass", "none"}) or "all pass"
            nodes.append(Node(f"{prefix}-all", f"{len(hosts):,} hosts", _worst(found), col, 0, detail))
            ids.append(f"{prefix}-all")
            return ids
        for row, host in enumerate(hosts):
            node_id = f"{prefix}-{row}"
            nodes.append(Node(node_id, host, _worst(related.get(host.casefold(), [])), col, row))
            ids.append(node_id)
        return ids

    sources = column(topo.source_hosts, 0, "src")
    export = Node("export", topo.export_path or "(no export path)", _worst(path_findings(topo.export_path)), 1, 0)
    shipped = Node("ship", "disks shipped", "none", 2, 0)
    imp = Node("import", topo.import_path or "(no import path)", _worst(path_findings(topo.import_path)), 3, 0)
    nodes += [export, shipped, imp]
    targets = column(topo.target_hosts, 4, "tgt")
    edges += [(s, "export") for s in sources] + [("export", "ship"), ("ship", "import")]
    edges += [("import", t) for t in targets]
    rows = max(1, len(sources), len(targets))
    return Topology(nodes=nodes, edges=edges, width=5 * 200, height=rows * 56 + 24)


def node_links(view: ReportView) -> dict[str, str]:
    """Node id -> the anchor of its first finding, so a node in the picture leads to its findings."""
    out: dict[str, str] = {}
    first: dict[str, str] = {}
    for group in view.groups:
        for fv in group.blocking + group.others:
            for key in (fv.finding.subject, fv.finding.target):
                if key:
                    first.setdefault(key.casefold(), fv.anchor)
    for node in view.topology.nodes:
        key = node.label.casefold()
        if key in first:
            out[node.id] = first[key]
    return out



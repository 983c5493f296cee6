"""The check engine: declaring checks, finding them, and running them over facts.

A check is a plain function in a file of `checks/` (or of a `--checks-dir`, or of an installed
package's `offlineprep.checks` entry point), decorated with `@check(...)`. The decorator only
attaches metadata: nothing registers at import time, and discovery is explicit. The engine stamps
id and severity onto what a check yields, and turns an exception in a check into an `error`
finding naming the check, so one broken check never ends a run.
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib.util
import inspect
import logging
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from offlineprep.facts import DirectoryFacts, Facts
from offlineprep.inventory import Inventory, site_inventory
from offlineprep.model import CheckInfo, DocLink, Finding, Outcome, Severity, Status
from offlineprep.site import Site
from offlineprep.suggest import did_you_mean

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "offlineprep.checks"
_ATTR = "__offlineprep_check__"


class Need(str, Enum):
    """Facts a check reads; the pipeline collects only the union over the selected checks."""

    DIRECTORY = "directory"  # LDAP: computer accounts, principals, SPN holders
    HYPERV_HOSTS = "hyperv-hosts"  # WinRM on the source and target Hyper-V hosts
    PATH_COMPUTERS = "path-computers"  # WinRM on the computers holding the export/import paths


@dataclass(frozen=True)
class CheckContext:
    """What a check function receives: the site as configured, the facts as collected, and the
    inventory: the subjects to judge (docs/inventory.md). Checks take their subjects from
    `inventory` (hosts, clusters, paths, accounts), never from the site file's lists, so a new
    source of the inventory changes no check; `site` is there for settings (the policy).

    The inventory is the one the facts carry (facts/v2); for facts without one (a v1 file, or
    facts built by hand) it is the site file's own lists.

    `facts_file` names the saved facts file the facts came from (`preflight --facts`), so that a
    host or path it lacks is reported as "not in the facts file" rather than "not queried".
    """

    site: Site
    facts: Facts
    facts_file: str | None = None
    inventory: Inventory = field(default=None)  # type: ignore[assignment]  # filled in __post_init__
    # every domain read, as one view (Facts.directory_view); None: the directory was not read
    directory: DirectoryFacts | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.inventory is None:
            object.__setattr__(self, "inventory", self.facts.inventory or site_inventory(self.site))
        object.__setattr__(self, "directory", self.facts.directory_view())


CheckFunction = Callable[[CheckContext], Iterable[Outcome]]


DocsArgument = Iterable[str | tuple[str, str]] | Mapping[str, str]


@dataclass(frozen=True)
class CheckSpec:
    id: str
    title: str
    severity: Severity
    needs: frozenset[Need]
    walkthrough_step: str  # the step of Microsoft's walkthrough the check stands for
    rationale: str  # the module/function docstring: the check author's documentation
    func: CheckFunction = field(compare=False, repr=False)
    origin: str = ""  # file or entry point it came from
    why: str = ""  # one paragraph for the administrator: what breaks, and when, if this is wrong
    docs: tuple[DocLink, ...] = ()  # Microsoft documentation to read more

    @property
    def seed_step(self) -> str:  # the name this field had before it was shown to users
        return self.walkthrough_step

    def info(self) -> CheckInfo:
        """What the results document carries about the check, so a report needs no check code."""
        return CheckInfo(id=self.id, title=self.title, severity=self.severity.label, why=self.why,
                         docs=list(self.docs), walkthrough_step=self.walkthrough_step)

    def catalogue_entry(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity.label,
            "needs": sorted(n.value for n in self.needs),
            "walkthrough_step": self.walkthrough_step,
            "why": self.why,
            "docs": [d.model_dump() for d in self.docs],
            "origin": self.origin,
        }


def _doc_links(docs: DocsArgument) -> tuple[DocLink, ...]:
    """`docs` as a check author writes it: {title: url}, [(title, url)] or bare URLs."""
    items: Iterable[Any] = docs.items() if isinstance(docs, Mapping) else docs
    links = []
    for item in items:
        title, url = (item, item) if isinstance(item, str) else item
        if not str(url).startswith("https://"):
            raise ValueError(f"documentation link {url!r} is not an https:// URL")
        links.append(DocLink(title=str(title), url=str(url)))
    return tuple(links)


def check(
    id: str,
    *,
    title: str,
    severity: Severity | str = Severity.HIGH,
    needs: Iterable[Need | str] = (),
    why: str = "",
    docs: DocsArgument = (),
    walkthrough_step: str = "",
    seed_step: str = "",
    rationale: str | None = None,
) -> Callable[[CheckFunction], CheckFunction]:
    """Declare a check. Metadata lives next to the logic; the docstring is the author's documentation.

    `why` is one paragraph in an administrator's words (what fails, and when, if this is wrong);
    `docs` links Microsoft's documentation; `walkthrough_step` names the step of the walkthrough the
    check stands for (`seed_step` is its older name and still accepted).
    """

    sev = severity if isinstance(severity, Severity) else Severity[str(severity).upper()]
    need_set = frozenset(Need(n) for n in needs)
    links = _doc_links(docs)

    def decorate(func: CheckFunction) -> CheckFunction:
        module = inspect.getmodule(func)
        doc = rationale or inspect.getdoc(func) or (inspect.getdoc(module) if module else None) or ""
        spec = CheckSpec(
            id=id,
            title=title,
            severity=sev,
            needs=need_set,
            walkthrough_step=walkthrough_step or seed_step,
            rationale=doc.strip(),
            func=func,
            why=" ".join(why.split()),
            docs=links,
        )
        setattr(func, _ATTR, spec)
        return func

    return decorate


# --------------------------------------------------------------------------- discovery


@dataclass
class Catalogue:
    checks: list[CheckSpec]
    problems: list[str]  # packs or files that failed to load: reported, never silent

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.checks]

    def suggest(self, text: str) -> str:
        """' (did you mean 'ad.delegation'?)' for a mistyped id or glob, else ''."""
        families = sorted({i.split(".")[0] + ".*" for i in self.ids})
        return did_you_mean(text, [*self.ids, *families])

    def select(self, only: Sequence[str] = (), skip: Sequence[str] = ()) -> list[CheckSpec]:
        chosen = [
            c for c in self.checks if (not only or any(fnmatch.fnmatchcase(c.id, g) for g in only))
        ]
        return [c for c in chosen if not any(fnmatch.fnmatchcase(c.id, g) for g in skip)]

    def unmatched(self, globs: Sequence[str]) -> list[str]:
        """The globs that match no check id: a typo in `--only` must not quietly run less."""
        return [g for g in globs if not any(fnmatch.fnmatchcase(c.id, g) for c in self.checks)]

def builtin_checks_dir() -> Path:
    from offlineprep.resources import bundled_dir

    return bundled_dir("checks")


def discover(extra_dirs: Sequence[Path] = (), include_entry_points: bool = True) -> Catalogue:
    """Built-in `checks/`, then each `--checks-dir`, then installed packs. A duplicate id is a
    problem (the first one wins), so a pack cannot silently replace a built-in check."""
    specs: list[CheckSpec] = []
    problems: list[str] = []
    seen: dict[str, str] = {}

    def add(found: Iterable[CheckSpec]) -> None:
        for spec in found:
            if spec.id in seen:
                problems.append(f"check id {spec.id!r} from {spec.origin} is already defined in {seen[spec.id]}; ignored")
                continue
            seen[spec.id] = spec.origin
            specs.append(spec)

    for directory in [builtin_checks_dir(), *extra_dirs]:
        if not directory.is_dir():
            problems.append(f"checks folder {directory} does not exist")
            continue
        for path in sorted(directory.glob("*.py")):
            if path.name.startswith("_"):
                continue
            try:
                module = _load_file(path)
            except Exception as exc:  # a broken pack is reported, not fatal
                problems.append(f"could not load checks from {path}: {type(exc).__name__}: {exc}")
                continue
            add(_specs_in(module, str(path)))
    if include_entry_points:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                loaded = ep.load()
            except Exception as exc:
                problems.append(f"could not load check pack {ep.name!r} ({ep.value}): {type(exc).__name__}: {exc}")
                continue
            add(_specs_in(loaded, f"entry point {ep.name}"))
    return Catalogue(checks=specs, problems=problems)


def _load_file(path: Path) -> ModuleType:
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    name = f"_offlineprep_checks_{digest}_{path.stem.replace('-', '_')}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _specs_in(obj: Any, origin: str) -> Iterator[CheckSpec]:
    """Checks in a module (its functions), or a single decorated function, or a list of them."""
    if isinstance(obj, ModuleType):
        candidates: Iterable[Any] = vars(obj).values()
    elif isinstance(obj, (list, tuple)):
        candidates = obj
    else:
        candidates = [obj]
    for value in candidates:
        spec = getattr(value, _ATTR, None)
        if isinstance(spec, CheckSpec):
            yield CheckSpec(**{**spec.__dict__, "origin": origin})


def needs_of(checks: Iterable[CheckSpec]) -> frozenset[Need]:
    return frozenset(n for c in checks for n in c.needs)


# --------------------------------------------------------------------------- evaluation


def evaluate(checks: Sequence[CheckSpec], context: CheckContext) -> list[Finding]:
    """Run every check over the facts; never raises because of a check."""
    findings: list[Finding] = []
    for spec in checks:
        findings.extend(run_check(spec, context))
    findings.sort(key=lambda f: f.sort_key)
    return findings


def run_check(spec: CheckSpec, context: CheckContext) -> list[Finding]:
    try:
        outcomes = list(spec.func(context))
    except Exception as exc:
        log.exception("check %s raised", spec.id)
        return [
            Finding(
                check=spec.id,
                status=Status.ERROR,
                severity=spec.severity.label,
                subject="(check)",
                message=f"check {spec.id} failed internally: {type(exc).__name__}: {exc}",
                evidence={"exception": type(exc).__name__},
            )
        ]
    findings = []
    for outcome in outcomes:
        if not isinstance(outcome, Outcome):
            findings.append(
                Finding(
                    check=spec.id,
                    status=Status.ERROR,
                    severity=spec.severity.label,
                    subject="(check)",
                    message=f"check {spec.id} yielded {type(outcome).__name__}, not an Outcome",
                )
            )
            continue
        finding = Finding(check=spec.id, severity=spec.severity.label, **outcome.model_dump())
        findings.append(with_cluster(finding, context.inventory))
    return findings


def with_cluster(finding: Finding, inventory: Inventory) -> Finding:
    """A finding about a cluster node names its cluster (evidence `cluster`), whatever check made it:
    any node may own a VM, so the reader must see which cluster a failing node belongs to."""
    host = inventory.host(finding.subject) if inventory.clusters else None
    if host is None or not host.cluster or finding.evidence.get("cluster") == host.cluster:
        return finding
    return finding.model_copy(update={"evidence": {**finding.evidence, "cluster": host.cluster}})

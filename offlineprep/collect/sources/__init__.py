"""Sources of the inventory: each one module, all behind one small interface, registered once.

A source reads the site and what earlier sources found, may run one PowerShell per machine it asks
(through the `RemoteRunner` the pipeline hands it: the collector's own delivery, request as data),
and adds what it learned to the `InventoryBuilder`, with its origin and a `SourceReport`.

Each source module registers its class (`@register`), and the class says when it applies to a site
(`applies`); the pipeline asks `sources_for(site, ...)` and runs what it gets, in dependency order
(`after`). Checks never see a source, only the inventory, so adding one is one module here and
changes no check. docs/inventory.md lists the sources and the order.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar

from offlineprep.facts import CollectionError
from offlineprep.inventory import InventoryBuilder
from offlineprep.site import Site


@dataclass(frozen=True)
class RemoteCall:
    """One PowerShell on one machine: which script (scripts/<script>.ps1) with which request (data)."""

    machine: str
    script: str
    request: dict[str, Any]


@dataclass
class RemoteResult:
    """What came back: the script's JSON document, or why there is none (only this machine's problem)."""

    machine: str
    document: dict[str, Any] | None = None
    error: CollectionError | None = None
    reachable: bool = False  # the machine answered an authenticated WS-Management request
    round_trip_seconds: float | None = None


RemoteRunner = Callable[[Sequence[RemoteCall]], dict[str, RemoteResult]]


@dataclass
class DiscoveryContext:
    site: Site
    inventory: InventoryBuilder
    run: RemoteRunner | None  # None: no WinRM in this run (a source that needs it reports so)
    results: dict[str, Any] = field(default_factory=dict)  # what a source leaves for later ones, by source name


class Source(Protocol):
    """A source of inventory entries."""

    name: ClassVar[str]
    after: ClassVar[tuple[str, ...]]  # sources whose entries this one reads; they run first

    @classmethod
    def applies(cls, site: Site, *, collects_hosts: bool) -> bool:
        """Whether this run uses the source at all: a VMM source needs [vmm]; `collects_hosts` is
        whether the run reads hosts over WinRM (what only host checks need is left out otherwise)."""
        ...

    @classmethod
    def for_site(cls, site: Site) -> Source:
        """The source as this site configures it (called only when it applies)."""
        ...

    def discover(self, context: DiscoveryContext) -> None:
        """Add entries to context.inventory and one SourceReport; never raise for a remote failure."""
        ...


def in_dependency_order(sources: Sequence[Source]) -> list[Source]:
    """Each source after those it names in `after` (a name no source has is ignored: it is a step of
    the pipeline, such as host collection, that the pipeline places itself)."""
    by_name = {s.name: s for s in sources}
    ordered: list[Source] = []
    visiting: set[str] = set()

    def visit(source: Source) -> None:
        if source in ordered:
            return
        if source.name in visiting:
            raise ValueError(f"sources depend on each other in a cycle through {source.name}")
        visiting.add(source.name)
        for name in source.after:
            if name in by_name:
                visit(by_name[name])
        visiting.discard(source.name)
        ordered.append(source)

    for source in sources:
        visit(source)
    return ordered


_S = TypeVar("_S", bound=type[Source])
_REGISTERED: dict[str, type[Source]] = {}


def register(source: _S) -> _S:
    """Class decorator: one source, under its `name` (each source module registers its own)."""
    if _REGISTERED.get(source.name, source) is not source:
        raise ValueError(f"two sources are named {source.name!r}")
    _REGISTERED[source.name] = source
    return source


def registered() -> list[type[Source]]:
    """Every source of this package, by name: importing each module of it lets its sources register."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return [_REGISTERED[name] for name in sorted(_REGISTERED)]


def sources_for(site: Site, *, collects_hosts: bool) -> list[Source]:
    """The sources that apply to this run, in dependency order (today: site-file, vmm, cluster)."""
    return in_dependency_order([cls.for_site(site) for cls in registered()
                                if cls.applies(site, collects_hosts=collects_hosts)])

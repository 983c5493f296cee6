"""Sources of the inventory: each one module, all behind one small interface.

A source reads the site and what earlier sources found, may run one PowerShell per machine it asks
(through the `RemoteRunner` the pipeline hands it: the collector's own delivery, request as data),
and adds what it learned to the `InventoryBuilder`, with its origin and a `SourceReport`. Sources
run in dependency order (`after`); checks never see a source, only the inventory, so adding one
changes no check. docs/inventory.md lists the sources and the order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

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

    def applies(self, site: Site) -> bool:
        """Whether the site uses this source at all (a VMM source needs [vmm])."""
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

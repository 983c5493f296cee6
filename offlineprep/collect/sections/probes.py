"""Section `probes`: from the host itself, each path computer's name resolved and TCP 445 tried (host.path-reachable)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from offlineprep.collect.sections.base import Part, Reading, Section, list_of
from offlineprep.facts import NameProbe, PortProbe


class ConnectAnswer(Part):
    address: str
    state: Literal["open", "refused", "timeout", "error"]  # Task of TcpClient.ConnectAsync after the wait
    error: str | None = None  # SocketException.SocketErrorCode, for state error


class ProbeAnswer(Part):
    name: str  # as the request named it: the path's server name
    addresses: list_of(str) = Field(default_factory=list)  # type: ignore[valid-type]  # Dns.GetHostAddressesAsync
    error: str | None = None  # the resolver's exception message
    timed_out: bool = False  # no answer within the wait
    connections: list_of(ConnectAnswer) = Field(default_factory=list)  # type: ignore[valid-type]


class ProbesAnswer(Part):
    seconds: float | None = None  # Stopwatch over the whole section: the probes' own run time
    names: list_of(ProbeAnswer) = Field(default_factory=list)  # type: ignore[valid-type]


def facts(reading: Reading) -> dict[str, Any]:
    probes: ProbesAnswer | None = reading.answer.probes
    if probes is None:
        return {"probes": None, "probe_seconds": None}
    return {
        "probes": [NameProbe(name=p.name, addresses=list(p.addresses), error=p.error, timed_out=p.timed_out,
                             connections=[PortProbe(address=c.address, state=c.state, error=c.error)
                                          for c in p.connections])
                   for p in probes.names],
        "probe_seconds": probes.seconds,
    }


SECTION = Section("probes", {"probes": ProbesAnswer | None}, facts)

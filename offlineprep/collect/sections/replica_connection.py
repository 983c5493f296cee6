"""Section `replica_connection`: from a source host (a primary), Test-VMReplicationConnection to each
of its Replica servers, bounded in time (replica.connection).

The cmdlet "tests the connection between a primary server and a Replica server to determine whether
replication can be enabled for virtual machines on the primary server to the specified Replica server"
(https://learn.microsoft.com/powershell/module/hyper-v/test-vmreplicationconnection): -ReplicaServerName,
-ReplicaServerPort, -AuthenticationType (Kerberos or Certificate) and, for Certificate, -CertificateThumbprint
(the certificate this host presents: its own configured Get-VMReplicationServer CertificateThumbprint). Its
documented output is None; a failure is an error whose message is Hyper-V's own text. The request names
the servers, port and authentication as data; the script waits for all the tests together against one
deadline and reports the ones still running as timed out.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from offlineprep.collect.sections.base import Part, Reading, Section, list_of
from offlineprep.facts import ReplicaConnection


class ConnectionAnswer(Part):
    server: str  # as the request named it
    port: int | None = None
    authentication: str | None = None
    thumbprint: str | None = None  # the -CertificateThumbprint passed (certificate authentication)
    state: Literal["connected", "failed", "timeout", "not_tested"]
    message: str | None = None  # ErrorRecord.Exception.Message (or why it was not tested)
    error_id: str | None = None  # ErrorRecord.FullyQualifiedErrorId
    output: str | None = None  # what the cmdlet wrote on success, if anything (documented: None)


class ReplicaConnectionAnswer(Part):
    seconds: float | None = None  # Stopwatch over the section
    deadline_seconds: float | None = None  # the request's replica_connection_seconds
    connections: list_of(ConnectionAnswer) = Field(default_factory=list)  # type: ignore[valid-type]


def facts(reading: Reading) -> dict[str, Any]:
    answer: ReplicaConnectionAnswer | None = reading.answer.replica_connection
    if answer is None:
        return {"replica_connections": None}
    return {"replica_connections": [
        ReplicaConnection(server=c.server, port=c.port, authentication=c.authentication or None,
                          thumbprint=c.thumbprint or None, state=c.state, message=(c.message or "").strip() or None,
                          error_id=c.error_id or None,
                          seconds=answer.deadline_seconds if c.state == "timeout" else None)
        for c in answer.connections]}


SECTION = Section("replica_connection", {"replica_connection": ReplicaConnectionAnswer | None}, facts)

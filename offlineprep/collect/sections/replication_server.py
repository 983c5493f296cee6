"""Section `replication_server`: the Hyper-V Replica server settings and its authorization entries
(replica.server, replica.authorization)."""

from __future__ import annotations

from typing import Any

from offlineprep.collect.sections.base import Part, Reading, Section, list_of
from offlineprep.facts import ReplicaAuthorization, ReplicationServer


class AuthorizationEntryAnswer(Part):
    allowed_primary_server: str  # VMReplicationAuthorizationEntry.AllowedPrimaryServer
    storage_location: str | None = None  # .ReplicaStorageLocation
    trust_group: str | None = None  # .TrustGroup
    storage_exists: bool | None = None  # Test-Path -LiteralPath of it


class ReplicationServerAnswer(Part):
    enabled: bool | None = None  # VMReplicationServer.ReplicationEnabled
    kerberos_port: int | None = None  # .KerberosAuthenticationPort
    certificate_port: int | None = None  # .CertificateAuthenticationPort
    allowed_authentication: str | None = None  # .AllowedAuthenticationType
    allowed_from_any_server: bool | None = None  # .ReplicationAllowedFromAnyServer
    default_storage_location: str | None = None  # .DefaultStorageLocation
    default_storage_exists: bool | None = None  # Test-Path -LiteralPath of it
    certificate_thumbprint: str | None = None  # .CertificateThumbprint
    authorization_entries: list_of(AuthorizationEntryAnswer) | None = None  # type: ignore[valid-type]


def facts(reading: Reading) -> dict[str, Any]:
    rs: ReplicationServerAnswer | None = reading.answer.replication_server
    if not rs:
        return {"replication_server": None}
    entries = None
    if rs.authorization_entries is not None:
        entries = [ReplicaAuthorization(allowed_primary_server=e.allowed_primary_server,
                                        storage_location=e.storage_location or None, trust_group=e.trust_group or None,
                                        storage_exists=e.storage_exists) for e in rs.authorization_entries]
    return {"replication_server": ReplicationServer(
        enabled=rs.enabled, kerberos_port=rs.kerberos_port, certificate_port=rs.certificate_port,
        allowed_authentication=rs.allowed_authentication, allowed_from_any_server=rs.allowed_from_any_server,
        default_storage_location=rs.default_storage_location or None, default_storage_exists=rs.default_storage_exists,
        certificate_thumbprint=rs.certificate_thumbprint or None, authorization_entries=entries)}


SECTION = Section("replication_server", {"replication_server": ReplicationServerAnswer | None}, facts)

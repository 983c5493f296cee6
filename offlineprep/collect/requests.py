"""What the pipeline asks the collectors for: computed from the site and the selected checks."""

from __future__ import annotations

from dataclasses import dataclass, field

from offlineprep.names import PathRef


@dataclass(frozen=True)
class DirectoryRequest:
    """Names exactly as written in the site file; the collector matches them case-insensitively
    against dNSHostName and sAMAccountName (FQDN or short form)."""

    computers: list[str] = field(default_factory=list)  # Hyper-V hosts and path computers
    principals: list[str] = field(default_factory=list)  # VMM service account, Run As accounts
    spn_names: list[str] = field(default_factory=list)  # every name a path uses
    # SIDs that resource-based delegation descriptors read in other domains name: the computers'
    # groups are read when one of them (or of this domain's descriptors) may be a group of this domain
    named_sids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReplicaConnectionRequest:
    """One Test-VMReplicationConnection a source host runs: to this Replica server (for a clustered
    Replica server, its broker's name), on this port, with this authentication (Kerberos or
    Certificate; the certificate is the host's own configured CertificateThumbprint)."""

    server: str
    port: int
    authentication: str  # "Kerberos" | "Certificate" (ReplicationAuthenticationType)


# how long a host waits for all its Test-VMReplicationConnection runs together (they run at once): an
# unreachable Replica server can keep one busy far longer, and the host's one command must answer
REPLICA_CONNECTION_SECONDS = 10.0


@dataclass(frozen=True)
class HostRequest:
    """One machine, one PowerShell invocation. Every machine reports its identity, OS, Hyper-V
    role and IP addresses; `hyperv` adds VMs, replication listener and firewall rules; `paths`
    adds the path, share, volume and local-group facts for the paths this machine holds; `probes`
    adds name resolution and a TCP connect to port 445, from the machine itself."""

    name: str  # as written in the site file
    hyperv: bool = False
    paths: list[PathRef] = field(default_factory=list)
    # names this machine resolves itself and tries TCP 445 to: the servers of the paths it needs (a
    # source host the export path's, a target host the import path's)
    probes: list[str] = field(default_factory=list)
    # the Replica servers a source host tests its connection to (replica.connection)
    replica_connections: list[ReplicaConnectionRequest] = field(default_factory=list)
    replica_connection_seconds: float = REPLICA_CONNECTION_SECONDS

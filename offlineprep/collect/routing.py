"""Collection routes: from the inventory, what to ask which directory and which machine.

Every object is read from its own domain's directory (docs/inventory.md, "Several domains"): a
host, a path computer or a broker's client access point from the directory of its DNS domain, an
account from the directory of the domain its name writes (`FABRIKAM\\svc`, `svc@fabrikam.com`). A
name no directory is configured for goes to the first directory (the one a single [directory]
table gives), where it is looked up as today and judged `error` if it belongs elsewhere.

Machines: one PowerShell each, Hyper-V hosts with the Hyper-V sections, path computers with their
paths. A cluster node that its cluster reports down is not asked: it would only cost a timeout;
its host facts say why (`down_nodes`; `CollectionError.down_node`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from offlineprep.collect.requests import DirectoryRequest, HostRequest, ReplicaConnectionRequest
from offlineprep.inventory import Host, Inventory, Role
from offlineprep.names import Account, DomainName, HostIndex, HostName, NameError_, PathRef, domain_key, unique_names


@dataclass(frozen=True)
class DomainDirectory:
    """One configured directory: the domain it reads (DNS name, and NetBIOS name when known)."""

    dns_name: str
    netbios_name: str | None = None


@dataclass
class CollectionRoutes:
    """Each domain's directory request and each machine's PowerShell request."""

    directories: dict[str, DirectoryRequest] = field(default_factory=dict)  # domain DNS name -> what to read there
    hosts: list[HostRequest] = field(default_factory=list)
    down_nodes: dict[str, str] = field(default_factory=dict)  # node -> its cluster, not asked

    @property
    def directory(self) -> DirectoryRequest | None:
        """The request of the only directory, for a site with one (today's shape)."""
        return next(iter(self.directories.values())) if len(self.directories) == 1 else None


class DomainRouter:
    """Which configured directory reads a name: its own domain's, else the first one."""

    def __init__(self, directories: Sequence[DomainDirectory]) -> None:
        if not directories:
            raise ValueError("at least one directory is needed to route names")
        self.directories = list(directories)
        self.default = DomainName(directories[0].dns_name).key

    def _configured(self, domain: str | None) -> str | None:
        if not domain:
            return None
        wanted = domain_key(domain)
        for d in self.directories:
            if wanted in {domain_key(d.dns_name), domain_key(d.netbios_name)}:
                return DomainName(d.dns_name).key
        return None

    def for_computer(self, name: str, domain: str | None = None) -> str:
        """A computer: the domain a source gave, else its FQDN's suffix, when a directory reads it."""
        suffix = HostName(name).suffix  # an unparseable name has none that could route it
        return self._configured(domain) or self._configured(suffix) or self.default

    def for_account(self, name: str) -> str:
        try:
            account = Account(name)
        except NameError_:
            return self.default
        return self._configured(account.domain) or self.default


@dataclass(frozen=True)
class ReplicaTest:
    """How source hosts test their Replica servers (replica.connection): the policy's authentication
    (Kerberos or Certificate, as Test-VMReplicationConnection -AuthenticationType spells it) and port."""

    authentication: str
    port: int


def route_collection(inventory: Inventory, directories: Sequence[DomainDirectory], *, directory: bool = True,
                     hyperv_hosts: bool = True, path_computers: bool = True,
                     host_accounts: bool = False, replica: ReplicaTest | None = None) -> CollectionRoutes:
    """What the selected checks need (`directory`, `hyperv_hosts`, `path_computers`), for this inventory.

    `host_accounts` (plain Hyper-V Replica: the export and import run as each host's System account,
    its computer account on the network) reads each host's computer account as a principal too, in
    the directory that reads the computer: its tokenGroups make its token on the file server
    (path.host-accounts). One base read per host, like any principal's."""
    routes = CollectionRoutes()
    if directory and directories:
        router = DomainRouter(directories)
        computers: dict[str, list[str]] = {}
        principals: dict[str, list[str]] = {}
        spn_names: dict[str, list[str]] = {}
        for host in inventory.hosts:
            where = router.for_computer(host.name, host.domain)
            computers.setdefault(where, []).append(host.name)
            if host_accounts and not HostName(host.name).is_ip:
                principals.setdefault(where, []).append(HostName(host.name).logon_name(where or None))
        for ref in inventory.path_refs:
            where = router.for_computer(ref.server)
            computers.setdefault(where, []).append(ref.server)
            spn_names.setdefault(where, []).append(ref.server)
        for cluster in inventory.clusters:
            if cluster.broker is not None and cluster.broker.fqdn:
                computers.setdefault(router.for_computer(cluster.broker.fqdn, cluster.domain), []).append(
                    cluster.broker.fqdn)
        for account in inventory.accounts_to_check:
            principals.setdefault(router.for_account(account), []).append(account)
        for domain in _ordered({*computers, *principals, *spn_names}, [router.default]):
            routes.directories[domain] = DirectoryRequest(
                computers=unique_names(computers.get(domain, [])),
                principals=_unique_text(principals.get(domain, [])),
                spn_names=unique_names(spn_names.get(domain, [])),
            )
    machines: HostIndex[HostRequest] = HostIndex()
    if hyperv_hosts:
        for host in inventory.hosts:
            if host.is_down:
                routes.down_nodes[host.name] = host.cluster or ""
                continue
            machines.setdefault(host.name, HostRequest(name=host.name, hyperv=True, probes=_probes(inventory, host),
                                                       replica_connections=_replica_connections(inventory, host,
                                                                                                replica)))
    if path_computers:
        by_server: HostIndex[list[PathRef]] = HostIndex()
        for ref in inventory.path_refs:
            by_server.setdefault(ref.server, []).append(ref)
        for server, refs in by_server.items():
            existing = machines.get(server)
            machines[server] = HostRequest(name=existing.name if existing else server.text,
                                           hyperv=existing.hyperv if existing else False, paths=refs,
                                           probes=existing.probes if existing else [],
                                           replica_connections=existing.replica_connections if existing else [])
    routes.hosts = [request for _, request in machines.items()]
    return routes


def _probes(inventory: Inventory, host: Host) -> list[str]:
    """The path computers `host` must reach itself (host.path-reachable): the export path's server
    from a source host, the import path's from a target host."""
    names = []
    if inventory.export_path is not None and Role.SOURCE in host.roles:
        names.append(inventory.export_path.server)
    if inventory.import_path is not None and Role.TARGET in host.roles:
        names.append(inventory.import_path.server)
    return unique_names([n for n in names if n])


def _replica_connections(inventory: Inventory, host: Host, replica: ReplicaTest | None) -> list[ReplicaConnectionRequest]:
    """The Replica servers a source host tests (replica.connection): each target host by its connection
    point, which for a node of a cluster with a Replica Broker is the broker's name ("For a recovery
    cluster, this is the broker CAP name": Msvm_ReplicationService.TestReplicationConnection), once each;
    at most REPLICA_TESTS_PER_HOST of them, in turn (Inventory.replica_servers_tested_from)."""
    if replica is None or Role.SOURCE not in host.roles:
        return []
    return [ReplicaConnectionRequest(server=name, port=replica.port, authentication=replica.authentication)
            for name in inventory.replica_servers_tested_from(host.name)]


def _ordered(keys: Iterable[str], first: list[str]) -> list[str]:
    present = set(keys)
    return [k for k in first if k in present] + sorted(k for k in present if k not in first)


def _unique_text(names: Iterable[str]) -> list[str]:
    return unique_names(names)

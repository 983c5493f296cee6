"""The inventory: what the checks judge, discovered from where administrators keep it.

Hyper-V hosts (with their side, domain, cluster and where each came from), failover clusters with
their nodes and Hyper-V Replica Broker, the computers holding the export and import paths, the
accounts (VMM service, Run As) and the domains. Sources build it (offlineprep.collect.sources: the
site file, VMM, the clusters themselves); checks only read it, through the methods below, so a new
source changes no check. docs/inventory.md describes the sources, the order they run in and how
names are compared (offlineprep.names.HostName).

The inventory is data (pydantic, JSON-serialisable): facts of offlineprep/facts/v2 carry it, so a
facts file evaluated elsewhere judges exactly the subjects the collecting run found.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from offlineprep.names import DomainName, HostIndex, HostName, NameError_, PathRef, parse_path, same_account_text
from offlineprep.site import Site


class Origin(str, Enum):
    """Where an inventory entry came from; an entry several sources name lists each."""

    SITE_FILE = "site-file"  # the site file's lists
    VMM = "vmm"  # one PowerShell on the VMM server (VirtualMachineManager module)
    CLUSTER = "cluster"  # the failover cluster itself (FailoverClusters module on a node)


class Role(str, Enum):
    """The side of the replication a host serves."""

    SOURCE = "source"  # protected VMs run here; exports go to the export path
    TARGET = "target"  # Replica side; imports come from the import path


class NodeState(str, Enum):
    """A failover cluster node's state as Get-ClusterNode reports it (CLUSTER_NODE_STATE)."""

    UP = "up"
    DOWN = "down"  # turned off, cluster service stopped, or cut off from the quorum
    PAUSED = "paused"  # running but hosts no roles (maintenance)
    JOINING = "joining"
    UNKNOWN = "unknown"


class AccountKind(str, Enum):
    VMM_SERVICE = "vmm-service"  # the account the VMM service (SCVMMService) runs as
    RUN_AS = "run-as"  # a Run As account the hosts were added with


class InventoryModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Host(InventoryModel):
    """A Hyper-V host to judge. A cluster is never a Host: its nodes are (any node may own a VM)."""

    name: str  # the subject: as the site file writes it, else as VMM or the cluster names it
    roles: list[Role]
    domain: str | None = None  # DNS name of its AD domain, when a source told it
    cluster: str | None = None  # the cluster it is a node of
    node_state: NodeState | None = None  # from Get-ClusterNode, when its cluster answered
    origins: list[Origin]
    vmm_host_group: str | None = None  # where VMM keeps it (evidence)

    @property
    def role(self) -> Role:
        """The side it is judged on: a host on both sides is judged (more strictly) as a source host."""
        return Role.SOURCE if Role.SOURCE in self.roles else Role.TARGET

    @property
    def is_down(self) -> bool:
        return self.node_state is NodeState.DOWN


class ReplicaBroker(InventoryModel):
    """The Hyper-V Replica Broker role of a cluster: the name the other site replicates to (its
    client access point), which Kerberos and certificates know the cluster by."""

    resource: str  # the "Virtual Machine Replication Broker" resource
    group: str | None = None  # its role (cluster group)
    network_name: str | None = None  # the Network Name resource's Name: the computer name published
    dns_name: str | None = None  # its DnsName
    fqdn: str | None = None  # dns_name in the cluster's domain: the name certificates must carry
    computer_account: str | None = None  # sAMAccountName of its virtual computer object, NAME$
    state: str | None = None


class Cluster(InventoryModel):
    name: str  # as written or discovered (the cluster name object, CNO)
    domain: str | None = None
    roles: list[Role]
    origins: list[Origin]
    nodes: list[str] = Field(default_factory=list)
    broker: ReplicaBroker | None = None
    # why the cluster could not be expanded (its nodes are then unknown): unreachable, not a cluster, ...
    problem: str | None = None

    @property
    def role(self) -> Role:
        return Role.SOURCE if Role.SOURCE in self.roles else Role.TARGET


class PathEntry(InventoryModel):
    raw: str  # as written in the site file
    role: Literal["export", "import"]
    server: str | None = None  # the server of a local path (export_server / import_server)

    @property
    def ref(self) -> PathRef:
        return parse_path(self.raw, self.server, role=self.role)


class InventoryAccount(InventoryModel):
    name: str  # DOMAIN\name (or as written)
    kind: AccountKind
    origins: list[Origin]
    vmm_run_as: str | None = None  # the Run As account's name in VMM
    note: str | None = None  # e.g. "SCVMMService runs as LocalSystem: the VMM server's computer account"


class Domain(InventoryModel):
    dns_name: str
    netbios_name: str | None = None


SourceStatus = Literal["ok", "error", "partial"]


class SourceReport(InventoryModel):
    """What one source did: evidence for the findings about discovery, and its cost."""

    source: str  # "site-file", "vmm", "cluster"
    machine: str | None = None  # the machine asked (VMM server, cluster name)
    status: SourceStatus = "ok"
    kind: str | None = None  # the error kind when status is error (offlineprep.facts.ErrorKind values)
    message: str | None = None
    hosts: int = 0
    clusters: int = 0
    accounts: int = 0
    powershell_commands: int = 0
    notes: list[str] = Field(default_factory=list)  # e.g. a site-file host VMM does not manage


# at most this many Test-VMReplicationConnection runs per source host (replica.connection)
REPLICA_TESTS_PER_HOST = 8


class Inventory(InventoryModel):
    hosts: list[Host] = Field(default_factory=list)
    clusters: list[Cluster] = Field(default_factory=list)
    paths: list[PathEntry] = Field(default_factory=list)
    accounts: list[InventoryAccount] = Field(default_factory=list)
    domains: list[Domain] = Field(default_factory=list)
    vmm_server: str | None = None
    sources: list[SourceReport] = Field(default_factory=list)
    _host_index: tuple[dict[str, Host], dict[str, list[Host]]] | None = PrivateAttr(default=None)

    # ------------------------------------------------------------------ hosts

    def hyperv_hosts(self, role: Role | None = None) -> list[Host]:
        """Every host to judge (cluster nodes included), in inventory order; `role` filters by the side
        it is judged on."""
        return [h for h in self.hosts if role is None or h.role is role]

    @property
    def source_hosts(self) -> list[str]:
        return [h.name for h in self.hosts if Role.SOURCE in h.roles]

    @property
    def target_hosts(self) -> list[str]:
        """Hosts of the target side (a host on both sides is in both lists, as the site file has it)."""
        return [h.name for h in self.hosts if Role.TARGET in h.roles]

    @property
    def all_hosts(self) -> list[str]:
        return [h.name for h in self.hosts]

    def host(self, name: str | HostName) -> Host | None:
        """The host of that name (case and the root dot do not count), else the one host that is the
        same machine (a short name for an FQDN in the host's domain)."""
        if self._host_index is None:  # built once: checks ask for every host, thousands of them
            by_key: dict[str, Host] = {}
            by_label: dict[str, list[Host]] = {}
            for h in self.hosts:
                by_key.setdefault(HostName(h.name).key, h)
                by_label.setdefault(HostName(h.name).label, []).append(h)
            self._host_index = (by_key, by_label)
        by_key, by_label = self._host_index
        wanted = HostName.of(name)
        found = by_key.get(wanted.key)
        if found is not None:
            return found
        candidates = [h for h in by_label.get(wanted.label, []) if wanted.same_machine(h.name, h.domain)]
        return candidates[0] if len(candidates) == 1 else None

    def cluster(self, name: str | HostName) -> Cluster | None:
        wanted = HostName.of(name)
        return next((c for c in self.clusters if wanted.same_machine(c.name, c.domain)), None)

    def cluster_of(self, host: str | HostName) -> Cluster | None:
        found = self.host(host)
        return self.cluster(found.cluster) if found is not None and found.cluster else None

    def replica_connection_point(self, host: str | HostName) -> str:
        """The name a primary connects to for the Replica server `host`: its cluster's Replica Broker
        when the cluster has one with a DNS name (a clustered Replica server is reached through its
        broker), else the host's own name."""
        cluster = self.cluster_of(host)
        if cluster is not None and cluster.broker is not None and cluster.broker.fqdn:
            return cluster.broker.fqdn
        found = self.host(host)
        return found.name if found is not None else str(host)

    def replica_servers(self) -> list[str]:
        """Every Replica server by its connection point, once (a Replica cluster: its broker)."""
        out: dict[str, str] = {}
        for target in self.target_hosts:
            name = self.replica_connection_point(target)
            out.setdefault(HostName.of(name).key, name)
        return list(out.values())

    def replica_servers_tested_from(self, source: str | HostName, limit: int = REPLICA_TESTS_PER_HOST) -> list[str]:
        """The Replica servers a source host tests its connection to (replica.connection): all of them, or
        with more than `limit`, `limit` of them in turn, so that every Replica server is tested from some
        source host while no host runs more than `limit` tests (each is a PowerShell instance on it)."""
        found = self.host(source)
        sources = self.source_hosts
        if found is None or found.name not in sources:
            return []
        own = HostName.of(self.replica_connection_point(found.name)).key
        servers = [s for s in self.replica_servers() if HostName.of(s).key != own]
        if len(servers) <= limit:
            return servers
        start = sources.index(found.name) * limit
        return [servers[(start + k) % len(servers)] for k in range(limit)]

    def describe(self, host: str | HostName) -> str:
        """How a message names a host: `hv-n1.contoso.com (node of cluster HVC1)` for a cluster node."""
        found = self.host(host)
        if found is None or not found.cluster:
            return str(host)
        return f"{found.name} (node of cluster {found.cluster})"

    def is_hyperv_host(self, name: str | HostName) -> bool:
        return self.host(name) is not None

    def may_be_hyperv_host(self, name: str | HostName) -> bool:
        """Whether `name` may denote a host to judge: a host of that name, or one that is the same
        machine by name (HostName.same_machine in the host's domain), even when several are."""
        wanted = HostName.of(name)
        return any(wanted.same_machine(h.name, h.domain) for h in self.hosts)

    # ------------------------------------------------------------------ paths

    def path(self, role: Literal["export", "import"]) -> PathRef | None:
        entry = next((p for p in self.paths if p.role == role), None)
        return entry.ref if entry is not None else None

    @property
    def export_path(self) -> PathRef | None:
        return self.path("export")

    @property
    def import_path(self) -> PathRef | None:
        return self.path("import")

    @property
    def path_refs(self) -> list[PathRef]:
        return [p.ref for p in self.paths]

    @property
    def path_computers(self) -> list[str]:
        """Computers holding a path, as the paths name them, each once."""
        index: HostIndex[str] = HostIndex((p.ref.server, p.ref.server) for p in self.paths)
        return index.names()

    # ------------------------------------------------------------------ accounts

    @property
    def vmm_service_account(self) -> str | None:
        found = next((a for a in self.accounts if a.kind is AccountKind.VMM_SERVICE), None)
        return found.name if found is not None else None

    @property
    def run_as_accounts(self) -> list[str]:
        return [a.name for a in self.accounts if a.kind is AccountKind.RUN_AS]

    @property
    def accounts_to_check(self) -> list[str]:
        service = self.vmm_service_account
        return ([service] if service else []) + self.run_as_accounts

    def account(self, name: str) -> InventoryAccount | None:
        return next((a for a in self.accounts if same_account_text(a.name, name)), None)

    # ------------------------------------------------------------------ domains

    def domain_of(self, name: str | HostName) -> str | None:
        """The DNS domain of a host or path computer: what a source said, else its FQDN's suffix."""
        found = self.host(name)
        if found is not None and found.domain:
            return DomainName.of(found.domain).key
        return HostName.of(name).suffix

    def domain(self, name: str) -> Domain | None:
        wanted = DomainName.of(name)
        return next((d for d in self.domains if DomainName.of(d.dns_name) == wanted
                     or (d.netbios_name is not None and DomainName.of(d.netbios_name) == wanted)), None)

    @property
    def netbios_to_dns(self) -> dict[str, str]:
        return {d.netbios_name: d.dns_name for d in self.domains if d.netbios_name}

    def machines(self) -> list[str]:
        """Every machine collection may reach over WinRM: hosts, then path computers, each once."""
        index: HostIndex[str] = HostIndex()
        for name in [*self.all_hosts, *self.path_computers]:
            index.setdefault(name, name)
        return index.names()


def validate_name(name: str, what: str) -> str:
    """A host name a source returned, checked as the site file's names are (raises NameError_)."""
    HostName.parse(name, context=what)
    return name


__all__ = [
    "AccountKind", "Cluster", "Domain", "Host", "Inventory", "InventoryAccount", "NameError_", "NodeState", "Origin",
    "PathEntry", "ReplicaBroker", "Role", "SourceReport", "validate_name",
]


# --------------------------------------------------------------------------- building


def _add_side(entry: Host | Cluster, role: Role, origin: Origin) -> None:
    """A host or cluster found again: it gains the role (kept in Role order) and the source that found it."""
    if role not in entry.roles:
        entry.roles = sorted({*entry.roles, role}, key=list(Role).index)
    if origin not in entry.origins:
        entry.origins.append(origin)


class InventoryBuilder:
    """Merges what the sources found into one inventory, in the order they ran.

    A host two sources name (the site file's `hv01`, VMM's `hv01.contoso.com`) is one entry when the
    names are the same machine (HostName.same_machine in the domain a source gave): it keeps the
    first spelling (the site file's: subjects stay as written) and lists every origin.
    """

    def __init__(self) -> None:
        self.hosts: list[Host] = []
        self._by_key: dict[str, Host] = {}  # HostName.key -> host
        self._by_label: dict[str, list[Host]] = {}  # first label -> hosts (short-name lookups)
        self.clusters: list[Cluster] = []
        self.paths: list[PathEntry] = []
        self.accounts: list[InventoryAccount] = []
        self.domains: list[Domain] = []
        self.sources: list[SourceReport] = []
        self.vmm_server: str | None = None

    # ------------------------------------------------------------------ hosts and clusters

    def find_host(self, name: str, domain: str | None = None) -> Host | None:
        """The host of that name, else the one that is the same machine (indexed: a site of thousands
        of hosts merges in linear time)."""
        wanted = HostName.of(name)
        exact = self._by_key.get(wanted.key)
        if exact is not None:
            return exact
        same = [h for h in self._by_label.get(wanted.label, []) if wanted.same_machine(h.name, domain or h.domain)]
        return same[0] if len(same) == 1 else None

    def _index(self, host: Host) -> None:
        name = HostName.of(host.name)
        self._by_key.setdefault(name.key, host)
        self._by_label.setdefault(name.label, []).append(host)

    def remove_host(self, host: Host) -> None:
        self.hosts.remove(host)
        name = HostName.of(host.name)
        if self._by_key.get(name.key) is host:
            del self._by_key[name.key]
        self._by_label[name.label] = [h for h in self._by_label.get(name.label, []) if h is not host]

    def add_host(self, name: str, role: Role, origin: Origin, *, domain: str | None = None,
                 cluster: str | None = None, node_state: NodeState | None = None,
                 vmm_host_group: str | None = None) -> Host:
        host = self.find_host(name, domain)
        if host is None:
            host = Host(name=name, roles=[role], origins=[origin], domain=domain, cluster=cluster,
                        node_state=node_state, vmm_host_group=vmm_host_group)
            self.hosts.append(host)
            self._index(host)
            return host
        _add_side(host, role, origin)
        host.domain = host.domain or domain
        host.cluster = host.cluster or cluster
        host.node_state = node_state or host.node_state
        host.vmm_host_group = host.vmm_host_group or vmm_host_group
        return host

    def find_cluster(self, name: str, domain: str | None = None) -> Cluster | None:
        wanted = HostName.of(name)
        return next((c for c in self.clusters if wanted.same_machine(c.name, domain or c.domain)), None)

    def add_cluster(self, name: str, role: Role, origin: Origin, *, domain: str | None = None) -> Cluster:
        cluster = self.find_cluster(name, domain)
        if cluster is None:
            cluster = Cluster(name=name, roles=[role], origins=[origin], domain=domain)
            self.clusters.append(cluster)
            return cluster
        _add_side(cluster, role, origin)
        cluster.domain = cluster.domain or domain
        return cluster

    def promote_to_cluster(self, name: str, domain: str | None = None) -> Cluster:
        """A name taken for a host turned out to be a cluster name (its client access point answered
        for the cluster): it becomes a cluster with the host's sides and origins, and is no host."""
        host = self.find_host(name, domain)
        roles = host.roles if host is not None else [Role.SOURCE]
        origins = host.origins if host is not None else [Origin.SITE_FILE]
        if host is not None:
            self.remove_host(host)
        cluster = self.add_cluster(name, roles[0], origins[0], domain=domain)
        for role in roles[1:]:
            self.add_cluster(name, role, origins[0], domain=domain)
        for origin in origins[1:]:
            self.add_cluster(name, roles[0], origin, domain=domain)
        return cluster

    def add_nodes(self, cluster: Cluster, nodes: list[tuple[str, NodeState | None]], origin: Origin) -> list[Host]:
        """Every node of the cluster is a host of the cluster's sides (any node may own a VM)."""
        added = []
        listed = HostIndex((n, n) for n in cluster.nodes)
        for node, state in nodes:
            if listed.machine(node, cluster.domain) is None:
                cluster.nodes.append(node)
                listed.setdefault(node, node)
            for role in cluster.roles:
                added.append(self.add_host(node, role, origin, domain=cluster.domain, cluster=cluster.name,
                                           node_state=state))
        return added

    def node_reports_cluster(self, host_name: str, cluster_name: str, domain: str | None,
                             broker: ReplicaBroker | None) -> Cluster | None:
        """A host's own answer said it is a node of `cluster_name` (section `cluster`): however the
        site file named it (one by one, beside VMM or a cluster name), it is that cluster's node and
        replicates through that cluster's Replica Broker. The cluster gains the host's sides; a
        broker already read from the cluster itself is kept. None: the host is not in the inventory."""
        host = self.find_host(host_name, domain)
        if host is None or not cluster_name:
            return None
        fqdn = f"{cluster_name}.{domain}" if domain and "." not in cluster_name else cluster_name
        cluster = self.find_cluster(host.cluster, domain) if host.cluster else None
        if cluster is None:
            cluster = self.find_cluster(fqdn, domain)
        for role in host.roles:
            cluster = self.add_cluster(cluster.name if cluster else fqdn, role, Origin.CLUSTER, domain=domain)
        if cluster is None:
            return None
        if Origin.CLUSTER not in cluster.origins:
            cluster.origins.append(Origin.CLUSTER)
        if not HostIndex((n, n) for n in cluster.nodes).machine(host.name, domain):
            cluster.nodes.append(host.name)
        host.cluster = host.cluster or cluster.name
        if cluster.broker is None and broker is not None:
            cluster.broker = broker
        return cluster

    # ------------------------------------------------------------------ the rest

    def add_path(self, raw: str, role: Literal["export", "import"], server: str | None = None) -> None:
        if not any(p.role == role for p in self.paths):
            self.paths.append(PathEntry(raw=raw, role=role, server=server))

    def add_account(self, name: str, kind: AccountKind, origin: Origin, *, vmm_run_as: str | None = None,
                    note: str | None = None) -> InventoryAccount:
        found = next((a for a in self.accounts if a.kind is kind and same_account_text(a.name, name)), None)
        if found is None:
            found = InventoryAccount(name=name, kind=kind, origins=[origin], vmm_run_as=vmm_run_as, note=note)
            self.accounts.append(found)
            return found
        if origin not in found.origins:
            found.origins.append(origin)
        found.vmm_run_as = found.vmm_run_as or vmm_run_as
        found.note = found.note or note
        return found

    def replace_vmm_service(self, name: str, origin: Origin, note: str | None = None) -> InventoryAccount:
        """The account VMM says its service runs as replaces one the site file wrote: the service runs as
        one account, and judging another produces findings about an account nothing uses."""
        written = [a for a in self.accounts if a.kind is AccountKind.VMM_SERVICE]
        keep = [a for a in written if same_account_text(a.name, name)]
        for old in written:
            if old not in keep:
                self.accounts.remove(old)
        account = self.add_account(name, AccountKind.VMM_SERVICE, origin, note=note)
        self.accounts.remove(account)
        self.accounts.insert(0, account)
        return account

    def add_domain(self, dns_name: str, netbios_name: str | None = None) -> None:
        found = next((d for d in self.domains if DomainName.of(d.dns_name) == DomainName.of(dns_name)), None)
        if found is None:
            self.domains.append(Domain(dns_name=dns_name, netbios_name=netbios_name))
        elif netbios_name and not found.netbios_name:
            found.netbios_name = netbios_name

    def report(self, report: SourceReport) -> None:
        self.sources.append(report)

    def build(self) -> Inventory:
        return Inventory(hosts=[h.model_copy(deep=True) for h in self.hosts],
                         clusters=[c.model_copy(deep=True) for c in self.clusters],
                         paths=list(self.paths), accounts=[a.model_copy(deep=True) for a in self.accounts],
                         domains=list(self.domains), vmm_server=self.vmm_server, sources=list(self.sources))


def add_site_lists(builder: InventoryBuilder, site: Site) -> None:
    """The site file's own lists: hosts of each side, the paths, the accounts (origin `site-file`)."""
    for host in site.source_hosts:
        builder.add_host(host, Role.SOURCE, Origin.SITE_FILE)
    for host in site.target_hosts:
        builder.add_host(host, Role.TARGET, Origin.SITE_FILE)
    if site.source.export_path is not None:
        builder.add_path(site.source.export_path, "export", site.source.export_server)
    if site.target.import_path is not None:
        builder.add_path(site.target.import_path, "import", site.target.import_server)
    accounts = site.accounts
    if accounts is not None and accounts.vmm_service:
        builder.add_account(accounts.vmm_service, AccountKind.VMM_SERVICE, Origin.SITE_FILE)
    for run_as in accounts.run_as if accounts is not None else []:
        builder.add_account(run_as, AccountKind.RUN_AS, Origin.SITE_FILE)


def site_inventory(site: Site) -> Inventory:
    """The inventory the site file alone gives: what a run without other sources, and a facts file of
    offlineprep/facts/v1 (which carries no inventory), judge."""
    builder = InventoryBuilder()
    add_site_lists(builder, site)
    return builder.build()

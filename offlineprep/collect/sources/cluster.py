"""Failover clusters as a source: a cluster expands to its nodes, each with its state, and names
its Hyper-V Replica Broker's client access point.

Any node may own a replicated VM, so every node is a host to judge. What a cluster says comes from
the FailoverClusters module on a node (scripts/cluster.ps1: Get-Cluster, Get-ClusterNode,
Get-ClusterResource of type "Virtual Machine Replication Broker" and its role's Network Name, whose
Name and DnsName are the broker's names); `apply_cluster_view` merges it into the inventory, for a
cluster asked by its name and for a node that reported its cluster.

Node names: Get-ClusterNode gives a node's computer name (NetBIOS-like, `HV-N1`); in the cluster's
domain (Get-Cluster's Domain) it is `hv-n1.<domain>`, the name VMM and the directory know.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from offlineprep.collect.sources import DiscoveryContext, RemoteCall, register
from offlineprep.facts import CollectionError, ErrorKind
from offlineprep.inventory import Cluster, InventoryBuilder, NodeState, Origin, ReplicaBroker, SourceReport
from offlineprep.names import HostName, NameError_
from offlineprep.site import Site

SCHEMA = "offlineprep/cluster/v1"
BROKER_TYPE = "Virtual Machine Replication Broker"  # CLUS_RESTYPE_NAME_VMREPLICA_BROKER

_STATES = {"up": NodeState.UP, "down": NodeState.DOWN, "paused": NodeState.PAUSED, "joining": NodeState.JOINING}


@dataclass
class ClusterView:
    """One cluster as a node described it."""

    answered_by: str | None  # the node that ran the script (its own DNS name)
    name: str  # Get-Cluster's Name, e.g. HVC1
    domain: str | None
    nodes: list[tuple[str, NodeState]] = field(default_factory=list)  # FQDN when the domain is known
    brokers: list[ReplicaBroker] = field(default_factory=list)
    # names in the answer that are no host name (a port, path, user part...): never reached, an error
    invalid: list[str] = field(default_factory=list)

    @property
    def fqdn(self) -> str:
        return f"{self.name}.{self.domain}" if self.domain and "." not in self.name else self.name


@dataclass
class ClusterAnswer:
    """What a machine said when asked about its cluster: the cluster, or why not (`not_a_cluster` when
    the machine answered but is no cluster node, `error` when the answer is unusable)."""

    machine: str
    view: ClusterView | None = None
    not_a_cluster: str | None = None
    error: CollectionError | None = None


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def node_state(text: str | None) -> NodeState:
    return _STATES.get(str(text or "").strip().casefold(), NodeState.UNKNOWN)


def _qualified(name: str, domain: str | None, view: ClusterView, what: str = "a cluster node") -> str | None:
    """The node's (or broker's) FQDN; None for a name that is no host name, which `view` notes: a name
    from an answer becomes a WinRM URL, so it is never reached (docs/security.md, "Names")."""
    try:
        return HostName.parse(HostName.parse(name, context=what).qualified(domain).text, context=what).text
    except NameError_ as exc:
        view.invalid.append(str(exc))
        return None


def read_cluster_section(section: dict[str, Any], answered_by: str | None) -> ClusterView:
    """The `cluster` part of an answer (scripts/cluster.ps1, or the same section of collect.ps1)."""
    domain = str(section.get("domain") or "").strip() or None
    view = ClusterView(answered_by=answered_by, name=str(section.get("name") or "").strip(), domain=domain)
    for node in _list(section.get("nodes")):
        name = str(node.get("name") or "").strip()
        fqdn = _qualified(name, domain, view) if name else None
        if fqdn:
            view.nodes.append((fqdn, node_state(node.get("state"))))
    for broker in _list(section.get("brokers")):
        network_name = str(broker.get("network_name") or "").strip() or None
        dns_name = str(broker.get("dns_name") or "").strip() or network_name
        fqdn = _qualified(dns_name, domain, view, "a Replica Broker") if dns_name else None
        if fqdn is None or (network_name and _qualified(network_name, domain, view, "a Replica Broker") is None):
            continue
        account = HostName(network_name or dns_name or "").computer_account if (network_name or dns_name) else None
        view.brokers.append(ReplicaBroker(resource=str(broker.get("resource") or BROKER_TYPE),
                                          group=broker.get("group") or None, network_name=network_name,
                                          dns_name=dns_name, fqdn=fqdn, computer_account=account,
                                          state=broker.get("state") or None))
    return view


def read_cluster_answer(machine: str, document: dict[str, Any]) -> ClusterAnswer:
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        return ClusterAnswer(machine, error=CollectionError(
            kind=ErrorKind.GARBAGE, message=f"{machine} sent JSON that is not the cluster script's answer"))
    errors = document.get("errors") or {}
    section = document.get("cluster")
    answered_by = document.get("computer_name") or None
    if not section or not section.get("name"):
        why = errors.get("cluster") or "it reported no cluster"
        return ClusterAnswer(machine, not_a_cluster=f"{machine} is not a failover cluster node: {why}")
    view = read_cluster_section(section, answered_by)
    try:
        HostName.parse(view.fqdn, context=f"the cluster name {machine} answered")
    except NameError_ as exc:
        return ClusterAnswer(machine, error=CollectionError(kind=ErrorKind.GARBAGE, message=f"{exc}: it is not reached"))
    return ClusterAnswer(machine, view=view)


def apply_cluster_view(inventory: InventoryBuilder, reached: str, view: ClusterView) -> tuple[Cluster, list[str]]:
    """Merge what a cluster said into the inventory; returns the cluster and notes for the report.

    `reached` is the name the script was run through: the cluster's name (its client access point
    answers through the node owning the core group), or a node's own name. A name written as a
    host that turns out to be the cluster's name becomes the cluster; either way every node becomes
    a host of the cluster's sides, with its state.
    """
    notes = []
    cluster = inventory.find_cluster(view.fqdn, view.domain) or inventory.find_cluster(reached, view.domain)
    reached_cluster = HostName(reached).same_machine(view.fqdn, view.domain) or \
        HostName(reached).same_machine(view.name, view.domain)
    if cluster is None:
        if reached_cluster:
            cluster = inventory.promote_to_cluster(reached, view.domain)
            notes.append(f"{reached} is the name of failover cluster {view.fqdn}: its nodes are judged")
        else:
            host = inventory.find_host(reached, view.domain)
            roles = host.roles if host is not None else []
            if not roles:
                raise ValueError(f"{reached} is neither a known cluster nor a known host")
            cluster = inventory.add_cluster(view.fqdn, roles[0], Origin.CLUSTER, domain=view.domain)
            for role in roles[1:]:
                inventory.add_cluster(view.fqdn, role, Origin.CLUSTER, domain=view.domain)
    if Origin.CLUSTER not in cluster.origins:
        cluster.origins.append(Origin.CLUSTER)
    if view.invalid:  # an error finding of inventory.sources, naming the source and the names
        cluster.problem = cluster.problem or (f"{reached} (cluster source) answered names that are no host names, "
                                              f"never reached: {'; '.join(view.invalid)}")
    cluster.domain = cluster.domain or view.domain
    if view.brokers:
        cluster.broker = view.brokers[0]
        if len(view.brokers) > 1:
            notes.append(f"{view.fqdn} has {len(view.brokers)} Replica Broker resources; {view.brokers[0].resource} "
                         "is taken")
    listed = set(cluster.nodes)
    inventory.add_nodes(cluster, list(view.nodes), Origin.CLUSTER)
    added = [n for n, _ in view.nodes if n not in listed and not any(HostName(n).same_machine(m, view.domain)
                                                                       for m in listed)]
    if listed and added:
        notes.append(f"{view.fqdn} has nodes VMM did not list: {', '.join(added)}")
    down = [n for n, state in view.nodes if state is NodeState.DOWN]
    if down:
        notes.append(f"{view.fqdn}: node{'s' if len(down) > 1 else ''} {', '.join(down)} "
                     f"{'are' if len(down) > 1 else 'is'} down (Get-ClusterNode)")
    return cluster, notes


@register
class ClusterSource:
    """Every cluster the inventory knows by name (from VMM, or the site file) expands to its nodes:
    one PowerShell on each cluster name, all clusters at once."""

    name: ClassVar[str] = "cluster"
    after: ClassVar[tuple[str, ...]] = ("site-file", "vmm")

    @classmethod
    def applies(cls, site: Site, *, collects_hosts: bool) -> bool:
        # the nodes VMM names suffice for the directory; node states and brokers serve the host checks
        return collects_hosts

    @classmethod
    def for_site(cls, site: Site) -> ClusterSource:
        return cls()

    def discover(self, context: DiscoveryContext) -> None:
        inventory = context.inventory
        clusters = list(inventory.clusters)
        if not clusters:
            return
        report = SourceReport(source=self.name, machine=", ".join(c.name for c in clusters))
        if context.run is None:
            report.status, report.kind = "error", "client"
            report.message = "expanding failover clusters needs WinRM: add a [winrm] table to the site file"
            for cluster in clusters:
                cluster.problem = cluster.problem or report.message
            inventory.report(report)
            return
        results = context.run([RemoteCall(machine=c.name, script="cluster", request={"name": c.name})
                               for c in clusters])
        report.powershell_commands = len(clusters)
        failed = 0
        for cluster in clusters:
            result = results.get(cluster.name)
            if result is None or result.document is None:
                why = result.error.message if result is not None and result.error else "no answer"
                cluster.problem = f"{cluster.name} could not be asked for its nodes: {why}"
                report.notes.append(cluster.problem)
                failed += 1
                continue
            answer = read_cluster_answer(cluster.name, result.document)
            if answer.view is None:
                cluster.problem = answer.not_a_cluster or (answer.error.message if answer.error else "no cluster")
                report.notes.append(cluster.problem)
                failed += 1
                continue
            _, notes = apply_cluster_view(inventory, cluster.name, answer.view)
            report.notes += notes
        report.clusters = len(clusters) - failed
        report.hosts = sum(len(c.nodes) for c in clusters)
        report.status = "ok" if not failed else ("error" if failed == len(clusters) else "partial")
        if failed:
            report.message = f"{failed} of {len(clusters)} clusters could not be expanded"
        inventory.report(report)

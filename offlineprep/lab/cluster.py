"""A simulated failover cluster: data in, the cluster script's JSON answer out.

`SimulatedCluster.answer(request)` does what scripts/cluster.ps1 does on a node (Get-Cluster's Name
and Domain, Get-ClusterNode's Name and State, the "Virtual Machine Replication Broker" resources
and the Name and DnsName of their role's Network Name), from objects whose attribute names are the
members the script reads (tests/fixtures/vmm_members.json). The answer comes from the node that
owns the core cluster group, as when a client reaches the cluster by its name.

`plain_host_answer` is what a machine that is no cluster node says (the FailoverClusters module or
the cluster service is missing): the script then records the cmdlet's error and no cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BROKER_TYPE = "Virtual Machine Replication Broker"
NOT_A_NODE = "The cluster service is not running on this machine, or it is not a node of a failover cluster."


@dataclass
class ClusterNode:
    Name: str  # the node's computer name, e.g. HV-N1
    State: str = "Up"  # Up | Down | Paused | Joining (CLUSTER_NODE_STATE)


@dataclass
class ClusterResource:
    Name: str
    ResourceType: str
    OwnerGroup: str
    State: str = "Online"
    OwnerNode: str = ""
    parameters: dict[str, str] = field(default_factory=dict)  # Get-ClusterParameter Name -> Value


@dataclass
class SimulatedCluster:
    Name: str  # Get-Cluster's Name: the cluster name object's computer name, e.g. HVC1
    Domain: str  # Get-Cluster's Domain, e.g. lab.test
    nodes: list[ClusterNode] = field(default_factory=list)
    resources: list[ClusterResource] = field(default_factory=list)
    # the Replica Broker's Replication Settings, the cluster's (SimulatedHost.replication's shape; None: the
    # first node asked gives its own) and its authorization entries (lab.windows.SimAuthorization)
    replication: dict[str, Any] | None = None
    replica_authorizations: list[Any] = field(default_factory=list)

    @property
    def fqdn(self) -> str:
        return f"{self.Name}.{self.Domain}".lower()

    def node_fqdn(self, node: ClusterNode) -> str:
        return f"{node.Name}.{self.Domain}".lower()

    def owner(self) -> ClusterNode | None:
        """The node that answers for the cluster's name: the first one up."""
        return next((n for n in self.nodes if n.State == "Up"), None)

    def add_broker(self, name: str, dns_name: str | None = None, state: str = "Online") -> None:
        """A Hyper-V Replica Broker role as Add-ClusterServerRole + Add-ClusterResource make it: a role named
        `name` holding the broker resource and a Network Name resource publishing `name`. `state`: the broker
        resource's State (Online; Failed when, say, its computer object is gone and the name cannot come online)."""
        self.resources += [
            ClusterResource(Name=BROKER_TYPE, ResourceType=BROKER_TYPE, OwnerGroup=name, State=state),
            ClusterResource(Name=name, ResourceType="Network Name", OwnerGroup=name,
                            parameters={"Name": name.upper(), "DnsName": dns_name or name}),
        ]

    def broker_fqdns(self) -> list[str]:
        """The brokers' client access points: a client reaching one reaches the node owning its role (here the
        cluster's owner), as Set-VMReplicationServer against the broker's name does."""
        return [f"{r.parameters.get('DnsName') or r.Name}.{self.Domain}".lower() for r in self.resources
                if r.ResourceType == "Network Name" and any(b.ResourceType == BROKER_TYPE and b.OwnerGroup == r.OwnerGroup
                                                            for b in self.resources)]

    def answer(self, request: dict[str, Any], node: ClusterNode | None = None) -> dict[str, Any]:
        answering = node or self.owner()
        out: dict[str, Any] = {"schema": "offlineprep/cluster/v1", "errors": {}}
        if answering is not None:
            out["computer_name"] = self.node_fqdn(answering)
            out["domain"] = self.Domain
        brokers = []
        for broker in self.resources:
            if broker.ResourceType != BROKER_TYPE:
                continue
            cap: dict[str, Any] = {"resource": broker.Name, "group": broker.OwnerGroup, "state": broker.State}
            for resource in self.resources:
                if resource.OwnerGroup != broker.OwnerGroup or resource.ResourceType != "Network Name":
                    continue
                if "Name" in resource.parameters:
                    cap["network_name"] = resource.parameters["Name"]
                if "DnsName" in resource.parameters:
                    cap["dns_name"] = resource.parameters["DnsName"]
            brokers.append(cap)
        out["cluster"] = {"name": self.Name, "domain": self.Domain,
                          "nodes": [{"name": n.Name, "state": n.State} for n in self.nodes], "brokers": brokers}
        return out


def plain_host_answer(computer_name: str, domain: str | None = None) -> dict[str, Any]:
    """scripts/cluster.ps1 on a machine that is no cluster node: Get-Cluster fails, no cluster section."""
    out: dict[str, Any] = {"schema": "offlineprep/cluster/v1", "errors": {"cluster": NOT_A_NODE},
                           "computer_name": computer_name}
    if domain:
        out["domain"] = domain
    return out

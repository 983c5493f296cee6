"""Section `file_server_cluster`: the failover cluster behind a share scoped to a client access point.

A share of a clustered file server is scoped to the role's client access point (MSFT_SmbShare
ScopeName; "a scoped share is reachable only through its network name"), and the machine that
serves it is the role, not the node that answered WinRM: its Network Name resource has its own
computer object in AD (private property ObjectGUID) and its own IP Address resources; a Scale-Out
File Server's Distributed Network Name is online on every node and its DNS name is bound to the
nodes' addresses. Read only when a path of the request reached a share of such a scope: Get-Cluster,
Get-ClusterNode, Get-ClusterGroup, Get-ClusterResource (Network Name, Distributed Network Name, IP
Address, IPv6 Address), Get-ClusterParameter (Name, DnsName, ObjectGUID; Address) and
Get-ClusterNetworkInterface (Node, Address). docs/clusters.md says which rule uses which.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from offlineprep.collect.sections.base import Part, Reading, Section, list_of
from offlineprep.facts import ClusterMember, ClusterNetworkName, ClusterRole, FileServerCluster


class NetworkNameAnswer(Part):
    resource: str
    resource_type: str
    state: str | None = None
    name: str | None = None
    dns_name: str | None = None
    object_guid: str | None = None


class RoleAnswer(Part):
    group: str
    group_type: str | None = None
    state: str | None = None
    owner_node: str | None = None
    network_names: list_of(NetworkNameAnswer) = Field(default_factory=list)  # type: ignore[valid-type]
    addresses: list_of(str) = Field(default_factory=list)  # type: ignore[valid-type]


class NodeAnswer(Part):
    name: str
    state: str | None = None
    addresses: list_of(str) = Field(default_factory=list)  # type: ignore[valid-type]


class FileServerClusterAnswer(Part):
    name: str
    domain: str | None = None
    nodes: list_of(NodeAnswer) = Field(default_factory=list)  # type: ignore[valid-type]
    roles: list_of(RoleAnswer) = Field(default_factory=list)  # type: ignore[valid-type]


def facts(reading: Reading) -> dict[str, Any]:
    answer: FileServerClusterAnswer | None = reading.answer.file_server_cluster
    if answer is None:
        return {"file_server_cluster": None}
    return {"file_server_cluster": FileServerCluster(
        name=answer.name, domain=answer.domain or None,
        nodes=[ClusterMember(name=n.name, state=n.state, addresses=[a for a in n.addresses if a])
               for n in answer.nodes],
        roles=[ClusterRole(group=r.group, group_type=r.group_type or None, state=r.state or None,
                           owner_node=r.owner_node or None, addresses=[a for a in r.addresses if a],
                           network_names=[ClusterNetworkName(
                               resource=n.resource, resource_type=n.resource_type, state=n.state or None,
                               name=n.name or None, dns_name=n.dns_name or None,
                               object_guid=n.object_guid or None) for n in r.network_names])
               for r in answer.roles])}


SECTION = Section("file_server_cluster", {"file_server_cluster": FileServerClusterAnswer | None}, facts)

"""Section `cluster`: the failover cluster a Hyper-V host is a node of and its Hyper-V Replica Broker,
as the node answers (replica.server, replica.certificate; the inventory recognises a cluster from it
however its nodes were named in the site file)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from offlineprep.collect.sections.base import Part, Reading, Section, list_of
from offlineprep.facts import HostCluster, ReplicaBroker

BROKER_TYPE = "Virtual Machine Replication Broker"  # CLUS_RESTYPE_NAME_VMREPLICA_BROKER


class BrokerAnswer(Part):
    resource: str  # ClusterResource.Name of the "Virtual Machine Replication Broker" resource
    group: str | None = None  # .OwnerGroup: the broker's role
    state: str | None = None  # .State: Online, Offline, Failed, Pending, ...
    network_name: str | None = None  # the role's Network Name resource, private property Name
    dns_name: str | None = None  # ... DnsName


class ClusterAnswer(Part):
    name: str  # Get-Cluster Name
    domain: str | None = None  # Get-Cluster Domain
    brokers: list_of(BrokerAnswer) = Field(default_factory=list)  # type: ignore[valid-type]


def broker_of(answer: BrokerAnswer) -> ReplicaBroker:
    """The broker as the node reads it; HostCluster derives its FQDN in the cluster's domain and its
    computer account."""
    network_name = (answer.network_name or "").strip() or None
    dns_name = (answer.dns_name or "").strip() or network_name
    return ReplicaBroker(resource=answer.resource or BROKER_TYPE, group=answer.group or None,
                         network_name=network_name, dns_name=dns_name, state=answer.state or None)


def facts(reading: Reading) -> dict[str, Any]:
    answer: ClusterAnswer | None = reading.answer.cluster
    if answer is None or not answer.name.strip():
        return {"cluster": None}
    domain = (answer.domain or "").strip() or None
    return {"cluster": HostCluster(name=answer.name.strip(), domain=domain,
                                   brokers=[broker_of(b) for b in answer.brokers])}


SECTION = Section("cluster", {"cluster": ClusterAnswer | None}, facts)

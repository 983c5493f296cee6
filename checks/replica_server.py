"""replica.server: each target host is a Replica server that accepts the source hosts (plain Hyper-V Replica).

Under Azure Site Recovery (`[policy] manager = "asr"`, the default) VMM and Site Recovery configure
the Replica servers themselves when a cloud is protected ("VMM configures ... Replica settings" per
cloud), so this check skips. For plain Hyper-V Replica (`manager = "hyperv-replica"`) the
administrator does, and each target host must (Microsoft, "Set up Hyper-V Replica", step 1;
Set-VMReplicationServer; New-VMReplicationAuthorizationEntry):

- be enabled as a Replica server (ReplicationEnabled);
- allow the policy's authentication: AllowedAuthenticationType Kerberos, Certificate, or
  CertificateAndKerberos (both);
- authorize every source host: ReplicationAllowedFromAnyServer, or an authorization entry whose
  AllowedPrimaryServer is the host's FQDN or a pattern with the wildcard in the first label
  (`*.contoso.com`: "You can use a wildcard ... in the first octet"; it is taken to match one label,
  hv01.contoso.com and not hv01.sub.contoso.com, docs/host-unverified.md). A source host that is a
  node of a failover cluster is authorized through its cluster's Hyper-V Replica Broker: the Replica
  server lists the broker's client access point, not the nodes ("On Cluster-R, P-Broker-CAP is added
  to the list of authorized servers rather than adding P1, P2, P3 individually", and "Hyper-V Replica
  requires the ... Hyper-V Replica Broker to be configured if either the primary or replica Hyper-V
  server is part of a cluster": Microsoft's virtualization team blog, "Why is the Hyper-V Replica
  Broker required", 2012-03-27,
  http://blogs.technet.com/b/virtualization/archive/2012/03/27/why-is-the-quot-hyper-v-replica-broker-quot-required.aspx).
  So a node's cluster with no broker role fails, and one whose broker is not known is an error;
- have the storage location the replicas of those hosts go to: the default one (any server) or the
  matching entry's, as a folder that exists on the host.

A target host that is a node of a failover cluster is a clustered Replica server: its cluster must
have the Hyper-V Replica Broker role ("To participate in replication, servers in failover clusters
must have a Hyper-V Replica Broker configured": Hyper-V BPA, severity Error), the broker resource
Online and its computer object in Active Directory; the same is asked of a source cluster's broker.
Its Replica server settings are the broker's, one for the cluster: the fixes address the broker's
name, never a node (docs/clusters.md). A cluster is known from VMM, a cluster name, or each host's
own answer (section `cluster`), so nodes listed one by one count too.

A source host's FQDN is the name it reports over WinRM (Win32_ComputerSystem), else the name in the
site file when it is one.

Fixes (docs/fixes.md): `host.replica-server` (Set-VMReplicationServer with the settings that differ:
enabled, CertificateAndKerberos when the other type was allowed, the thumbprint of a usable
certificate when certificates are needed and none is set); `host.replica-authorization` per source
host not authorized (New-VMReplicationAuthorizationEntry with the storage location and trust group
of the existing entries, else the default storage location); `host.create-folder` for a storage
location that does not exist. What cannot be chosen for the administrator (a storage location
where none is set, a certificate where none is usable) is a manual step.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from offlineprep import certificates, checkkit
from offlineprep.actions import ActionBase
from offlineprep.actions.types import CreateFolder, hyperv_host
from offlineprep.actions.types import ReplicaAuthorization as AuthorizationAction
from offlineprep.engine import CheckContext, Need, check
from offlineprep.facts import HostFacts, ReplicaAuthorization, ReplicationServer
from offlineprep.model import Outcome, Status
from offlineprep.names import HostName, host_key, is_fqdn
from offlineprep.remediation import authorize_primary, manual, remediation, replica_settings

ASR_SKIP = ("Site Recovery configures the Replica server when it protects the cloud ([policy] manager = \"asr\"); "
            "set manager = \"hyperv-replica\" for plain Hyper-V Replica")


@check(
    "replica.server",
    title="Each target host is a Replica server that accepts the source hosts",
    severity="high",
    needs=[Need.HYPERV_HOSTS],
    walkthrough_step="Not a walkthrough step under Site Recovery, which configures it; plain Hyper-V Replica: "
                     "\"Set up Hyper-V Replica\", step 1",
    why=(
        "With plain Hyper-V Replica the target hosts must be enabled as Replica servers, allow the policy's "
        "authentication, and authorize every source host with a storage location that exists. Otherwise enabling "
        "replication fails on the source host before the initial copy is even exported."
    ),
    docs={
        "Set up Hyper-V Replica":
            "https://learn.microsoft.com/windows-server/virtualization/hyper-v/manage/set-up-hyper-v-replica",
        "Set-VMReplicationServer":
            "https://learn.microsoft.com/powershell/module/hyper-v/set-vmreplicationserver",
        "New-VMReplicationAuthorizationEntry":
            "https://learn.microsoft.com/powershell/module/hyper-v/new-vmreplicationauthorizationentry",
        "BPA: servers in failover clusters must have a Hyper-V Replica Broker configured (severity Error)":
            "https://github.com/MicrosoftDocs/windowsserverdocs/tree/main/WindowsServerDocs/virtualization/hyper-v/"
            "best-practices-analyzer",
    },
)
def replica_server(ctx: CheckContext) -> Iterator[Outcome]:
    for host in ctx.inventory.target_hosts:
        if ctx.site.manager == "asr":
            yield checkkit.skip(host, ASR_SKIP)
            continue
        yield judge(ctx, host)


def matches(pattern: str, fqdn: str) -> bool:
    """An AllowedPrimaryServer: an FQDN, or `*.suffix` (the wildcard only in the first label)."""
    wanted, name = host_key(pattern.strip()), host_key(fqdn)
    if wanted.startswith("*."):
        first, _, rest = name.partition(".")
        return bool(first) and rest == wanted[2:]
    return wanted == name


def source_fqdn(ctx: CheckContext, host: str) -> str | None:
    facts = ctx.facts.find_host(host) if ctx.facts.hosts is not None else None
    if facts is not None and facts.reachable and facts.computer_name and is_fqdn(facts.computer_name):
        return HostName(facts.computer_name).bare
    return HostName(host).bare if is_fqdn(host) else None


def judge(ctx: CheckContext, host: str) -> Outcome:
    facts, problem = checkkit.host(ctx, host, host)
    if facts is None:
        assert problem is not None
        return problem
    rs = facts.replication_server
    if rs is None:
        return checkkit.error(host, f"{host} did not report its Replica server settings"
                              f"{facts.why_missing('replication_server')}")
    policy = ctx.site.policy
    needed = "Certificate" if policy is None or policy.authentication == "certificate" else "Kerberos"
    evidence: dict[str, Any] = {"enabled": rs.enabled, "allowed_authentication": rs.allowed_authentication,
                                "allowed_from_any_server": rs.allowed_from_any_server,
                                "default_storage_location": rs.default_storage_location,
                                "default_storage_exists": rs.default_storage_exists,
                                "authorization_entries": [e.model_dump() for e in rs.authorization_entries or []],
                                "authentication_needed": needed}
    problems: list[str] = []
    after: dict[str, str | bool] = {}
    actions: list[ActionBase] = []
    # a clustered Replica server replicates through its cluster's Replica Broker, whose settings are the
    # cluster's: its fixes address the broker's name (the node owning the role answers for it), never a node
    broker = checkkit.replica_broker(ctx, host)
    where = host
    if broker is not None:
        evidence["replica_broker"] = {"cluster": broker.cluster, "fqdn": broker.fqdn, "state": broker.state,
                                      "not_known": broker.not_known}
        if broker.no_role:
            problems.append(f"it is a node of failover cluster {broker.cluster}, which has no Hyper-V Replica Broker: "
                            "servers in failover clusters must have one to take part in replication (Hyper-V BPA, "
                            "severity Error)")
            actions.append(add_broker(broker.cluster, host))
        else:
            for problem in broker.problems(ctx):
                problems.append(problem)
                actions.append(broker_by_hand(broker, host))
            if broker.fqdn is not None:
                where = broker.fqdn
    if not rs.enabled:
        problems.append("it is not enabled as a Replica server")
        after["ReplicationEnabled"] = True
    allowed = rs.allowed_authentication or ""
    if allowed not in (needed, "CertificateAndKerberos"):
        problems.append(f"it allows {allowed or 'no'} authentication, the policy uses {needed}")
        after["AllowedAuthenticationType"] = "CertificateAndKerberos" if allowed else needed
    if needed == "Certificate" and not rs.certificate_thumbprint:
        if not after:
            problems.append("certificate authentication is allowed but no certificate is set (CertificateThumbprint)")
        cert = certificates.usable(facts, facts.computer_name or host, ctx.facts.collected_at)
        if cert is not None:
            after["CertificateThumbprint"] = cert.thumbprint
        else:
            after.pop("AllowedAuthenticationType", None)
            after.pop("ReplicationEnabled", None)
            actions.append(manual(f"{host} has no certificate Hyper-V Replica can use (see replica.certificate): enroll "
                                  "one, then allow certificate authentication with its thumbprint "
                                  "(Set-VMReplicationServer -CertificateThumbprint)", hyperv_host(host)))
    unknown, sources = _authorizations(ctx, where, facts, rs, problems, actions)
    evidence["source_hosts"] = sources
    if after:
        before: dict[str, str | bool | None] = {
            "ReplicationEnabled": rs.enabled, "AllowedAuthenticationType": rs.allowed_authentication,
            "ReplicationAllowedFromAnyServer": rs.allowed_from_any_server,
            "DefaultStorageLocation": rs.default_storage_location, "CertificateThumbprint": rs.certificate_thumbprint}
        actions.insert(0, replica_settings(where, before, after))
    if problems:
        return Outcome(status=Status.FAIL, subject=host, evidence=evidence,
                       message=f"the Replica server on {host} is not ready: " + "; ".join(problems),
                       remediation=remediation(f"Make {host} a Replica server for the source hosts", actions)
                       if actions else None)
    if unknown:
        return checkkit.error(host, f"whether {host} authorizes {', '.join(unknown)} is unknown: no FQDN is known for "
                              "them (a host that did not answer WinRM and that the site file writes by a short name; a "
                              "cluster node whose Replica Broker's name is not known)", evidence=evidence)
    return Outcome(status=Status.PASS, subject=host, evidence=evidence,
                   message=f"{host} is a Replica server allowing {allowed} authentication and authorizes every source "
                           "host, with storage that exists: " + "; ".join(f"{h}: {s}" for h, s in sources.items()))


def _authorizations(ctx: CheckContext, host: str, facts: HostFacts, rs: ReplicationServer, problems: list[str],
                    actions: list[ActionBase]) -> tuple[list[str], dict[str, str]]:
    """Whether each source host is authorized and its storage exists; adds problems and fixes."""
    unknown: list[str] = []
    sources: dict[str, str] = {}
    missing_storage: set[str] = set()
    if rs.allowed_from_any_server:
        storage = rs.default_storage_location
        for source in ctx.inventory.source_hosts:
            sources[source] = f"any server, storage {storage or '(none set)'}"
        if not storage:
            problems.append("it accepts any server but has no default storage location")
            actions.append(manual(f"Choose a folder for the replicas on {host} and set it: Set-VMReplicationServer "
                                  "-DefaultStorageLocation <folder>", hyperv_host(host)))
        elif rs.default_storage_exists is False:
            problems.append(f"its default storage location {storage} does not exist")
            missing_storage.add(storage)
    elif rs.authorization_entries is None:
        problems.append(f"its authorization entries were not read{facts.why_missing('authorization_entries')}")
    else:
        entries = rs.authorization_entries
        storage_for_new = _storage_for_new(rs, entries)
        asked: set[str] = set()  # the primary names already judged: a cluster's broker serves every node
        for source in ctx.inventory.source_hosts:
            broker = checkkit.replica_broker(ctx, source)
            if broker is not None and broker.fqdn is None:
                if broker.no_role:
                    sources[source] = f"node of cluster {broker.cluster}, which has no Replica Broker"
                    if broker.cluster not in asked:
                        asked.add(broker.cluster)
                        problems.append(f"the source cluster {broker.cluster} has no Hyper-V Replica Broker role, "
                                        "through which a Replica server authorizes a cluster's nodes")
                        actions.append(manual(
                            f"Add the Hyper-V Replica Broker role to cluster {broker.cluster} (Failover Cluster "
                            "Manager, Configure Role; or Add-ClusterServerRole, then Add-ClusterResource -Type "
                            f"'Virtual Machine Replication Broker'), then authorize its name on {host}",
                            hyperv_host(host)))
                else:
                    unknown.append(f"{source} ({broker.not_known})")
                continue
            if broker is not None and broker.fqdn is not None and host_key(broker.fqdn) not in asked:
                for problem in broker.problems(ctx):
                    problems.append(f"the source cluster's broker: {problem}")
                    actions.append(broker_by_hand(broker, host))
            fqdn = broker.fqdn if broker is not None else source_fqdn(ctx, source)
            if fqdn is None:
                unknown.append(source)
                continue
            via = f" (the Replica Broker of cluster {broker.cluster})" if broker is not None else ""
            entry = next((e for e in entries if matches(e.allowed_primary_server, fqdn)), None)
            if entry is None:
                sources[source] = f"not authorized{via}"
                if host_key(fqdn) in asked:
                    continue
                asked.add(host_key(fqdn))
                problems.append(f"no authorization entry matches {fqdn}{via}")
                if storage_for_new:
                    actions.append(authorize_primary(host, fqdn, storage_for_new[0], storage_for_new[1]))
                else:
                    actions.append(manual(f"Choose a folder for the replicas of {fqdn} on {host}, then "
                                          f"New-VMReplicationAuthorizationEntry -AllowedPrimaryServer {fqdn} "
                                          "-ReplicaStorageLocation <folder> -TrustGroup DEFAULT", hyperv_host(host)))
                continue
            sources[source] = f"entry {entry.allowed_primary_server}{via}, storage {entry.storage_location}"
            if host_key(fqdn) in asked:
                continue
            asked.add(host_key(fqdn))
            if entry.storage_location and entry.storage_exists is False:
                problems.append(f"the storage location {entry.storage_location} of {fqdn}'s entry "
                                f"{entry.allowed_primary_server} does not exist")
                missing_storage.add(entry.storage_location)
        if storage_for_new and any(isinstance(a, AuthorizationAction) for a in actions) and \
                not _exists(rs, entries, storage_for_new[0]):
            missing_storage.add(storage_for_new[0])
    for folder in sorted(missing_storage):
        actions.append(CreateFolder(owner=hyperv_host(host), local_path=folder))
    return unknown, sources


def add_broker(cluster: str, host: str) -> ActionBase:
    return manual(f"Add the Hyper-V Replica Broker role to cluster {cluster} (Failover Cluster Manager, Configure "
                  "Role; or Add-ClusterServerRole -Name <broker>, Add-ClusterResource -Type 'Virtual Machine "
                  "Replication Broker' -Group <broker>, Add-ClusterResourceDependency, Start-ClusterGroup <broker>), "
                  "then set its Replication Settings once, for the whole cluster", hyperv_host(host))


def broker_by_hand(broker: checkkit.ReplicaBrokerOf, host: str) -> ActionBase:
    role = broker.group or broker.fqdn
    return manual(f"Bring the Hyper-V Replica Broker role {role} of cluster {broker.cluster} Online with its computer "
                  f"object {broker.account or broker.fqdn} present in Active Directory (restore or re-create the "
                  f"object, then Start-ClusterGroup '{role}'; Get-ClusterResource shows why it failed)",
                  hyperv_host(host))


def _storage_for_new(rs: ReplicationServer, entries: list[ReplicaAuthorization]) -> tuple[str, str] | None:
    """Where a new entry's replicas go: as the existing entries do (their storage and trust group),
    else the default storage location."""
    for entry in entries:
        if entry.storage_location:
            return entry.storage_location, entry.trust_group or "DEFAULT"
    if rs.default_storage_location:
        return rs.default_storage_location, "DEFAULT"
    return None


def _exists(rs: ReplicationServer, entries: list[ReplicaAuthorization], folder: str) -> bool:
    for entry in entries:
        if entry.storage_location and entry.storage_location.casefold() == folder.casefold():
            return entry.storage_exists is not False
    if rs.default_storage_location and rs.default_storage_location.casefold() == folder.casefold():
        return rs.default_storage_exists is not False
    return True

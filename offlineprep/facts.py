"""Facts: what the collectors saw, typed and JSON-serialisable (`offlineprep/facts/v2`; a v1 file is
read and upgraded in memory, docs/facts.md).

Collectors fill these and never judge; checks read them and never do I/O. A fact that could not be
gathered is not missing silently: it carries a `CollectionError` naming the cause, so a check can
report `error` for exactly the subjects that depended on it.

Keys of `DirectoryFacts.computers`, `DirectoryFacts.principals` and `Facts.hosts` are the names as
the inventory writes them (the site file's spelling where it names them, else VMM's or the
cluster's); look them up with the `find_*` helpers, which compare as `offlineprep.names` does (case
and the root dot do not count).
"""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from offlineprep import jsontext
from offlineprep.inventory import Inventory, ReplicaBroker
from offlineprep.names import HostName, NameError_, domain_key, host_key

FACTS_SCHEMA_V1: Literal["offlineprep/facts/v1"] = "offlineprep/facts/v1"
FACTS_SCHEMA: Literal["offlineprep/facts/v2"] = "offlineprep/facts/v2"
FACTS_SCHEMAS = (FACTS_SCHEMA_V1, FACTS_SCHEMA)  # what a facts file may be: v1 is read and upgraded


class Fact(BaseModel):
    """Base for every fact: unknown keys are refused so that a hand-edited facts file fails loudly."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ErrorKind(str, Enum):
    UNREACHABLE = "unreachable"  # connection refused, no route
    NAME_RESOLUTION = "name-resolution"  # the name does not resolve in DNS from the machine running offlineprep
    CLIENT = "client"  # the machine running offlineprep lacks something: a Kerberos library or ticket, a file
    TIMEOUT = "timeout"
    AUTH = "auth"  # bad credentials, 401
    TLS = "tls"  # certificate verification, handshake
    ACCESS_DENIED = "access-denied"  # authenticated but not allowed to read
    PROTOCOL = "protocol"  # HTTP 500, SOAP fault, LDAP referral, unexpected LDAP result
    GARBAGE = "garbage"  # output that is not the JSON we asked for: truncated, non-UTF-8, oversized
    REMOTE = "remote"  # the remote script ran and reported an error of its own
    INTERNAL = "internal"  # a bug of ours while collecting


class CollectionError(Fact):
    kind: ErrorKind
    message: str  # one readable sentence, free of secrets
    # a host not asked because this cluster reports it down (Get-ClusterNode); written only when set
    down_in_cluster: str | None = None

    @classmethod
    def down_node(cls, node: str, cluster: str) -> CollectionError:
        """Why a cluster node was not asked: its cluster reports it down (asking would only cost a timeout)."""
        return cls(kind=ErrorKind.UNREACHABLE, down_in_cluster=cluster,
                   message=f"not asked: {node} is down in cluster {cluster} (Get-ClusterNode): any node may own "
                           "a VM, so bring it up (or evict it) and run again")

    @model_serializer(mode="wrap")
    def _down_only_when_set(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("down_in_cluster") is None:
            data.pop("down_in_cluster", None)
        return data


# --------------------------------------------------------------------------- directory


class ComputerAccount(Fact):
    """A computer object as AD stores it (Hyper-V host or computer holding a path)."""

    query: str  # the name as written in the site file
    found: bool
    distinguished_name: str | None = None
    sam_account_name: str | None = None  # with the trailing $
    dns_host_name: str | None = None
    object_sid: str | None = None
    user_account_control: int | None = None
    allowed_to_delegate_to: list[str] = Field(default_factory=list)  # msDS-AllowedToDelegateTo
    # SIDs granted by the DACL of msDS-AllowedToActOnBehalfOfOtherIdentity (resource-based KCD)
    rbcd_allowed_sids: list[str] = Field(default_factory=list)
    # the same descriptor as SDDL, for the access check the KDC makes (offlineprep.rbcd); None: none set,
    # or a facts file written before this key existed
    rbcd_sddl: str | None = None
    # the domain groups of the account (memberOf, nested groups of its domain, and its primary group);
    # None: not read, because no delegation descriptor names a group of this domain (see
    # DirectoryFacts.groups_read), or a facts file written before this key existed
    group_sids: list[str] | None = None
    service_principal_names: list[str] = Field(default_factory=list)
    operating_system: str | None = None
    operating_system_version: str | None = None


class Principal(Fact):
    """An account the replication runs as: the VMM service account or a Run As account."""

    query: str  # as written in the site file, e.g. CONTOSO\\svc-vmm or svc-vmm@contoso.com
    found: bool
    distinguished_name: str | None = None
    sam_account_name: str | None = None
    object_sid: str | None = None
    object_classes: list[str] = Field(default_factory=list)
    user_account_control: int | None = None
    token_group_sids: list[str] = Field(default_factory=list)  # tokenGroups: transitive, domain groups
    # whether the DC returned tokenGroups at all: True read (the list is the membership), False not
    # returned (the bind account may not read it, or no Global Catalog answered the DC: membership
    # unknown, never "no groups"), None a facts file written before this key existed
    token_groups_read: bool | None = None
    # set (with found = False) when the site file writes the account OTHER\\name and OTHER is neither
    # the NetBIOS nor the DNS name of the domain read: it was not looked up here, since a same-named
    # account of this domain is somebody else
    other_domain: str | None = None

    def groups_known(self) -> bool:
        """True when token_group_sids is the account's membership. A file without
        token_groups_read: known when the list has entries (tokenGroups holds at least the primary
        group, Domain Users), unknown when it is empty, so an old file never turns into a pass."""
        if self.token_groups_read is not None:
            return self.token_groups_read
        return bool(self.token_group_sids)


class SpnHolder(Fact):
    """An account that holds an SPN `HOST/<name>` or `cifs/<name>` (aliases via setspn count)."""

    spn: str  # the SPN as registered
    distinguished_name: str
    sam_account_name: str | None = None


class AttributeChange(Fact):
    """When and where an attribute's value last changed, as the DC read holds it: one row of
    msDS-ReplAttributeMetaData (DS_REPL_ATTR_META_DATA_2, learn.microsoft.com/windows/win32/api/ntdsapi/
    ns-ntdsapi-ds_repl_attr_meta_data_2), or of replPropertyMetaData where a DC does not construct the
    former (Samba 4.17). Replication keeps these values: they name the originating change, not the copy."""

    attribute: str  # its LDAP display name
    version: int | None = None  # dwVersion: each originating change adds one
    changed_at: datetime | None = None  # ftimeLastOriginatingChange
    # pszLastOriginatingDsaDN: the nTDSDSA object of the DC where the change was made; None when only
    # the invocation ID was given (replPropertyMetaData) and no DC read has it
    originating_dsa: str | None = None
    originating_invocation_id: str | None = None  # uuidLastOriginatingDsaInvocationID


class DcObject(Fact):
    """One judged object as one DC holds it: the judged attributes' values (as compared) and when each
    last changed. `found` False: this DC has no object of that DN (not replicated yet, or deleted)."""

    found: bool = True
    values: dict[str, list[str]] = Field(default_factory=dict)
    changes: list[AttributeChange] = Field(default_factory=list)


class DomainController(Fact):
    """A DC of the domain, found in the configuration (its nTDSDSA object under CN=Sites: MS-ADTS
    6.1.1.2.2.1.2.1.1), and what it holds of the objects this run judges (`objects`, keyed by DN as
    the named DC returned it; read only when the domain has more than one writable DC)."""

    host_name: str  # dNSHostName of its server object
    site: str | None = None  # the site whose Servers container holds it
    ntds_settings: str | None = None  # the DN of its nTDSDSA object
    invocation_id: str | None = None  # nTDSDSA invocationId, to name the originator of a change
    read_only: bool = False  # an RODC (nTDSDSARO / msDS-isRODC): never written to, not read here
    named: bool = False  # the DC the site file names (rootDSE dsServiceName)
    inbound_disabled: bool = False  # nTDSDSA options NTDSDSA_OPT_DISABLE_INBOUND_REPL (0x2)
    outbound_disabled: bool = False  # NTDSDSA_OPT_DISABLE_OUTBOUND_REPL (0x4)
    searches: int = 0
    seconds: float | None = None
    error: CollectionError | None = None  # it could not be read: what it would have confirmed is unknown
    objects: dict[str, DcObject] = Field(default_factory=dict)


class DirectoryFacts(Fact):
    """What one domain's directory said. With several domains (facts/v2 `directories`), checks see one
    view of all of them (`Facts.directory_view`): each object comes from its own domain's directory,
    and `read_in` says which domain read each name (for messages, and to judge "not found" there)."""

    server: str
    base_dn: str | None = None
    domain_dns_name: str | None = None
    # the NetBIOS name of the domain read (nETBIOSName of its crossRef); None when it could not be read
    netbios_name: str | None = None
    domain_sid: str | None = None
    computers: dict[str, ComputerAccount] = Field(default_factory=dict)
    principals: dict[str, Principal] = Field(default_factory=dict)
    # key: a name a path uses (lower case, as the UNC path writes it); value: every holder found
    spn_holders: dict[str, list[SpnHolder]] = Field(default_factory=dict)
    sid_names: dict[str, str] = Field(default_factory=dict)  # SID -> DOMAIN\name, for evidence
    # the DC's clock: rootDSE currentTime (MS-ADTS 3.1.1.3.2.1), read with the naming contexts, and this
    # machine's UTC clock at that moment (the middle of the request), so a host's clock can be compared
    # with it whatever this machine's own clock says (host.clock-skew)
    current_time: datetime | None = None
    current_time_observed_at: datetime | None = None
    # the domain's functional level: rootDSE domainFunctionality (MS-ADTS, "domainFunctionality":
    # the domain NC's msDS-Behavior-Version; 6 = DS_BEHAVIOR_WIN2012R2), read in the same rootDSE search; None: not read
    # (a DC that refused the rootDSE, base_dn naming another domain than the DC's, or an older facts file)
    domain_functionality: int | None = None
    searches: int = 0
    # the computers' groups were read (group_sids): only when a delegation descriptor names a SID of
    # this domain that is not one of the computers read; it costs one search per level of nesting
    groups_read: bool = False
    # set when the directory (or part of it) could not be read; what was read before stays above
    error: CollectionError | None = None
    read_in: dict[str, str] = Field(default_factory=dict)  # name asked -> the domain whose directory read it
    # in a view of several (Facts.directory_view): every domain read, DNS name -> NetBIOS name
    domains: dict[str, str | None] = Field(default_factory=dict)
    # the domain's DCs (issue 22, SPEC 14): None for a facts file written before they were read
    domain_controllers: list[DomainController] | None = None

    def all_domains(self) -> dict[str, str | None]:
        """Every domain these facts come from, DNS name (lower case) -> NetBIOS name."""
        own = {domain_key(self.domain_dns_name) or "": self.netbios_name} if self.domain_dns_name else {}
        return {**own, **self.domains}

    def several(self) -> bool:
        return len(self.all_domains()) > 1

    def domain_of_read(self, name: str) -> str | None:
        """The domain whose directory was asked about `name` (this directory's, unless a view of several)."""
        found = _find(self.read_in, name)
        return str(found) if found else domain_key(self.domain_dns_name)

    def find_computer(self, name: str) -> ComputerAccount | None:
        return _find(self.computers, name)

    def find_principal(self, name: str) -> Principal | None:
        return _find(self.principals, name)

    def find_spn_holders(self, name: str) -> list[SpnHolder] | None:
        return _find(self.spn_holders, name)


# --------------------------------------------------------------------------- hosts


class LocalGroup(Fact):
    """A local group (alias) on a server, with member SIDs read robustly (orphaned SIDs included)."""

    sid: str
    name: str
    member_sids: list[str] = Field(default_factory=list)
    member_names: dict[str, str] = Field(default_factory=dict)  # SID -> name, where resolvable
    # members of which not even a SID could be read: 'ADsPath: error' each. Membership through them is
    # unknown; every member with a SID (an orphaned SID of an untrusted domain included) is in member_sids
    unreadable_members: list[str] = Field(default_factory=list)


class ShareFacts(Fact):
    name: str
    local_path: str | None = None
    sddl: str | None = None  # the share's security descriptor (Get-SmbShare .SecurityDescriptor)
    scope: str | None = None  # MSFT_SmbShare.ScopeName: '*' (default) or a clustered server's access point


class VolumeFacts(Fact):
    """The volume holding a path (Win32_Volume: the longest mount path that prefixes it)."""

    name: str | None = None  # C:\, a mount point folder, or \\?\Volume{guid}\
    file_system: str | None = None  # empty: not mounted (offline, locked by BitLocker, unformatted)
    drive_type: int | None = None
    capacity_bytes: int | None = None
    free_bytes: int | None = None


class DfsFacts(Fact):
    """The path is in a DFS namespace: its folders live on the folder targets' servers."""

    namespace: str  # \\server-or-domain\namespace
    link: str | None = None  # the DFS link holding the path, when the namespace server named it
    targets: list[str] = Field(default_factory=list)  # \\server\share of the link's folder targets
    domain_based: bool = False  # the UNC server is the domain's own name


class PathFacts(Fact):
    """One export/import path, read locally on the server that holds it (never over a double hop)."""

    path: str  # as written in the site file
    local_path: str | None = None
    exists: bool | None = None
    is_directory: bool | None = None
    ntfs_sddl: str | None = None
    share: ShareFacts | None = None  # None for local paths or a share that does not exist
    share_found: bool | None = None  # False: the UNC names a share the server does not serve under that name
    share_scope: str | None = None  # the scope the path's server name reaches ('*' unless it names an access point)
    share_scopes: list[str] = Field(default_factory=list)  # every scope holding a share of that name
    free_bytes: int | None = None
    total_bytes: int | None = None
    volume: VolumeFacts | None = None
    dfs: DfsFacts | None = None
    error: CollectionError | None = None


class VirtualMachine(Fact):
    name: str
    disk_bytes: int | None = None  # sum of FileSize over the VM's virtual disks, parents included


class FirewallRule(Fact):
    """An enabled inbound rule in force (ActiveStore), with its port and address filters."""

    name: str  # the rule's Name (locale-independent), not its DisplayName
    display_name: str = ""
    enabled: bool
    direction: str  # inbound | outbound
    action: str  # allow | block | notconfigured (New-NetFirewallRule -Action)
    protocol: str = "Any"  # TCP, UDP, Any, or a protocol number
    local_ports: list[str] = Field(default_factory=list)  # "8083", "8080-8090", "Any", "RPC", ...
    profiles: list[str] = Field(default_factory=lambda: ["Any"])  # Any, or some of Domain, Private, Public
    remote_addresses: list[str] = Field(default_factory=lambda: ["Any"])  # Any, addresses, subnets, ranges, keywords
    # where the rule comes from (PolicyStoreSourceType: Local, GroupPolicy, Dynamic, Generated, Hardcoded, MDM) and
    # which store or GPO holds it (PolicyStoreSource); None: not read (a facts file written before they were)
    source_type: str | None = None
    policy_store_source: str | None = None
    program: str | None = None  # NetFirewallApplicationFilter.Program: Any, System, or a path; None: not read
    service: str | None = None  # NetFirewallServiceFilter.Service: Any, or a service's short name; None: not read


class FirewallProfile(Fact):
    """Get-NetFirewallProfile -PolicyStore ActiveStore: None where the store says NotConfigured."""

    name: str  # Domain | Private | Public
    enabled: bool | None = None
    default_inbound_action: str | None = None  # allow | block
    allow_inbound_rules: bool | None = None
    # AllowLocalFirewallRules: False when Group Policy ignores the rules of the local store for this profile
    allow_local_firewall_rules: bool | None = None


class NetworkProfile(Fact):
    """A connected network and the firewall profile its category selects (Get-NetConnectionProfile)."""

    interface: str | None = None
    category: str | None = None  # DomainAuthenticated | Private | Public


class ReplicaAuthorization(Fact):
    """One `Get-VMReplicationAuthorizationEntry`: a primary server (an FQDN, or `*.domain` with the
    wildcard in the first label) the Replica server accepts, and where its replicas go."""

    allowed_primary_server: str
    storage_location: str | None = None  # ReplicaStorageLocation
    trust_group: str | None = None  # TrustGroup
    storage_exists: bool | None = None  # Test-Path of the storage location, on the host


class ReplicationServer(Fact):
    """`Get-VMReplicationServer` on a Hyper-V host (and its authorization entries)."""

    enabled: bool | None = None
    kerberos_port: int | None = None  # KerberosAuthenticationPort
    certificate_port: int | None = None  # CertificateAuthenticationPort
    allowed_authentication: str | None = None  # Kerberos | Certificate | CertificateAndKerberos
    allowed_from_any_server: bool | None = None  # ReplicationAllowedFromAnyServer
    default_storage_location: str | None = None  # DefaultStorageLocation
    default_storage_exists: bool | None = None  # Test-Path of it, on the host
    certificate_thumbprint: str | None = None  # CertificateThumbprint
    # Get-VMReplicationAuthorizationEntry; None: not read (a facts file written before it was)
    authorization_entries: list[ReplicaAuthorization] | None = None


class PortProbe(Fact):
    """A TCP connect from the host to one address, bounded by the script's wait."""

    address: str
    port: int = 445
    state: Literal["open", "refused", "timeout", "error"]  # timeout: no answer within the wait (filtered)
    error: str | None = None  # the socket error (SocketException.SocketErrorCode) when state is error


class NameProbe(Fact):
    """A name resolved by the host itself (its DNS client) and TCP 445 tried to each address."""

    name: str
    addresses: list[str] = Field(default_factory=list)
    error: str | None = None  # why it did not resolve (the resolver's message)
    timed_out: bool = False  # the resolver gave no answer within the wait
    connections: list[PortProbe] = Field(default_factory=list)


class ReplicaConnection(Fact):
    """One `Test-VMReplicationConnection` from this host (a primary) to a Replica server, bounded in
    time (https://learn.microsoft.com/powershell/module/hyper-v/test-vmreplicationconnection)."""

    server: str  # -ReplicaServerName: the Replica server, or a Replica cluster's broker
    port: int | None = None  # -ReplicaServerPort
    authentication: str | None = None  # -AuthenticationType: Kerberos | Certificate
    thumbprint: str | None = None  # -CertificateThumbprint: this host's configured CertificateThumbprint
    # connected: it returned without an error; failed: Hyper-V's error; timeout: no answer within the
    # deadline; not_tested: the script could not run it (why: message)
    state: Literal["connected", "failed", "timeout", "not_tested"]
    message: str | None = None  # the exception's Message (Hyper-V's own text)
    error_id: str | None = None  # the ErrorRecord's FullyQualifiedErrorId, where there is one
    seconds: float | None = None  # the deadline, for a timeout


class HostClock(Fact):
    """The host's UTC clock, and this machine's UTC clock when the host read it (the middle of the
    command's round trip; `uncertainty_seconds` is half of it)."""

    utc: datetime
    observed_at: datetime
    uncertainty_seconds: float = 0.0


class Certificate(Fact):
    """A certificate of LocalMachine\\My, as the host sees it (its chain built there)."""

    thumbprint: str
    subject: str = ""
    dns_names: list[str] = Field(default_factory=list)  # the certificate provider's DnsNameList
    ekus: list[str] = Field(default_factory=list)  # EnhancedKeyUsageList ObjectIds
    not_before: datetime | None = None
    not_after: datetime | None = None
    has_private_key: bool | None = None
    # X509Chain.Build on the host (revocation not checked): True built to a trusted root, False not,
    # None not evaluated (the script builds chains only for otherwise usable certificates)
    chain_ok: bool | None = None
    chain_status: list[str] = Field(default_factory=list)  # X509ChainStatus.Status of each problem
    # the chain was built with revocation checked online, in the machine's context (as Hyper-V Replica
    # checks it unless DisableCertRevocationCheck = 1); None: built without it (a facts file written before)
    revocation_checked: bool | None = None
    root_thumbprint: str | None = None  # the chain's last element (its root), as the host built it


class HostCluster(Fact):
    """The failover cluster a host is a node of, as the node itself answers (Get-Cluster and the
    "Virtual Machine Replication Broker" resources with their role's network name and state)."""

    name: str  # Get-Cluster Name
    domain: str | None = None  # Get-Cluster Domain
    brokers: list[ReplicaBroker] = Field(default_factory=list)

    @model_validator(mode="after")
    def _named(self) -> HostCluster:
        """Each broker's FQDN (its DnsName in the cluster's domain: the name the other site uses) and its
        computer object's account, where the answer gave only its names."""
        for broker in self.brokers:
            name = broker.dns_name or broker.network_name
            if not name:
                continue
            try:
                parsed = HostName.parse(name, context="a Replica Broker's name")
            except NameError_:
                continue
            broker.fqdn = broker.fqdn or parsed.qualified(self.domain).text
            broker.computer_account = broker.computer_account or HostName(broker.network_name or name).computer_account
        return self


class ServerNames(Fact):
    """The names the SMB server answers to besides its own (LanmanServer and DnsCache parameters)."""

    disable_strict_name_checking: int | None = None  # LanmanServer\Parameters DisableStrictNameChecking
    optional_names: list[str] = Field(default_factory=list)  # LanmanServer\Parameters OptionalNames
    alternate_names: list[str] = Field(default_factory=list)  # DnsCache\Parameters AlternateComputerNames
    # Get-SmbServerConfiguration SmbServerNameHardeningLevel: 0 off, 1 accept if provided, 2 required; None: not read
    name_hardening_level: int | None = None


class ClusterNetworkName(Fact):
    """A client access point of a clustered role: a "Network Name" resource (a clustered file server's
    CAP, online on one node at a time, with IP Address resources of its own) or a "Distributed
    Network Name" (a Scale-Out File Server's, online on every node, its DNS name bound to the nodes'
    addresses). Each has its own computer object in AD (its ObjectGUID private property)."""

    resource: str  # the resource's Name
    resource_type: str  # Network Name | Distributed Network Name
    state: str | None = None  # Online, Offline, Failed, ... (Get-ClusterResource State)
    name: str | None = None  # private property Name: the NetBIOS name (the computer object's, with a $)
    dns_name: str | None = None  # private property DnsName
    object_guid: str | None = None  # private property ObjectGUID: its computer object in AD

    @property
    def distributed(self) -> bool:
        return self.resource_type.casefold() == "distributed network name"


class ClusterRole(Fact):
    """A clustered role (Get-ClusterGroup) holding a network name: its group, type and owner node, its
    network names, and the addresses of its IP Address / IPv6 Address resources."""

    group: str
    group_type: str | None = None  # GroupType: FileServer, ScaleoutFileServer, ...
    state: str | None = None
    owner_node: str | None = None
    network_names: list[ClusterNetworkName] = Field(default_factory=list)
    addresses: list[str] = Field(default_factory=list)  # the role's IP Address resources (private property Address)


class ClusterMember(Fact):
    """A node of the file server's cluster with the addresses of its cluster network interfaces."""

    name: str
    state: str | None = None
    addresses: list[str] = Field(default_factory=list)  # Get-ClusterNetworkInterface Address


class FileServerCluster(Fact):
    """The failover cluster a file server is a node of, read because a share of it is scoped to a
    client access point (MSFT_SmbShare.ScopeName): the roles whose network names serve shares."""

    name: str
    domain: str | None = None
    nodes: list[ClusterMember] = Field(default_factory=list)
    roles: list[ClusterRole] = Field(default_factory=list)

    def role_of(self, name: str) -> tuple[ClusterRole, ClusterNetworkName] | None:
        """The role whose network name is `name` (its NetBIOS name, DNS name or FQDN; case and the
        root dot do not count)."""
        wanted = host_key(name)
        for role in self.roles:
            for network_name in role.network_names:
                for given in (network_name.name, network_name.dns_name):
                    key = host_key(given) if given else ""
                    if key and (key == wanted or (("." not in key or "." not in wanted)
                                and key.split(".", 1)[0] == wanted.split(".", 1)[0])):
                        return role, network_name
        return None


class HostFacts(Fact):
    """One Windows machine as one PowerShell invocation saw it.

    The same machine may be a Hyper-V host and a path computer (a misconfiguration the checks
    look for); it then has one entry holding both kinds of facts.
    """

    name: str  # as written in the site file
    reachable: bool  # it answered an authenticated WS-Management request
    error: CollectionError | None = None
    computer_name: str | None = None  # the machine's own DNS name, e.g. FS01.contoso.com
    domain: str | None = None  # the DNS name of its domain (Win32_ComputerSystem.Domain); None: not in one
    # its Active Directory site, whose DCs issue its tickets: Netlogon\Parameters SiteName (set by hand) or else
    # DynamicSiteName (what Netlogon found); None: not read (section ad_site), or no site
    ad_site: str | None = None
    os_caption: str | None = None
    os_version: str | None = None
    os_build: str | None = None
    hyperv_installed: bool | None = None
    # Get-WindowsFeature Hyper-V InstallState (Installed, InstallPending: installed, waiting for a restart, Available)
    hyperv_install_state: str | None = None
    hyperv_module: bool | None = None  # the Hyper-V PowerShell module is there (Get-Module -ListAvailable Hyper-V)
    # the primary DNS suffix (IPGlobalProperties.DomainName): the host's FQDN is its name under it, which in a
    # disjoint namespace is not its AD domain (`domain`)
    primary_dns_suffix: str | None = None
    vmms_running: bool | None = None
    vmms_status: str | None = None  # Get-Service vmms .Status (Running, Stopped, ...); None: no such service
    # Win32_ComputerSystem.DomainRole: 0 standalone workstation, 1 member workstation, 2 standalone
    # server, 3 member server, 4 backup domain controller, 5 primary domain controller
    domain_role: int | None = None
    ip_addresses: list[str] = Field(default_factory=list)
    local_groups: list[LocalGroup] = Field(default_factory=list)
    paths: list[PathFacts] = Field(default_factory=list)
    vms: list[VirtualMachine] | None = None
    replication_server: ReplicationServer | None = None
    firewall_rules: list[FirewallRule] | None = None
    firewall_profiles: list[FirewallProfile] | None = None
    network_profiles: list[NetworkProfile] | None = None
    # names the host resolved and tried TCP 445 to (the path computers it needs); None: not asked
    probes: list[NameProbe] | None = None
    probe_seconds: float | None = None  # how long the probes took on the host (all in parallel, bounded)
    # Test-VMReplicationConnection from this source host to its Replica servers; None: not asked
    replica_connections: list[ReplicaConnection] | None = None
    clock: HostClock | None = None
    time_source_type: str | None = None  # W32Time\Parameters Type: NT5DS, NTP, NoSync, AllSync
    ntp_server: str | None = None  # W32Time\Parameters NtpServer, the service's own value
    # Group Policy's W32Time Type and NtpServer (HKLM\SOFTWARE\Policies\Microsoft\W32Time\Parameters): when set,
    # they overwrite the service's own values ("Windows Time service tools and settings"); None: no policy sets them
    time_policy_type: str | None = None
    time_policy_ntp_server: str | None = None
    certificates: list[Certificate] | None = None  # LocalMachine\My; None: not read
    trusted_roots: list[str] | None = None  # LocalMachine\Root thumbprints; None: not read
    # HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Virtualization\Replication DisableCertRevocationCheck
    # (KB 2767928); None: the value is not set (revocation is checked)
    cert_revocation_check_disabled: int | None = None
    cluster: HostCluster | None = None  # None: no cluster node (or not read)
    server_names: ServerNames | None = None
    # the failover cluster this file server is a node of, when a share is scoped to a client access point
    file_server_cluster: FileServerCluster | None = None
    # script sections that failed on the host (vms, firewall_rules, hyperv, ...) -> the host's error
    # text, so that a check which lacks their facts can say why instead of only that they are missing;
    # also parts of the answer of the wrong shape, which were left out
    section_errors: dict[str, str] = Field(default_factory=dict)
    round_trip_seconds: float | None = None

    def routable_addresses(self) -> set[str]:
        """The addresses that name this machine alone: IPv6 link-local (fe80::/10), IPv4 link-local
        (APIPA 169.254.0.0/16, RFC 3927), loopback, unspecified and multicast addresses are left out
        (Windows reports them beside the real ones, and they repeat between machines); canonical
        form, zone index dropped."""
        out = set()
        for text in self.ip_addresses:
            try:
                address = ipaddress.ip_address(text.strip().strip("[]").split("%", 1)[0])
            except ValueError:
                continue
            if address.is_link_local or address.is_loopback or address.is_unspecified or address.is_multicast:
                continue
            out.add(address.compressed)
        return out

    def why_missing(self, section: str) -> str:
        """': <the host's error>' when that section failed on the host, else ''."""
        error = self.section_errors.get(section)
        return f": {error}" if error else ""

    def why_unread(self, section: str, facts_file: str | None = None) -> str:
        """why_missing, or, for a saved facts file, that it was collected before offlineprep read
        that section (a facts file of an older version evaluates with the checks of this one)."""
        why = self.why_missing(section)
        if not why and facts_file:
            return f": the facts file {facts_file} was collected before offlineprep read this; collect again"
        return why

    def find_path(self, path: str) -> PathFacts | None:
        for p in self.paths:
            if p.path.casefold() == path.casefold():
                return p
        return None

    def find_probe(self, name: str) -> NameProbe | None:
        wanted = host_key(name)
        return next((p for p in self.probes or [] if host_key(p.name) == wanted), None)


class ToolStamp(Fact):
    name: str = "offlineprep"
    version: str


class Facts(Fact):
    """Everything one run collected (`offlineprep/facts/v2`). `directories`/`hosts` absent means "not
    collected" (not needed by the selected checks), which is different from "collected and failed".

    v2 adds to v1 the inventory the run judged (docs/inventory.md) and one directory per domain
    (`directories`, keyed by the domain's DNS name in lower case). A v1 file is read as v2: its one
    `directory` becomes the only entry of `directories`, and it has no inventory, so the site file's
    own lists are judged, as they were (tests/test_facts_v1_compat.py).
    """

    schema_id: Literal["offlineprep/facts/v1", "offlineprep/facts/v2"] = Field(default=FACTS_SCHEMA, alias="schema")
    tool: ToolStamp
    collected_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    directories: dict[str, DirectoryFacts] | None = None
    hosts: dict[str, HostFacts] | None = None
    inventory: Inventory | None = None
    statistics: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _upgrade_v1(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "directory" not in data:
            return data
        data = dict(data)
        directory = data.pop("directory")
        if "directories" in data:
            raise ValueError("a facts file holds either directory (v1) or directories (v2), not both")
        if directory is not None:
            key = domain_key(str(directory.get("domain_dns_name") or "")) or "" if isinstance(directory, dict) else ""
            data["directories"] = {key: directory}
        data["schema"] = FACTS_SCHEMA
        return data

    @property
    def directory(self) -> DirectoryFacts | None:
        """The directory of the first domain read (the only one, for a site with one [directory])."""
        return next(iter(self.directories.values()), None) if self.directories else None

    @directory.setter
    def directory(self, value: DirectoryFacts | None) -> None:
        self.directories = {directory_key(value): value} if value is not None else None

    def directory_for(self, domain: str | None) -> DirectoryFacts | None:
        """The directory read for `domain` (a DNS name); the first one when `domain` is None."""
        if domain is None:
            return self.directory
        return (self.directories or {}).get(domain_key(domain) or "")

    def add_directory(self, facts: DirectoryFacts) -> None:
        self.directories = {**(self.directories or {}), directory_key(facts): facts}

    def directory_view(self) -> DirectoryFacts | None:
        """One view of every domain read, for the checks: the first domain's identity (server, domain,
        SID), every domain's objects (each name was asked of exactly one domain, its own), and
        `read_in` naming the domain that read each. With one domain, that domain's facts as they are."""
        directories = list((self.directories or {}).values())
        if len(directories) <= 1:
            return directories[0] if directories else None
        first = directories[0]
        view = first.model_copy(deep=True)
        view.searches = sum(d.searches for d in directories)
        view.error = next((d.error for d in directories if d.error is not None), None)
        for directory in directories:
            domain = directory_key(directory)
            for kind in ("computers", "principals", "spn_holders"):
                table = getattr(directory, kind)
                for name, value in table.items():
                    getattr(view, kind).setdefault(name, value)
                    view.read_in.setdefault(name, domain)
            for sid, name in directory.sid_names.items():
                view.sid_names.setdefault(sid, name)
            if domain:
                view.domains.setdefault(domain, directory.netbios_name)
        return view

    def find_host(self, name: str) -> HostFacts | None:
        return _find(self.hosts or {}, name)

    def to_json(self) -> str:
        return jsontext.dumps(self.model_dump(mode="json", by_alias=True))

    @classmethod
    def from_json(cls, text: str) -> Facts:
        return cls.model_validate(json.loads(text))  # json, not pydantic's parser: see offlineprep.jsontext


def directory_key(facts: DirectoryFacts) -> str:
    """How `Facts.directories` keys a directory: its domain's DNS name, lower case, no root dot."""
    return domain_key(facts.domain_dns_name) or ""


def _find(table: dict[str, Any], name: str) -> Any:
    """The entry of `name` as written, else of the same name by HostName's rule (case and the root
    dot do not count); the tables are keyed by names as the site file or a source wrote them."""
    if name in table:
        return table[name]
    wanted = host_key(name)
    for key, value in table.items():
        if host_key(key) == wanted:
            return value
    return None

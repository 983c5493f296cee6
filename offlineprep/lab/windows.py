"""Simulated Windows hosts: the Windows object model the lab's twins of our scripts read and change.

A `SimulatedHost` is described in convenient terms (shares, folders, groups, VMs, firewall rules),
turned into the objects Windows cmdlets return, each holding only members that
windows_members.json documents for its type (`WinObject`: an undocumented member can be neither
given nor read, so the simulator cannot answer what Windows would answer with $null). What the
scripts do with those objects lives beside it: `collect_twin` answers as collect.ps1 does,
`apply_twin` changes the host as apply.ps1 does.

Defaults are Windows' own: on a member server Users holds INTERACTIVE (S-1-5-4), Authenticated Users
(S-1-5-11) and DOMAIN\\Domain Users (-513), Administrators holds Domain Admins (-512) and the local
Administrator (-500) ("When a computer joins a domain, the Domain Users group is added to the Users
group", "... the Domain Admins group is added to the Administrators group": Microsoft, well-known
SIDs in "Understand security identifiers"); every adapter reports an IPv6 link-local address and a
second one an APIPA address beside the real ones; shares carry ScopeName '*'; the firewall profiles
say NotConfigured where nothing was set, and the network is DomainAuthenticated.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any

DEFAULT_DOMAIN_SID = "S-1-5-21-1111-2222-3333"


class Fault(str, Enum):
    """Ways a Windows host misbehaves, on demand."""

    REFUSE = "refuse"  # nothing listens: connection refused
    HTTP_401 = "http401"  # credentials refused
    HTTP_500 = "http500"  # HTTP 500 with a non-SOAP body
    SOAP_FAULT = "soap-fault"  # a WS-Management fault
    SLOW = "slow"  # answers later than any sensible timeout
    TRUNCATED = "truncated"  # JSON cut in the middle (the apply script's answer: in the middle of its last line)
    NON_UTF8 = "non-utf8"  # bytes that are not UTF-8
    HUGE = "huge"  # 10 MB of output
    CLIXML_ERROR = "clixml-error"  # the script failed: CLIXML on stderr, exit code 1
    GARBAGE = "garbage"  # not JSON at all


class ReplicaFault(str, Enum):
    """How a Replica server answers Test-VMReplicationConnection from a primary, on demand (besides what its
    settings give: not enabled, another port or authentication, the Virtual Machine Management service
    stopped, no authorization entry for the primary)."""

    REFUSED = "refused"  # nothing listens on the port (or a firewall rejects it): cannot connect
    CERTIFICATE = "certificate"  # the TLS handshake fails: a certificate untrusted, mismatched or revoked
    AUTHORIZATION = "authorization"  # the primary is in none of its authorization entries
    TIMEOUT = "timeout"  # no answer at all (a firewall that drops): the test runs until its deadline


# --------------------------------------------------------------------------- Windows objects


@cache
def documented_members() -> dict[str, dict[str, Any]]:
    """windows_members.json: type -> its documented members (and where they come from)."""
    return dict(json.loads(Path(__file__).with_name("windows_members.json").read_text(encoding="utf-8"))["types"])


class NoSuchMember(AttributeError):
    """A member Windows does not document for the object: a real host answers $null for it."""


@dataclass(frozen=True)
class Raises:
    """A member whose reading throws on the host (the text is the exception's message)."""

    message: str


class WinObject:
    """An object as a cmdlet returns it, with only the members Windows documents for its type.
    Values are as the script reads them: enumerations by name (what [string]$x gives)."""

    __slots__ = ("_type", "_values")

    def __init__(self, type_name: str, **values: Any) -> None:
        entry = documented_members().get(type_name)
        if entry is None:
            raise NoSuchMember(f"{type_name} is not in windows_members.json")
        known = {m.lower() for m in entry["members"]} | {p.lower() for p in entry.get("invoked_properties", [])}
        for name in values:
            if name.lower() not in known:
                raise NoSuchMember(f"{type_name} has no member {name} (windows_members.json)")
        object.__setattr__(self, "_type", type_name)
        object.__setattr__(self, "_values", {k.lower(): v for k, v in values.items()})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        entry = documented_members()[self._type]
        key = name.lower()
        if key not in {m.lower() for m in entry["members"]} | {p.lower() for p in entry.get("invoked_properties", [])}:
            raise NoSuchMember(f"{self._type} has no member {name}: Windows would answer $null for it")
        value = self._values.get(key)
        if isinstance(value, Raises):
            raise HostError(value.message)
        return value

    def __repr__(self) -> str:
        return f"{self._type}({self._values})"


class HostError(Exception):
    """An exception a cmdlet or a member read throws on the host; its text becomes the script's error
    (the twins of collect.ps1 and apply.ps1 report it as the script would)."""


# --------------------------------------------------------------------------- convenient descriptions


@dataclass
class SimShare:
    name: str
    path: str  # local path on the server
    sddl: str = "O:SYG:SYD:(A;;0x1200a9;;;WD)"  # a new share: Everyone Read
    scope: str = "*"  # MSFT_SmbShare.ScopeName: '*' or a clustered file server's client access point


@dataclass
class SimFolder:
    path: str
    ntfs_sddl: str
    is_directory: bool = True
    free_bytes: int = 500 * 2**30  # of the volume holding it, when no SimVolume describes that volume
    total_bytes: int = 1024 * 2**30
    reparse_point: bool = False  # e.g. a DFS link in a namespace root folder


@dataclass
class SimVolume:
    name: str  # Win32_Volume.Name: 'E:\\' or a mount point folder 'C:\\ClusterStorage\\Volume1\\'
    file_system: str | None = "NTFS"  # None: offline, locked by BitLocker, or not formatted
    capacity: int | None = 1024 * 2**30
    free_space: int | None = 500 * 2**30
    drive_type: int = 3  # Local Disk


@dataclass
class SimGroup:
    sid: str
    name: str
    members: list[str] = field(default_factory=list)  # SIDs
    # members whose objectSid cannot be read but whose ADsPath is WinNT://S-1-... (an orphaned SID)
    orphaned: list[str] = field(default_factory=list)
    # members nothing can be read of: (ADsPath, the error reading objectSid throws)
    broken: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None  # the group's member list cannot be read at all


@dataclass
class SimVM:
    name: str
    disk_bytes: int | None  # None: the script could not size a disk (pass-through, missing VHD)
    error: str = "Get-VHD : The system cannot find the file specified."
    pass_through: bool = False  # a pass-through disk (DiskNumber set, no file)


@dataclass
class SimRule:
    name: str
    local_ports: list[str]
    enabled: bool = True
    action: str = "Allow"  # NotConfigured | Allow | Block (lower case accepted)
    protocol: str = "TCP"
    display_name: str = ""
    profile: str = "Any"  # Any, or 'Domain', 'Domain, Private', ...
    remote_addresses: list[str] = field(default_factory=lambda: ["Any"])
    direction: str = "Inbound"
    # where the rule is defined: Local (PersistentStore) or GroupPolicy (PolicyStoreSource: the GPO's name)
    source_type: str = "Local"
    gpo: str = ""  # the GPO's name when source_type is GroupPolicy
    program: str = "Any"  # NetFirewallApplicationFilter.Program: Any, System, or a path
    service: str = "Any"  # NetFirewallServiceFilter.Service: Any, or a service name


@dataclass
class SimProfile:
    name: str  # Domain | Private | Public
    enabled: str = "True"  # True | False | NotConfigured
    default_inbound_action: str = "NotConfigured"  # Allow | Block | NotConfigured
    allow_inbound_rules: str = "NotConfigured"
    allow_local_firewall_rules: str = "NotConfigured"  # False: Group Policy ignores the local store's rules


@dataclass
class SimNetwork:
    interface: str = "Ethernet"
    category: str = "DomainAuthenticated"  # DomainAuthenticated | Private | Public


@dataclass
class SimDfsNode:
    name: str  # \\server-or-domain\namespace[\link]
    root: bool = False
    targets: list[str] = field(default_factory=list)  # \\server\share of a link


@dataclass
class SimClusterRole:
    """A clustered file server role: its group, and the client access point shares are scoped to. A
    general-use file server's Network Name has IP Address resources of its own (online on the owner
    node); a Scale-Out File Server's Distributed Network Name has none: its DNS name is bound to every
    node's addresses. Either has a computer object in AD (ObjectGUID)."""

    group: str
    network_name: str  # the resource's private property Name (NetBIOS), e.g. FS01
    addresses: list[str] = field(default_factory=list)  # IP Address resources (empty for a DNN)
    distributed: bool = False  # a Scale-Out File Server's Distributed Network Name
    state: str = "Online"  # the network name resource's state: Online | Offline | Failed
    object_guid: str = "5f1e0c2a-0000-4000-8000-000000000001"

    @property
    def group_type(self) -> str:
        return "ScaleoutFileServer" if self.distributed else "FileServer"


@dataclass
class SimFileServerCluster:
    """The failover cluster a file server node belongs to (the one answering WinRM is the owner of
    every role); `nodes`: each node's short name -> the addresses of its cluster network interfaces."""

    name: str
    domain: str
    nodes: dict[str, list[str]] = field(default_factory=dict)
    roles: list[SimClusterRole] = field(default_factory=list)

    def role_addresses(self, role: SimClusterRole) -> list[str]:
        """What the role's DNS name resolves to: its IP Address resources, or every node's (a DNN)."""
        return [a for addresses in self.nodes.values() for a in addresses] if role.distributed else list(role.addresses)


SERVER_AUTH = "1.3.6.1.5.5.7.3.1"  # Enhanced Key Usage: Server Authentication
CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"  # Client Authentication



def _days(n: int) -> datetime:
    return datetime.now(UTC) + timedelta(days=n)


@dataclass
class SimCertificate:
    """A certificate of LocalMachine\\My. `chain_status` holds the X509ChainStatusFlags names X509Chain.Build
    reports (empty: it builds to a trusted root), e.g. ["UntrustedRoot"], ["PartialChain"]."""

    subject: str  # CN=hv01.contoso.com
    dns_names: list[str] = field(default_factory=list)  # the provider's DnsNameList (subject alternative names)
    ekus: list[str] = field(default_factory=lambda: [SERVER_AUTH, CLIENT_AUTH])
    not_before: datetime = field(default_factory=lambda: _days(-30))
    not_after: datetime = field(default_factory=lambda: _days(335))
    has_private_key: bool = True
    chain_status: list[str] = field(default_factory=list)
    # its issuing root's thumbprint (the chain's last element); revocation as an online check finds it:
    # good, revoked (X509ChainStatusFlags Revoked) or unreachable (the CRL could not be downloaded:
    # RevocationStatusUnknown and OfflineRevocation)
    root_thumbprint: str | None = None
    revocation: str = "good"

    @property
    def thumbprint(self) -> str:
        return hashlib.sha1(f"{self.subject}|{self.not_after.isoformat()}".encode()).hexdigest().upper()


@dataclass
class SimAuthorization:
    """One Replica server authorization entry (New-VMReplicationAuthorizationEntry)."""

    allowed_primary_server: str  # an FQDN, or *.domain
    storage_location: str
    trust_group: str = "DEFAULT"


@dataclass
class SimLookup:
    """How one host's DNS client answers a name: addresses, no such name (None), or no answer in time."""

    addresses: list[str] | None = None
    no_answer: bool = False
    seconds: float = 0.004


class LabNetwork:
    """The lab's DNS and what answers on TCP 445: every simulated host's names (the name it is reached
    by, its computer name, its short name) resolve to its own addresses, and its port 445 answers as
    `SimulatedHost.smb_port` says; an address of no simulated host answers nothing (filtered)."""

    def __init__(self, hosts: dict[str, SimulatedHost]) -> None:
        self.records: dict[str, list[str]] = {}
        self.machines: dict[str, SimulatedHost] = {}
        for name, sim in hosts.items():
            addresses = sim.own_addresses()
            for key in {name.casefold().rstrip("."), sim.computer_name.casefold(), sim.short_name.casefold()}:
                self.records.setdefault(key, addresses)
            for address in addresses:
                self.machines.setdefault(address, sim)
            owner = sim.cluster.owner() if sim.cluster is not None else None
            if owner is not None and sim.cluster.node_fqdn(owner) == sim.computer_name.casefold():
                for broker in sim.cluster.broker_fqdns():  # a Replica Broker's name: the node owning its role
                    self.records.setdefault(broker, addresses)
            cluster = sim.file_server_cluster
            if cluster is None:
                continue
            for role in cluster.roles:  # a role's name: its own addresses
                served = cluster.role_addresses(role)
                short = role.network_name.casefold()
                for key in (short, f"{short}.{cluster.domain.casefold()}"):
                    self.records[key] = served
                for address in served:
                    self.machines.setdefault(address, sim)

    def lookup(self, name: str) -> SimLookup:
        text = name.strip().rstrip(".")
        try:
            return SimLookup([ipaddress.ip_address(text.strip("[]")).compressed])  # an address resolves to itself
        except ValueError:
            pass
        found = self.records.get(text.casefold())
        return SimLookup(list(found) if found else None)

    def connect(self, address: str) -> tuple[str, float]:
        """What a TCP connect to address:445 meets (open, refused, filtered) and how soon it answers."""
        sim = self.machines.get(address)
        if sim is None:
            return "filtered", 0.0
        return sim.smb_port, sim.connect_seconds


def default_groups(admins: list[str] | None = None, domain_sid: str = DEFAULT_DOMAIN_SID,
                   machine_sid: str = "S-1-5-21-9999-8888-7777") -> list[SimGroup]:
    """A member server's local groups as Windows makes them when the computer joins the domain."""
    administrators = [f"{domain_sid}-512", f"{machine_sid}-500"]
    administrators += [s for s in admins or [] if s not in administrators]
    return [
        SimGroup("S-1-5-32-544", "Administrators", administrators),
        SimGroup("S-1-5-32-545", "Users", ["S-1-5-4", "S-1-5-11", f"{domain_sid}-513"]),
        SimGroup("S-1-5-32-547", "Power Users", []),
        SimGroup("S-1-5-32-551", "Backup Operators", []),
        SimGroup("S-1-5-32-555", "Remote Desktop Users", []),
        SimGroup("S-1-5-32-580", "Remote Management Users", []),
    ]


def default_profiles() -> list[SimProfile]:
    return [SimProfile("Domain"), SimProfile("Private"), SimProfile("Public")]


_WELL_KNOWN = {"S-1-5-4": "NT AUTHORITY/INTERACTIVE", "S-1-5-11": "NT AUTHORITY/Authenticated Users",
               "S-1-1-0": "Everyone", "S-1-5-18": "NT AUTHORITY/SYSTEM"}
_DOMAIN_RIDS = {"512": "Domain Admins", "513": "Domain Users", "519": "Enterprise Admins"}


@dataclass
class SimulatedHost:
    computer_name: str  # the machine's DNS name, e.g. FS01.lab.test (no dot: not in a domain)
    os_caption: str = "Microsoft Windows Server 2016 Datacenter"
    os_version: str = "10.0.14393"
    os_build: str = "14393"
    hyperv_installed: bool = False
    hyperv_install_state: str | None = None  # Get-WindowsFeature InstallState; None: Installed or Available as above
    hyperv_module: bool = True  # the Hyper-V PowerShell module (feature Hyper-V-PowerShell) is there
    # Win32_ComputerSystem.Domain where it differs from the primary DNS suffix of computer_name (a disjoint namespace)
    ad_domain: str | None = None
    ip_addresses: list[str] = field(default_factory=list)
    groups: list[SimGroup] = field(default_factory=default_groups)
    shares: list[SimShare] = field(default_factory=list)
    folders: list[SimFolder] = field(default_factory=list)
    vms: list[SimVM] = field(default_factory=list)
    replication: dict[str, Any] | None = None  # enabled, kerberos_port, certificate_port, allowed_authentication
    firewall: list[SimRule] = field(default_factory=list)
    fault: Fault | None = None
    delay_seconds: float = 0.0  # per WS-Management request
    volumes: list[SimVolume] | None = None  # None: one ready NTFS volume per drive of the folders
    firewall_profiles: list[SimProfile] = field(default_factory=default_profiles)
    networks: list[SimNetwork] = field(default_factory=lambda: [SimNetwork()])
    dfs_nodes: list[SimDfsNode] = field(default_factory=list)
    link_local: bool = True  # adapters also report fe80:: and 169.254.x.x addresses, as Windows does
    domain_role: int | None = None  # Win32_ComputerSystem.DomainRole; None: 3 (member server), 2 without a domain
    vmms_status: str | None = None  # None: Running with the Hyper-V role, no service without it
    clock_offset_seconds: float = 0.0  # the host's clock against the real one
    time_source_type: str = "NT5DS"  # W32Time\Parameters Type
    ntp_server: str | None = None  # W32Time\Parameters NtpServer (a domain member has none by default)
    # Group Policy's W32Time values (HKLM\SOFTWARE\Policies\Microsoft\W32Time\Parameters): None, not set by
    # policy (the key, or the value, is absent); set, they overwrite the service's own
    time_policy_type: str | None = None
    time_policy_ntp_server: str | None = None
    domain_clock_offset_seconds: float = 0.0  # the domain hierarchy's time against the real one (what a resync takes)
    dns: dict[str, SimLookup] = field(default_factory=dict)  # this host's DNS client, where it differs from the lab's
    smb_port: str = "open"  # what a TCP connect to this machine's port 445 meets: open | refused | filtered
    connect_seconds: float = 0.002
    certificates: list[SimCertificate] = field(default_factory=list)
    replica_authorizations: list[SimAuthorization] = field(default_factory=list)
    trusted_roots: list[str] = field(default_factory=list)  # LocalMachine\\Root thumbprints
    cert_revocation_check_disabled: int | None = None  # ...\\Virtualization\\Replication DisableCertRevocationCheck
    cluster: Any = None  # the lab.cluster.SimulatedCluster this host is a node of (ClusSvc present); None: no node
    directories: list[str] = field(default_factory=list)  # folders that exist besides `folders` (storage locations)
    strict_name_checking_disabled: int | None = None  # LanmanServer\Parameters DisableStrictNameChecking
    optional_names: list[str] = field(default_factory=list)  # ... OptionalNames
    alternate_names: list[str] = field(default_factory=list)  # Dnscache\Parameters AlternateComputerNames
    smb_name_hardening_level: int = 0  # Get-SmbServerConfiguration SmbServerNameHardeningLevel (0: Windows' default)
    file_server_cluster: SimFileServerCluster | None = None  # None: no cluster node (Import-Module FailoverClusters fails)
    tickets_purged: int = 0  # times apply.ps1 purged the computer's own Kerberos tickets (klist purge -li 0x3e7)
    replica_fault: ReplicaFault | None = None  # how this Replica server answers Test-VMReplicationConnection
    # Netlogon\Parameters: DynamicSiteName, the site Net Logon found (a single-site domain's); SiteName, one an
    # administrator entered (None: not set), which Net Logon uses instead
    dynamic_site_name: str | None = "Default-First-Site-Name"
    site_name: str | None = None

    def __post_init__(self) -> None:
        if not self.ip_addresses:  # every lab machine has an address of its own, stable for its name
            digest = hashlib.sha256(self.computer_name.casefold().encode()).digest()
            self.ip_addresses = [f"10.{digest[0]}.{digest[1]}.{digest[2] % 253 + 1}"]

    def own_addresses(self) -> list[str]:
        """The addresses the lab's DNS holds for this machine: its own, not link-local ones."""
        out = []
        for text in self.ip_addresses:
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                continue
            if not (address.is_link_local or address.is_loopback):
                out.append(address.compressed)
        return out

    def exists(self, path: str) -> bool:
        folded = path.rstrip("\\").casefold()
        return any(p.rstrip("\\").casefold() == folded for p in [*self.directories, *(f.path for f in self.folders
                                                                                     if f.is_directory)])

    # ------------------------------------------------------------------ the objects Windows would return

    @property
    def short_name(self) -> str:
        return self.computer_name.split(".", 1)[0]

    @property
    def domain(self) -> str | None:
        return self.ad_domain or (self.computer_name.split(".", 1)[1] if "." in self.computer_name else None)

    def ip_global_properties(self) -> WinObject:
        """IPGlobalProperties: HostName and DomainName, the primary DNS suffix (computer_name's own)."""
        suffix = self.computer_name.split(".", 1)[1] if "." in self.computer_name else ""
        return WinObject("IPGlobalProperties", HostName=self.short_name, DomainName=suffix)

    def computer_system(self) -> WinObject:
        role = self.domain_role if self.domain_role is not None else (3 if self.domain else 2)
        return WinObject("Win32_ComputerSystem", DNSHostName=self.short_name, Domain=self.domain or "WORKGROUP",
                         PartOfDomain=self.domain is not None, DomainRole=role)

    def operating_system(self) -> WinObject:
        return WinObject("Win32_OperatingSystem", Caption=self.os_caption, Version=self.os_version,
                         BuildNumber=self.os_build)

    def adapters(self) -> list[WinObject]:
        seed = hashlib.sha256(self.computer_name.casefold().encode()).digest()
        first = list(self.ip_addresses)
        second: list[str] = []
        if self.link_local:
            words = [f"{seed[i] << 8 | seed[i + 1]:x}" for i in range(0, 14, 2)]
            first.append("fe80::" + ":".join(words[:4]))
            second = [f"169.254.{seed[8] % 254 + 1}.{seed[9] % 254 + 1}", "fe80::" + ":".join(words[5:7])]
        adapters = [WinObject("Win32_NetworkAdapterConfiguration", IPEnabled=True, IPAddress=first)]
        if second:  # a second adapter without DHCP answer (storage, heartbeat): APIPA
            adapters.append(WinObject("Win32_NetworkAdapterConfiguration", IPEnabled=True, IPAddress=second))
        return adapters

    def member_path(self, sid: str) -> str:
        if sid in _WELL_KNOWN:
            return "WinNT://" + _WELL_KNOWN[sid]
        rid = sid.rsplit("-", 1)[-1]
        netbios = (self.domain or "WORKGROUP").split(".")[0].upper()
        if rid == "500":
            return f"WinNT://{netbios}/{self.short_name}/Administrator"
        return f"WinNT://{netbios}/{_DOMAIN_RIDS.get(rid, 'account-' + rid)}"

    def group_members(self, group: SimGroup) -> list[WinObject]:
        members = [WinObject("WinNTGroupMember", ADsPath=self.member_path(s), objectSid=s) for s in group.members]
        members += [WinObject("WinNTGroupMember", ADsPath=f"WinNT://{s}",
                              objectSid=Raises("The trust relationship between this workstation and the primary "
                                               "domain failed."))
                    for s in group.orphaned]
        members += [WinObject("WinNTGroupMember", ADsPath=path, objectSid=Raises(error)) for path, error in group.broken]
        return members

    def smb_shares(self) -> list[WinObject]:
        return [WinObject("MSFT_SmbShare", Name=s.name, ScopeName=s.scope, Path=s.path, SecurityDescriptor=s.sddl)
                for s in self.shares]

    def cluster_objects(self) -> dict[str, Any]:
        """What the FailoverClusters cmdlets return on this node (Get-Cluster, Get-ClusterNode,
        Get-ClusterGroup, Get-ClusterResource with its parameters, Get-ClusterNetworkInterface)."""
        cluster = self.file_server_cluster
        if cluster is None:
            raise HostError("The specified module 'FailoverClusters' was not loaded because no valid module file was "
                            "found in any module directory.")
        owner = self.short_name.upper()
        groups, resources, parameters = [], [], {}
        for role in cluster.roles:
            groups.append(WinObject("ClusterGroup", Name=role.group, OwnerNode=owner, State="Online",
                                    GroupType=role.group_type))
            kind = "Distributed Network Name" if role.distributed else "Network Name"
            resources.append(WinObject("ClusterResource", Name=f"{role.group} name", ResourceType=kind,
                                       OwnerGroup=role.group, OwnerNode=owner, State=role.state))
            parameters[f"{role.group} name"] = [
                WinObject("ClusterParameter", Name="Name", Value=role.network_name.upper()),
                WinObject("ClusterParameter", Name="DnsName", Value=role.network_name.lower()),
                WinObject("ClusterParameter", Name="ObjectGUID", Value=role.object_guid)]
            for address in role.addresses:
                name = f"IP Address {address}"
                resources.append(WinObject("ClusterResource", Name=name, ResourceType="IPv6 Address" if ":" in address
                                           else "IP Address", OwnerGroup=role.group, OwnerNode=owner, State="Online"))
                parameters[name] = [WinObject("ClusterParameter", Name="Address", Value=address)]
        return {
            "cluster": WinObject("Cluster", Name=cluster.name, Domain=cluster.domain),
            "nodes": [WinObject("ClusterNode", Name=n, State="Up") for n in cluster.nodes],
            "groups": groups, "resources": resources, "parameters": parameters,
            "interfaces": [WinObject("ClusterNetworkInterface", Name=f"{n} - Ethernet", Node=n, Network="Cluster Network 1",
                                     State="Up", Address=a) for n, addresses in cluster.nodes.items() for a in addresses],
        }

    def win32_volumes(self) -> list[WinObject]:
        volumes = self.volumes
        if volumes is None:
            volumes = []
            for folder in self.folders:
                root = folder.path[:3]
                if not any(v.name.casefold() == root.casefold() for v in volumes):
                    volumes.append(SimVolume(root, capacity=folder.total_bytes, free_space=folder.free_bytes))
        return [WinObject("Win32_Volume", Name=v.name, FileSystem=v.file_system, Capacity=v.capacity,
                          FreeSpace=v.free_space, DriveType=v.drive_type) for v in volumes]

    def item(self, local: str) -> WinObject | None:
        folded = local.rstrip("\\").casefold()
        folder = next((f for f in self.folders if f.path.rstrip("\\").casefold() == folded), None)
        if folder is None:
            return None
        attributes = ["Directory"] if folder.is_directory else ["Archive"]
        if folder.reparse_point:
            attributes.append("ReparsePoint")
        return WinObject("FileSystemInfo", FullName=folder.path, Attributes=", ".join(attributes),
                         PSIsContainer=folder.is_directory)

    def acl(self, local: str) -> WinObject:
        folded = local.rstrip("\\").casefold()
        folder = next(f for f in self.folders if f.path.rstrip("\\").casefold() == folded)
        return WinObject("FileSystemSecurity", Sddl=folder.ntfs_sddl)

    def dfs(self) -> tuple[list[WinObject], list[WinObject]]:
        nodes = [WinObject("Win32_DFSNode", Name=n.name, Root=n.root) for n in self.dfs_nodes]
        targets = []
        for n in self.dfs_nodes:
            for t in n.targets:
                server, _, share = t.lstrip("\\").partition("\\")
                targets.append(WinObject("Win32_DFSTarget", LinkName=n.name, ServerName=server, ShareName=share))
        return nodes, targets

    def replica_home(self) -> Any:
        """Where this host's Replica server settings live: on a cluster with a Replica Broker, the broker's
        (the cluster's, one for every node: "The Hyper-V Replica Broker is used to configure the replication
        settings for all nodes in the cluster"); else the host's own."""
        if self.cluster is not None and self.cluster.broker_fqdns():
            return self.cluster
        return self

    def replication_server(self) -> WinObject:
        # an unconfigured host answers Get-VMReplicationServer with Hyper-V's defaults, not an error
        home = self.replica_home()
        if home is not self and home.replication is None and self.replication is not None:
            home.replication = dict(self.replication)  # the broker was set up with the node's settings
            home.replica_authorizations = list(self.replica_authorizations)
        settings = home.replication if home.replication is not None else {
            "enabled": False, "kerberos_port": 80, "certificate_port": 443}
        return WinObject("VMReplicationServer", ReplicationEnabled=settings.get("enabled"),
                         KerberosAuthenticationPort=settings.get("kerberos_port"),
                         CertificateAuthenticationPort=settings.get("certificate_port"),
                         AllowedAuthenticationType=settings.get("allowed_authentication", "Kerberos"),
                         ReplicationAllowedFromAnyServer=settings.get("allowed_from_any_server", False),
                         DefaultStorageLocation=settings.get("default_storage_location"),
                         CertificateThumbprint=settings.get("certificate_thumbprint"))

    def authorization_entries(self) -> list[WinObject]:
        return [WinObject("VMReplicationAuthorizationEntry", AllowedPrimaryServer=a.allowed_primary_server,
                          ReplicaStorageLocation=a.storage_location, TrustGroup=a.trust_group)
                for a in self.replica_home().replica_authorizations]

    def certificate_objects(self) -> list[WinObject]:
        return [WinObject("X509Certificate2", Thumbprint=c.thumbprint, Subject=c.subject, NotBefore=c.not_before,
                          NotAfter=c.not_after, HasPrivateKey=c.has_private_key,
                          DnsNameList=[WinObject("DnsNameRepresentation", Unicode=n, Punycode=n) for n in c.dns_names],
                          EnhancedKeyUsageList=[WinObject("EnhancedKeyUsageRepresentation", ObjectId=o)
                                                for o in c.ekus])
                for c in self.certificates]

    def chain_status(self, thumbprint: str, revocation: bool = False) -> list[WinObject]:
        """X509Chain.Build's ChainStatus; `revocation`: built with RevocationMode Online."""
        cert = next(c for c in self.certificates if c.thumbprint == thumbprint)
        statuses = list(cert.chain_status)
        if revocation and cert.revocation == "revoked":
            statuses.append("Revoked")
        elif revocation and cert.revocation == "unreachable":
            statuses += ["RevocationStatusUnknown", "OfflineRevocation"]
        return [WinObject("X509ChainStatus", Status=s, StatusInformation=s) for s in statuses]

    def chain_root(self, thumbprint: str) -> WinObject | None:
        """The chain's last element (X509ChainElement), whose Certificate is the root."""
        cert = next(c for c in self.certificates if c.thumbprint == thumbprint)
        if cert.root_thumbprint is None:
            return None
        return WinObject("X509ChainElement", Certificate=WinObject("X509Certificate2", Thumbprint=cert.root_thumbprint))

    def firewall_objects(self) -> tuple[list[WinObject], list[WinObject], list[WinObject]]:
        rules, ports, addresses = [], [], []
        for r in self.firewall:
            action = {"allow": "Allow", "block": "Block", "notconfigured": "NotConfigured"}.get(r.action.casefold(),
                                                                                              r.action)
            rules.append(WinObject("NetFirewallRule", Name=r.name, DisplayName=r.display_name or r.name,
                                   Enabled="True" if r.enabled else "False", Direction=r.direction, Action=action,
                                   Profile=r.profile, InstanceID=r.name, PolicyStoreSourceType=r.source_type,
                                   PolicyStoreSource=r.gpo if r.source_type == "GroupPolicy" else "PersistentStore"))
            ports.append(WinObject("NetFirewallPortFilter", InstanceID=r.name, Protocol=r.protocol, LocalPort=r.local_ports))
            addresses.append(WinObject("NetFirewallAddressFilter", InstanceID=r.name, RemoteAddress=r.remote_addresses))
        return rules, ports, addresses

    def firewall_filters(self) -> tuple[list[WinObject], list[WinObject]]:
        """Get-NetFirewallApplicationFilter -All and Get-NetFirewallServiceFilter -All: one of each per rule."""
        return ([WinObject("NetFirewallApplicationFilter", InstanceID=r.name, Program=r.program) for r in self.firewall],
                [WinObject("NetFirewallServiceFilter", InstanceID=r.name, Service=r.service) for r in self.firewall])

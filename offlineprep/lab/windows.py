"""Simulated Windows hosts: Windows objects in, the collection script's JSON answer out.

A `SimulatedHost` is described in convenient terms (shares, folders, groups, VMs, firewall rules),
turned into the objects Windows cmdlets return, each holding only members that
windows_members.json documents for its type (`WinObject`: an undocumented member can be neither
given nor read, so the simulator cannot answer what Windows would answer with $null). `answer()`
then does what collect.ps1 does with those objects, member by member, and returns the document the
script prints: the collector's parser is exercised with the answer Windows' objects allow.

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
from dataclasses import dataclass, field, replace
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
            raise _HostError(value.message)
        return value

    def __repr__(self) -> str:
        return f"{self._type}({self._values})"


class _HostError(Exception):
    """An exception a cmdlet or a member read throws on the host; its text becomes the script's error."""


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


@dataclass
class SimProfile:
    name: str  # Domain | Private | Public
    enabled: str = "True"  # True | False | NotConfigured
    default_inbound_action: str = "NotConfigured"  # Allow | Block | NotConfigured
    allow_inbound_rules: str = "NotConfigured"


@dataclass
class SimNetwork:
    interface: str = "Ethernet"
    category: str = "DomainAuthenticated"  # DomainAuthenticated | Private | Public


@dataclass
class SimDfsNode:
    name: str  # \\server-or-domain\namespace[\link]
    root: bool = False
    targets: list[str] = field(default_factory=list)  # \\server\share of a link


SERVER_AUTH = "1.3.6.1.5.5.7.3.1"  # Enhanced Key Usage: Server Authentication
CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"  # Client Authentication

# W32Time's MaxAllowedPhaseOffset on a domain member (seconds): a larger offset is set at once, a smaller one
# corrected gradually (Microsoft, "Windows Time service tools and settings")
MAX_ALLOWED_PHASE_OFFSET = 300.0

# collect.ps1's probes section: names are waited for up to 2 s, connections until 4 s in all
DNS_WAIT_SECONDS = 2.0
PROBE_WAIT_SECONDS = 4.0


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
    domain_clock_offset_seconds: float = 0.0  # the domain hierarchy's time against the real one (what a resync takes)
    dns: dict[str, SimLookup] = field(default_factory=dict)  # this host's DNS client, where it differs from the lab's
    smb_port: str = "open"  # what a TCP connect to this machine's port 445 meets: open | refused | filtered
    connect_seconds: float = 0.002
    certificates: list[SimCertificate] = field(default_factory=list)
    replica_authorizations: list[SimAuthorization] = field(default_factory=list)
    directories: list[str] = field(default_factory=list)  # folders that exist besides `folders` (storage locations)
    strict_name_checking_disabled: int | None = None  # LanmanServer\Parameters DisableStrictNameChecking
    optional_names: list[str] = field(default_factory=list)  # ... OptionalNames
    alternate_names: list[str] = field(default_factory=list)  # Dnscache\Parameters AlternateComputerNames
    tickets_purged: int = 0  # times apply.ps1 purged the computer's own Kerberos tickets (klist purge -li 0x3e7)

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
        return self.computer_name.split(".", 1)[1] if "." in self.computer_name else None

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

    def replication_server(self) -> WinObject:
        # an unconfigured host answers Get-VMReplicationServer with Hyper-V's defaults, not an error
        settings = self.replication if self.replication is not None else {
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
                for a in self.replica_authorizations]

    def certificate_objects(self) -> list[WinObject]:
        return [WinObject("X509Certificate2", Thumbprint=c.thumbprint, Subject=c.subject, NotBefore=c.not_before,
                          NotAfter=c.not_after, HasPrivateKey=c.has_private_key,
                          DnsNameList=[WinObject("DnsNameRepresentation", Unicode=n, Punycode=n) for n in c.dns_names],
                          EnhancedKeyUsageList=[WinObject("EnhancedKeyUsageRepresentation", ObjectId=o)
                                                for o in c.ekus])
                for c in self.certificates]

    def chain_status(self, thumbprint: str) -> list[WinObject]:
        cert = next(c for c in self.certificates if c.thumbprint == thumbprint)
        return [WinObject("X509ChainStatus", Status=s, StatusInformation=s) for s in cert.chain_status]

    def firewall_objects(self) -> tuple[list[WinObject], list[WinObject], list[WinObject]]:
        rules, ports, addresses = [], [], []
        for r in self.firewall:
            action = {"allow": "Allow", "block": "Block", "notconfigured": "NotConfigured"}.get(r.action.casefold(),
                                                                                              r.action)
            rules.append(WinObject("NetFirewallRule", Name=r.name, DisplayName=r.display_name or r.name,
                                   Enabled="True" if r.enabled else "False", Direction=r.direction, Action=action,
                                   Profile=r.profile, InstanceID=r.name))
            ports.append(WinObject("NetFirewallPortFilter", InstanceID=r.name, Protocol=r.protocol, LocalPort=r.local_ports))
            addresses.append(WinObject("NetFirewallAddressFilter", InstanceID=r.name, RemoteAddress=r.remote_addresses))
        return rules, ports, addresses

    # ------------------------------------------------------------------ what collect.ps1 does with them

    def answer(self, request: dict[str, Any], network: LabNetwork | None = None) -> dict[str, Any]:
        """`network`: the lab's DNS and port 445 (the endpoint's, shared by every host); by default a lab of
        this host alone."""
        out: dict[str, Any] = {"schema": "offlineprep/host/v1", "errors": {}}
        now = datetime.now(UTC) + timedelta(seconds=self.clock_offset_seconds)
        w32time = WinObject("W32TimeParameters", Type=self.time_source_type)
        out["clock"] = {"utc": now.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z", "time_source_type": str(w32time.Type)}
        cs = self.computer_system()
        out["computer_name"] = cs.DNSHostName
        if cs.PartOfDomain and cs.Domain:
            out["computer_name"] = f"{cs.DNSHostName}.{cs.Domain}"
            out["domain"] = cs.Domain
        out["domain_role"] = int(cs.DomainRole)
        os = self.operating_system()
        out["os"] = {"caption": os.Caption, "version": os.Version, "build": os.BuildNumber}
        feature = WinObject("WindowsFeature", Name="Hyper-V", InstallState="Installed" if self.hyperv_installed
                            else "Available")
        status = self.vmms_status or ("Running" if self.hyperv_installed else None)
        svc = WinObject("ServiceController", Name="vmms", Status=status) if status else None
        out["hyperv"] = {"installed": feature.InstallState == "Installed", "vmms": svc.Status if svc else None}
        out["ip_addresses"] = [str(a) for nic in self.adapters() for a in nic.IPAddress if a]
        paths = request.get("paths") or []
        if paths:
            lanman = WinObject("LanmanServerParameters", DisableStrictNameChecking=self.strict_name_checking_disabled,
                               OptionalNames=self.optional_names or None)
            dnscache = WinObject("DnsCacheParameters", AlternateComputerNames=self.alternate_names or None)
            out["server_names"] = {
                "disable_strict_name_checking": int(lanman.DisableStrictNameChecking)
                if lanman.DisableStrictNameChecking is not None else None,
                "optional_names": [str(n) for n in lanman.OptionalNames or [] if n],
                "alternate_names": [str(n) for n in dnscache.AlternateComputerNames or [] if n]}
            out["local_groups"] = [self._group(g) for g in self.groups]
            state: dict[str, Any] = {}
            out["paths"] = [self._path(p, out.get("domain") or "", state) for p in paths]
        if request.get("hyperv"):
            out["vms"] = [self._vm(v) for v in self.vms]
            rs = self.replication_server()
            default = str(rs.DefaultStorageLocation or "")
            out["replication_server"] = {"enabled": bool(rs.ReplicationEnabled),
                                         "kerberos_port": rs.KerberosAuthenticationPort,
                                         "certificate_port": rs.CertificateAuthenticationPort,
                                         "allowed_authentication": str(rs.AllowedAuthenticationType),
                                         "allowed_from_any_server": bool(rs.ReplicationAllowedFromAnyServer),
                                         "default_storage_location": default,
                                         "default_storage_exists": bool(default and self.exists(default)),
                                         "certificate_thumbprint": str(rs.CertificateThumbprint or ""),
                                         "authorization_entries": [
                                             {"allowed_primary_server": str(a.AllowedPrimaryServer),
                                              "storage_location": str(a.ReplicaStorageLocation),
                                              "trust_group": str(a.TrustGroup),
                                              "storage_exists": bool(a.ReplicaStorageLocation
                                                                     and self.exists(str(a.ReplicaStorageLocation)))}
                                             for a in self.authorization_entries()]}
            out["certificates"] = [self._certificate(c) for c in self.certificate_objects()]
            rules, port_filters, address_filters = self.firewall_objects()
            ports = {pf.InstanceID: pf for pf in port_filters}
            scopes = {af.InstanceID: af for af in address_filters}
            out["firewall_rules"] = []
            for rule in rules:  # Get-NetFirewallRule -Direction Inbound -Enabled True
                if rule.Direction != "Inbound" or rule.Enabled != "True":
                    continue
                pf, af = ports.get(rule.InstanceID), scopes.get(rule.InstanceID)
                out["firewall_rules"].append({
                    "name": rule.Name, "display_name": rule.DisplayName, "enabled": rule.Enabled,
                    "direction": rule.Direction, "action": rule.Action, "profile": rule.Profile,
                    "protocol": pf.Protocol if pf else None,
                    "local_ports": [str(p) for p in pf.LocalPort] if pf else [],
                    "remote_addresses": [str(a) for a in af.RemoteAddress] if af else []})
            out["firewall_profiles"] = []
            for p in self.firewall_profiles:
                fp = WinObject("NetFirewallProfile", Name=p.name, Enabled=p.enabled,
                               DefaultInboundAction=p.default_inbound_action, AllowInboundRules=p.allow_inbound_rules)
                out["firewall_profiles"].append({"name": fp.Name, "enabled": fp.Enabled,
                                                 "default_inbound_action": fp.DefaultInboundAction,
                                                 "allow_inbound_rules": fp.AllowInboundRules})
            out["network_profiles"] = []
            for n in self.networks:
                net = WinObject("NetConnectionProfile", InterfaceAlias=n.interface, NetworkCategory=n.category)
                out["network_profiles"].append({"interface": net.InterfaceAlias, "category": net.NetworkCategory})
        probes = request.get("probes") or []
        if probes:
            out["probes"] = self._probes([str(n) for n in probes], network or LabNetwork({self.computer_name: self}))
        return out

    def _certificate(self, cert: WinObject) -> dict[str, Any]:
        now = datetime.now(UTC)
        ekus = [str(e.ObjectId) for e in cert.EnhancedKeyUsageList if e]
        not_before, not_after = cert.NotBefore.astimezone(UTC), cert.NotAfter.astimezone(UTC)
        entry: dict[str, Any] = {"thumbprint": str(cert.Thumbprint), "subject": str(cert.Subject),
                                 "dns_names": [str(d.Unicode) for d in cert.DnsNameList if d], "ekus": ekus,
                                 "not_before": not_before.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z",
                                 "not_after": not_after.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z",
                                 "has_private_key": bool(cert.HasPrivateKey), "chain_ok": None, "chain_status": []}
        if cert.HasPrivateKey and SERVER_AUTH in ekus and CLIENT_AUTH in ekus and not_before <= now <= not_after:
            statuses = self.chain_status(str(cert.Thumbprint))  # X509Chain.Build: false with any status
            entry["chain_ok"] = not statuses
            entry["chain_status"] = [str(s.Status) for s in statuses]
        return entry

    def _probes(self, names: list[str], network: LabNetwork) -> dict[str, Any]:
        """What the probes section prints, and how long it takes there (`seconds`): the names are looked up
        at once and waited for in turn up to DNS_WAIT_SECONDS, the connections to each address found are
        started as their name comes back and waited for in turn until PROBE_WAIT_SECONDS, all on one clock.
        A filtered port never answers (Windows gives up on a SYN after some 21 s), a name whose DNS server
        is silent never comes back."""
        clock = 0.0
        entries: list[dict[str, Any]] = []
        attempts: list[tuple[dict[str, Any], str, str, float]] = []  # entry, address, state, done at
        for name in names:
            lookup = self.dns.get(name.casefold().rstrip(".")) or network.lookup(name)
            entry: dict[str, Any] = {"name": name, "addresses": [], "error": None, "timed_out": False,
                                     "connections": []}
            done = float("inf") if lookup.no_answer else lookup.seconds
            clock = max(clock, min(done, DNS_WAIT_SECONDS))
            if done > clock:
                entry["timed_out"] = True
            elif lookup.addresses is None:
                entry["error"] = "No such host is known"  # SocketException HostNotFound
            else:
                for address in lookup.addresses[:4]:
                    entry["addresses"].append(address)
                    state, seconds = network.connect(address)
                    attempts.append((entry, address, state, float("inf") if state == "filtered" else clock + seconds))
            entries.append(entry)
        for entry, address, state, done in attempts:
            clock = max(clock, min(done, PROBE_WAIT_SECONDS))
            if done > clock:
                entry["connections"].append({"address": address, "state": "timeout", "error": None})
            elif state == "refused":
                entry["connections"].append({"address": address, "state": "refused", "error": "ConnectionRefused"})
            else:
                entry["connections"].append({"address": address, "state": "open", "error": None})
        return {"seconds": round(clock, 3), "names": entries}

    def _group(self, group: SimGroup) -> dict[str, Any]:
        win32 = WinObject("Win32_Group", SID=group.sid, Name=group.name, LocalAccount=True)
        entry: dict[str, Any] = {"sid": win32.SID, "name": win32.Name, "members": [], "unreadable": []}
        if group.error is not None:
            entry["error"] = group.error
            return entry
        for member in self.group_members(group):
            path, sid, why = None, None, None
            try:
                path = str(member.ADsPath)
            except _HostError as exc:
                why = str(exc)
            try:
                sid = str(member.objectSid)
            except _HostError as exc:
                why = str(exc)
            if not sid and path and path.startswith("WinNT://S-1-"):
                sid = path[len("WinNT://"):]
            if sid:
                entry["members"].append({"sid": sid, "name": path})
            else:
                entry["unreadable"].append({"name": path, "error": str(why)})
        return entry

    def _path(self, p: dict[str, Any], machine_domain: str, state: dict[str, Any]) -> dict[str, Any]:
        r: dict[str, Any] = {"path": str(p.get("raw"))}
        try:
            local = str(p.get("local_path") or "")
            server = str(p.get("server") or "")
            short = server.split(".")[0]
            if p.get("kind") == "unc":
                share_name = str(p.get("share") or "")
                domain_based = bool(machine_domain) and (
                    server.casefold() == machine_domain.casefold()
                    or ("." not in server and short.casefold() == machine_domain.split(".")[0].casefold()
                        and short.casefold() != self.short_name.casefold()))
                nodes, targets = self.dfs()
                parts = [x for x in str(p.get("subpath") or "").split("\\") if x]
                found, root = None, None
                for node in nodes:
                    segments = str(node.Name).lstrip("\\").split("\\")
                    if len(segments) < 2 or segments[1].casefold() != share_name.casefold():
                        continue
                    if node.Root:
                        root = "\\\\" + segments[0] + "\\" + segments[1]
                        continue
                    link = segments[2:]
                    if len(link) <= len(parts) and all(a.casefold() == b.casefold() for a, b in zip(link, parts,
                                                                                                    strict=False)):
                        found = node
                if domain_based or root or found:
                    names = ["\\\\" + t.ServerName + "\\" + t.ShareName for t in targets
                             if found is not None and str(t.LinkName).casefold() == str(found.Name).casefold()]
                    r["dfs"] = {"namespace": root or f"\\\\{server}\\{share_name}",
                                "link": str(found.Name) if found is not None else None,
                                "targets": names, "domain_based": domain_based}
                    return r
                shares = self.smb_shares()
                scope = "*"
                scopes = []
                for share in shares:
                    name = str(share.ScopeName)
                    if name != "*" and name.casefold() in {short.casefold(), server.casefold()}:
                        scope = name
                    if str(share.Name).casefold() == share_name.casefold():
                        scopes.append(name)
                match = next((s for s in shares if str(s.Name).casefold() == share_name.casefold()
                              and str(s.ScopeName).casefold() == scope.casefold()), None)
                r["share_scope"] = scope
                r["share_scopes"] = scopes
                r["share_found"] = match is not None
                if match is not None:
                    r["share"] = {"name": match.Name, "path": match.Path, "sddl": match.SecurityDescriptor,
                                  "scope": match.ScopeName}
                    sub = p.get("subpath") or ""
                    local = str(match.Path).rstrip("\\") + ("\\" + sub if sub else "")
            r["local_path"] = local or None
            if local:
                full = local.rstrip("\\") + "\\"
                best = None
                for vol in self.win32_volumes():
                    vol_name = str(vol.Name or "")
                    if vol_name and full.casefold().startswith(vol_name.casefold()) and (
                            best is None or len(vol_name) > len(str(best.Name))):
                        best = vol
                if best is None:
                    raise _HostError(f"no volume of this server holds {local} (a drive letter not assigned, or its "
                                     "disk offline)")
                r["volume"] = {"name": best.Name, "file_system": best.FileSystem or "", "drive_type": best.DriveType,
                               "capacity": best.Capacity, "free_space": best.FreeSpace}
                if not best.FileSystem:
                    raise _HostError(f"the volume {best.Name} that holds {local} is not ready: no file system is mounted "
                                     "(offline, locked by BitLocker, or not formatted)")
                item = self.item(local)
                r["exists"] = item is not None
                if item is not None:
                    r["is_directory"] = bool(item.PSIsContainer)
                    r["ntfs_sddl"] = str(self.acl(local).Sddl)
        except _HostError as exc:
            r["error"] = str(exc)
        return r

    def _vm(self, sim: SimVM) -> dict[str, Any]:
        vm = WinObject("VirtualMachine", Name=sim.name)
        entry: dict[str, Any] = {"name": vm.Name, "disk_bytes": None}
        disk = WinObject("HardDiskDrive", Path=None if sim.pass_through else f"D:\\VMs\\{sim.name}.vhdx",
                         DiskNumber=2 if sim.pass_through else None)
        try:
            if disk.DiskNumber is not None:
                raise _HostError(f"pass-through disk {disk.DiskNumber}: no file to size")
            if sim.disk_bytes is None:
                raise _HostError(sim.error)
            vhd = WinObject("VirtualHardDisk", Path=disk.Path, FileSize=sim.disk_bytes, ParentPath="")
            entry["disk_bytes"] = int(vhd.FileSize)
        except _HostError as exc:
            entry["error"] = str(exc)
        return entry


# --------------------------------------------------------------------------- what apply.ps1 does on this host


# A new folder inherits its parent's inheritable entries (New-Item; the volume root of a member server
# grants SYSTEM and Administrators Full Control and Users read and execute)
NEW_FOLDER_SDDL = "O:BAG:SYD:AI(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIID;0x1200a9;;;BU)"


# Set-VMReplicationServer's parameters and the keys of SimulatedHost.replication they set
_REPLICATION_KEYS = {"ReplicationEnabled": "enabled", "AllowedAuthenticationType": "allowed_authentication",
                     "ReplicationAllowedFromAnyServer": "allowed_from_any_server",
                     "DefaultStorageLocation": "default_storage_location",
                     "CertificateThumbprint": "certificate_thumbprint"}


def _apply_action(item: dict[str, Any]) -> Any:
    from pydantic import TypeAdapter

    from offlineprep.actions import types as t

    return TypeAdapter(t.Action).validate_python(item.get("action"))


class HostState:
    """apply.ps1's steps on a SimulatedHost's own state: share and NTFS descriptors through
    offlineprep.lab.descriptors (what Grant-SmbShareAccess, icacls /grant and the revert's
    Restore-AccountAces + Set-Acl / Set-SmbShare do), local groups, firewall rules, shares and
    folders. Each step compares the state with the plan's (or the record's) exactly as the script
    does, and answers with the lines the script prints. Descriptors it changes are written in the
    long SDDL form (full SIDs, hexadecimal masks)."""

    def __init__(self, host: SimulatedHost) -> None:
        self.host = host

    def run(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        from offlineprep.acl import SddlError
        from offlineprep.lab.descriptors import CommandError

        reverting = request.get("mode") == "revert"
        lines = []
        steps = {
            "host.share-rights": self._share_rights, "host.ntfs-rights": self._ntfs_rights,
            "host.local-group-member": self._local_group, "host.firewall-open": self._firewall_open,
            "host.firewall-disable": self._firewall_disable, "host.create-share": self._create_share,
            "host.create-folder": self._create_folder, "host.kerberos-refresh": self._kerberos_refresh,
            "host.start-service": self._start_service, "host.time-sync": self._time_sync,
            "host.replica-server": self._replica_server, "host.replica-authorization": self._replica_authorization,
            "host.smb-name-checking": self._smb_name_checking,
        }
        for item in request.get("actions") or []:
            result: dict[str, Any] = {"id": str(item.get("id")), "outcome": "failed", "message": "", "before": None,
                                      "after": None}
            try:
                step = steps.get(str(item.get("kind")))
                if step is None:
                    raise _HostError(f"this script does not carry out {item.get('kind')} actions")
                step(item, result, reverting)
            except (_HostError, CommandError, SddlError) as exc:
                result["outcome"], result["message"] = "failed", str(exc)
            lines.append(result)
        lines.append({"done": True})
        return lines

    # ------------------------------------------------------------------ descriptors

    @staticmethod
    def _granted(sddl: str, item: dict[str, Any]) -> bool:
        """Test-Granted: an explicit allow entry of the SID, not inherit-only, with the inheritance flags
        asked for, holding every right of the mask."""
        from offlineprep.acl import parse_sddl

        sid, mask, flags = item.get("sid"), int(item.get("mask") or 0), int(item.get("flags") or 0)
        if not sid:
            return False
        wanted = {name for name, bit in (("OI", 1), ("CI", 2), ("NP", 4)) if flags & bit}
        for ace in parse_sddl(sddl).dacl or ():
            if ace.type != "A" or "ID" in ace.flags or "IO" in ace.flags or ace.sid.upper() != str(sid).upper():
                continue
            if wanted <= set(ace.flags) and ace.mask & mask == mask:
                return True
        return False

    @staticmethod
    def _same(current: str, expected: str, item: dict[str, Any]) -> bool:
        """Test-Same: equal, or equal without the explicit entries of the other grants' accounts."""
        from offlineprep.acl import format_sddl, parse_sddl

        others = {str(s).upper() for s in item.get("others") or []}
        if not others:
            return current == expected

        def without(sddl: str) -> str:
            sd = parse_sddl(sddl)
            kept = tuple(a for a in sd.dacl or () if "ID" in a.flags or a.sid.upper() not in others)
            return format_sddl(replace(sd, dacl=kept if sd.dacl is not None else None))

        return without(current) == without(expected)

    def _descriptor_step(self, item: dict[str, Any], result: dict[str, Any], reverting: bool, current: str,
                         write: Any, what: str) -> None:
        from offlineprep.acl import format_sddl, parse_sddl
        from offlineprep.lab import descriptors

        action = _apply_action(item)
        saved = str(action.before_sddl or "")
        result["before"] = {"sddl": current}
        if not reverting:
            if self._granted(current, item):
                result.update(outcome="already", message=f"{what} already grants it")
                return
            if not self._same(current, saved, item):
                result.update(outcome="changed", message=f"the descriptor of {what} is not the one read when planned")
                return
            after = format_sddl(descriptors.run_fix(action, parse_sddl(current)))
            write(after)
            result.update(outcome="applied", after={"sddl": after}, message=f"granted on {what}")
            return
        recorded = item.get("recorded") or {}
        if self._same(current, saved, item):
            result.update(outcome="as-before", message=f"{what} is already as before apply")
            return
        left = recorded.get("after")
        if left:
            if not self._same(current, str(left.get("sddl")), item):
                result.update(outcome="changed", message=f"the descriptor of {what} is not the one apply left")
                return
        elif not self._granted(current, item):
            result.update(outcome="changed", message=f"{what} does not hold the grant apply makes")
            return
        after = format_sddl(descriptors.run_revert(action, parse_sddl(current)))
        write(after)
        result.update(outcome="reverted", after={"sddl": after}, message=f"the account's entries on {what} are back")

    def _find_share(self, name: str) -> SimShare:
        share = next((s for s in self.host.shares if s.name.casefold() == name.casefold()), None)
        if share is None:
            raise _HostError(f"No MSFT_SmbShare objects found with property 'Name' equal to '{name}'.  Verify the "
                             "value of the property and retry.")
        return share

    def _find_folder(self, path: str) -> SimFolder:
        folder = next((f for f in self.host.folders if f.path.rstrip("\\").casefold() == path.rstrip("\\").casefold()),
                      None)
        if folder is None:
            raise _HostError(f"Cannot find path '{path}' because it does not exist.")
        return folder

    def _share_rights(self, item: dict[str, Any], result: dict[str, Any], reverting: bool) -> None:
        share = self._find_share(str(item["action"]["share"]))
        self._descriptor_step(item, result, reverting, share.sddl, lambda sddl: setattr(share, "sddl", sddl),
                              f"the share {share.name}")

    def _ntfs_rights(self, item: dict[str, Any], result: dict[str, Any], reverting: bool) -> None:
        folder = self._find_folder(str(item["action"]["local_path"]))
        self._descriptor_step(item, result, reverting, folder.ntfs_sddl,
                              lambda sddl: setattr(folder, "ntfs_sddl", sddl), folder.path)

    # ------------------------------------------------------------------ local groups

    def _local_group(self, item: dict[str, Any], result: dict[str, Any], reverting: bool) -> None:
        action = item["action"]
        sid = action.get("member_sid")
        if not sid:
            raise _HostError(f"the SID of {action.get('member')} was not read from AD: apply cannot tell whether it is "
                             "a member")
        group = next((g for g in self.host.groups if g.sid.upper() == str(action["group_sid"]).upper()), None)
        if group is None:  # SecurityIdentifier.Translate of a SID the machine does not know
            raise _HostError('Exception calling "Translate" with "1" argument(s): "Some or all identity references '
                             'could not be translated."')
        member = any(m.upper() == sid.upper() for m in group.members)
        result["before"] = {"member": member}
        if not reverting:
            if member:
                result.update(outcome="already", message=f"{action.get('member')} is already in {group.name}")
                return
            group.members.append(sid)
            result.update(outcome="applied", after={"member": True}, message=f"added {action.get('member')} to {group.name}")
            return
        if not member:
            result.update(outcome="as-before", message=f"{action.get('member')} is not in {group.name}, as before apply")
            return
        group.members = [m for m in group.members if m.upper() != sid.upper()]
        result.update(outcome="reverted", after={"member": False}, message=f"removed {action.get('member')} from {group.name}")

    # ------------------------------------------------------------------ firewall

    def _rule_state(self, name: str) -> str:
        rule = next((r for r in self.host.firewall if r.name.casefold() == name.casefold()), None)
        if rule is None:
            return "absent"
        return "enabled" if rule.enabled else "disabled"

    def _set_enabled(self, name: str, enabled: bool) -> None:
        for rule in self.host.firewall:
            if rule.name.casefold() == name.casefold():
                rule.enabled = enabled

    def _firewall_open(self, item: dict[str, Any], result: dict[str, Any], reverting: bool) -> None:
        action = item["action"]
        name = str(action["rule_name"])
        state = self._rule_state(name)
        result["before"] = {"rule": state}
        if not reverting:
            if state == "enabled":
                result.update(outcome="already", message=f"the rule {name} is already there and enabled")
                return
            if state == "absent":
                self.host.firewall.append(SimRule(name, [str(action["port"])], display_name=str(action["display_name"]),
                                                  profile=str(action["profile"]),
                                                  remote_addresses=[str(a) for a in action["remote_address"]]))
            else:
                self._set_enabled(name, True)
            result.update(outcome="applied", after={"rule": self._rule_state(name)},
                          message=f"inbound TCP {action['port']} allowed by the rule {name}")
            return
        recorded = item.get("recorded") or {}
        was = str((recorded.get("before") or {}).get("rule"))
        if state == was:
            result.update(outcome="as-before", message=f"the rule {name} is {state}, as before apply")
            return
        if state != str((recorded.get("after") or {}).get("rule")):
            result.update(outcome="changed", message=f"the rule {name} is {state} now, not as apply left it")
            return
        if was == "absent":
            self.host.firewall = [r for r in self.host.firewall if r.name.casefold() != name.casefold()]
        elif was == "disabled":
            self._set_enabled(name, False)
        result.update(outcome="reverted", after={"rule": self._rule_state(name)}, message=f"the rule {name} is {was} again")

    def _firewall_disable(self, item: dict[str, Any], result: dict[str, Any], reverting: bool) -> None:
        names = [str(n) for n in item["action"]["names"]]

        def states() -> list[dict[str, str]]:
            return [{"name": n, "state": self._rule_state(n)} for n in names]

        result["before"] = {"rules": states()}
        if not reverting:
            gone = [s["name"] for s in result["before"]["rules"] if s["state"] == "absent"]
            enabled = [s["name"] for s in result["before"]["rules"] if s["state"] == "enabled"]
            if gone:
                result.update(outcome="changed", message="not there any more: " + ", ".join(gone))
                return
            if not enabled:
                result.update(outcome="already", message="the rules are already disabled")
                return
            for n in enabled:
                self._set_enabled(n, False)
            result.update(outcome="applied", after={"rules": states()}, message="disabled " + ", ".join(enabled))
            return
        recorded = item.get("recorded") or {}
        again, gone = [], []
        for rule in (recorded.get("before") or {}).get("rules") or []:
            if rule.get("state") != "enabled":
                continue
            now = self._rule_state(str(rule.get("name")))
            if now == "disabled":
                again.append(str(rule.get("name")))
            elif now != "enabled":
                gone.append(str(rule.get("name")))
        for n in again:
            self._set_enabled(n, True)
        result["after"] = {"rules": states()}
        if gone:
            result.update(outcome="changed", message="not there any more, left alone: " + ", ".join(gone))
        elif not again:
            result.update(outcome="as-before", message="the rules are enabled, as before apply")
        else:
            result.update(outcome="reverted", message="enabled again: " + ", ".join(again))

    # ------------------------------------------------------------------ shares and folders

    def _share_state(self, name: str) -> dict[str, Any]:
        share = next((s for s in self.host.shares if s.name.casefold() == name.casefold()), None)
        if share is None:
            return {"share": "absent"}
        return {"share": "present", "path": share.path, "sddl": share.sddl}

    def _create_share(self, item: dict[str, Any], result: dict[str, Any], reverting: bool) -> None:
        action = item["action"]
        name, path = str(action["share"]), str(action["local_path"])
        state = self._share_state(name)
        result["before"] = state
        if not reverting:
            if state["share"] == "present":
                if str(state["path"]).casefold() == path.casefold():
                    result.update(outcome="already", message=f"the share {name} is already there")
                else:
                    result.update(outcome="changed", message=f"a share {name} is there now, for {state['path']}")
                return
            created = False
            if self.host.item(path) is None:
                self.host.folders.append(SimFolder(path, NEW_FOLDER_SDDL))
                created = True
            self.host.shares.append(SimShare(name, path))  # New-SmbShare: Everyone Read by default
            result.update(outcome="applied", after={**self._share_state(name), "folder_created": created},
                          message=f"shared {path} as {name}")
            return
        left = (item.get("recorded") or {}).get("after") or {}
        if state["share"] == "absent":
            result.update(outcome="as-before", message=f"the share {name} is not there, as before apply")
            return
        if str(state["path"]).casefold() != path.casefold() or (left.get("sddl") and state["sddl"] != left["sddl"]):
            result.update(outcome="changed", message=f"the share {name} is not as apply left it")
            return
        self.host.shares = [s for s in self.host.shares if s.name.casefold() != name.casefold()]
        result.update(outcome="reverted", after=self._share_state(name),
                      message=f"removed the share {name}; the folder stays (it may hold data)")

    def _create_folder(self, item: dict[str, Any], result: dict[str, Any], reverting: bool) -> None:
        path = str(item["action"]["local_path"])
        present = self.host.item(path) is not None or self.host.exists(path)  # Test-Path: a file or a folder
        result["before"] = {"folder": present}
        if present:
            result.update(outcome="already", message=f"{path} is already there")
            return
        self.host.folders.append(SimFolder(path, NEW_FOLDER_SDDL))
        result.update(outcome="applied", after={"folder": True}, message=f"created {path}")

    def _kerberos_refresh(self, item: dict[str, Any], result: dict[str, Any], reverting: bool) -> None:
        self.host.tickets_purged += 1
        result.update(outcome="applied", message="purged the computer's own Kerberos tickets (klist purge -li 0x3e7)")

    # ------------------------------------------------------------------ services

    def _service(self, name: str) -> WinObject:
        """Get-Service -Name: vmms as the host's Hyper-V state says; LanmanServer (the Server service) stopped
        exactly when TCP 445 is refused on this machine, which is how the lab models a stopped Server service."""
        status: str | None = None
        if name.casefold() == "vmms":
            status = self.host.vmms_status or ("Running" if self.host.hyperv_installed else None)
        elif name.casefold() == "lanmanserver":
            status = "Stopped" if self.host.smb_port == "refused" else "Running"
        if status is None:
            raise _HostError(f"Cannot find any service with service name '{name}'.")
        return WinObject("ServiceController", Name=name, Status=status)

    def _start_service(self, item: dict[str, Any], result: dict[str, Any], reverting: bool) -> None:
        action = item["action"]
        name = str(action["service"])
        if reverting:
            raise _HostError(f"revert does not stop the service {name} again (docs/fixes.md)")
        status = str(self._service(name).Status)
        result["before"] = {"status": status}
        if status == "Running":
            result.update(outcome="already", message=f"the service {name} is already running")
            return
        if action.get("before") and status != action["before"]:
            result.update(outcome="changed", message=f"the service {name} is {status} now, not {action['before']} as "
                                                     "read when planned")
            return
        if name.casefold() == "vmms":
            self.host.vmms_status = "Running"
        else:
            self.host.smb_port = "open"
        result.update(outcome="applied", after={"status": str(self._service(name).Status)},
                      message=f"started the service {name}")

    # ------------------------------------------------------------------ the time source

    def _time_type(self) -> str:
        return str(WinObject("W32TimeParameters", Type=self.host.time_source_type).Type)

    def _w32tm_config(self, flags: str) -> None:
        """w32tm /config /syncfromflags:<flags> /update: the Type each flag leaves (offlineprep.actions.types)."""
        from offlineprep.actions.types import SYNC_FROM_FLAGS

        types = {flag: kind for kind, flag in SYNC_FROM_FLAGS.items()}
        if flags not in types:  # offlineprep sends only the flags of SYNC_FROM_FLAGS
            raise _HostError(f"the lab does not model w32tm /config /syncfromflags:{flags}")
        self.host.time_source_type = types[flags]

    def _resync(self) -> None:
        """w32tm /resync: from the domain hierarchy, an offset over MaxAllowedPhaseOffset (300 s by default on a
        domain member) is set at once; a smaller one is corrected gradually, so it is still there right after
        (Microsoft, "Windows Time service tools and settings")."""
        if self.host.time_source_type != "NT5DS":
            return
        offset = self.host.clock_offset_seconds - self.host.domain_clock_offset_seconds
        if abs(offset) > MAX_ALLOWED_PHASE_OFFSET:
            self.host.clock_offset_seconds = self.host.domain_clock_offset_seconds

    def _time_sync(self, item: dict[str, Any], result: dict[str, Any], reverting: bool) -> None:
        action = item["action"]
        kind = self._time_type()
        result["before"] = {"type": kind}
        if not reverting:
            if kind != action["after_type"]:
                if action.get("before_type") and kind != action["before_type"]:
                    result.update(outcome="changed", message=f"the time source type is {kind} now, not "
                                                             f"{action['before_type']} as read when planned")
                    return
                self._w32tm_config(str(item.get("sync_flags")))
            result["after"] = {"type": self._time_type()}
            self._resync()
            now = result["after"]["type"]
            source = (f"the time source type was already {kind}" if now == kind
                      else f"the time source type is {now} (was {kind})")
            result.update(outcome="applied",
                          message=f"{source}; resynchronised with the domain hierarchy (w32tm /resync /rediscover)")
            return
        recorded = item.get("recorded") or {}
        was = str((recorded.get("before") or {}).get("type"))
        if kind == was:
            result.update(outcome="as-before", message=f"the time source type is {kind}, as before apply (the clock is "
                                                       "not set back)")
            return
        if kind != str((recorded.get("after") or {}).get("type")):
            result.update(outcome="changed", message=f"the time source type is {kind} now, not as apply left it")
            return
        if not item.get("restore_flags"):
            raise _HostError(f"the time source type before apply, {was}, is not one w32tm /config /syncfromflags sets: "
                             "put it back by hand")
        self._w32tm_config(str(item["restore_flags"]))
        result.update(outcome="reverted", after={"type": self._time_type()},
                      message=f"the time source type is {self._time_type()} again; the clock is not set back")

    # ------------------------------------------------------------------ the Replica server

    def _replica_settings(self) -> dict[str, str]:
        """Get-ReplicaSettings: each setting as text ('True'/'False', '' for none)."""
        rs = self.host.replication_server()

        def text(value: Any) -> str:
            if isinstance(value, bool):
                return "True" if value else "False"
            return "" if value is None else str(value)

        return {"ReplicationEnabled": text(bool(rs.ReplicationEnabled)),
                "AllowedAuthenticationType": text(rs.AllowedAuthenticationType),
                "ReplicationAllowedFromAnyServer": text(bool(rs.ReplicationAllowedFromAnyServer)),
                "DefaultStorageLocation": text(rs.DefaultStorageLocation),
                "CertificateThumbprint": text(rs.CertificateThumbprint)}

    def _set_replication_server(self, change: dict[str, str], kinds: dict[str, str]) -> None:
        settings: dict[str, Any] = dict(self.host.replication) if self.host.replication is not None else {
            "enabled": False, "kerberos_port": 80, "certificate_port": 443}
        for name, value in change.items():
            settings[_REPLICATION_KEYS[name]] = {"True": True, "False": False}[value] if kinds[name] == "bool" else value
        self.host.replication = settings

    def _replica_server(self, item: dict[str, Any], result: dict[str, Any], reverting: bool) -> None:
        now = self._replica_settings()
        result["before"] = now
        kinds = {str(s["name"]): str(s["kind"]) for s in item.get("settings") or []}
        change: dict[str, str] = {}
        if not reverting:
            for setting in item.get("settings") or []:
                name, current = str(setting["name"]), now[str(setting["name"])]
                if current == setting["after"]:
                    continue
                if setting.get("before") is not None and current != setting["before"]:
                    result.update(outcome="changed", message=f"{name} of the Replica server is '{current}' now, not "
                                                             f"'{setting['before']}' as read when planned")
                    return
                change[name] = str(setting["after"])
            if not change:
                result.update(outcome="already", message="the Replica server settings are already the ones planned")
                return
            self._set_replication_server(change, kinds)
            result.update(outcome="applied", after=self._replica_settings(),
                          message="Set-VMReplicationServer " + ", ".join(sorted(change)))
            return
        for setting in item.get("settings") or []:
            if setting.get("restore") is None:
                continue
            name, current = str(setting["name"]), now[str(setting["name"])]
            if current == setting["restore"]:
                continue
            if current != setting.get("left"):
                result.update(outcome="changed", message=f"{name} of the Replica server is '{current}' now, not as "
                                                         "apply left it")
                return
            change[name] = str(setting["restore"])
        if not change:
            result.update(outcome="as-before", message="the Replica server settings are as before apply")
            return
        self._set_replication_server(change, kinds)
        result.update(outcome="reverted", after=self._replica_settings(),
                      message=f"the Replica server's {', '.join(sorted(change))} are back as before apply")

    def _authorization_state(self, server: str) -> dict[str, str]:
        entry = next((e for e in self.host.authorization_entries()
                      if str(e.AllowedPrimaryServer).casefold() == server.casefold()), None)
        if entry is None:
            return {"entry": "absent"}
        return {"entry": "present", "storage_location": str(entry.ReplicaStorageLocation),
                "trust_group": str(entry.TrustGroup)}

    def _replica_authorization(self, item: dict[str, Any], result: dict[str, Any], reverting: bool) -> None:
        action = item["action"]
        server = str(action["allowed_primary_server"])
        state = self._authorization_state(server)
        result["before"] = state
        if not reverting:
            if state["entry"] == "present":
                if state["storage_location"] == action["storage_location"]:
                    result.update(outcome="already", message=f"an entry for {server} is already there")
                else:
                    result.update(outcome="changed", message=f"an entry for {server} is there now, with the storage "
                                                             f"location {state['storage_location']}")
                return
            self.host.replica_authorizations.append(SimAuthorization(server, str(action["storage_location"]),
                                                                     str(action["trust_group"])))
            result.update(outcome="applied", after=self._authorization_state(server),
                          message=f"authorized {server} (storage {action['storage_location']}, trust group "
                                  f"{action['trust_group']})")
            return
        if state["entry"] == "absent":
            result.update(outcome="as-before", message=f"no entry for {server}, as before apply")
            return
        left = (item.get("recorded") or {}).get("after") or {}
        if state.get("storage_location") != left.get("storage_location") or \
                state.get("trust_group") != left.get("trust_group"):
            result.update(outcome="changed", message=f"the entry for {server} is not as apply made it")
            return
        self.host.replica_authorizations = [a for a in self.host.replica_authorizations
                                            if a.allowed_primary_server.casefold() != server.casefold()]
        result.update(outcome="reverted", after=self._authorization_state(server),
                      message=f"removed the entry for {server}: this Replica server no longer accepts its replication")

    # ------------------------------------------------------------------ SMB name checking

    def _strict_names(self) -> int | None:
        value = WinObject("LanmanServerParameters",
                          DisableStrictNameChecking=self.host.strict_name_checking_disabled).DisableStrictNameChecking
        return None if value is None else int(value)

    def _smb_name_checking(self, item: dict[str, Any], result: dict[str, Any], reverting: bool) -> None:
        action = item["action"]
        restart = ("the Server service reads it when it starts: Restart-Service LanmanServer -Force (it drops the open "
                   "SMB sessions) or restart the server")
        value = self._strict_names()
        result["before"] = {"value": value}
        if not reverting:
            if value == action["after"]:
                result.update(outcome="already", message="DisableStrictNameChecking is already 1")
                return
            if value != action.get("before"):
                result.update(outcome="changed", message=f"DisableStrictNameChecking is {value} now, not as read when "
                                                         "planned")
                return
            self.host.strict_name_checking_disabled = int(action["after"])
            result.update(outcome="applied", after={"value": self._strict_names()},
                          message=f"DisableStrictNameChecking = 1, so the server answers {action['alias']}; {restart}")
            return
        recorded = item.get("recorded") or {}
        was = (recorded.get("before") or {}).get("value")
        if value == was:
            result.update(outcome="as-before", message="DisableStrictNameChecking is as before apply")
            return
        if value != (recorded.get("after") or {}).get("value"):
            result.update(outcome="changed", message=f"DisableStrictNameChecking is {value} now, not as apply left it")
            return
        self.host.strict_name_checking_disabled = None if was is None else int(was)  # Remove- or Set-ItemProperty
        result.update(outcome="reverted", after={"value": self._strict_names()},
                      message=f"DisableStrictNameChecking is back as before apply; {restart}")

"""The collection script's answer, `offlineprep/host/v1`: what collect.ps1 prints, as typed parts.

The JSON Schema in docs/host.schema.json is generated from `HostAnswer` (a test keeps it current);
the collector validates every answer against these models, and the tests validate every answer the
simulator gives. Validation goes part by part: a part of the wrong shape (one firewall rule, one VM,
one path) is left out and named in `problems`, the rest of the host's answer is kept.

Values are as the script writes them: enumerations as their names ([string]$x in the script; the
numbers ConvertTo-Json of Windows PowerShell 5.1 would write are refused), booleans as JSON booleans,
sizes as JSON numbers. A list that ConvertTo-Json wrote as its single element is read as a list.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError, ValidationInfo

HOST_SCHEMA: Literal["offlineprep/host/v1"] = "offlineprep/host/v1"


def _as_list(value: Any, info: ValidationInfo) -> Any:
    """ConvertTo-Json writes a one-element array piped into it as the element itself, and $null as null."""
    if info.context and info.context.get("strict_shape"):
        return value
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _list_of(item: Any) -> Any:
    return Annotated[list[item], BeforeValidator(_as_list)]


class Part(BaseModel):
    """An unknown key is a shape the script does not print: refused, so script and simulator cannot drift."""

    model_config = ConfigDict(extra="forbid")


class OsAnswer(Part):
    caption: str | None = None  # Win32_OperatingSystem.Caption
    version: str | None = None  # .Version, e.g. 10.0.14393
    build: str | None = None  # .BuildNumber


class HypervAnswer(Part):
    installed: bool | None = None  # Get-WindowsFeature Hyper-V InstallState, else Win32_OptionalFeature
    vmms: str | None = None  # Get-Service vmms .Status (Running, Stopped, ...); null: no such service


class ClockAnswer(Part):
    utc: str  # [DateTime]::UtcNow, round-trip format ('o'), read when the script starts
    time_source_type: str | None = None  # HKLM\SYSTEM\CurrentControlSet\Services\W32Time\Parameters Type


class ConnectAnswer(Part):
    address: str
    state: Literal["open", "refused", "timeout", "error"]  # Task of TcpClient.ConnectAsync after the wait
    error: str | None = None  # SocketException.SocketErrorCode, for state error


class ProbeAnswer(Part):
    name: str  # as the request named it: the path's server name
    addresses: _list_of(str) = Field(default_factory=list)  # type: ignore[valid-type]  # Dns.GetHostAddressesAsync
    error: str | None = None  # the resolver's exception message
    timed_out: bool = False  # no answer within the wait
    connections: _list_of(ConnectAnswer) = Field(default_factory=list)  # type: ignore[valid-type]


class ProbesAnswer(Part):
    seconds: float | None = None  # Stopwatch over the whole section: the probes' own run time
    names: _list_of(ProbeAnswer) = Field(default_factory=list)  # type: ignore[valid-type]


class CertificateAnswer(Part):
    thumbprint: str
    subject: str | None = None
    dns_names: _list_of(str) = Field(default_factory=list)  # type: ignore[valid-type]  # DnsNameList .Unicode
    ekus: _list_of(str) = Field(default_factory=list)  # type: ignore[valid-type]  # EnhancedKeyUsageList .ObjectId
    not_before: str | None = None  # NotBefore.ToUniversalTime(), round-trip format
    not_after: str | None = None
    has_private_key: bool | None = None
    chain_ok: bool | None = None  # X509Chain.Build; null: not built
    chain_status: _list_of(str) = Field(default_factory=list)  # type: ignore[valid-type]  # X509ChainStatus.Status


class ServerNamesAnswer(Part):
    disable_strict_name_checking: int | None = None  # LanmanServer\Parameters DisableStrictNameChecking
    optional_names: _list_of(str) = Field(default_factory=list)  # type: ignore[valid-type]  # ... OptionalNames
    alternate_names: _list_of(str) = Field(default_factory=list)  # type: ignore[valid-type]  # DnsCache AlternateComputerNames


class MemberAnswer(Part):
    sid: str
    name: str | None = None  # the member's ADsPath, WinNT://DOMAIN/name or WinNT://S-1-5-...


class UnreadableMember(Part):
    name: str | None = None  # ADsPath, when that much could be read
    error: str | None = None


class LocalGroupAnswer(Part):
    sid: str
    name: str | None = None
    members: _list_of(MemberAnswer) = Field(default_factory=list)  # type: ignore[valid-type]
    unreadable: _list_of(UnreadableMember) = Field(default_factory=list)  # type: ignore[valid-type]
    error: str | None = None  # the group's member list could not be read at all


class ShareAnswer(Part):
    name: str
    path: str | None = None  # MSFT_SmbShare.Path, the local folder
    sddl: str | None = None  # MSFT_SmbShare.SecurityDescriptor
    scope: str | None = None  # MSFT_SmbShare.ScopeName: '*' or a client access point


class VolumeAnswer(Part):
    name: str | None = None  # Win32_Volume.Name: C:\, a mount point folder, or \\?\Volume{guid}\
    file_system: str | None = None  # empty: nothing mounted (offline, locked, unformatted)
    drive_type: int | None = None
    capacity: int | None = None
    free_space: int | None = None


class DfsAnswer(Part):
    namespace: str  # \\server-or-domain\namespace
    link: str | None = None  # the DFS link (Win32_DFSNode.Name) that holds the path, when this server knows it
    targets: _list_of(str) = Field(default_factory=list)  # type: ignore[valid-type]  # \\server\share of the link
    domain_based: bool = False  # the UNC server is the domain's own name


class PathAnswer(Part):
    path: str  # as the site file wrote it
    local_path: str | None = None
    share_found: bool | None = None
    share: ShareAnswer | None = None
    share_scope: str | None = None  # the scope the path's server name reaches on this server
    share_scopes: _list_of(str) = Field(default_factory=list)  # type: ignore[valid-type]  # scopes with that share name
    volume: VolumeAnswer | None = None
    dfs: DfsAnswer | None = None
    exists: bool | None = None
    is_directory: bool | None = None
    ntfs_sddl: str | None = None
    error: str | None = None


class VmAnswer(Part):
    name: str
    disk_bytes: int | None = None
    error: str | None = None


class AuthorizationEntryAnswer(Part):
    allowed_primary_server: str  # VMReplicationAuthorizationEntry.AllowedPrimaryServer
    storage_location: str | None = None  # .ReplicaStorageLocation
    trust_group: str | None = None  # .TrustGroup
    storage_exists: bool | None = None  # Test-Path -LiteralPath of it


class ReplicationServerAnswer(Part):
    enabled: bool | None = None  # VMReplicationServer.ReplicationEnabled
    kerberos_port: int | None = None  # .KerberosAuthenticationPort
    certificate_port: int | None = None  # .CertificateAuthenticationPort
    allowed_authentication: str | None = None  # .AllowedAuthenticationType
    allowed_from_any_server: bool | None = None  # .ReplicationAllowedFromAnyServer
    default_storage_location: str | None = None  # .DefaultStorageLocation
    default_storage_exists: bool | None = None  # Test-Path -LiteralPath of it
    certificate_thumbprint: str | None = None  # .CertificateThumbprint
    authorization_entries: _list_of(AuthorizationEntryAnswer) | None = None  # type: ignore[valid-type]


class FirewallRuleAnswer(Part):
    name: str
    display_name: str | None = None
    enabled: str  # True | False
    direction: str  # Inbound | Outbound
    action: str  # NotConfigured | Allow | Block
    profile: str  # Any, or a comma list of Domain, Private, Public
    protocol: str | None = None  # TCP, UDP, Any, or a number; null: the rule has no port filter
    local_ports: _list_of(str) = Field(default_factory=list)  # type: ignore[valid-type]
    remote_addresses: _list_of(str) = Field(default_factory=list)  # type: ignore[valid-type]


class FirewallProfileAnswer(Part):
    name: str  # Domain | Private | Public
    enabled: str | None = None  # True | False | NotConfigured
    default_inbound_action: str | None = None  # Allow | Block | NotConfigured
    allow_inbound_rules: str | None = None  # True | False | NotConfigured


class NetworkProfileAnswer(Part):
    interface: str | None = None
    category: str | None = None  # DomainAuthenticated | Private | Public


class HostAnswer(Part):
    """One host's answer. Every part is optional: a section that failed on the host is absent and
    its error text is in `errors` under the section's name."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True,
                              json_schema_extra={"title": "offlineprep/host/v1"})

    schema_id: Literal["offlineprep/host/v1"] = Field(alias="schema")
    errors: dict[str, str] = Field(default_factory=dict)
    computer_name: str | None = None
    domain: str | None = None
    domain_role: int | None = None  # Win32_ComputerSystem.DomainRole (4, 5: a domain controller)
    clock: ClockAnswer | None = None
    os: OsAnswer | None = None
    hyperv: HypervAnswer | None = None
    ip_addresses: _list_of(str) | None = None  # type: ignore[valid-type]
    local_groups: _list_of(LocalGroupAnswer) | None = None  # type: ignore[valid-type]
    paths: _list_of(PathAnswer) | None = None  # type: ignore[valid-type]
    vms: _list_of(VmAnswer) | None = None  # type: ignore[valid-type]
    replication_server: ReplicationServerAnswer | None = None
    firewall_rules: _list_of(FirewallRuleAnswer) | None = None  # type: ignore[valid-type]
    firewall_profiles: _list_of(FirewallProfileAnswer) | None = None  # type: ignore[valid-type]
    network_profiles: _list_of(NetworkProfileAnswer) | None = None  # type: ignore[valid-type]
    probes: ProbesAnswer | None = None
    certificates: _list_of(CertificateAnswer) | None = None  # type: ignore[valid-type]
    server_names: ServerNamesAnswer | None = None


def json_schema() -> dict[str, Any]:
    return HostAnswer.model_json_schema(by_alias=True)


def validate_strictly(document: Any) -> HostAnswer:
    """For tests: the whole answer exactly as the schema says, no tolerance, no coercion."""
    return HostAnswer.model_validate(document, strict=True, context={"strict_shape": True})


def _problem(where: str, exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = ".".join(str(x) for x in first["loc"])
    return f"{where}{'.' + loc if loc else ''}: {first['msg']}"


def _item_type(annotation: Any) -> Any:
    """The item model of a `list[X] | None` field, None for a field that is not a list."""
    for arg in (annotation, *get_args(annotation)):
        inner = get_args(arg)[0] if get_origin(arg) is Annotated else arg
        if get_origin(inner) is list:
            return get_args(inner)[0]
    return None


def read_answer(document: dict[str, Any]) -> tuple[HostAnswer, dict[str, str], dict[str, list[Any]]]:
    """The answer, part by part. Returns the valid parts, the problems by section (one text per
    section, naming the first wrong item) and, by section, the raw items that were left out (so the
    collector can still name the path or VM they were about)."""
    problems: dict[str, list[str]] = {}
    rejected: dict[str, list[Any]] = {}
    kept: dict[str, Any] = {"schema": document.get("schema")}
    errors = document.get("errors")
    if isinstance(errors, dict):
        kept["errors"] = {str(k): str(v) for k, v in errors.items() if v is not None}
    elif errors is not None:
        problems.setdefault("errors", []).append("errors: not an object")
    for name, field in HostAnswer.model_fields.items():
        if name in {"schema_id", "errors"} or name not in document:
            continue
        value = document[name]
        if value is None:
            continue
        item = _item_type(field.annotation)
        if item is None:
            try:
                kept[name] = TypeAdapter(field.annotation or Any).validate_python(value)
            except ValidationError as exc:
                problems.setdefault(name, []).append(_problem(name, exc))
            continue
        adapter = TypeAdapter(item)
        values: list[Any] = []
        for index, raw in enumerate(value if isinstance(value, list) else [value]):
            try:
                values.append(adapter.validate_python(raw))
            except ValidationError as exc:
                problems.setdefault(name, []).append(_problem(f"{name}[{index}]", exc))
                rejected.setdefault(name, []).append(raw)
        kept[name] = values
    answer = HostAnswer.model_validate(kept)
    summary = {k: f"{len(v)} part(s) of the wrong shape, first {v[0]}" if len(v) > 1 else f"wrong shape: {v[0]}"
               for k, v in problems.items()}
    return answer, summary, rejected

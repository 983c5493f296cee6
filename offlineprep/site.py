"""The site file (TOML) as a typed model (README, "Site file"; docs/inventory.md for [vmm] and [[directory]]).

The model refuses unknown keys and literal passwords: secrets come from the environment variable
the file names, or a prompt, never from the file. `offlineprep.sitefile` loads a file into this
model and turns validation errors into messages naming the file, the line and the key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from offlineprep.names import HostName, PathRef, parse_path, unique_names, validate_host_name

SECRET_KEYS = frozenset({"password", "pass", "passwd", "secret", "pwd"})


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


NonBlank = Annotated[str, AfterValidator(_not_blank)]


def _ldap_url(value: str) -> str:
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() not in {"ldap", "ldaps"} or not rest.strip("/"):
        raise ValueError(f"{value!r} is not an LDAP URL: write ldaps://dc1.contoso.com (or ldap://… with start_tls = true)")
    # the domain controller's name, an optional port, nothing else: no user part, path, query or
    # fragment, and a valid host name (the one rule of offlineprep.names; docs/security.md, "Names")
    authority = rest[:-1] if rest.endswith("/") else rest
    host, _, port = authority.rpartition(":") if not authority.endswith("]") else (authority, "", "")
    if not host or (port and not port.isdigit()):
        host, port = authority, ""
    if port and not 0 < int(port) < 65536:
        raise ValueError(f"{value!r}: the port {port} is not a TCP port")
    try:
        validate_host_name(host, context="the directory server")
    except ValueError as exc:
        raise ValueError(f"{exc}: write ldaps://dc1.contoso.com[:port] and nothing more") from None
    return value


def host_key(name: str) -> str:
    """Two spellings of one host name (case, a trailing root dot) are the same host."""
    return HostName(name).key


def _dns_domain(value: str) -> str:
    validate_host_name(value, context="the domain")
    if "." not in value.strip(".") or HostName(value).is_ip:
        raise ValueError(f"{value!r} is not a domain's DNS name: write it as contoso.com")
    return value


class SiteSection(BaseModel):
    # strict: TOML has real types, so "no" is not false and "8084" is not a port (an int is still
    # accepted where a float is expected: timeout_seconds = 60)
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_literal_secrets(cls, data: object) -> object:
        if isinstance(data, dict):
            for key in data:
                if str(key).lower() in SECRET_KEYS:
                    raise ValueError(
                        f"a literal '{key}' is not allowed in the site file: name an environment "
                        "variable with password_env instead"
                    )
        return data


class DirectoryConfig(SiteSection):
    # the domain this directory reads (its DNS name): required in each [[directory]] of several
    # domains, optional in a single [directory] (the directory's own naming context tells it)
    domain: Annotated[str, AfterValidator(_dns_domain)] | None = None
    server: Annotated[str, AfterValidator(_ldap_url)]  # ldaps://dc1.contoso.com or ldap://dc1 with start_tls
    user: NonBlank | None = None  # UPN or DOMAIN\\name; None with auth = "kerberos" uses the ticket cache
    auth: Literal["simple", "ntlm", "kerberos"] = "simple"
    password_env: NonBlank = "OFFLINEPREP_LDAP_PASSWORD"
    start_tls: bool = False
    verify_tls: bool = True
    ca_file: str | None = None
    base_dn: str | None = None
    timeout_seconds: float = Field(default=30.0, gt=0)
    batch_size: int = Field(default=100, ge=1, le=1000)
    # `offlineprep apply` / `revert` make their changes as this account (docs/apply.md); unset: as `user`
    apply_user: NonBlank | None = None
    apply_password_env: NonBlank = "OFFLINEPREP_LDAP_APPLY_PASSWORD"


class WinRMConfig(SiteSection):
    transport: Literal["kerberos", "ntlm", "credssp", "basic", "certificate"] = "kerberos"
    scheme: Literal["https", "http"] = "https"
    port: int | None = Field(default=None, ge=1, le=65535)  # 5986 https, 5985 http
    path: str = "/wsman"
    user: NonBlank | None = None
    password_env: NonBlank = "OFFLINEPREP_WINRM_PASSWORD"
    verify_tls: bool = True
    ca_file: str | None = None
    cert_pem: str | None = None  # certificate transport
    cert_key_pem: str | None = None
    message_encryption: Literal["auto", "always", "never"] = "auto"
    # apply and revert refuse WinRM without encryption (docs/security.md, "Transport"); a lab on loopback
    # (the Samba integration tests' simulated hosts) says so here, and they warn instead
    allow_unencrypted: bool = False
    concurrency: int = Field(default=16, ge=1, le=512)
    timeout_seconds: float = Field(default=60.0, gt=0)
    # `offlineprep apply` / `revert` make their changes as this account (docs/apply.md); unset: as `user`
    apply_user: NonBlank | None = None
    apply_password_env: NonBlank = "OFFLINEPREP_WINRM_APPLY_PASSWORD"

    @property
    def effective_port(self) -> int:
        return self.port or (5986 if self.scheme == "https" else 5985)


class AccountsConfig(SiteSection):
    vmm_service: NonBlank | None = None  # required without [vmm]; with it, VMM tells (SCVMMService's account)
    run_as: list[NonBlank] = Field(default_factory=list)

    @field_validator("run_as")
    @classmethod
    def _each_once(cls, run_as: list[str]) -> list[str]:
        return _once_each(run_as, str.casefold)


def _once_each(names: list[str], key: Callable[[str], str]) -> list[str]:
    """A name written twice (the same for `key`) is a typo or a copy: name it."""
    seen: set[str] = set()
    for name in names:
        if key(name) in seen:
            raise ValueError(f"{name!r} is listed twice")
        seen.add(key(name))
    return names


def _valid_hosts(hosts: list[str]) -> list[str]:
    for host in hosts:
        validate_host_name(host, context="a host")
    return _once_each(hosts, host_key)


class SourceConfig(SiteSection):
    hosts: list[str] = Field(default_factory=list)  # at least one, unless [vmm] names this side's cloud

    @field_validator("hosts")
    @classmethod
    def _hosts_are_names(cls, hosts: list[str]) -> list[str]:
        return _valid_hosts(hosts)
    export_server: str | None = None  # the server holding export_path when it is a local path
    export_path: str | None = None

    @field_validator("export_path")
    @classmethod
    def _path_parses(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            parse_path(value, info.data.get("export_server"))
        return value


class TargetConfig(SiteSection):
    hosts: list[str] = Field(default_factory=list)  # at least one, unless [vmm] names this side's cloud

    @field_validator("hosts")
    @classmethod
    def _hosts_are_names(cls, hosts: list[str]) -> list[str]:
        return _valid_hosts(hosts)
    import_server: str | None = None
    import_path: str | None = None

    @field_validator("import_path")
    @classmethod
    def _path_parses(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            parse_path(value, info.data.get("import_server"))
        return value


class PolicyConfig(SiteSection):
    """The replication policy about to be created; `policy.*` checks judge its values, so values
    that are merely unwise (a copy frequency of 10m) load fine and fail the check instead."""

    name: str | None = None
    host_os: str | None = None
    authentication: Literal["certificate", "kerberos"] = "certificate"
    port: int | None = Field(default=None, ge=1, le=65535)
    copy_frequency: str | None = None  # 30s | 5m | 15m
    recovery_point_retention_hours: int | None = None
    app_consistent_snapshot_frequency_hours: int | None = None
    compression: bool | None = None
    delete_replica_vm: bool | None = None
    initial_replication: Literal["offline", "online"] = "offline"
    # who configures the Replica servers and their certificates: Azure Site Recovery ("asr", the
    # walkthrough's case: it does both itself when it protects a cloud) or the administrator, for plain
    # Hyper-V Replica ("hyperv-replica"); replica.server and replica.certificate judge only the latter
    manager: Literal["asr", "hyperv-replica"] = "asr"


class VmmConfig(SiteSection):
    """VMM as a source of the inventory: one PowerShell on `server` reads the hosts and host clusters
    of each side's cloud (or host groups), and the account the VMM service runs as (docs/inventory.md)."""

    server: str
    source_cloud: NonBlank | None = None
    target_cloud: NonBlank | None = None
    source_host_groups: list[NonBlank] = Field(default_factory=list)
    target_host_groups: list[NonBlank] = Field(default_factory=list)
    # VMM's names of the Run As accounts the hosts were added with: VMM documents no host property
    # that names them, so the site names them and VMM resolves each to its domain account
    run_as: list[NonBlank] = Field(default_factory=list)

    @field_validator("server")
    @classmethod
    def _server_is_a_name(cls, value: str) -> str:
        validate_host_name(value, context="the VMM server")
        return value

    def covers(self, side: str) -> bool:
        """Whether VMM gives the hosts of `side` ("source" or "target")."""
        if side == "source":
            return bool(self.source_cloud or self.source_host_groups)
        return bool(self.target_cloud or self.target_host_groups)


class Site(SiteSection):
    # [directory], or one [[directory]] per domain: read as a list either way (docs/inventory.md)
    directory: list[DirectoryConfig] = Field(default_factory=list)
    winrm: WinRMConfig | None = None
    vmm: VmmConfig | None = None  # before accounts, source and target: their validators read it
    accounts: AccountsConfig = Field(default_factory=AccountsConfig, validate_default=True)
    source: SourceConfig
    target: TargetConfig
    policy: PolicyConfig | None = None

    @field_validator("winrm", "vmm", mode="before")
    @classmethod
    def _empty_table_is_none(cls, value: object) -> object:
        return None if value == {} else value

    @field_validator("directory", mode="before")
    @classmethod
    def _one_table_or_many(cls, value: object) -> object:
        if value is None or value == {}:
            return []
        return [value] if isinstance(value, dict) else value

    @field_validator("directory")
    @classmethod
    def _one_table_per_domain(cls, value: list[DirectoryConfig]) -> list[DirectoryConfig]:
        if len(value) > 1:
            for index, config in enumerate(value):
                if config.domain is None:
                    raise PydanticCustomError("missing_key", "each [[directory]] of several domains names its domain: "
                                              "domain = \"contoso.com\"", {"key": "domain", "index": index})
            _once_each([d.domain for d in value if d.domain], host_key)
        return value

    @field_validator("accounts", mode="before")
    @classmethod
    def _accounts_without_vmm(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, AccountsConfig) and info.data.get("vmm") is None:
            raise PydanticCustomError("missing", "Field required")  # no [accounts], and no [vmm] to tell them
        return value

    @field_validator("accounts")
    @classmethod
    def _service_account_without_vmm(cls, value: AccountsConfig, info: ValidationInfo) -> AccountsConfig:
        if value.vmm_service is None and info.data.get("vmm") is None:
            raise PydanticCustomError("missing_key", "Field required", {"key": "vmm_service"})
        return value

    @field_validator("source", "target")
    @classmethod
    def _hosts_or_vmm(cls, value: SourceConfig | TargetConfig, info: ValidationInfo) -> SourceConfig | TargetConfig:
        vmm = info.data.get("vmm")
        side = info.field_name or ""
        if not value.hosts and not (vmm is not None and vmm.covers(side)):
            raise PydanticCustomError("missing_key", "list at least one host, or name the {side} cloud (or host "
                                      "groups) in [vmm]", {"key": "hosts", "side": side})
        return value

    @property
    def directories(self) -> list[DirectoryConfig]:
        """Every directory to read, the first one first (where names of no known domain are looked up)."""
        return list(self.directory)

    @property
    def primary_directory(self) -> DirectoryConfig | None:
        return self.directories[0] if self.directories else None

    # ---------------------------------------------------------------- derived views

    @property
    def source_hosts(self) -> list[str]:
        return list(self.source.hosts)

    @property
    def target_hosts(self) -> list[str]:
        return list(self.target.hosts)

    @property
    def all_hosts(self) -> list[str]:
        return unique_names([*self.source.hosts, *self.target.hosts])

    @property
    def export_path(self) -> PathRef | None:
        if self.source.export_path is None:
            return None
        return parse_path(self.source.export_path, self.source.export_server, role="export")

    @property
    def import_path(self) -> PathRef | None:
        if self.target.import_path is None:
            return None
        return parse_path(self.target.import_path, self.target.import_server, role="import")

    @property
    def paths(self) -> list[PathRef]:
        return [p for p in (self.export_path, self.import_path) if p is not None]

    @property
    def path_computers(self) -> list[str]:
        """Computers holding a path, as the path names them (deduplicated case-insensitively)."""
        return unique_names(ref.server for ref in self.paths if ref.server)

    @property
    def manager(self) -> str:
        """[policy] manager, "asr" when the site file has no [policy] table."""
        return self.policy.manager if self.policy is not None else "asr"

    @property
    def accounts_to_check(self) -> list[str]:
        service = [self.accounts.vmm_service] if self.accounts.vmm_service else []
        return [*service, *self.accounts.run_as]


# --------------------------------------------------------------------------- transport (docs/security.md)


def weak_transports(site: Site, directories: list[DirectoryConfig] | None = None, winrm: bool = True) -> list[str]:
    """One sentence per connection the site file leaves unprotected, naming the setting: LDAP without TLS
    and WinRM without encryption. `preflight` warns with them; `apply` and `revert` refuse to change
    anything over them (`directories`: those the steps use; `winrm`: whether host steps are among them).

    - LDAP: ldap3 2.9.1 offers no signing or sealing after any bind (NTLM's NEGOTIATE asks for neither,
      GSSAPI is used without a SASL security layer; docs/authentication.md, "Why NTLM still needs LDAPS
      or StartTLS"), so on ldap:// without StartTLS every search, answer and change is in clear.
    - WinRM: pywinrm encrypts messages over HTTP only for Kerberos, NTLM and CredSSP with
      message_encryption "auto" or "always" (winrm/transport.py, build_session); Basic and certificate
      have no such layer, and "never" turns it off.
    """
    found = []
    for config in site.directories if directories is None else directories:
        if not config.server.lower().startswith("ldaps://") and not config.start_tls:
            table = f"[[directory]] ({config.domain})" if config.domain and len(site.directories) > 1 else "[directory]"
            found.append(f'{table} server = "{config.server}" without start_tls = true: LDAP with the {config.auth} bind '
                         "is neither signed nor sealed (ldap3 offers no signing), so every search, answer and change "
                         "crosses the network unprotected: use ldaps:// or set start_tls = true")
    w = site.winrm
    if winrm and w is not None and w.scheme == "http":
        if w.transport in {"basic", "certificate"}:
            found.append(f'[winrm] transport = "{w.transport}" with scheme = "http": {w.transport.capitalize()} has no '
                         "message encryption, so the commands, their answers"
                         + (" and the password" if w.transport == "basic" else "")
                         + ' cross the network in clear: use scheme = "https"')
        elif w.message_encryption == "never":
            found.append('[winrm] message_encryption = "never" with scheme = "http": WinRM messages cross the network '
                         'unencrypted: use message_encryption = "auto" (the default) or scheme = "https"')
    return found

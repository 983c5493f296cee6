"""Names as Windows writes them: UNC paths, host names (short and FQDN), SPNs, account names.

Kerberos keys everything on names, so the distinctions here matter: `cifs/fs01` and
`cifs/fs01.contoso.com` are different SPNs, a path addressed by IP address cannot use Kerberos at
all, and an administrative share (`C$`) is not a share anyone granted rights on.

The value types (`HostName`, `DomainName`, `Account`, `HostIndex`, below) are the one rule for
comparing names and for writing a computer's account (`HostName.computer_account`, `logon_name`):
docs/inventory.md, "Names".
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar


class NameError_(ValueError):
    """A name or path that cannot be parsed; the message says what is wrong with it."""


_ADMIN_SHARE = re.compile(r"^(?:[A-Za-z]\$|ADMIN\$|IPC\$)$")
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")
_DRIVE_PATH = re.compile(r"^[A-Za-z]:\\")
_INVALID_SHARE_CHARS = set('"/\\[]:|<>+=;,*?') | {chr(c) for c in range(32)}
_IPV6_LITERAL = re.compile(r"^([0-9a-f-]+)(?:s[0-9a-z]+)?\.ipv6-literal\.net$", re.IGNORECASE)


@dataclass(frozen=True)
class PathRef:
    """An export or import path, parsed. `raw` is exactly what the site file wrote."""

    raw: str
    kind: Literal["unc", "local"]
    server: str  # the computer holding the path, as written
    share: str | None = None  # None for local paths
    subpath: str = ""  # below the share (UNC) or the full local path (local)
    role: Literal["export", "import"] | None = None

    @property
    def is_unc(self) -> bool:
        return self.kind == "unc"

    @property
    def server_is_ip(self) -> bool:
        return is_ip_address(self.server)

    @property
    def is_admin_share(self) -> bool:
        return self.share is not None and bool(_ADMIN_SHARE.match(self.share))

    @property
    def local_path(self) -> str | None:
        """For a local path, the path on the server; for a UNC path the collector resolves it."""
        return self.subpath if self.kind == "local" else None


def parse_path(raw: str, server: str | None = None, role: Literal["export", "import"] | None = None) -> PathRef:
    """Parse `\\\\server\\share[\\sub]`, `\\\\?\\UNC\\server\\share[\\sub]`, or a local path on `server`.

    Raises NameError_ with a readable reason for anything else.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise NameError_("the path is empty")
    if raw != raw.strip():
        raise NameError_(f"the path {raw!r} has leading or trailing white space")
    if any(ord(c) < 32 for c in raw):
        raise NameError_(f"the path {raw!r} contains control characters")
    text = raw
    if text.startswith("\\\\?\\UNC\\"):
        text = "\\\\" + text[len("\\\\?\\UNC\\"):]
    elif text.startswith("\\\\?\\") or text.startswith("\\\\.\\"):
        text = text[4:]
    if text.startswith("//"):
        text = text.replace("/", "\\")
    if text.startswith("\\\\"):
        parts = text[2:].split("\\")
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise NameError_(f"the UNC path {raw!r} needs both a server and a share: \\\\server\\share")
        host, share, rest = parts[0], parts[1], parts[2:]
        validate_host_name(host, context=f"the UNC path {raw!r}")
        if any(c in _INVALID_SHARE_CHARS for c in share) or len(share) > 80:
            raise NameError_(f"the share name {share!r} in {raw!r} is not a valid share name")
        if any(seg == "" for seg in rest[:-1]):
            raise NameError_(f"the UNC path {raw!r} has an empty folder name")
        sub = "\\".join(seg for seg in rest if seg)
        return PathRef(raw=raw, kind="unc", server=host, share=share, subpath=sub, role=role)
    if _DRIVE_PATH.match(text):
        if not server:
            raise NameError_(
                f"the local path {raw!r} needs the server that holds it "
                "(export_server / import_server), or write it as a UNC path"
            )
        validate_host_name(server, context=f"the server of {raw!r}")
        return PathRef(raw=raw, kind="local", server=server, share=None, subpath=text, role=role)
    raise NameError_(f"{raw!r} is neither a UNC path (\\\\server\\share) nor a local path (D:\\folder)")


def validate_host_name(name: str, context: str = "the host name") -> None:
    """A computer's name as DNS writes it (RFC 1123 labels, at most 253 characters), or an IPv4 or IPv6
    address (bracketed or not): nothing else. So no port, path, query, fragment, user part, zone index,
    white space or control character: a name becomes a URL (`http://<name>:5985/wsman`), and a name
    such as `127.0.0.1:18085/evil#` would send credentials elsewhere (docs/security.md, "Names")."""
    if not isinstance(name, str) or not name:
        raise NameError_(f"{context}: the host name is empty")
    if any(not c.isascii() or not c.isprintable() or c.isspace() for c in name):
        raise NameError_(f"{context}: {name!r} contains white space, control or non-ASCII characters")
    if is_ip_address(name):
        if "%" in name:  # an IPv6 zone index may hold any text (RFC 4007 11): `fe80::1%x/evil#@host`
            raise NameError_(f"{context}: {name!r} carries an IPv6 zone index: give the address alone")
        if name.startswith("[") != name.endswith("]"):
            raise NameError_(f"{context}: {name!r} is not a valid IP address")
        return
    if len(name) > 253:
        raise NameError_(f"{context}: host name {name!r} is too long")
    labels = name[:-1].split(".") if name.endswith(".") else name.split(".")
    for label in labels:
        if not _HOST_LABEL.match(label):
            raise NameError_(f"{context}: {name!r} is not a valid host name (no port, path or user part)")


def url_host(name: str, context: str = "the host name") -> str:
    """`name`, validated, as the host part of a URL: an IPv6 address in brackets (RFC 3986 3.2.2).
    The one way a machine's name becomes part of a URL (the WinRM endpoint)."""
    validate_host_name(name, context)
    address = _address(name)
    if address is not None and ":" in address:
        return f"[{address}]"
    return name if address is None else address


def is_ip_address(name: str) -> bool:
    candidate = name.strip("[]")
    if _IPV6_LITERAL.match(candidate):
        return True
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


def short_name(name: str) -> str:
    """The first DNS label (NetBIOS-like form) of a host name; IP addresses stay whole."""
    if is_ip_address(name):
        return name
    return name.rstrip(".").split(".", 1)[0]


def is_fqdn(name: str) -> bool:
    return not is_ip_address(name) and "." in name.rstrip(".")


def dns_suffix(name: str) -> str | None:
    """`fabrikam.com` for `fs11.fabrikam.com`; None for a short name or an IP address."""
    if not is_fqdn(name):
        return None
    return name.rstrip(".").split(".", 1)[1].casefold()


@dataclass(frozen=True)
class Spn:
    service_class: str
    host: str
    port: int | None = None
    service_name: str | None = None

    def same_target(self, service_class: str, host: str) -> bool:
        """Case-insensitive, trailing `/servicename` and port ignored; short and FQDN differ."""
        return (
            self.service_class.casefold() == service_class.casefold()
            and self.host.rstrip(".").casefold() == host.rstrip(".").casefold()
        )


def is_exact_spn(value: str, service_class: str, host: str) -> bool:
    """`value` is exactly the two-part SPN `service_class/host`, compared case-insensitively.

    This is the comparison S4U2Proxy makes: the KDC checks whether the SPN the front end asks for
    "is in" msDS-AllowedToDelegateTo (MS-SFU 3.2.5.2.1), and the SMB client asks for
    `cifs/<name as the path writes it>`. So `cifs/fs01.contoso.com/contoso.com`,
    `cifs/fs01.contoso.com:445` and `cifs/fs01.contoso.com.` are other SPNs (measured on Samba's
    KDC: S4U2Proxy refused), while `CIFS/FS01.CONTOSO.COM` is the same one.
    """
    return value.casefold() == f"{service_class}/{host}".casefold()


def parse_spn(value: str) -> Spn | None:
    """`class/host[:port][/servicename]`; None for something that is not an SPN."""
    parts = value.strip().split("/")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        return None
    host_port = parts[1]
    port: int | None = None
    host = host_port
    if ":" in host_port and not host_port.startswith("["):
        host, _, port_text = host_port.rpartition(":")
        if port_text.isascii() and port_text.isdigit():  # str.isdigit() is true of '²', which int() refuses
            port = int(port_text)
        else:
            host = host_port
    service_name = "/".join(parts[2:]) or None
    return Spn(service_class=parts[0], host=host, port=port, service_name=service_name)


@dataclass(frozen=True)
class AccountName:
    """`DOMAIN\\name`, `name@domain.fqdn` or a bare `name`, as written in the site file."""

    raw: str
    name: str  # sAMAccountName-like part
    domain: str | None  # NetBIOS domain or UPN suffix
    is_upn: bool


def parse_account(raw: str) -> AccountName:
    text = raw.strip()
    if not text:
        raise NameError_("the account name is empty")
    if "\\" in text:
        domain, _, name = text.partition("\\")
        if not domain or not name or "\\" in name:
            raise NameError_(f"{raw!r} is not of the form DOMAIN\\name")
        return AccountName(raw=raw, name=name, domain=domain, is_upn=False)
    if "@" in text:
        name, _, domain = text.rpartition("@")
        if not name or not domain:
            raise NameError_(f"{raw!r} is not of the form name@domain")
        return AccountName(raw=raw, name=name, domain=domain, is_upn=True)
    return AccountName(raw=raw, name=text, domain=None, is_upn=False)


# --------------------------------------------------------------------------- value types
#
# One spelling rule for every comparison of names in offlineprep (docs/inventory.md, "Names"):
#
# - DNS names compare case-insensitively (RFC 4343) and without the root dot: `HV01.Contoso.com.`
#   and `hv01.contoso.com` are one name. That is what `==` means on a HostName.
# - The short form and the FQDN are different *names*: Kerberos keys tickets and delegation on the
#   exact name (cifs/fs01 and cifs/fs01.contoso.com are two SPNs), so SPN checks compare names.
# - They may be the same *machine*: `hv01` means `hv01.<suffix>` for the DNS suffix the resolver
#   appends, which on a domain member is its own domain. So a short name and an FQDN are the same
#   machine when the FQDN's first label is the short name and, where the domain the short name was
#   written for is known, the FQDN lies in that domain. Two different FQDNs are never the same
#   machine by name alone (a DNS alias is found by asking the machine, see checkkit.serving_machine),
#   and an IP address is the same machine only as the same address.


_NETBIOS_LENGTH = 15  # Windows truncates a computer's NetBIOS name (its sAMAccountName, less the $) to 15


def _address(text: str) -> str | None:
    """The normalised IP address a name is, if it is one (`[::1]`, `10.0.0.1`, and `10.0.0.1.`: an
    all-numeric top-level label is no DNS name, RFC 1123 2.1); None for a DNS name."""
    candidate = text.strip().rstrip(".")
    if candidate.startswith("[") and candidate.endswith("]"):
        candidate = candidate[1:-1]
    try:
        return ipaddress.ip_address(candidate).compressed
    except ValueError:
        return None if not _IPV6_LITERAL.match(candidate) else candidate.casefold()


def _name_key(text: str) -> str:
    return _address(text) or text.strip().rstrip(".").casefold()


class _FoldedName:
    """A name compared by its folded `key`, never by the text someone wrote: equal to a name of its own
    kind or to a plain string with the same key, and hashed by the key, so it is a safe dict key and set
    member. Each kind says how it folds (`_fold`)."""

    text: str
    key: str

    @staticmethod
    def _fold(text: str) -> str:
        raise NotImplementedError

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", self._fold(self.text))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, type(self)):
            return self.key == other.key
        if isinstance(other, str):
            return self.key == self._fold(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.key)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, eq=False)
class HostName(_FoldedName):
    """A computer's name as someone wrote it (`HV01`, `hv01.contoso.com.`, `10.0.0.5`).

    `text` is kept for messages and subjects; equality and hashing use `key` (case folded, root dot
    stripped, IP addresses normalised), so a HostName is a safe dict key and set member.
    """

    text: str
    key: str = field(init=False, repr=False)

    @staticmethod
    def _fold(text: str) -> str:
        return _name_key(text)

    @classmethod
    def parse(cls, text: str, context: str = "the host name") -> HostName:
        """A validated name; raises NameError_ saying what is wrong."""
        if not isinstance(text, str) or text != text.strip():
            raise NameError_(f"{context}: {text!r} has leading or trailing white space")
        validate_host_name(text, context)
        return cls(text)

    @classmethod
    def of(cls, name: str | HostName) -> HostName:
        return name if isinstance(name, HostName) else cls(name)

    @property
    def is_ip(self) -> bool:
        return _address(self.text) is not None

    @property
    def is_fqdn(self) -> bool:
        return not self.is_ip and "." in self.key

    @property
    def label(self) -> str:
        """The first DNS label, case folded (the short form); an IP address stays whole."""
        return self.key if self.is_ip else self.key.split(".", 1)[0]

    @property
    def suffix(self) -> str | None:
        """The DNS domain of an FQDN (`contoso.com` for `hv01.contoso.com`), case folded; else None."""
        return self.key.split(".", 1)[1] if self.is_fqdn else None

    @property
    def bare(self) -> str:
        """As written, without the root dot: the form SPNs and LDAP values use."""
        return self.text.strip().rstrip(".")

    @property
    def short(self) -> str:
        """The first label as written (`FS01` for `FS01.contoso.com`); an IP address stays whole."""
        return self.bare if self.is_ip else self.bare.split(".", 1)[0]

    @property
    def netbios(self) -> str:
        """The computer's NetBIOS name as Windows derives it: first label, upper case, 15 characters."""
        return self.short[:_NETBIOS_LENGTH].upper()

    @property
    def computer_account(self) -> str:
        """The sAMAccountName of the computer account this name implies (`FS01$`)."""
        return f"{self.netbios}$"

    def logon_name(self, domain: str | None = None) -> str:
        """The computer account as a logon name: `DOMAIN\\FS01$` (the domain as given, NetBIOS or DNS
        name), `FS01$` without one. The one way offlineprep writes a computer's account."""
        return Account.down_level(self.computer_account, domain).text

    def in_domain(self, domain: str | DomainName | None) -> bool | None:
        """True/False for an FQDN when the domain is known; None for a short name or an IP address."""
        if domain is None or not self.is_fqdn:
            return None
        return self.suffix == DomainName.of(domain).key

    def qualified(self, domain: str | DomainName | None) -> HostName:
        """The FQDN a short name means in `domain`; an FQDN or an IP address unchanged."""
        if domain is None or self.is_fqdn or self.is_ip:
            return self
        return HostName(f"{self.bare}.{DomainName.of(domain).text.rstrip('.')}")

    def same_name(self, other: str | HostName) -> bool:
        """The same DNS name (what Kerberos compares): case and the root dot do not count."""
        return self == HostName.of(other)

    def same_machine(self, other: str | HostName, domain: str | DomainName | None = None) -> bool:
        """Whether the two names may denote one computer, judged by name alone.

        `domain` is the DNS domain a short name was written for (the site's domain, or the domain
        whose directory answered for it). Without it, a short name matches any FQDN with that first
        label, which is only safe when one domain is in play.
        """
        that = HostName.of(other)
        if self == that:
            return True
        if self.is_ip or that.is_ip or self.is_fqdn == that.is_fqdn:
            return False
        fqdn, short = (self, that) if self.is_fqdn else (that, self)
        if fqdn.label != short.key:
            return False
        return domain is None or fqdn.suffix == DomainName.of(domain).key

    def matches_account(self, sam_account_name: str | None) -> bool:
        """Whether a computer's sAMAccountName (`HV01$`) is the one this name implies."""
        return bool(sam_account_name) and not self.is_ip and \
            str(sam_account_name).casefold() == self.computer_account.casefold()


@dataclass(frozen=True, eq=False)
class DomainName(_FoldedName):
    """An Active Directory domain's DNS name (`contoso.com`), compared case-insensitively without
    the root dot. A child domain (`emea.contoso.com`) is another domain."""

    text: str
    key: str = field(init=False, repr=False)

    @staticmethod
    def _fold(text: str) -> str:
        return text.strip().rstrip(".").casefold()

    @classmethod
    def of(cls, name: str | DomainName) -> DomainName:
        return name if isinstance(name, DomainName) else cls(name)

    @classmethod
    def from_dn(cls, dn: str | None) -> DomainName | None:
        """The domain an object lives in, from its distinguished name (`...,DC=contoso,DC=com`)."""
        if not dn:
            return None
        labels = [part.split("=", 1)[1].strip() for part in dn.split(",")
                  if part.strip().upper().startswith("DC=") and "=" in part]
        return cls(".".join(labels)) if labels else None

    @property
    def first_label(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def base_dn(self) -> str:
        return ",".join(f"DC={label}" for label in self.text.strip().rstrip(".").split("."))

    def contains(self, host: str | HostName) -> bool:
        """An FQDN directly in this domain (`hv01.contoso.com`, not `hv01.emea.contoso.com`)."""
        return HostName.of(host).suffix == self.key


@dataclass(frozen=True, eq=False)
class Account:
    """An account name as written (`CONTOSO\\svc-vmm`, `contoso.com\\svc-vmm`, `svc-vmm@contoso.com`,
    `CONTOSO\\HV01$`), compared as Windows resolves it: case-insensitively, the domain part by
    NetBIOS name or DNS name (`names` maps one to the other when known)."""

    text: str
    name: str = field(init=False)
    domain: str | None = field(init=False)
    is_upn: bool = field(init=False)

    def __post_init__(self) -> None:
        parsed = parse_account(self.text)
        object.__setattr__(self, "name", parsed.name)
        object.__setattr__(self, "domain", parsed.domain)
        object.__setattr__(self, "is_upn", parsed.is_upn)

    @classmethod
    def of(cls, name: str | Account) -> Account:
        return name if isinstance(name, Account) else cls(name)

    @classmethod
    def down_level(cls, name: str, domain: str | None) -> Account:
        """`DOMAIN\\name`, the down-level logon name (the domain as given); `name` alone without one."""
        return cls(f"{domain}\\{name}" if domain else name)

    @property
    def is_computer(self) -> bool:
        """A computer account (`HV01$`): the identity a machine's LocalSystem has on the network."""
        return self.name.endswith("$") and not self.is_upn

    @property
    def machine(self) -> HostName | None:
        return HostName(self.name[:-1]) if self.is_computer else None

    def domain_key(self, netbios_to_dns: Mapping[str, str] | None = None) -> str | None:
        """The account's domain as a DNS name when the mapping knows its NetBIOS name, else as
        written (case folded); a UPN suffix is not a domain name (it may be an alternative suffix)."""
        if self.domain is None or self.is_upn:
            return None
        written = self.domain.strip().rstrip(".").casefold()
        for netbios, dns in (netbios_to_dns or {}).items():
            if written in {netbios.casefold(), DomainName.of(dns).key}:
                return DomainName.of(dns).key
        return written

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = Account(other)
            except NameError_:
                return False
        if not isinstance(other, Account):
            return NotImplemented
        return (self.name.casefold(), self.is_upn, (self.domain or "").rstrip(".").casefold()) == \
            (other.name.casefold(), other.is_upn, (other.domain or "").rstrip(".").casefold())

    def __hash__(self) -> int:
        return hash((self.name.casefold(), self.is_upn, (self.domain or "").rstrip(".").casefold()))

    def __str__(self) -> str:
        return self.text

    def same_account(self, other: str | Account, netbios_to_dns: Mapping[str, str] | None = None) -> bool:
        """One account: the same name, in the same domain whether written by NetBIOS or DNS name.
        A name without a domain matches the same name in any domain."""
        that = Account.of(other)
        if self.name.casefold() != that.name.casefold():
            return False
        if self.is_upn or that.is_upn:
            return self == that
        mine, theirs = self.domain_key(netbios_to_dns), that.domain_key(netbios_to_dns)
        return mine is None or theirs is None or mine == theirs


V = TypeVar("V")


class HostIndex(Generic[V]):
    """Values keyed by host name: lookups ignore case and the root dot; the first spelling added
    is the one `names()` gives back (subjects stay as the site file writes them)."""

    def __init__(self, items: Iterable[tuple[str | HostName, V]] = ()) -> None:
        self._values: dict[HostName, V] = {}
        for name, value in items:
            self.setdefault(name, value)

    def setdefault(self, name: str | HostName, value: V) -> V:
        return self._values.setdefault(HostName.of(name), value)

    def __setitem__(self, name: str | HostName, value: V) -> None:
        self._values[HostName.of(name)] = value  # a dict keeps the key it first saw: the first spelling

    def get(self, name: str | HostName) -> V | None:
        return self._values.get(HostName.of(name))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, (str, HostName)) and HostName.of(name) in self._values

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[HostName]:
        return iter(self._values)

    def names(self) -> list[str]:
        return [k.text for k in self._values]

    def items(self) -> list[tuple[HostName, V]]:
        return list(self._values.items())

    def machine(self, name: str | HostName, domain: str | DomainName | None = None) -> V | None:
        """The value of the one entry that is the same machine as `name` (see HostName.same_machine);
        None when none is, or when several are (ambiguous is unknown, never a guess)."""
        exact = self.get(name)
        if exact is not None:
            return exact
        wanted = HostName.of(name)
        found = [v for k, v in self._values.items() if wanted.same_machine(k, domain)]
        return found[0] if len(found) == 1 else None


def host_key(name: str | HostName) -> str:
    """The comparison key of a host name (HostName.key): case folded, no root dot, an address normalised."""
    return HostName.of(name).key


def domain_key(name: str | DomainName | None) -> str | None:
    """The comparison key of a domain's DNS (or NetBIOS) name, None for none: case folded, no root dot."""
    if name is None:
        return None
    key = DomainName.of(name).key
    return key or None


def same_domain(a: str | DomainName | None, b: str | DomainName | None) -> bool:
    """Both named and the same domain (a child domain is another domain)."""
    return bool(a and b and domain_key(a) == domain_key(b))


def same_account_text(a: str, b: str) -> bool:
    """Two account names as written are one (Account's equality: case-insensitive, the domain's root
    dot ignored); a name Account cannot parse is compared case-insensitively as text."""
    try:
        return Account(a) == Account(b)
    except NameError_:
        return a.strip().casefold() == b.strip().casefold()


def unique_names(names: Iterable[str]) -> list[str]:
    """Each host name once (case and the root dot do not count), in first-written order and spelling."""
    return HostIndex((n, n) for n in names).names()

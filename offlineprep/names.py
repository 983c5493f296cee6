"""Names as Windows writes them: UNC paths, host names (short and FQDN), SPNs, account names.

Kerberos keys everything on names, so the distinctions here matter: `cifs/fs01` and
`cifs/fs01.contoso.com` are different SPNs, a path addressed by IP address cannot use Kerberos at
all, and an administrative share (`C$`) is not a share anyone granted rights on.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal


class NameError_(ValueError):
    """A name or path that cannot be parsed; the message says what is wrong with it."""


PathError = NameError_

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
    if is_ip_address(name):
        return
    if not name or len(name) > 253:
        raise NameError_(f"{context}: host name {name!r} is empty or too long")
    labels = name.rstrip(".").split(".")
    for label in labels:
        if not _HOST_LABEL.match(label):
            raise NameError_(f"{context}: {name!r} is not a valid host name")


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


def same_computer(a: str, b: str) -> bool:
    """Loose identity of two host names: equal, or one is the short form of the other.

    Used to match a host written one way in the site file with the account stored another way
    in AD. Not for SPNs, where the short and the FQDN form are different names.
    """
    fa, fb = a.rstrip(".").casefold(), b.rstrip(".").casefold()
    if fa == fb:
        return True
    if is_ip_address(a) or is_ip_address(b):
        return False
    if is_fqdn(a) and is_fqdn(b):
        return False
    return short_name(fa) == short_name(fb)


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
        if port_text.isdigit():
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

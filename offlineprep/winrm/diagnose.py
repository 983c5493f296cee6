"""Why a connection failed, established again from structured errors, in one plain sentence.

Client libraries flatten the cause of a failed connection into text (ldap3 keeps neither the errno
nor the certificate). These helpers ask again, directly and only after a failure: resolve the name,
open TCP to the port, and describe a certificate that was refused. Each sentence names what an
administrator checks next: DNS, a listener, a firewall, the CA or the name on the certificate.
They return kinds of `offlineprep.facts.ErrorKind`, so a collector can store the answer as it is.
"""

from __future__ import annotations

import socket
import ssl
from datetime import UTC, datetime

from offlineprep.facts import ErrorKind


def endpoint(url: str) -> tuple[str, int]:
    """Host and port of an ldap:// or ldaps:// URL (636 for ldaps://, else 389, as ldap3 uses them)."""
    scheme, _, rest = url.partition("://")
    hostport = rest.split("/", 1)[0]
    default = 636 if scheme.lower() == "ldaps" else 389
    if hostport.startswith("["):  # [IPv6]:port
        host, _, tail = hostport[1:].partition("]")
        return host, int(tail[1:]) if tail.startswith(":") and tail[1:].isdigit() else default
    host, _, port = hostport.partition(":")
    return host, int(port) if port.isdigit() else default


def reach(host: str, port: int, timeout: float) -> tuple[ErrorKind, str] | None:
    """Why TCP to host:port does not work, from the resolver's and the socket's own errors; None
    when it does (the problem is then above TCP: TLS, the protocol, or a server that hangs)."""
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return ErrorKind.NAME_RESOLUTION, (f"{host} does not resolve in DNS (from this machine): check the name in "
                                           "the site file and the DNS servers this machine uses")
    wait = min(timeout, 10.0)
    try:
        with socket.create_connection((host, port), timeout=wait):
            return None
    except ConnectionRefusedError:
        return ErrorKind.UNREACHABLE, (f"{host} refused the connection on port {port}: nothing listens there "
                                       "(the service is not enabled, or the port is wrong)")
    except TimeoutError:
        return ErrorKind.TIMEOUT, (f"{host} did not accept a connection on port {port} within {wait:g} s: a firewall "
                                   "drops it, or the machine is down")
    except OSError as exc:
        return ErrorKind.UNREACHABLE, f"cannot reach {host} on port {port}: {exc.strerror or exc}"


def peer_certificate(host: str, port: int, timeout: float) -> bytes | None:
    """The certificate (DER) a TLS server on host:port presents, read without trusting it, only to
    describe it; None when it cannot be read."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=min(timeout, 10.0)) as raw, \
                context.wrap_socket(raw, server_hostname=host) as tls:
            return tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError):
        return None


def certificate_problem(host: str, port: int, der: bytes | None, ca_file: str | None) -> str:
    """A refused server certificate in one line: whose it is, who issued it, and why it is refused
    (another name, expired, self-signed, or an issuer this machine does not trust)."""
    fix_ca = (f"the CA file {ca_file} does not hold its issuer" if ca_file
              else "set ca_file to the certificate (PEM) of the CA that issued it")
    unknown = (f"the TLS certificate of {host} (port {port}) is not trusted by this machine: {fix_ca} "
               "(or verify_tls = false for a lab)")
    if der is None:
        return unknown
    try:
        from cryptography import x509
        from cryptography.x509.oid import ExtensionOID, NameOID

        cert = x509.load_der_x509_certificate(der)
        subject, issuer = cert.subject.rfc4514_string(), cert.issuer.rfc4514_string()
        try:
            san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
            assert isinstance(san, x509.SubjectAlternativeName)
            names = [str(n) for n in san.get_values_for_type(x509.DNSName)]
            names += [str(a) for a in san.get_values_for_type(x509.IPAddress)]
        except x509.ExtensionNotFound:  # no SAN: clients fall back to the subject's common name
            names = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    except Exception:  # a certificate cryptography cannot read: say what is known
        return unknown
    now = datetime.now(UTC)
    who = f"the TLS certificate of {host} (subject {subject or '(empty)'}, issuer {issuer or '(empty)'})"
    if not any(_name_matches(pattern, host) for pattern in names):
        shown = ", ".join(names[:6]) or "no name"
        return f"{who} is for {shown}, not for {host}: use a name the certificate carries in the site file"
    if now > not_after:
        return f"{who} expired on {not_after:%Y-%m-%d}: the server needs a current certificate"
    if now < not_before:
        return f"{who} is valid only from {not_before:%Y-%m-%d}: check this machine's clock"
    if subject == issuer:
        trust = f"the CA file {ca_file} does not hold it" if ca_file else "set ca_file to this certificate (PEM)"
        return f"{who} is self-signed, so no CA vouches for it: {trust}"
    return f"{who} is issued by a CA this machine does not trust: {fix_ca}"


def _name_matches(pattern: str, host: str) -> bool:
    """RFC 6125 matching as TLS clients do it: case-insensitive, a wildcard only as the whole left-most label."""
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*.") and "." in host:
        return host.split(".", 1)[1] == pattern[2:]
    return pattern == host

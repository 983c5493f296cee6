"""Directory errors in an administrator's words, from real ldap3 connections to servers on loopback.

Each server here misbehaves in one way a real DC can: a certificate for another name, from an
untrusted CA, self-signed or expired; a port where nothing listens; a name DNS does not know; a
server that accepts the connection and never answers. The message must say which, in one line,
and never print ldap3's text (a Python certificate dict, urllib-like errno text).
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from offlineprep.collect.directory import collect_directory
from offlineprep.collect.requests import DirectoryRequest
from offlineprep.facts import ErrorKind
from offlineprep.site import DirectoryConfig

REQUEST = DirectoryRequest(computers=["hv01"], principals=["LAB\\svc-vmm"], spn_names=["fs01"])


@dataclass
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def issue(name: str, issuer: Issued | None = None, days: tuple[int, int] = (-1, 30), ca: bool = False) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer.cert.subject if issuer else subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now + timedelta(days=days[0])).not_valid_after(now + timedelta(days=days[1]))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
    cert = builder.sign(issuer.key if issuer else key, hashes.SHA256())
    return Issued(cert, key)


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[callable]:  # type: ignore[valid-type]
    """Start a TLS listener on loopback presenting `issued`; it completes handshakes and says nothing."""
    servers: list[socket.socket] = []

    def start(issued: Issued, *chain: Issued) -> int:
        (tmp_path / "cert.pem").write_bytes(issued.pem() + b"".join(c.pem() for c in chain))
        (tmp_path / "key.pem").write_bytes(issued.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
        listener = socket.create_server(("127.0.0.1", 0))
        servers.append(listener)

        def serve() -> None:
            while True:
                try:
                    raw, _ = listener.accept()
                except OSError:
                    return
                try:
                    with context.wrap_socket(raw, server_side=True) as tls:
                        tls.settimeout(2)
                        tls.recv(1)
                except (OSError, ssl.SSLError):
                    pass

        threading.Thread(target=serve, daemon=True).start()
        return int(listener.getsockname()[1])

    yield start
    for listener in servers:
        listener.close()


def error_of(server: str, ca_file: Path | None = None, timeout: float = 5, auth: str = "simple") -> tuple[ErrorKind, str]:
    user = "LAB\\svc-preflight" if auth == "ntlm" else "svc-preflight@lab.test"  # NTLM binds as DOMAIN\\name
    config = DirectoryConfig(server=server, user=user, ca_file=str(ca_file) if ca_file else None,
                             timeout_seconds=timeout, auth=auth)  # type: ignore[arg-type]
    facts = collect_directory(config, REQUEST, "pw-not-used")
    assert facts.error is not None
    assert "{" not in facts.error.message and "Errno" not in facts.error.message, facts.error.message
    return facts.error.kind, facts.error.message


def test_a_certificate_for_another_name_names_both(tls_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ca = issue("Lab Root CA", ca=True)
    port = tls_server(issue("other.lab.test", issuer=ca))
    (tmp_path / "ca.pem").write_bytes(ca.pem())
    kind, message = error_of(f"ldaps://localhost:{port}", tmp_path / "ca.pem")
    assert kind is ErrorKind.TLS
    assert message == ("the TLS certificate of localhost (subject CN=other.lab.test, issuer CN=Lab Root CA) is for "
                       "other.lab.test, not for localhost: use a name the certificate carries in the site file")


def test_an_untrusted_issuer_says_to_set_ca_file(tls_server) -> None:  # type: ignore[no-untyped-def]
    port = tls_server(issue("localhost", issuer=issue("Contoso Issuing CA", ca=True)))
    kind, message = error_of(f"ldaps://localhost:{port}")
    assert kind is ErrorKind.TLS
    assert message == ("the TLS certificate of localhost (subject CN=localhost, issuer CN=Contoso Issuing CA) is issued "
                       "by a CA this machine does not trust: set ca_file to the certificate (PEM) of the CA that issued it")


def test_self_signed_and_expired_certificates_say_so(tls_server) -> None:  # type: ignore[no-untyped-def]
    kind, message = error_of(f"ldaps://localhost:{tls_server(issue('localhost'))}")
    assert kind is ErrorKind.TLS and "is self-signed, so no CA vouches for it: set ca_file to this certificate" in message
    expired = issue("localhost", days=(-60, -30))
    kind, message = error_of(f"ldaps://localhost:{tls_server(expired)}")
    assert kind is ErrorKind.TLS
    assert f"expired on {expired.cert.not_valid_after_utc:%Y-%m-%d}: the server needs a current certificate" in message


def test_nothing_listening_is_refused_on_that_port() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # free once closed
    kind, message = error_of(f"ldaps://127.0.0.1:{port}")
    assert kind is ErrorKind.UNREACHABLE
    assert message.startswith(f"127.0.0.1 refused the connection on port {port}: nothing listens there")


def test_a_name_dns_does_not_know() -> None:
    kind, message = error_of("ldaps://dc1.no-such-domain.invalid")
    assert kind is ErrorKind.NAME_RESOLUTION  # as WinRM's side says it (winrm.causes): a fact of this machine's DNS
    assert message.startswith("dc1.no-such-domain.invalid does not resolve in DNS (from this machine)")


@pytest.mark.parametrize(("scheme", "auth"), [("ldaps", "simple"), ("ldap", "ntlm")])
def test_a_server_that_accepts_and_never_answers(scheme: str, auth: str) -> None:
    """A DC stopped in its tracks: the kernel still accepts TCP, the TLS handshake or the bind waits."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        kind, message = error_of(f"{scheme}://127.0.0.1:{port}", timeout=1, auth=auth)
    assert kind is ErrorKind.TIMEOUT
    assert message == (f"127.0.0.1 accepted the connection on port {port} but did not answer within 1 s "
                       "(the DC is hung or overloaded)")

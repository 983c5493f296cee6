"""Which certificate Hyper-V Replica can use, judged from the facts a host gave about LocalMachine\\My.

The rules are Microsoft's, for Set-VMReplicationServer -CertificateThumbprint (and the same for
Enable-VMReplication on the primary): the certificate "must not be expired", "must include both
client and server authentication extensions for extended key usage (EKU), and an associated private
key", "must terminate at a valid root certificate", and its subject common name (CN) "must be equal
to, or subject alternative name (DNS Name) should contain, the FQDN of the host" (on a cluster, a
second certificate names the Hyper-V Replica Broker). Revocation is judged as Hyper-V Replica checks
it: the host builds the chain in the machine's context with revocation checked online, each CRL
download bounded in time, unless DisableCertRevocationCheck is 1 under HKLM\\SOFTWARE\\Microsoft\\
Windows NT\\CurrentVersion\\Virtualization\\Replication ("as part of validating the certificate,
Hyper-V Replica checks if the issuing Certificate Authority (CA) has revoked the certificate ... this
check would fail if the certificate revocation list (CRL) distribution point (CDP) is inaccessible",
KB 2767928, https://support.microsoft.com/kb/2767928).

Used by replica.certificate (is there one?) and replica.server (which thumbprint its fix sets).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from offlineprep.facts import Certificate, HostFacts
from offlineprep.names import host_key

SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"
# X509ChainStatusFlags of a revocation check that could not reach the CRL (or OCSP responder)
UNREACHABLE = frozenset({"RevocationStatusUnknown", "OfflineRevocation"})


@dataclass(frozen=True)
class CertificateVerdict:
    certificate: Certificate
    problems: tuple[str, ...]

    @property
    def usable(self) -> bool:
        return not self.problems

    def describe(self) -> str:
        what = f"{self.certificate.subject or '(no subject)'} ({self.certificate.thumbprint[:8]}…)"
        return what + (": " + "; ".join(self.problems) if self.problems else ": usable")


def common_names(subject: str) -> list[str]:
    """The CN values of a subject as X509Certificate2.Subject writes it ('CN=hv01.contoso.com, O=Contoso')."""
    names = []
    for part in subject.split(","):
        key, sep, value = part.strip().partition("=")
        if sep and key.strip().upper() == "CN":
            names.append(value.strip().strip('"'))
    return names


def names_host(certificate: Certificate, fqdn: str) -> bool:
    wanted = host_key(fqdn)
    return any(host_key(n) == wanted for n in [*common_names(certificate.subject), *certificate.dns_names])


def judge(certificate: Certificate, fqdn: str, now: datetime) -> CertificateVerdict:
    problems = []
    if not certificate.has_private_key:
        problems.append("no private key")
    missing = [name for oid, name in ((SERVER_AUTH, "Server Authentication"), (CLIENT_AUTH, "Client Authentication"))
               if oid not in certificate.ekus]
    if missing:
        problems.append("no " + " and no ".join(missing) + " in its Enhanced Key Usage")
    if not names_host(certificate, fqdn):
        problems.append(f"{fqdn} is neither its subject CN nor one of its DNS names")
    if certificate.not_after is not None and certificate.not_after < now:
        problems.append(f"expired on {certificate.not_after:%Y-%m-%d}")
    if certificate.not_before is not None and certificate.not_before > now:
        problems.append(f"not valid before {certificate.not_before:%Y-%m-%d}")
    statuses = set(certificate.chain_status)
    if "Revoked" in statuses:
        problems.append("it is revoked (its CA's revocation list says so)")
    elif statuses & UNREACHABLE:
        problems.append("its revocation could not be checked: the CRL could not be reached within the time allowed ("
                        + ", ".join(sorted(statuses & UNREACHABLE)) + "); Hyper-V Replica checks revocation unless "
                        "DisableCertRevocationCheck is 1")
    rest = [s for s in certificate.chain_status if s != "Revoked" and s not in UNREACHABLE]
    if certificate.chain_ok is False and (rest or not statuses):
        problems.append("its chain does not end at a trusted root on the host ("
                        + (", ".join(rest) or "X509Chain.Build failed") + ")")
    elif certificate.chain_ok is None and not problems:
        problems.append("its chain was not built on the host")
    return CertificateVerdict(certificate, tuple(problems))


def host_now(host: HostFacts, fallback: datetime) -> datetime:
    """Now as the host sees it: a certificate is inside its validity by the host's own clock."""
    return host.clock.utc if host.clock is not None else fallback


def verdicts(host: HostFacts, fqdn: str, fallback_now: datetime) -> list[CertificateVerdict]:
    """Every certificate judged, the usable ones first, then the closest (fewest problems)."""
    now = host_now(host, fallback_now)
    found = [judge(c, fqdn, now) for c in host.certificates or []]
    return sorted(found, key=lambda v: (len(v.problems), v.certificate.thumbprint))


def usable(host: HostFacts, fqdn: str, fallback_now: datetime) -> Certificate | None:
    found = verdicts(host, fqdn, fallback_now)
    return found[0].certificate if found and found[0].usable else None


def configured(host: HostFacts, thumbprint: str) -> Certificate | None:
    """The certificate of LocalMachine\\My whose thumbprint is `thumbprint` (case and spaces ignored)."""
    wanted = thumbprint.replace(" ", "").upper()
    return next((c for c in host.certificates or [] if c.thumbprint.replace(" ", "").upper() == wanted), None)


def untrusted_roots(host: HostFacts, peers: list[tuple[str, Certificate]]) -> list[str]:
    """The peers whose certificate's issuing root `host` does not hold in LocalMachine\\Root (mutual
    authentication: each side validates the other's certificate to a root it trusts)."""
    if host.trusted_roots is None:
        return []
    trusted = {t.upper() for t in host.trusted_roots}
    return [f"{peer}'s root {cert.root_thumbprint}" for peer, cert in peers
            if cert.root_thumbprint and cert.root_thumbprint.upper() not in trusted]

"""Section `certificates`: LocalMachine\\My, as Hyper-V Replica's certificate needs it, the roots of
LocalMachine\\Root and whether Hyper-V Replica checks revocation (replica.certificate)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from offlineprep.collect.sections.base import Part, Reading, Section, list_of, utc_time
from offlineprep.facts import Certificate


class CertificateAnswer(Part):
    thumbprint: str
    subject: str | None = None
    dns_names: list_of(str) = Field(default_factory=list)  # type: ignore[valid-type]  # DnsNameList .Unicode
    ekus: list_of(str) = Field(default_factory=list)  # type: ignore[valid-type]  # EnhancedKeyUsageList .ObjectId
    not_before: str | None = None  # NotBefore.ToUniversalTime(), round-trip format
    not_after: str | None = None
    has_private_key: bool | None = None
    chain_ok: bool | None = None  # X509Chain.Build; null: not built
    chain_status: list_of(str) = Field(default_factory=list)  # type: ignore[valid-type]  # X509ChainStatus.Status
    revocation_checked: bool | None = None  # the chain was built with RevocationMode Online
    root_thumbprint: str | None = None  # the last X509ChainElement's Certificate.Thumbprint


def facts(reading: Reading) -> dict[str, Any]:
    if reading.answer.certificates is None:
        return {"certificates": None}
    disabled = reading.answer.cert_revocation_check_disabled
    roots = reading.answer.trusted_roots
    return {"certificates": [_certificate(c) for c in reading.answer.certificates],
            "trusted_roots": [r.upper() for r in roots] if roots is not None else None,
            "cert_revocation_check_disabled": disabled}


def _certificate(c: CertificateAnswer) -> Certificate:
    return Certificate(thumbprint=c.thumbprint, subject=c.subject or "", dns_names=list(c.dns_names),
                       ekus=list(c.ekus), not_before=utc_time(c.not_before), not_after=utc_time(c.not_after),
                       has_private_key=c.has_private_key, chain_ok=c.chain_ok, chain_status=list(c.chain_status),
                       revocation_checked=c.revocation_checked,
                       root_thumbprint=c.root_thumbprint.upper() if c.root_thumbprint else None)


SECTION = Section("certificates", {
    "certificates": list_of(CertificateAnswer) | None,
    "trusted_roots": list_of(str) | None,  # LocalMachine\\Root thumbprints
    "cert_revocation_check_disabled": int | None,  # ...\\Virtualization\\Replication DisableCertRevocationCheck
}, facts)

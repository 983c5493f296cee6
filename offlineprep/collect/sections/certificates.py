"""Section `certificates`: LocalMachine\\My, as Hyper-V Replica's certificate needs it (replica.certificate)."""

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


def facts(reading: Reading) -> dict[str, Any]:
    if reading.answer.certificates is None:
        return {"certificates": None}
    return {"certificates": [_certificate(c) for c in reading.answer.certificates]}


def _certificate(c: CertificateAnswer) -> Certificate:
    return Certificate(thumbprint=c.thumbprint, subject=c.subject or "", dns_names=list(c.dns_names),
                       ekus=list(c.ekus), not_before=utc_time(c.not_before), not_after=utc_time(c.not_after),
                       has_private_key=c.has_private_key, chain_ok=c.chain_ok, chain_status=list(c.chain_status))


SECTION = Section("certificates", {"certificates": list_of(CertificateAnswer) | None}, facts)

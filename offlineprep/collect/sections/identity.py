"""Section `identity`: the computer's DNS name, domain, domain role and operating system. When it
fails the host's facts carry its error: nothing else about the host can be matched without it."""

from __future__ import annotations

from typing import Any

from offlineprep.collect.sections.base import Part, Reading, Section
from offlineprep.facts import CollectionError, ErrorKind
from offlineprep.winrm.text import short


class OsAnswer(Part):
    caption: str | None = None  # Win32_OperatingSystem.Caption
    version: str | None = None  # .Version, e.g. 10.0.14393
    build: str | None = None  # .BuildNumber


def facts(reading: Reading) -> dict[str, Any]:
    answer = reading.answer
    os: OsAnswer | None = answer.os
    failed = reading.errors.get("identity")
    return {
        "error": CollectionError(kind=ErrorKind.REMOTE, message=f"identity: {short(str(failed))}") if failed else None,
        "computer_name": answer.computer_name,
        "domain": answer.domain,
        "os_caption": os.caption if os else None,
        "os_version": os.version if os else None,
        "os_build": os.build if os else None,
        "domain_role": answer.domain_role,
        "primary_dns_suffix": answer.primary_dns_suffix,
    }


SECTION = Section("identity", {
    "computer_name": str | None,
    "domain": str | None,
    "domain_role": int | None,  # Win32_ComputerSystem.DomainRole (4, 5: a domain controller)
    "primary_dns_suffix": str | None,  # IPGlobalProperties.DomainName; computer_name is built from it when set
    "os": OsAnswer | None,
}, facts)

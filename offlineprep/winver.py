"""Windows Server releases, named the way a replication policy names them.

The policy's "Hyper-V host version" is a release (Windows Server 2012 R2), while hosts report an
edition-bearing caption (Microsoft Windows Server 2012 R2 Datacenter, Microsoft Hyper-V Server
2012 R2, Windows Server 2016 Datacenter Evaluation) and a build (6.3.9600, 10.0.17763; AD's
operatingSystemVersion writes "6.3 (9600)"). The year (and R2) in the caption decides; where the
caption has none (semi-annual-channel "Windows Server Datacenter", a missing caption) the build
does.
"""

from __future__ import annotations

import re

BUILDS = {
    7600: "Windows Server 2008 R2", 7601: "Windows Server 2008 R2", 9200: "Windows Server 2012",
    9600: "Windows Server 2012 R2", 14393: "Windows Server 2016", 17763: "Windows Server 2019",
    20348: "Windows Server 2022", 26100: "Windows Server 2025",
}
_YEAR = re.compile(r"\b(20\d\d)(\s*R2)?\b", re.I)
_BUILD = re.compile(r"(\d{4,5})\D*$")
_EDITION = re.compile(r"\b(Standard|Datacenter|Essentials|Evaluation|Foundation|Core|Enterprise)\b.*$", re.I)


def build_number(*versions: str | None) -> int | None:
    """The build from "9600", "6.3.9600", "10.0.17763.1234" (the third part) or "6.3 (9600)"."""
    for version in versions:
        if not version:
            continue
        parts = re.findall(r"\d+", version)
        if len(parts) >= 3 and "(" not in version:
            return int(parts[2])  # major.minor.build[.revision]
        match = _BUILD.search(version.strip())
        if match:
            return int(match.group(1))
    return None


def release(caption: str | None, *versions: str | None) -> str | None:
    """'Microsoft Hyper-V Server 2012 R2' or build 9600 -> 'Windows Server 2012 R2'."""
    match = _YEAR.search(caption or "")
    if match:
        return f"Windows Server {match.group(1)}" + (" R2" if match.group(2) else "")
    build = build_number(*versions)
    if build in BUILDS:
        return BUILDS[build]
    if not caption:
        return None
    text = caption.replace("Microsoft", "").replace("®", "").replace("(R)", "").strip()
    text = _EDITION.sub("", text).strip()
    return re.sub(r"\s+", " ", text) or None

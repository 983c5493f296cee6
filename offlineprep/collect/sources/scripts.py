"""The discovery scripts (offlineprep/collect/scripts/*.ps1) as the collector sends them."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

SCRIPTS = Path(__file__).parents[1] / "scripts"
DISCOVERY_SCRIPTS = ("vmm", "cluster")


@cache
def script_text(name: str) -> str:
    """The text of scripts/<name>.ps1 (`vmm`, `cluster`)."""
    if name not in DISCOVERY_SCRIPTS:
        raise ValueError(f"no discovery script named {name!r}")
    return (SCRIPTS / f"{name}.ps1").read_text(encoding="utf-8")


def script_digest(name: str) -> str:
    """SHA-256 of the script's UTF-8 text: the simulator runs a script only when it is byte for byte ours."""
    return hashlib.sha256(script_text(name).encode("utf-8")).hexdigest()

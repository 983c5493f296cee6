"""Every PowerShell script offlineprep ships, behind one registry: a script's name gives its file,
the schema id of the answer it prints, the label a message shows, and the SHA-256 digest of its
text (the lab's endpoint runs a script only when it is byte for byte one of these). A script is one
file, or a folder of parts joined in name order: collect.ps1 is `collect/`, one part per section
(`offlineprep.collect.sections` holds each section's answer model and facts).

Each script travels the one way of `offlineprep.winrm.delivery` (bootstrap, request and script on
stdin). Who sends what:

- `collect`: the read-only host collection (`offlineprep.collect.hosts`), answer offlineprep/host/v1
- `vmm`, `cluster`: discovery on a VMM server or a failover cluster (`offlineprep.collect.remote`)
- `apply`: the host steps of a plan and their revert (`offlineprep.apply.hosts`, which puts in the
  fix script's own Restore-AccountAces where the script carries its marker)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

FOLDER = Path(__file__).parent


@dataclass(frozen=True)
class Script:
    name: str
    file: str  # under this folder: a .ps1, or a folder whose .ps1 parts are joined in name order
    schema: str | None  # the `schema` of the JSON document it prints; None: apply's JSON lines
    label: str  # how a message names it: "the VMM discovery script failed on ..."

    @property
    def path(self) -> Path:
        return FOLDER / self.file

    @property
    def parts(self) -> tuple[Path, ...]:
        """The files the script is made of, in the order they are joined."""
        return tuple(sorted(self.path.glob("*.ps1"))) if self.path.is_dir() else (self.path,)

    @property
    def text(self) -> str:
        return _joined(self)

    @property
    def digest(self) -> str:
        return digest_of(self.text)


SCRIPTS: dict[str, Script] = {s.name: s for s in (
    Script("collect", "collect", "offlineprep/host/v1", "collection script"),
    Script("vmm", "vmm.ps1", "offlineprep/vmm/v1", "VMM discovery script"),
    Script("cluster", "cluster.ps1", "offlineprep/cluster/v1", "cluster discovery script"),
    Script("apply", "apply.ps1", None, "apply script"),
)}


def script(name: str) -> Script:
    try:
        return SCRIPTS[name]
    except KeyError:
        raise ValueError(f"no script named {name!r}") from None


def digest_of(text: str) -> str:
    """SHA-256 of a script's UTF-8 text, as it is delivered."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@cache
def _joined(script: Script) -> str:
    return "".join(part.read_text(encoding="utf-8") for part in script.parts)

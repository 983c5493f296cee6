"""Section `vms`: each VM's name and the size of its disks (parents included); a VM of the wrong shape kept by name."""

from __future__ import annotations

from typing import Any

from offlineprep.collect.sections.base import Part, Reading, Section, list_of
from offlineprep.facts import VirtualMachine


class VmAnswer(Part):
    name: str
    disk_bytes: int | None = None
    error: str | None = None


def facts(reading: Reading) -> dict[str, Any]:
    if reading.answer.vms is None:
        return {"vms": None}
    vms = [VirtualMachine(name=v.name, disk_bytes=v.disk_bytes) for v in reading.answer.vms]
    vms += [VirtualMachine(name=str(raw["name"])) for raw in reading.rejected.get("vms", [])
            if isinstance(raw, dict) and isinstance(raw.get("name"), str)]
    return {"vms": vms}


SECTION = Section("vms", {"vms": list_of(VmAnswer) | None}, facts)

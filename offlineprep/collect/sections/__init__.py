"""The collection script's sections, one module each: what a host fact is, in one place.

A section module holds the answer model of what its part of collect.ps1 prints (pydantic: the
schema docs/host.schema.json is generated from these), and `facts`: how that answer becomes
HostFacts fields. Its PowerShell, the member reads, is the part
offlineprep/winrm/scripts/collect/NN-<section>.ps1 (the registry joins the parts in name order).
`SECTIONS` is found from the parts, in the script's order: a part NN-<section>.ps1 needs its
module <section>.py here with its `SECTION`, and nothing else names it (tests/hosts/test_sections.py).
Adding a host fact: docs/facts.md, "Adding a host fact".
"""

from __future__ import annotations

import importlib
import re

from offlineprep.collect.sections.base import Reading, Section
from offlineprep.winrm.scripts import script

FRAME = ("begin", "end")  # the parts around the sections: the request read and Try-Section; the JSON written


def section_names() -> list[str]:
    """The sections, in the script's order: its parts NN-<section>.ps1 but the frame."""
    names = [re.sub(r"^\d+-", "", part.stem) for part in script("collect").parts]
    return [name for name in names if name not in FRAME]


def _load() -> tuple[Section, ...]:
    sections = []
    for name in section_names():
        section = importlib.import_module(f"{__name__}.{name}").SECTION
        if not isinstance(section, Section) or section.name != name:
            raise TypeError(f"{__name__}.{name}.SECTION is not the Section of the part {name}")
        sections.append(section)
    return tuple(sections)


SECTIONS: tuple[Section, ...] = _load()

__all__ = ["FRAME", "SECTIONS", "Reading", "Section", "section_names"]

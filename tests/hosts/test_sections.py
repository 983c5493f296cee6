"""The sections of collect.ps1 and their Python side stay one to one: each section module has its
part winrm/scripts/collect/NN-<section>.ps1 (the one Try-Section of that name, the answer keys it
writes), in the same order, and nothing in the answer is written by two sections."""

from __future__ import annotations

import re
from pathlib import Path

from offlineprep.collect import sections
from offlineprep.collect.answer import HostAnswer
from offlineprep.collect.sections import FRAME, SECTIONS, section_names
from offlineprep.winrm.scripts import script

COLLECT = script("collect")


def _section_parts() -> list[tuple[str, str]]:
    parts = []
    for path in COLLECT.parts:
        name = re.sub(r"^\d+-", "", path.stem)
        if name not in FRAME:
            parts.append((name, path.read_text(encoding="utf-8")))
    return parts


def test_every_section_module_has_its_part_and_every_part_its_module() -> None:
    modules = {p.stem for p in Path(sections.__file__).parent.glob("*.py")} - {"__init__", "base"}
    assert [name for name, _ in _section_parts()] == [s.name for s in SECTIONS] == section_names()
    assert modules == set(section_names()), "a section module without its part, or a part without its module"
    assert [re.sub(r"^\d+-", "", p.stem) for p in COLLECT.parts][::len(COLLECT.parts) - 1] == list(FRAME)


def test_each_part_runs_its_own_section_and_writes_its_own_keys() -> None:
    for (name, text), section in zip(_section_parts(), SECTIONS, strict=True):
        sections_run = re.findall(r"Try-Section '([a-z_]+)'", text)
        assert sections_run in ([name], []), f"{name}: runs {sections_run}"  # paths: per-path errors, no wrapper
        written = set(re.findall(r"\$out\.([a-z_]+) = ", text))
        assert written == set(section.answer), f"{name} writes {written}, its module declares {set(section.answer)}"


def test_the_answer_is_the_sections_keys() -> None:
    keys = [k for s in SECTIONS for k in s.answer]
    assert len(keys) == len(set(keys))
    assert [k for k in HostAnswer.model_fields if k not in {"schema_id", "errors"}] == keys


def test_the_delivered_script_is_the_parts_joined() -> None:
    assert COLLECT.text == "".join(p.read_text(encoding="utf-8") for p in COLLECT.parts)
    assert COLLECT.text.startswith("# offlineprep host collector") and COLLECT.text.rstrip().endswith("$stdout.Flush()")

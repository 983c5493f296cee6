"""Each fix action kind is one module, registered once: its kind string appears in no other Python
file, every kind has a sample the rendering tests cover and a row in docs/fixes.md, and every kind
apply carries out on a host has its part of apply.ps1 and its simulator behaviour in the lab."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from action_samples import every_action

from offlineprep.actions.kinds import KINDS, kinds_applied
from offlineprep.apply.hosts import apply_script
from offlineprep.lab import apply_twin

ROOT = Path(__file__).resolve().parents[2]


def test_the_registry_knows_every_kind_by_its_own_string() -> None:
    assert KINDS, "no kind registered"
    for kind, cls in KINDS.items():
        assert cls.kind_name() == kind == cls.model_fields["kind"].default
        assert Path(inspect.getfile(cls)).parent == ROOT / "offlineprep" / "actions"


def test_a_kind_string_is_written_only_in_its_own_module() -> None:
    sources = {p: p.read_text(encoding="utf-8") for p in (ROOT / "offlineprep").rglob("*.py")}
    wrong = []
    for kind, cls in KINDS.items():
        home = Path(inspect.getfile(cls))
        for path, text in sources.items():
            if path != home and re.search(rf"[\"']{re.escape(kind)}[\"']", text):
                wrong.append(f"{kind} in {path.relative_to(ROOT)}")
    assert not wrong, "a kind string belongs to its module only (ask the registry or the class): " + ", ".join(wrong)


def test_every_kind_has_a_sample_and_a_row_in_docs_fixes() -> None:
    sampled = {a.kind for a in every_action("x")}
    assert sampled == set(KINDS), f"add to action_samples.every_action: {sorted(set(KINDS) - sampled)}"
    rows = re.findall(r"^\| `([a-z.-]+)` \|", (ROOT / "docs" / "fixes.md").read_text(encoding="utf-8"), re.MULTILINE)
    assert set(KINDS) <= set(rows), f"add a row to docs/fixes.md: {sorted(set(KINDS) - set(rows))}"


def test_every_host_kind_has_its_part_of_apply_ps1_and_of_the_lab() -> None:
    script = apply_script()
    branches = set(re.findall(r"^\s*'([a-z.-]+)' \{ \$null = Invoke-", script, re.MULTILINE))
    assert branches == kinds_applied("host")
    assert set(apply_twin._STEPS) == kinds_applied("host")


def test_every_kind_renders_a_fix_and_says_how_apply_carries_it_out() -> None:
    for action in every_action("x"):
        assert action.fix_lines(), action.kind
        assert action.apply_way in {"ldap", "host"} or action.by_hand(), action.kind

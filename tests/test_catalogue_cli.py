"""`offlineprep checks [ID|GLOB...]`: each check's title, why and Microsoft's documentation, readable at 80
columns (issue 21.8, SPEC §13)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from offlineprep.engine import discover

BUILTIN = discover(include_entry_points=False).checks


def run(*args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "offlineprep", "checks", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": str(columns)}, timeout=60)


def words(text: str) -> str:
    return " ".join(text.split())


def test_one_check_by_id_shows_its_title_why_and_documentation() -> None:
    proc = run("ad.delegation")
    assert proc.returncode == 0, proc.stderr
    spec = next(c for c in BUILTIN if c.id == "ad.delegation")
    flat = words(proc.stdout)
    assert proc.stdout.startswith("ad.delegation (critical; reads directory)\n")
    assert words(spec.title) in flat and f"Why: {words(spec.why)}" in flat
    assert f"Walkthrough step: {words(spec.walkthrough_step)}" in flat
    for doc in spec.docs:
        assert f"- {words(doc.title)}" in flat and f"\n      {doc.url}\n" in proc.stdout
    assert "ad.host-account" not in proc.stdout  # that one only


def test_globs_select_and_the_whole_catalogue_fits_80_columns() -> None:
    proc = run("path.*", "policy.settings")
    shown = [line.split(" ")[0] for line in proc.stdout.splitlines() if line and not line.startswith(" ")]
    assert shown == [c.id for c in BUILTIN if c.id.startswith("path.") or c.id == "policy.settings"]
    everything = run()
    assert everything.returncode == 0
    for text in (proc.stdout, everything.stdout):
        too_long = [line for line in text.splitlines() if len(line) > 80 and not line.strip().startswith("https://")]
        assert not too_long, too_long
    flat = words(everything.stdout)
    for spec in BUILTIN:  # every check, with its why and every link, nothing cut
        assert f"{spec.id} (" in everything.stdout and words(spec.why) in flat
        assert all(doc.url in everything.stdout for doc in spec.docs)


def test_an_unknown_id_is_a_usage_error_with_a_suggestion() -> None:
    proc = run("ad.delegaton", "path.*")
    assert proc.returncode == 2
    assert "no check has the id 'ad.delegaton' (did you mean 'ad.delegation'?)" in proc.stderr, proc.stderr
    assert proc.stdout == ""


def test_json_keeps_working_and_takes_the_ids_too() -> None:
    every = json.loads(run("--json").stdout)["checks"]
    assert [c["id"] for c in every] == [c.id for c in BUILTIN]
    some = json.loads(run("replica.*", "--json").stdout)["checks"]
    assert [c["id"] for c in some] == [c.id for c in BUILTIN if c.id.startswith("replica.")]
    assert all(c["why"] and c["docs"] for c in some)

"""Output paths are checked before anything is asked for or sent, and `-` is standard output (issue 21.7,
SPEC §13): two outputs on one file, a folder, a missing folder or a file where a folder should be are
usage errors (exit 2) naming the option and the path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "offlineprep", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "250"}, timeout=120, cwd=cwd)


def preflight(site_file: Path, facts: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run("preflight", "--config", str(site_file), "--facts", str(facts), *args, cwd=cwd)


def test_two_outputs_to_one_path_are_refused(site_file: Path, healthy_facts: Path, tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    proc = preflight(site_file, healthy_facts, "--json", str(target), "--junit", str(tmp_path / "." / "r.json"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"--json {target} and --junit {tmp_path / '.' / 'r.json'} are the same file" in proc.stderr
    assert not target.exists()


def test_a_folder_as_output_is_refused(site_file: Path, healthy_facts: Path, tmp_path: Path) -> None:
    proc = preflight(site_file, healthy_facts, "--html", ".", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "--html .: is a folder; give a file name in it" in proc.stderr
    assert "OSError" not in proc.stderr and "internal error" not in proc.stderr


def test_a_missing_folder_is_refused_not_created(site_file: Path, healthy_facts: Path, tmp_path: Path) -> None:
    missing = tmp_path / "reports" / "r.md"
    proc = preflight(site_file, healthy_facts, "--markdown", str(missing))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"--markdown {missing}: the folder {missing.parent} does not exist" in proc.stderr
    assert not missing.parent.exists()


def test_a_file_as_a_parent_folder_is_a_usage_error_not_a_bug(site_file: Path, healthy_facts: Path,
                                                              tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("a file")
    inside = tmp_path / "notes.txt" / "deeper" / "fix.ps1"
    proc = preflight(site_file, healthy_facts, "--fix-script", str(inside), "--json", str(tmp_path / "r.json"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"--fix-script {inside}: {tmp_path / 'notes.txt'} is a file, not a folder" in proc.stderr
    assert "FileExistsError" not in proc.stderr and not (tmp_path / "r.json").exists()


def test_every_bad_output_is_named_at_once(site_file: Path, healthy_facts: Path, tmp_path: Path) -> None:
    proc = preflight(site_file, healthy_facts, "--html", str(tmp_path), "--markdown", str(tmp_path / "no" / "s.md"),
                     "--json", "-", "--junit", "-")
    assert proc.returncode == 2
    for option in ("--html", "--markdown", "--json and --junit all write to standard output"):
        assert option in proc.stderr
    # --save-facts is a file written too (checked before the lab starts)
    proc = run("preflight", "--demo", "--save-facts", str(tmp_path / "none" / "f.json"))
    assert proc.returncode == 2 and f"--save-facts {tmp_path / 'none' / 'f.json'}: the folder" in proc.stderr


def test_the_checks_come_before_any_network_traffic(site_file: Path, tmp_path: Path) -> None:
    """No password is asked for and no DC is reached: the site's DC does not exist and no password is set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFLINEPREP_")}
    site_file.write_text(site_file.read_text().replace("ldaps://dc1.contoso.com", "ldaps://dc1.no-such-domain.invalid"))
    proc = subprocess.run([sys.executable, "-m", "offlineprep", "preflight", "--config", str(site_file), "--only",
                           "ad.*", "--json", str(tmp_path / "missing" / "r.json")], capture_output=True, text=True,
                          env=env, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr and "password" not in proc.stderr and "resolve" not in proc.stderr


@pytest.mark.parametrize("fmt", ["json", "markdown", "junit", "fix-script", "html"])
def test_a_dash_writes_to_standard_output_and_the_summary_to_stderr(site_file: Path, healthy_facts: Path,
                                                                    tmp_path: Path, fmt: str) -> None:
    proc = preflight(site_file, healthy_facts, f"--{fmt}", "-", "--json" if fmt != "json" else "--markdown",
                     str(tmp_path / "other"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "-").exists()
    assert "READY" in proc.stderr and "offlineprep preflight" in proc.stderr  # the summary, out of the way
    assert f"{fmt} written to standard output" in proc.stderr
    if fmt == "json":
        assert json.loads(proc.stdout)["verdict"] == "ready"  # stdout is the output alone
    elif fmt == "junit":
        assert proc.stdout.startswith("<?xml")
    elif fmt == "markdown":
        assert proc.stdout.startswith("## offlineprep")
    elif fmt == "html":
        assert proc.stdout.startswith("<!DOCTYPE html>")
    else:
        assert proc.stdout.startswith("\ufeff# offlineprep fix script")


def test_report_and_collect_take_a_dash_too(site_file: Path, healthy_facts: Path, tmp_path: Path) -> None:
    results = tmp_path / "r.json"
    assert preflight(site_file, healthy_facts, "--json", str(results)).returncode == 0
    proc = run("report", str(results), "--json", "-")
    assert proc.returncode == 0 and json.loads(proc.stdout)["verdict"] == "ready"
    assert "READY" in proc.stderr
    proc = run("collect", "--config", str(site_file), "--output", str(tmp_path / "no" / "f.json"))
    assert proc.returncode == 2 and f"--output {tmp_path / 'no' / 'f.json'}: the folder" in proc.stderr

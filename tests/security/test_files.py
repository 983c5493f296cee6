"""Issue 20, items 7 and 8 (files): what offlineprep writes is private, what it reads back is its own,
and hostile JSON is a usage error naming the file (docs/security.md, "Files")."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from offlineprep.errors import UsageError
from offlineprep.privatefile import check_private, write_private

NESTED = "[" * 200_000 + "]" * 200_000


def _offlineprep(*args: str, cwd: Path | None = None, umask: int | None = None) -> subprocess.CompletedProcess[str]:
    def preexec() -> None:
        if umask is not None:
            os.umask(umask)

    return subprocess.run([sys.executable, "-m", "offlineprep", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd, preexec_fn=preexec)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_a_private_file_is_0600_whatever_the_umask_and_whatever_it_replaces(tmp_path: Path,
                                                                           permissive_umask: None) -> None:
    target = tmp_path / "plan.json"
    write_private(target, "{}")
    assert _mode(target) == 0o600
    target.chmod(0o666)  # pre-planted world-writable: before, the rewrite kept 0666
    write_private(target, "{}")
    assert _mode(target) == 0o600
    os.umask(0o777)  # a umask that takes every bit: the file is still its owner's
    write_private(target, "{}")
    assert _mode(target) == 0o600 and target.read_text() == "{}"


def test_a_symlink_in_place_of_an_output_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (tmp_path / "out.json").symlink_to(victim)
    write_private(tmp_path / "out.json", "new")
    assert victim.read_text() == "keep" and not (tmp_path / "out.json").is_symlink()


def test_every_output_of_a_run_is_0600_over_planted_world_writable_files(tmp_path: Path) -> None:
    names = {"--json": "r.json", "--html": "r.html", "--junit": "r.xml", "--markdown": "r.md",
             "--fix-script": "fix.ps1", "--save-facts": "facts.json"}
    for name in names.values():
        (tmp_path / name).write_text("planted")
        (tmp_path / name).chmod(0o666)
    proc = _offlineprep("preflight", "--demo", *[a for k, v in names.items() for a in (k, str(tmp_path / v))],
                        umask=0)
    assert proc.returncode == 1, proc.stderr
    assert {name: _mode(tmp_path / name) for name in names.values()} == {name: 0o600 for name in names.values()}


def test_the_demo_loop_writes_plan_and_record_0600_under_umask_0(tmp_path: Path) -> None:
    proc = _offlineprep("demo", "--apply", "--workdir", str(tmp_path), umask=0)
    # applied; the lab's steps by hand keep the re-check NOT READY (exit 1)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr
    assert _mode(tmp_path / "plan.json") == 0o600 and _mode(tmp_path / "record.json") == 0o600


@pytest.mark.parametrize("command", ["apply", "revert"])
def test_a_plan_or_record_another_user_can_write_is_refused(tmp_path: Path, command: str) -> None:
    document = tmp_path / "doc.json"
    write_private(document, '{"schema": "offlineprep/plan/v1"}')
    document.chmod(0o666)
    proc = _offlineprep(command, str(document), "--demo")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "may be written by other users" in proc.stderr and str(document) in proc.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
@pytest.mark.parametrize("command", ["apply", "revert"])
def test_a_plan_or_record_owned_by_another_user_is_refused(tmp_path: Path, command: str) -> None:
    document = tmp_path / "doc.json"
    write_private(document, '{"schema": "offlineprep/plan/v1"}')
    os.chown(document, 65534, 65534)  # nobody
    proc = _offlineprep(command, str(document), "--demo")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "owned by another user (uid 65534" in proc.stderr and str(document) in proc.stderr


def test_check_private_accepts_the_owners_own_file(tmp_path: Path) -> None:
    write_private(tmp_path / "p.json", "{}")
    check_private(tmp_path / "p.json", "plan")
    (tmp_path / "p.json").chmod(0o620)
    with pytest.raises(UsageError, match="mode 0620"):
        check_private(tmp_path / "p.json", "plan")


# --------------------------------------------------------------------------- hostile JSON (item 8)


@pytest.mark.parametrize("kind", ["plan", "record", "facts", "results", "waivers"])
def test_deeply_nested_input_is_a_usage_error_naming_the_file(tmp_path: Path, site_file: Path, kind: str) -> None:
    hostile = tmp_path / f"hostile-{kind}.json"
    if kind == "waivers":
        write_private(hostile, "waiver = " + NESTED + "\n")
    else:
        write_private(hostile, NESTED)
    args = {
        "plan": ["apply", str(hostile), "--config", str(site_file)],
        "record": ["revert", str(hostile), "--config", str(site_file)],
        "facts": ["preflight", "--config", str(site_file), "--facts", str(hostile)],
        "results": ["report", str(hostile)],
        "waivers": ["preflight", "--config", str(site_file), "--waivers", str(hostile)],
    }[kind]
    proc = _offlineprep(*args)
    assert proc.returncode == 2, proc.stdout + proc.stderr  # before: 4, "internal error: RecursionError"
    assert "internal error" not in proc.stderr and str(hostile) in proc.stderr
    assert "nested too deeply" in proc.stderr


def test_nesting_inside_a_valid_object_is_refused_too(tmp_path: Path) -> None:
    hostile = tmp_path / "results.json"
    write_private(hostile, '{"schema": "offlineprep/results/v1", "findings": ' + NESTED + "}")
    proc = _offlineprep("report", str(hostile))
    assert proc.returncode == 2 and "nested too deeply" in proc.stderr, proc.stderr

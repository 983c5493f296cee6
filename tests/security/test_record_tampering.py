"""A record is a file too (docs/security.md, "Plan and record files"): revert inverts each step by its
type on the state read now, never writes the record's "before" values, takes only a record bound to
the plan it applied, and refuses a record other users can write.

Each test is an attack that succeeded before: the first made revert write a domain controller's
userAccountControl (0x82000: a DC's account trusted for unconstrained delegation) onto a host's
account; the others were reverted without a question.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "apply"))

from apply_lab import Lab, started_lab

from offlineprep.apply import runner
from offlineprep.apply.model import Outcome

HV02 = "CN=HV02,CN=Computers,DC=lab,DC=test"


@pytest.fixture
def lab(tmp_path: Path) -> Any:
    with started_lab(tmp_path) as started:
        yield started


def uac(lab: Lab, dn: str) -> int:
    assert lab.demo.directory is not None and lab.site.primary_directory is not None
    conn = lab.demo.directory.connect(lab.site.primary_directory, lab.password(lab.site.primary_directory.password_env,
                                                                              ""))
    conn.search(dn, "(objectClass=*)", search_scope="BASE", attributes=["userAccountControl"])
    return int(conn.response[0]["attributes"]["userAccountControl"])


def test_a_tampered_record_does_not_make_revert_write_its_before_value(lab: Lab) -> None:
    plan = lab.plan()
    record = lab.apply(plan)
    index = next(i for i, s in enumerate(record.steps) if s.action.kind == "ad.protocol-transition"
                 and s.action.account == "HV02")  # type: ignore[attr-defined]
    assert uac(lab, HV02) == 0x1001000
    # the attacker's "before": a DC's value, unconstrained delegation on
    step = record.steps[index].model_copy(update={"before": {"userAccountControl": 0x82000}})
    tampered = record.model_copy(update={"steps": [*record.steps[:index], step, *record.steps[index + 1:]]})
    back = lab.revert(tampered)
    done = next(s for s in back.steps if s.number == step.number)
    assert done.outcome is Outcome.REVERTED
    assert uac(lab, HV02) == 0x1000  # only the bit apply set is cleared: 0x1001000 -> 0x1000, never 0x82000
    assert runner.revert_exit_code(back) == 0


def test_revert_leaves_alone_an_account_whose_bits_changed_since_apply(lab: Lab) -> None:
    plan = lab.plan()
    record = lab.apply(plan)
    assert lab.demo.directory is not None and lab.site.primary_directory is not None
    from ldap3 import MODIFY_REPLACE

    conn = lab.demo.directory.connect(lab.site.primary_directory, lab.password(lab.site.primary_directory.password_env,
                                                                              ""))
    conn.modify(HV02, {"userAccountControl": [(MODIFY_REPLACE, ["4096"])]})  # someone cleared it by hand
    back = lab.revert(record)
    step = next(s for s in back.steps if s.action.kind == "ad.protocol-transition"
                and s.action.account == "HV02")  # type: ignore[attr-defined]
    assert step.outcome is Outcome.AS_BEFORE and uac(lab, HV02) == 0x1000


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "offlineprep", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "250"}, timeout=240)


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A record of the demo's loop, with its plan (each test edits a copy)."""
    folder = tmp_path_factory.mktemp("loop")
    proc = run("demo", "--apply", "--workdir", str(folder))
    # applied; the lab's steps by hand keep the re-check NOT READY (exit 1)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    return folder


def _copy(applied: Path, tmp_path: Path) -> tuple[Path, Path]:
    tmp_path.chmod(0o700)
    record, plan = tmp_path / "record.json", tmp_path / "plan.json"
    data = json.loads((applied / "record.json").read_text())
    plan.write_text((applied / "plan.json").read_text())
    data["plan_file"] = str(plan)
    record.write_text(json.dumps(data))
    record.chmod(0o600)
    return record, plan


def test_a_record_others_may_write_is_refused(applied: Path, tmp_path: Path) -> None:
    record, _ = _copy(applied, tmp_path)
    record.chmod(0o666)
    proc = run("revert", str(record), "--demo")
    assert proc.returncode == 2 and "may be written by other users" in proc.stderr, proc.stdout + proc.stderr


def test_a_record_with_a_step_its_plan_does_not_hold_is_refused(applied: Path, tmp_path: Path) -> None:
    record, _ = _copy(applied, tmp_path)
    data = json.loads(record.read_text())
    share = next(s for s in data["steps"] if s["action"]["kind"] == "host.share-rights")
    share["action"] = {"kind": "host.create-share", "owner": {"kind": "file-server", "name": "fs01.lab.test"},
                       "share": "SYSVOL", "local_path": "C:\\Windows\\SYSVOL\\sysvol"}
    record.write_text(json.dumps(data))
    proc = run("revert", str(record), "--demo")
    assert proc.returncode == 2 and "the record was edited" in proc.stderr, proc.stdout + proc.stderr


def test_a_record_whose_plan_changed_is_refused(applied: Path, tmp_path: Path) -> None:
    record, plan = _copy(applied, tmp_path)
    plan.write_text(plan.read_text().replace('"fail_on": "fail"', '"fail_on": "warn"'))
    proc = run("revert", str(record), "--demo")
    assert proc.returncode == 2 and "the record or the plan was edited" in proc.stderr, proc.stdout + proc.stderr


def test_the_record_of_an_untampered_loop_is_accepted(applied: Path, tmp_path: Path) -> None:
    record, _ = _copy(applied, tmp_path)
    proc = run("revert", str(record), "--demo")  # the dry run: accepted, nothing changed
    assert proc.returncode == 0 and "Dry run" in proc.stdout, proc.stdout + proc.stderr

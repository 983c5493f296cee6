"""The terminal tells what to do (issue 21.6, SPEC §13): each blocking finding's fix in one line (what, where
it runs, as whom) and where every fix is in full; waived findings listed with their justification and end
date; every missing password named in one run; bad option values in the tool's own words."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "offlineprep", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "400", **(env or {})}, timeout=180, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def demo_facts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    facts = tmp_path_factory.mktemp("demo") / "facts.json"
    assert run("preflight", "--demo", "--save-facts", str(facts)).returncode == 1
    return facts


def failures(stdout: str) -> list[str]:
    block = stdout[stdout.index("Failures ("):]
    return block.splitlines()[1:block.splitlines().index(next(line for line in block.splitlines()[1:]
                                                               if not line.startswith("  ")))]


def test_each_blocking_finding_has_its_fix_in_one_line(demo_facts: Path) -> None:
    proc = run("preflight", "--demo", "--facts", str(demo_facts))
    assert proc.returncode == 1
    lines = failures(proc.stdout)
    blocking = int(re.search(r"; (\d+) blocking under --fail-on fail", proc.stdout).group(1))  # type: ignore[union-attr]
    assert blocking >= 12 and len(lines) == 2 * blocking  # each FAIL line, then its fix
    for finding, fix in zip(lines[::2], lines[1::2], strict=True):
        assert finding.startswith("  FAIL  ") and fix.startswith("        fix: ") and " — " in fix, (finding, fix)
    assert ("        fix: Start the Virtual Machine Management service (vmms) on hv11.lab.test — on hv11.lab.test "
            "over WinRM; rights: Administrators on the machine") in lines
    delegation = next(line for line in lines if "fix: Trust HV01 for delegation" in line)
    assert "— in AD through dc1.lab.test; rights: a Domain Admin" in delegation and delegation.endswith("(+1 more step)")
    assert "        fix: Move \\\\fs11.lab.test\\ASRImport to a file server that is not a Hyper-V host — by hand on " \
           "fs11.lab.test" in lines
    hint = "Every fix in full, with its revert: --fix-script FILE (PowerShell, never run by offlineprep) or --html FILE"
    out = proc.stdout.splitlines()
    start = next(i for i, line in enumerate(out) if line.startswith("Failures ("))
    assert out[start + 1 + len(lines)] == hint  # right under the list (fix lines repeat: count, do not search)


def test_waived_findings_are_listed_with_justification_and_expiry(demo_facts: Path, tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.toml"
    waivers.write_text('[[waiver]]\ncheck = "host.hyperv-ready"\nsubject = "hv11.lab.test"\n'
                       'justification = "vmms starts after the maintenance window"\nexpires = 2099-01-31\n')
    proc = run("preflight", "--demo", "--facts", str(demo_facts), "--waivers", str(waivers))
    assert proc.returncode == 1
    block = proc.stdout[proc.stdout.index("Waived (1, not counted for the verdict):"):].splitlines()
    assert block[1].startswith("  FAIL  host.hyperv-ready hv11.lab.test: the Virtual Machine Management service")
    assert block[2] == "        waived until 2099-01-31: vmms starts after the maintenance window"
    # not among the failures (replica.connection's failure to hv11 may still point at it: "see host.hyperv-ready")
    assert not [line for line in failures(proc.stdout) if line.startswith("  FAIL  host.hyperv-ready")]


def test_every_missing_password_is_named_in_one_run(site_file: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_PASSWORD")}
    proc = subprocess.run([sys.executable, "-m", "offlineprep", "preflight", "--config", str(site_file)],
                          capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert ("2 passwords are missing: LDAP (set OFFLINEPREP_LDAP_PASSWORD), WinRM (set OFFLINEPREP_WINRM_PASSWORD); "
            "set these environment variables, or run in a terminal to be prompted") in proc.stderr, proc.stderr


@pytest.mark.parametrize(("args", "said"), [
    (["--fail-on", "warnings"], "--fail-on 'warnings' is not one of fail, error, warn, never (did you mean 'warn'?)"),
    (["--fail-on", "Nevr"], "--fail-on 'Nevr' is not one of fail, error, warn, never (did you mean 'never'?)"),
    (["--concurrency", "x"], "--concurrency 'x': a whole number is expected"),
    (["--concurrency", "0"], "--concurrency '0': the least it takes is 1"),
    (["--timeout", "soon"], "--timeout 'soon': a number is expected"),
])
def test_a_bad_option_value_is_said_in_the_tools_words(args: list[str], said: str) -> None:
    proc = run("preflight", "--demo", *args)
    assert proc.returncode == 2
    assert proc.stderr == f"offlineprep: usage: {said}\n"
    assert not re.search(r"Value error|Input should be", proc.stderr)


def test_plan_says_the_values_it_takes() -> None:
    proc = run("plan", "--demo", "--output", "unused.json", "--fail-on", "error")
    assert proc.stderr == "offlineprep: usage: --fail-on 'error' is not one of fail, warn\n"

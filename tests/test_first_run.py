"""A new user's first run: the README's install line, `offlineprep init`, then `offlineprep preflight`.

Issue 21 item 10: the install line and init's template must agree, so the first preflight after init
gets past the local check (offlineprep/localcheck.py) or names the one command that fixes it. Before,
the template chose WinRM over Kerberos, which `pip install .` does not install: the first run stopped
with "needs pywinrm's Kerberos extra", and its advice, `pip install 'offlineprep[kerberos]'`, would have
fetched offlineprep from a package index instead of the folder the user installed from.

The install is real (a wheel built from this folder, installed into a fresh venv, run through its own
`offlineprep` script), without a package index: the venv finds the dependencies in this test run's
site-packages through a .pth file, so the test needs no network.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from offlineprep.example import EXAMPLE_SITE
from offlineprep.sitefile import parse_site

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def install_line() -> str:
    """The first `pip install` line of the README's "Use" section, the one a new user copies."""
    use = README[README.index("\n## Use\n"):]
    return next(line for line in use.splitlines() if line.startswith("pip install")).split("#")[0].strip()


def extras_needed(site_text: str) -> set[str]:
    site = parse_site(site_text)
    needed = {"kerberos"} if any(d.auth == "kerberos" for d in site.directories) else set()
    if site.winrm is not None and site.winrm.transport in ("kerberos", "credssp"):
        needed.add(site.winrm.transport)
    return needed


def test_the_install_line_installs_what_the_template_uses() -> None:
    line = install_line()
    installed = set(re.findall(r"[\w-]+", line[line.index("[") + 1:])) if "[" in line else set()
    assert extras_needed(EXAMPLE_SITE) <= installed, (line, extras_needed(EXAMPLE_SITE))
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    assert installed <= extras


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("newuser") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # the dependencies (and hatchling, to build) from this run's environment: no package index needed
    (Path(purelib) / "_deps_of_this_test_run.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                           "--no-build-isolation", "--no-index", "-q", str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return venv


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFLINEPREP_") and k not in ("VIRTUAL_ENV",)}
    return env | {"COLUMNS": "200"} | extra


@pytest.mark.slow
def test_init_then_preflight_gets_past_the_local_check(fresh_venv: Path, tmp_path: Path) -> None:
    offlineprep = fresh_venv / "bin" / "offlineprep"
    where = subprocess.run([str(fresh_venv / "bin" / "python"), "-c", "import offlineprep; print(offlineprep.__file__)"],
                           capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert where.startswith(str(fresh_venv)), where  # the installed copy, not this checkout
    init = subprocess.run([str(offlineprep), "init", "site.toml"], cwd=tmp_path, capture_output=True, text=True,
                          env=clean_env(), timeout=120)
    assert init.returncode == 0, init.stdout + init.stderr
    assert (tmp_path / "site.toml").read_text() == EXAMPLE_SITE
    run = subprocess.run([str(offlineprep), "preflight", "--config", "site.toml"], cwd=tmp_path, capture_output=True,
                         text=True, env=clean_env(), stdin=subprocess.DEVNULL, timeout=120)
    said = run.stdout + run.stderr
    assert "not ready to run the checks" not in said, said  # the local check passed
    # what stops it is the next thing a new user has to give: the password, named by its variable
    assert run.returncode == 2 and "OFFLINEPREP_LDAP_PASSWORD" in said, said
    assert "Traceback" not in said


@pytest.mark.slow
def test_a_kerberos_extra_is_asked_for_from_the_folder_installed_from(fresh_venv: Path) -> None:
    """Switching the template to Kerberos: the local check's command adds the extra to this install."""
    proc = subprocess.run([str(fresh_venv / "bin" / "python"), "-c",
                           "from offlineprep.localcheck import install_extra; print(install_extra('kerberos'))"],
                          capture_output=True, text=True, check=True, env=clean_env(), cwd=fresh_venv)
    assert proc.stdout.strip() == f"pip install {shlex.quote(str(ROOT) + '[kerberos]')}"


def test_the_first_screen_says_what_was_verified_against_what() -> None:
    first = README[:README.index("\n## Two commands")]
    for needle in ("Samba", "KDC", "access check", "simulator", "Chromium", "docs/host-unverified.md",
                   "never run on a real Windows"):
        assert needle in first, needle
    assert "bash scripts/demo.sh" in README and "bash scripts/test.sh" in README  # the house's two commands
    assert "docs/pipelines.md" in README

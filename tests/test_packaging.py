"""A plain, non-editable `pip install` of the wheel into a fresh venv gives a working offlineprep."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.mark.slow
def test_wheel_installs_and_runs_with_bundled_checks_and_templates(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
                    str(ROOT)], check=True, capture_output=True, timeout=300)
    wheel = next(dist.glob("offlineprep-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "offlineprep/_bundled/checks/ad_delegation.py" in names
    assert "offlineprep/_bundled/templates/report.html.j2" in names
    from offlineprep.winrm.scripts import FOLDER, SCRIPTS

    for shipped in SCRIPTS.values():  # every script of the registry travels in the wheel, each part of it
        for part in shipped.parts:
            assert f"offlineprep/winrm/scripts/{part.relative_to(FOLDER).as_posix()}" in names
    assert not any(n.startswith("checks/") for n in names)  # no generic top-level package
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=False)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True, capture_output=True,
                   timeout=600)
    exe = env_dir / "bin" / "offlineprep"
    catalogue = subprocess.run([str(exe), "checks", "--json"], capture_output=True, text=True, timeout=60)
    assert catalogue.returncode == 0 and '"ad.delegation"' in catalogue.stdout
    assert "_bundled" in catalogue.stdout  # the checks came from inside the wheel
    assert subprocess.run([str(exe), "init", str(tmp_path / "site.toml")], timeout=60).returncode == 0
    demo = subprocess.run([str(exe), "preflight", "--demo", "--html", str(tmp_path / "r.html")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert demo.returncode == 1, demo.stderr
    assert "NOT READY" in (tmp_path / "r.html").read_text()

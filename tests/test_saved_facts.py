"""A run from saved facts (`preflight --facts`): every output says so, a site file the facts do not
match is refused, and a results file given as facts is named as such (issue 21.3, SPEC §13)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import builders

from offlineprep.inventory import site_inventory
from offlineprep.sitefile import load_site

COLLECTED = datetime(2026, 11, 30, 9, 41, tzinfo=UTC)
SAID = "from facts collected at 2026-11-30 09:41 UTC by offlineprep 0.0.7"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "offlineprep", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "250"}, timeout=120, cwd=cwd)


def saved_facts(tmp_path: Path, site_file: Path, name: str = "facts.json") -> Path:
    """Facts as `collect` writes them (offlineprep/facts/v2, with the inventory of `site_file`)."""
    facts = builders.facts()
    facts.tool.version = "0.0.7"
    facts.collected_at = COLLECTED
    facts.inventory = site_inventory(load_site(site_file))
    path = tmp_path / name
    path.write_text(facts.to_json())
    return path


def test_every_output_says_the_run_came_from_saved_facts(site_file: Path, tmp_path: Path) -> None:
    facts = saved_facts(tmp_path, site_file)
    paths = {fmt: tmp_path / f"out.{fmt}" for fmt in ("html", "json", "junit", "markdown", "fix-script")}
    args = [a for fmt, p in paths.items() for a in (f"--{fmt}", str(p))]
    proc = run("preflight", "--config", str(site_file), "--facts", str(facts), *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    said = f"{SAID} ({facts})"
    assert f"Judged {said}" in proc.stdout
    assert f"Judged {said}." in paths["html"].read_text()
    assert f"> Judged {said}." in paths["markdown"].read_text().replace("\\", "")
    assert f"Judged {said}." in paths["fix-script"].read_text(encoding="utf-8-sig")
    props = {p.get("name"): p.get("value") for p in ET.parse(paths["junit"]).getroot().iter("property")}
    assert props["facts_from"] == f"judged {said}"
    data = json.loads(paths["json"].read_text())
    assert data["facts_from"] == {"file": str(facts), "collected_at": "2026-11-30T09:41:00Z", "version": "0.0.7"}
    again = run("report", str(paths["json"]), "--markdown", str(tmp_path / "again.md"))
    assert f"Judged {said}" in again.stdout  # a report of those results still says it
    assert f"> Judged {said}." in (tmp_path / "again.md").read_text().replace("\\", "")


def test_a_live_run_says_nothing_of_saved_facts(tmp_path: Path) -> None:
    proc = run("preflight", "--demo", "--json", str(tmp_path / "r.json"), "--only", "policy.same-host-os")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Judged from facts" not in proc.stdout
    assert "facts_from" not in json.loads((tmp_path / "r.json").read_text())


def test_a_site_file_naming_hosts_or_paths_the_facts_do_not_hold_is_refused(site_file: Path, tmp_path: Path) -> None:
    facts = saved_facts(tmp_path, site_file)
    other = tmp_path / "other.toml"  # another site: a host and both paths of its own, hv02 left out
    other.write_text(site_file.read_text().replace('hosts = ["hv01.contoso.com", "hv02"]',
                                                   'hosts = ["hv01.contoso.com", "hv05.contoso.com"]')
                     .replace(r"\\fs01.contoso.com\ASRExport", r"\\fs05.contoso.com\Export")
                     .replace(r"\\fs11.contoso.com\ASRImport", r"\\fs15.contoso.com\Import"))
    proc = run("preflight", "--config", str(other), "--facts", str(facts), "--json", str(tmp_path / "r.json"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{facts} does not hold what the site file {other} names" in proc.stderr
    for line in ("host hv05.contoso.com", r"export path \\fs05.contoso.com\Export",
                 r"import path \\fs15.contoso.com\Import", "host hv02 (in the facts, not in the site file)"):
        assert f"\n  {line}" in proc.stderr, proc.stderr  # all of them, at once
    assert "hv01.contoso.com" not in proc.stderr  # held: not listed
    assert not (tmp_path / "r.json").exists()


def test_the_same_site_written_otherwise_is_not_refused(site_file: Path, tmp_path: Path) -> None:
    facts = saved_facts(tmp_path, site_file)
    same = tmp_path / "same.toml"  # names differ in case only, as Windows names do
    same.write_text(site_file.read_text().replace("hv01.contoso.com", "HV01.Contoso.com")
                    .replace(r"\\fs01.contoso.com\ASRExport", r"\\FS01.contoso.com\asrexport"))
    proc = run("preflight", "--config", str(same), "--facts", str(facts))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_results_file_given_as_facts_is_named_as_such(site_file: Path, healthy_facts: Path, tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    assert run("preflight", "--config", str(site_file), "--facts", str(healthy_facts), "--json",
               str(results)).returncode == 0
    proc = run("preflight", "--config", str(site_file), "--facts", str(results))
    assert proc.returncode == 2
    assert (f"{results}: this is a results file (offlineprep/results/v1), not an offlineprep facts file: give the file "
            "`offlineprep collect --config SITE.toml --output FACTS.json` wrote") in proc.stderr, proc.stderr
    assert "not supported" not in proc.stderr and "version" not in proc.stderr
    facts_as_results = run("report", str(healthy_facts))
    assert facts_as_results.returncode == 2
    said = f"{healthy_facts}: this is a facts file (offlineprep/facts/v2), not an offlineprep results file"
    assert said in facts_as_results.stderr

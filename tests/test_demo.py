"""The demo runs the real pipeline: ldap3 and pywinrm against the built-in lab, every check; `offlineprep
demo` is a command of the command line, and the lab's wiring imports no command."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from test_demo_golden import GOLDEN, normalised

from offlineprep.engine import discover


def test_demo_runs_every_check_with_the_real_collectors(tmp_path: Path) -> None:
    outs = {f: tmp_path / f"demo.{f}" for f in ("html", "json", "junit", "markdown", "fix-script")}
    args = [a for f, p in outs.items() for a in (f"--{f}", str(p))]
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "offlineprep", "preflight", "--demo", *args],
                          capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - started
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert elapsed < 30
    assert all(p.exists() and p.stat().st_size > 0 for p in outs.values())
    results = json.loads(outs["json"].read_text())
    checks = {f["check"] for f in results["findings"]}
    assert checks == {c.id for c in discover(include_entry_points=False).checks}
    assert results["statistics"]["ldap_searches"] >= 3
    # discovery: one PowerShell on VMM, one on the cluster's name; then one per machine (5 hosts, 2 file servers)
    assert results["statistics"]["powershell_commands"] == 9
    assert results["statistics"]["discovery_powershell_commands"] == 2
    assert results["topology"]["source_hosts"] == ["hv01.lab.test", "hv02.lab.test", "hvc1-n1.lab.test",
                                                   "hvc1-n2.lab.test"]  # VMM's cloud Gold, the cluster's nodes
    statuses = {(f["check"], f["subject"], f.get("target") or f.get("account") or ""): f["status"]
                for f in results["findings"]}
    assert statuses[("ad.delegation", "hv02.lab.test", "fs01.lab.test")] == "fail"  # no protocol transition
    assert statuses[("ad.delegation", "hv01.lab.test", "fs11.lab.test")] == "fail"  # cifs/ FQDN missing
    assert statuses[("path.share-full-control", r"\\fs01.lab.test\ASRExport", "LAB\\svc-vmm")] == "fail"
    assert statuses[("path.runas-read-write", r"\\fs11.lab.test\ASRImport", "LAB\\svc-runas")] == "fail"
    assert statuses[("path.not-on-hyperv-host", r"\\fs11.lab.test\ASRImport", "")] == "fail"
    assert statuses[("policy.settings", "Gold-Offline", "")] == "fail"
    # the prerequisites the walkthrough leaves out (issue 13)
    assert statuses[("host.clock-skew", "hv02.lab.test", "")] == "fail"  # 7 minutes ahead
    assert statuses[("host.path-reachable", "hv01.lab.test", "fs01.lab.test")] == "fail"  # stale DNS record
    assert statuses[("host.hyperv-ready", "hv11.lab.test", "")] == "fail"  # vmms stopped
    assert statuses[("host.path-reachable", "hv02.lab.test", "fs01.lab.test")] == "pass"
    assert statuses[("replica.server", "hv11.lab.test", "")] == "skip"  # Site Recovery configures it
    # the site file names the VMM, not the hosts: the cluster's nodes come from VMM and the cluster itself
    assert statuses[("ad.delegation", "hvc1-n1.lab.test", "fs11.lab.test")] == "pass"
    assert statuses[("ad.delegation", "hvc1-n2.lab.test", "fs11.lab.test")] == "fail"  # set on one node only
    assert statuses[("inventory.sources", "vmm01.lab.test", "")] == "pass"
    assert statuses[("inventory.sources", "HVC1.lab.test", "")] == "pass"
    # the export path is on a clustered file server role (issue 19): its own object FS01$ holds HOST/fs01, no fix
    cap = next(f for f in results["findings"] if f["check"] == "ad.delegation-target" and f["subject"] == "fs01.lab.test")
    assert cap["status"] == "pass" and not cap.get("remediation") and cap["evidence"]["cluster"] == "FSC1", cap
    node = next(f for f in results["findings"] if f["check"] == "ad.delegation" and f["subject"] == "hvc1-n2.lab.test")
    assert node["evidence"]["cluster"] == "HVC1.lab.test"
    assert "pass" in statuses.values() and "warn" in statuses.values()
    page = outs["html"].read_text()
    for check_id in ("host.clock-skew", "host.path-reachable", "host.hyperv-ready"):  # grouped like every check
        assert page.count(f'<section class="check" id="blocking-{check_id}" data-check="{check_id}">') == 1, check_id
    for check_id in checks:
        assert check_id in proc.stdout  # the terminal table shows every check


def test_the_demo_command_without_apply_is_the_read_only_preflight(tmp_path: Path) -> None:
    """`offlineprep demo` prints what `preflight --demo` prints (the golden recording) and exits as it does."""
    proc = subprocess.run([sys.executable, "-m", "offlineprep", "demo"], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "COLUMNS": "120"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    recorded = (GOLDEN / "terminal.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    # the recording's run also wrote its reports
    assert normalised(proc.stdout, tmp_path) == "".join(line for line in recorded if " written to <dir>/" not in line)


def test_revert_without_apply_is_a_usage_error() -> None:
    proc = subprocess.run([sys.executable, "-m", "offlineprep", "demo", "--revert"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "give --apply --revert" in proc.stderr, proc.stderr


def test_the_lab_wiring_imports_no_command() -> None:
    """demo.py builds the lab; the loop that drives the commands is the command line's: no import circle."""
    source = (Path(__file__).parents[1] / "offlineprep" / "demo.py").read_text()
    imported = {node.module for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ImportFrom)}
    assert not {m for m in imported if m and m.startswith(("offlineprep.cli", "offlineprep.terminal",
                                                           "offlineprep.prompts"))}
    assert "argparse" not in source and "sys.argv" not in source

"""The demo runs the real pipeline: ldap3 and pywinrm against the built-in lab, every check."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

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
    node = next(f for f in results["findings"] if f["check"] == "ad.delegation" and f["subject"] == "hvc1-n2.lab.test")
    assert node["evidence"]["cluster"] == "HVC1.lab.test"
    assert "pass" in statuses.values() and "warn" in statuses.values()
    page = outs["html"].read_text()
    for check_id in ("host.clock-skew", "host.path-reachable", "host.hyperv-ready"):  # grouped like every check
        assert page.count(f'<section class="check" id="blocking-{check_id}" data-check="{check_id}">') == 1, check_id
    for check_id in checks:
        assert check_id in proc.stdout  # the terminal table shows every check

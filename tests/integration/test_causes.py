"""A stopped domain controller is one cause, shown once, with the number of checks it left unevaluated.

The real Samba AD DC is stopped in its tracks (SIGSTOP: the kernel still accepts TCP on 636, nothing
answers), the CLI runs every ad.* check against it, and each output a person reads shows the cause
once: the terminal in one line, the HTML in one block, the Markdown in one row. The JSON keeps every
finding, each with the cause as data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from samba import ADMIN_PASSWORD, SambaDC

from offlineprep.engine import discover


def write_site(folder: Path, dc: SambaDC) -> Path:
    site = folder / "site.toml"
    site.write_text(
        f'[directory]\nserver = "{dc.url}"\nuser = "Administrator@lab.test"\nca_file = \'{dc.ca_file}\'\n'
        "timeout_seconds = 3\n"
        '[accounts]\nvmm_service = "LAB\\\\svc-vmm"\nrun_as = ["LAB\\\\svc-runas"]\n'
        '[source]\nhosts = ["hv01.lab.test", "hv02.lab.test"]\nexport_path = \'\\\\fs01.lab.test\\ASRExport\'\n'
        '[target]\nhosts = ["hv11.lab.test"]\nimport_path = \'\\\\fs11.lab.test\\ASRImport\'\n'
    )
    return site


def test_a_stopped_dc_is_one_cause_in_every_output(samba_dc: SambaDC, tmp_path: Path) -> None:
    site = write_site(tmp_path, samba_dc)
    outputs = {fmt: tmp_path / f"out.{fmt}" for fmt in ("html", "json", "markdown")}
    args = [a for fmt, path in outputs.items() for a in (f"--{fmt}", str(path))]
    samba_dc.pause()
    try:
        proc = subprocess.run([sys.executable, "-m", "offlineprep", "preflight", "--config", str(site), "--only", "ad.*",
                               *args], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "OFFLINEPREP_LDAP_PASSWORD": ADMIN_PASSWORD, "COLUMNS": "250"})
    finally:
        samba_dc.resume()
    assert proc.returncode == 3, proc.stdout + proc.stderr
    cause = "dc1.lab.test accepted the connection on port 636 but did not answer within 3 s (the DC is hung or overloaded)"
    findings = json.loads(outputs["json"].read_text())["findings"]
    assert len(findings) >= 9 and all(f["status"] == "error" for f in findings)
    assert {(f["cause"]["origin"], f["cause"]["machine"], f["cause"]["kind"], f["cause"]["text"]) for f in findings} \
        == {("directory", "dc1.lab.test", "timeout", cause)}
    checks = len({f["check"] for f in findings})  # checks counted as checks, findings as findings (issue 21.5)
    headline = f"{cause} — {checks} checks not evaluated ({len(findings)} findings)"

    error_lines = [line for line in proc.stdout.splitlines() if "ERROR" in line]
    assert len(error_lines) == 1 and headline in error_lines[0], proc.stdout
    assert "ad.account-delegable, ad.delegation, ad.delegation-target, ad.host-account, ad.replicated" in error_lines[0]
    verdict = proc.stdout.strip().splitlines()[-1]
    known = len(discover(include_entry_points=False).checks)
    assert verdict.startswith(f"INCOMPLETE (partial: 5 of {known} checks): {len(findings)} findings of 5 checks: "
                              f"0 pass, 0 fail, 0 warn, {len(findings)} error")

    rows = [line for line in outputs["markdown"].read_text().splitlines() if line.startswith("| error")]
    assert len(rows) == 1 and headline in rows[0]
    page = outputs["html"].read_text()
    assert page.count('<article class="cause"') == 1 and page.count(headline) >= 1
    assert '<article class="finding"' not in page
    assert "Password" not in page and ADMIN_PASSWORD not in page + proc.stdout + proc.stderr

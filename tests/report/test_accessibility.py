"""axe-core, the accessibility engine browsers' developer tools use, finds no violation in the report.

axe is injected over the DevTools protocol after the page loaded, so the report keeps its strict
Content-Security-Policy (DevTools evaluation is not subject to it). scripts/setup.sh installs
axe-core with npm into .venv/node_modules (or set AXE_CORE_JS to an axe.min.js).
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest
from browser import DevTools
from test_report import demo_like_results

from offlineprep.model import Cause, Status, WaiverEntry
from offlineprep.pipeline import summarise, verdict_of
from offlineprep.render import html

ROOT = Path(__file__).parents[2]


def axe_source() -> str:
    path = Path(os.environ.get("AXE_CORE_JS") or ROOT / ".venv" / "node_modules" / "axe-core" / "axe.min.js")
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"axe-core is required in CI: {path} is missing (scripts/setup.sh installs it with npm)")
        pytest.skip(f"axe-core is not installed at {path} (bash scripts/setup.sh installs it)")
    return path.read_text(encoding="utf-8")


def every_part_of_the_page() -> object:
    """The demo-like results plus what else the page can show: a cause, a waived finding, warnings."""
    results = demo_like_results()
    findings = list(results.findings)
    cause = Cause(origin="directory", machine="dc1.contoso.com", kind="unreachable",
                  text="dc1.contoso.com does not resolve in DNS (from this machine)")
    base = findings[0]
    findings += [base.model_copy(update={"check": "ad.host-account", "subject": f"hv{i}.contoso.com",
                                         "status": Status.ERROR, "message": cause.text, "cause": cause,
                                         "remediation": None}) for i in range(40)]
    accepted = WaiverEntry(check="ad.*", subject="*", justification="accepted", expires=date(2030, 1, 1))
    findings.append(base.model_copy(update={"status": Status.FAIL, "subject": "waived.contoso.com", "waived": True,
                                            "waiver": accepted}))
    return results.model_copy(update={"findings": findings, "summary": summarise(findings),
                                      "verdict": verdict_of(findings)})


@pytest.mark.browser
def test_axe_finds_no_violation_on_screen_or_in_print(tmp_path: Path) -> None:
    source = axe_source()
    page = tmp_path / "report.html"
    html.write(every_part_of_the_page(), page)  # type: ignore[arg-type]
    with DevTools() as browser:
        browser.open(page)
        browser.evaluate(source)
        # the rows rendered on demand are part of the page too: show some before asking axe
        browser.evaluate("document.querySelectorAll('button.show-rows')[0].click()")
        for media in ("", "print"):
            browser.media(media)
            report = browser.evaluate("axe.run(document, {resultTypes: ['violations']})"
                                      ".then(function (r) { return JSON.stringify(r.violations); })")
            violations = json.loads(report)
            described = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:5]) for v in violations]
            assert violations == [], f"media {media or 'screen'}: {described}"
        assert browser.console == [], browser.console

"""A facts file of offlineprep/facts/v1 (tests/fixtures/facts_v1, written by the demo on 8a1af47)
is still read and evaluates to the same findings."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from offlineprep.engine import discover
from offlineprep.facts import Facts
from offlineprep.pipeline import RunOptions, build_results
from offlineprep.site import Site

FIXTURES = Path(__file__).parent / "fixtures" / "facts_v1"


def _findings(facts: Facts) -> list[list[object]]:
    site = Site.model_validate(json.loads((FIXTURES / "demo-site.json").read_text()))
    results = build_results(site, discover(include_entry_points=False).checks, facts, RunOptions(today=date(2026, 1, 1)))
    return sorted([f.check, f.subject, f.target, f.account, f.status.value] for f in results.findings)


def test_the_v1_demo_facts_file_is_read() -> None:
    text = (FIXTURES / "demo-facts.json").read_text()
    assert json.loads(text)["schema"] == "offlineprep/facts/v1"
    facts = Facts.from_json(text)
    assert facts.directory is not None and facts.hosts is not None
    assert len(facts.hosts) == 5


def test_the_v1_demo_facts_evaluate_to_the_findings_recorded_when_they_were_written() -> None:
    facts = Facts.from_json((FIXTURES / "demo-facts.json").read_text())
    expected = json.loads((FIXTURES / "demo-findings-8a1af47.json").read_text())
    assert _findings(facts) == expected

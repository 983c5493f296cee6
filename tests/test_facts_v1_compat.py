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


def _findings(facts: Facts, only: set[str] | None = None) -> list[list[object]]:
    """The findings of the built-in checks (`only`: those ids) on these facts."""
    site = Site.model_validate(json.loads((FIXTURES / "demo-site.json").read_text()))
    checks = [c for c in discover(include_entry_points=False).checks if only is None or c.id in only]
    results = build_results(site, checks, facts, RunOptions(today=date(2026, 1, 1)))
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
    then = {row[0] for row in expected}  # the checks of that commit (each gave findings); later ones judge too
    assert len(then) == 15
    assert _findings(facts, then) == expected
    assert {row[0] for row in _findings(facts)} > then  # the checks added since (issue 13 ...) run on v1 facts


def test_a_v1_file_is_upgraded_in_memory_to_v2() -> None:
    facts = Facts.from_json((FIXTURES / "demo-facts.json").read_text())
    assert facts.schema_id == "offlineprep/facts/v2"
    assert facts.directories is not None and list(facts.directories) == ["lab.test"]
    assert facts.directory is facts.directories["lab.test"] and facts.directory_for("LAB.TEST.") is facts.directory
    assert facts.inventory is None  # v1 carried none: the site file's lists are judged
    written = json.loads(facts.to_json())
    assert written["schema"] == "offlineprep/facts/v2" and "directory" not in written and "directories" in written


def test_v2_carries_the_inventory_and_every_domain() -> None:
    from offlineprep.facts import DirectoryFacts, ToolStamp
    from offlineprep.inventory import site_inventory

    site = Site.model_validate(json.loads((FIXTURES / "demo-site.json").read_text()))
    facts = Facts(tool=ToolStamp(version="t"), inventory=site_inventory(site))
    facts.add_directory(DirectoryFacts(server="ldaps://dc1.lab.test", domain_dns_name="lab.test"))
    facts.add_directory(DirectoryFacts(server="ldaps://dc2.fabrikam.test", domain_dns_name="Fabrikam.Test"))
    again = Facts.from_json(facts.to_json())
    assert again.inventory == facts.inventory and again.inventory is not None
    assert again.inventory.source_hosts == ["hv01.lab.test", "hv02.lab.test"]
    assert list(again.directories or {}) == ["lab.test", "fabrikam.test"]
    assert again.directory_for("fabrikam.test") is not None and again.directory is not None
    assert again.directory.domain_dns_name == "lab.test"


def test_a_file_with_both_shapes_is_refused() -> None:
    import pytest
    from pydantic import ValidationError

    data = json.loads((FIXTURES / "demo-facts.json").read_text())
    data["directories"] = {}
    with pytest.raises(ValidationError, match="either directory"):
        Facts.model_validate(data)

"""A warning (and a failure under `--fail-on never`) is visible in a CI test tab under every --fail-on.

Before issue 21, a warning below --fail-on was a passing JUnit case: Azure's Tests tab, dorny's and
mikepenz's reports counted it as passed and nothing showed it. `azure_outcome` is the mapping Microsoft
documents for PublishTestResults@2 with JUnit ("Result formats mapping": Failed if the case holds
failure or error, Not Executed if it holds skipped, Passed otherwise;
https://learn.microsoft.com/azure/devops/pipelines/tasks/reference/publish-test-results-v2).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import builders
import pytest

from offlineprep import pipeline
from offlineprep.engine import discover
from offlineprep.model import Results, Status, blocks
from offlineprep.render import junit

BUILTIN = discover(include_entry_points=False)


def results_with_a_warning_and_a_failure() -> Results:
    facts = builders.facts()
    assert facts.hosts is not None
    fs01 = facts.hosts["fs01.contoso.com"]
    # a Hyper-V host holding the export share fails path.not-on-hyperv-host; 1 byte free warns path.free-space
    facts.hosts["fs01.contoso.com"] = fs01.model_copy(update={"hyperv_installed": True, "paths": [
        fs01.paths[0].model_copy(update={"free_bytes": 1})]})
    return pipeline.build_results(builders.site(), BUILTIN.checks, facts, pipeline.RunOptions())


def azure_outcome(case: ET.Element) -> str:
    if case.find("failure") is not None or case.find("error") is not None:
        return "Failed"
    if case.find("skipped") is not None:
        return "Not Executed"
    return "Passed"


def azure_message(case: ET.Element) -> str | None:
    """The error message Azure shows: failure, error or skipped's `message` (the same page)."""
    for tag in ("failure", "error", "skipped"):
        element = case.find(tag)
        if element is not None:
            return element.get("message")
    return None


def cases_by_name(results: Results, fail_on: str) -> dict[str, ET.Element]:
    root = ET.fromstring(junit.render(results, fail_on=fail_on).split("?>", 1)[1])
    return {case.get("name", ""): case for case in root.iter("testcase")}


@pytest.mark.parametrize("fail_on", ["fail", "warn", "error", "never"])
def test_no_warning_or_failure_is_a_passing_case(fail_on: str) -> None:
    results = results_with_a_warning_and_a_failure()
    statuses = {f.status for f in results.findings}
    assert {Status.WARN, Status.FAIL} <= statuses
    cases = cases_by_name(results, fail_on)
    for finding in results.findings:
        case = cases[junit.testcase_name(finding)]
        outcome = azure_outcome(case)
        if finding.status in (Status.WARN, Status.FAIL):
            assert outcome != "Passed", (fail_on, finding.check)
            if outcome == "Not Executed":  # the tab's message says it is a warning / failure, and not blocking
                assert (azure_message(case) or "").startswith(f"{finding.status.value} (not blocking"), fail_on
            else:
                failure = case.find("failure")
                assert failure is not None and failure.get("type") == finding.status.value
        # failed in the tab exactly when it blocks (what makes the exit code non-zero): one verdict
        assert (outcome == "Failed") == blocks(finding, fail_on), (fail_on, finding.check, outcome)


def test_a_warning_below_fail_on_is_skipped_with_its_status_and_fix() -> None:
    results = results_with_a_warning_and_a_failure()
    warning = next(f for f in results.findings if f.status is Status.WARN)
    case = cases_by_name(results, "fail")[junit.testcase_name(warning)]
    skipped = case.find("skipped")
    assert skipped is not None and case.find("failure") is None
    assert skipped.get("message", "").startswith("warn (not blocking under --fail-on fail): ")
    assert "Fix:" in (case.findtext("system-out") or "")  # Azure shows system-out as the console log
    blocking = cases_by_name(results, "warn")[junit.testcase_name(warning)].find("failure")
    assert blocking is not None and blocking.get("type") == "warn"


def test_a_failure_under_fail_on_never_is_visible_and_not_failing() -> None:
    results = results_with_a_warning_and_a_failure()
    failure = next(f for f in results.findings if f.status is Status.FAIL)
    case = cases_by_name(results, "never")[junit.testcase_name(failure)]
    assert azure_outcome(case) == "Not Executed"
    assert (azure_message(case) or "").startswith("fail (not blocking under --fail-on never): ")


@pytest.mark.parametrize("fail_on", ["fail", "warn", "error", "never"])
def test_failures_plus_errors_are_the_blocking_findings(fail_on: str) -> None:
    results = results_with_a_warning_and_a_failure()
    root = ET.fromstring(junit.render(results, fail_on=fail_on).split("?>", 1)[1])
    blocking = sum(1 for f in results.findings if blocks(f, fail_on))
    assert int(root.get("failures", "0")) + int(root.get("errors", "0")) == blocking
    assert int(root.get("skipped", "0")) == len(root.findall(".//testcase/skipped"))

"""JUnit XML: one testcase per finding, `check[subject]`, so CI systems show each object by name.

Values from AD, a host or a results file (names, messages, justifications) are written with their
line ends, escape sequences and bidi controls spelled out (display.visible): a CI log that prints a
test case name or a failure message line by line cannot be handed a forged line. The fix text is
our own rendering of the typed actions (values in it are already spelled `[char]0x...`: pwsh.quote).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from offlineprep.display import visible
from offlineprep.model import Finding, Results, Status, at_threshold
from offlineprep.render import write_atomically
from offlineprep.verdict import explained_by, judge

# XML 1.0 cannot carry most control characters, even escaped; text from hosts may contain them.
# An unpaired UTF-16 surrogate (NTFS names are not checked) cannot be written as UTF-8 at all.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", text)


def _value(text: str) -> str:
    """A value, on one line, every invisible character spelled out (then nothing XML cannot carry is left)."""
    return _clean(visible(text))


def testcase_name(finding: Finding) -> str:
    name = f"{finding.check}[{finding.subject}"
    if finding.target:
        name += f" -> {finding.target}"
    if finding.account:
        name += f" as {finding.account}"
    return _value(name + "]")


def waived_reason(finding: Finding) -> str:
    """Same text from a run and from its saved JSON (a dict's repr would follow key order)."""
    waiver = finding.waiver
    if waiver is None:
        return "waived"
    return f"waived until {waiver.expires.isoformat()}: {waiver.justification}".rstrip(": ")


def render(results: Results, fail_on: str | None = None) -> str:
    """A failure for each finding at or above --fail-on, an error for each `error` (what
    `model.blocks` counts, as every output does); the verdict and the selection as properties.

    A warning below --fail-on (and a failure under `--fail-on never`) is a `<skipped>` case whose
    message starts with its status, never a passing one: a pipeline's test tab then shows it without
    failing, and failures + errors stay exactly the blocking findings, as the exit code counts them.
    What the test tabs make of each element (docs/pipelines.md, "What the test tab shows"):
    - Azure Pipelines, PublishTestResults@2 with JUnit: Failed if the case holds `<failure>` or
      `<error>`, Not Executed if it holds `<skipped>`, Passed otherwise; the error message shown is
      the `message` of failure, error or skipped ("Result formats mapping",
      https://learn.microsoft.com/azure/devops/pipelines/tasks/reference/publish-test-results-v2).
    - dorny/test-reporter (java-junit): failure or error -> failed, skipped -> skipped, each case
      listed (`list-tests: all`); src/parsers/java-junit/java-junit-parser.ts, getTestCaseResult.
    - mikepenz/action-junit-report: a skipped case is counted and listed in the detailed summary
      (`include_skipped`, default true), a notice, never a failure ("a skipped test shall not fail
      the run", src/testParser.ts).
    A `<failure type="warning">` below the threshold would turn Azure's run and dorny's check red
    (failTaskOnFailedTests, fail-on-error) while the exit code says 0: two verdicts for one run.
    The testcase children follow the JUnit XSD Azure's page links (windyroad/JUnit-Schema: one of
    skipped, error, failure), with system-out, which Azure shows as the console log."""
    fail_on = fail_on or results.fail_on
    judged = judge(results, fail_on)
    suite = ET.Element("testsuite", name="offlineprep", timestamp=results.generated_at.isoformat())
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="verdict", value=_value(judged.headline))
    ET.SubElement(properties, "property", name="exit_code", value=str(judged.exit_code))
    ET.SubElement(properties, "property", name="fail_on", value=fail_on)
    if results.facts_from is not None:
        ET.SubElement(properties, "property", name="facts_from", value=_value(f"judged {results.facts_from.text}"))
    if results.selection is not None:
        ET.SubElement(properties, "property", name="checks_run", value=str(len(results.selection.checks_run)))
        ET.SubElement(properties, "property", name="checks_known", value=str(len(results.selection.checks_known)))
        if results.selection.partial:
            ET.SubElement(properties, "property", name="partial", value=_value(results.selection.note))
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for finding in sorted(results.findings, key=lambda f: f.sort_key):
        case = ET.SubElement(suite, "testcase", classname=_value(finding.check), name=testcase_name(finding))
        counts["tests"] += 1
        message = _value(finding.message)
        detail = message
        if finding.remediation:
            detail += "\n\nFix:\n" + _clean(finding.remediation.powershell)
        if finding.waived and finding.waiver:
            ET.SubElement(case, "properties").append(
                ET.Element("property", name="waived", value=_value(finding.waiver.justification))
            )
        if finding.status in (Status.FAIL, Status.WARN) and at_threshold(finding, fail_on):
            ET.SubElement(case, "failure", message=message, type=finding.status.value).text = detail
            counts["failures"] += 1
        elif finding.status is Status.ERROR and judged.blocks(finding):
            ET.SubElement(case, "error", message=message, type="error").text = detail
            counts["errors"] += 1
        elif explained_by(judged.unreached, finding) and judged.unreached is not None:  # said once, as the verdict
            ET.SubElement(case, "skipped", message=_value(f"not evaluated: {judged.unreached.text}"))
            counts["skipped"] += 1
        elif finding.status is Status.SKIP or finding.waived:
            reason = message if not finding.waived else waived_reason(finding)
            ET.SubElement(case, "skipped", message=_value(reason))
            counts["skipped"] += 1
        elif finding.status in (Status.FAIL, Status.WARN, Status.ERROR):  # below --fail-on (never): visible, not failing
            note = f"{finding.status.value} (not blocking under --fail-on {fail_on}): {message}"
            ET.SubElement(case, "skipped", message=note)
            ET.SubElement(case, "system-out").text = note + detail[len(message):]
            counts["skipped"] += 1
        else:
            ET.SubElement(case, "system-out").text = message
    for key, value in counts.items():
        suite.set(key, str(value))
    ET.SubElement(suite, "system-out").text = _value(f"offlineprep {results.tool.version}: {judged.headline}: "
                                                     f"{judged.reason}")
    suites = ET.Element("testsuites", {"name": "offlineprep", **{k: str(v) for k, v in counts.items()}})
    suites.append(suite)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def write(results: Results, path: Path, fail_on: str | None = None) -> None:
    write_atomically(path, render(results, fail_on=fail_on))

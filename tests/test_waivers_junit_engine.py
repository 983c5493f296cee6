"""Waivers (active, expired, unused), JUnit counters, JSON results, and the check conventions."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import builders
import pytest

from offlineprep import pipeline
from offlineprep.engine import discover
from offlineprep.errors import WaiverFileError
from offlineprep.model import Finding, Results, Status
from offlineprep.render import json_out, junit
from offlineprep.verdict import judge
from offlineprep.waivers import load_waivers

BUILTIN = discover(include_entry_points=False)


def results_with_failures(waivers_file: Path | None = None, today: date = date(2026, 11, 24)) -> Results:
    facts = builders.facts()
    assert facts.hosts is not None
    fs01 = facts.hosts["fs01.contoso.com"]
    facts.hosts["fs01.contoso.com"] = fs01.model_copy(update={"hyperv_installed": True, "paths": [
        fs01.paths[0].model_copy(update={"free_bytes": 1})]})
    waivers = load_waivers(waivers_file) if waivers_file else []
    return pipeline.build_results(builders.site(), BUILTIN.checks, facts, pipeline.RunOptions(waivers=waivers,
                                                                                              today=today))


def test_waivers_active_expired_unused(tmp_path: Path) -> None:
    path = tmp_path / "waivers.toml"
    path.write_text(
        "[[waiver]]\ncheck = 'path.not-on-hyperv-host'\nsubject = '\\\\fs01*'\n"
        "justification = 'FS01 leaves Hyper-V duty next week (CHG-1234)'\nexpires = 2026-12-31\n\n"
        "[[waiver]]\ncheck = 'path.free-space'\nsubject = '*'\njustification = 'old'\nexpires = 2026-01-01\n\n"
        "[[waiver]]\ncheck = 'ad.*'\nsubject = 'nothing-like-this'\njustification = 'stale'\nexpires = 2027-01-01\n"
    )
    results = results_with_failures(path)
    waived = [f for f in results.findings if f.waived]
    assert [(f.check, f.status.value) for f in waived] == [("path.not-on-hyperv-host", "fail")]  # status kept
    assert waived[0].waiver and waived[0].waiver.justification.startswith("FS01 leaves")
    assert [w.check for w in results.waivers.expired] == ["path.free-space"]
    assert [w.check for w in results.waivers.unused] == ["ad.*"]
    assert judge(results).exit_code == 0  # the only failure is waived
    assert judge(results, "warn").exit_code == 1  # the expired waiver does not hide the warning
    assert results.summary["waived"] == 1


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[[waiver]]\ncheck = 'x'\nsubject = '*'\nexpires = 2027-01-01\n", "justification: required"),
        ("[[waiver]]\ncheck = 'x'\nsubject = '*'\njustification = 'j'\nexpires = 'soon'\n", "expires"),
        ("[[waiver]]\ncheck = 'x'\nsubject = '*'\njustification = 'j'\nexpires = 2027-01-01\nwho = 1\n",
         "who: unknown key"),
        ("[[waiver]]\ncheck = 'x'\nsubject = '*'\njustification = ' '\nexpires = 2027-01-01\n", "must not be empty"),
    ],
)
def test_bad_waiver_files_name_file_line_and_key(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "w.toml"
    path.write_text("# waivers\n" + text)
    with pytest.raises(WaiverFileError) as caught:
        load_waivers(path)
    assert str(caught.value).startswith(f"{path}:2:") and needle in str(caught.value)


def test_junit_counters_match_the_findings(tmp_path: Path) -> None:
    results = results_with_failures()
    counts = {s: sum(1 for f in results.findings if f.status.value == s) for s in ("fail", "warn", "error", "skip")}
    assert counts["warn"]  # a warning below --fail-on fail is a skipped case (visible), above it a failure
    for fail_on, failures, skipped in (("fail", counts["fail"], counts["skip"] + counts["warn"]),
                                       ("warn", counts["fail"] + counts["warn"], counts["skip"])):
        junit.write(results, tmp_path / "j.xml", fail_on=fail_on)
        suite = ET.parse(tmp_path / "j.xml").getroot().find("testsuite")
        assert suite is not None
        assert int(suite.get("tests", -1)) == len(results.findings) == len(suite.findall("testcase"))
        assert int(suite.get("failures", -1)) == failures == len(suite.findall("testcase/failure"))
        assert int(suite.get("errors", -1)) == counts["error"] == len(suite.findall("testcase/error"))
        assert int(suite.get("skipped", -1)) == skipped == len(suite.findall("testcase/skipped"))
    names = [c.get("name") for c in suite.findall("testcase")]
    assert r"path.not-on-hyperv-host[\\fs01.contoso.com\ASRExport]" in names


def test_junit_survives_control_characters() -> None:
    results = results_with_failures()
    bad = results.findings[0].model_copy(update={"message": "bell\x07 and nul\x00 <b>&"})
    text = junit.render(results.model_copy(update={"findings": [bad]}))
    ET.fromstring(text.split("?>", 1)[1])  # still well-formed XML


def test_json_results_are_sorted_versioned_and_round_trip(tmp_path: Path) -> None:
    results = results_with_failures()
    json_out.write(results, tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["schema"] == "offlineprep/results/v1"
    assert set(data["summary"]) >= {"pass", "fail", "warn", "error", "skip"}
    keys = [(f["check"], f["subject"], f.get("target") or "", f.get("account") or "") for f in data["findings"]]
    assert keys == sorted(keys)
    assert json_out.load(tmp_path / "r.json").findings == sorted(results.findings, key=lambda f: f.sort_key)
    schema = json.loads((Path(__file__).parents[1] / "docs" / "results.schema.json").read_text())
    assert schema == Results.model_json_schema(by_alias=True)


def test_facts_schema_in_docs_is_current() -> None:
    from offlineprep.facts import Facts

    schema = json.loads((Path(__file__).parents[1] / "docs" / "facts.schema.json").read_text())
    assert schema == Facts.model_json_schema(by_alias=True)


def test_conventions_of_every_builtin_check() -> None:
    ids = [c.id for c in BUILTIN.checks]
    assert len(ids) == len(set(ids)) and not BUILTIN.problems
    tests = "".join(p.read_text() for p in (Path(__file__).parent / "checks").glob("test_*.py"))
    for spec in BUILTIN.checks:
        assert spec.title and spec.seed_step, spec.id
        assert len(spec.rationale) > 80, f"{spec.id} needs a docstring that explains why"
        assert f'"{spec.id}"' in tests, f"{spec.id} has no test in tests/checks"
    assert {c.id.split(".")[0] for c in BUILTIN.checks} == {"ad", "host", "inventory", "path", "policy", "replica"}


def test_a_check_cannot_forge_its_identity() -> None:
    findings = pipeline.build_results(builders.site(), BUILTIN.select(["policy.settings"]), builders.facts(),
                                      pipeline.RunOptions()).findings
    assert {f.check for f in findings} == {"policy.settings"} and all(isinstance(f, Finding) for f in findings)
    assert all(f.severity == "medium" for f in findings) and all(f.status is Status.PASS for f in findings)


def test_check_packs_from_installed_packages_are_discovered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The `offlineprep.checks` entry-point group; a pack that fails to load is a problem, not a crash."""
    from importlib.metadata import EntryPoint

    good = EntryPoint(name="pack", value="custom_pack_module", group="offlineprep.checks")
    broken = EntryPoint(name="broken", value="no_such_module_xyz", group="offlineprep.checks")
    import sys as _sys

    _sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "checks"))
    monkeypatch.setitem(_sys.modules, "custom_pack_module", __import__("custom_pack"))
    monkeypatch.setattr("offlineprep.engine.entry_points", lambda group: [good, broken] if group == "offlineprep.checks" else [])
    catalogue = discover()
    assert {"custom.always-pass", "custom.raises"} <= {c.id for c in catalogue.checks}
    assert any("broken" in p and "no_such_module_xyz" in p for p in catalogue.problems)
    assert next(c for c in catalogue.checks if c.id == "custom.raises").origin == "entry point pack"


def test_waiver_expires_as_a_toml_date_time_or_a_string_and_a_bom_or_latin1_file(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_bytes(b"\xef\xbb\xbf[[waiver]]\ncheck = 'path.not-on-hyperv-host'\nsubject = '\\\\fs01.contoso.com\\ASRExport'\n"
                     b"justification = 'CHG-1'\nexpires = 2026-12-31T23:59:00\n\n"
                     b"[[waiver]]\ncheck = 'path.free-space'\nsubject = '\\\\FS01*'\n"
                     b"justification = 'CHG-2'\nexpires = '2026-12-31'\n")
    waivers = load_waivers(path)
    assert [w.expires for w in waivers] == [date(2026, 12, 31), date(2026, 12, 31)]
    results = results_with_failures(path)
    assert sorted(f.check for f in results.findings if f.waived) == ["path.free-space", "path.not-on-hyperv-host"]
    assert judge(results, "warn").exit_code == 0
    path.write_bytes(b"[[waiver]]\ncheck = 'x'\nsubject = '*'\njustification = 'caf\xe9'\nexpires = 2027-01-01\n")
    with pytest.raises(WaiverFileError, match=str(path)):
        load_waivers(path)


def test_junit_is_the_same_from_a_run_and_from_its_saved_json(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text("[[waiver]]\ncheck = 'path.not-on-hyperv-host'\nsubject = '*'\n"
                    "justification = 'FS01 leaves Hyper-V duty (CHG-1234)'\nexpires = 2026-12-31\n")
    results = results_with_failures(path)
    json_out.write(results, tmp_path / "r.json")
    assert junit.render(json_out.load(tmp_path / "r.json")) == junit.render(results)
    skipped = ET.fromstring(junit.render(results).split("?>", 1)[1]).findall(".//skipped")
    waived = [s.get("message") for s in skipped if s.get("message", "").startswith("waived")]
    assert waived == ["waived until 2026-12-31: FS01 leaves Hyper-V duty (CHG-1234)"]


def test_junit_counters_on_testsuites_too() -> None:
    results = results_with_failures()
    root = ET.fromstring(junit.render(results, fail_on="warn").split("?>", 1)[1])
    suite = root.find("testsuite")
    assert suite is not None
    for key in ("tests", "failures", "errors", "skipped"):
        assert root.get(key) == suite.get(key), key


def test_an_unpaired_surrogate_from_a_host_does_not_stop_json_or_junit(tmp_path: Path) -> None:
    """NTFS names are UTF-16 without checks; PowerShell's JSON carries an unpaired half as \\ud800."""
    results = results_with_failures()
    bad = results.findings[0].model_copy(update={"message": "name \ud800 here", "subject": "fs\udc00"})
    results = results.model_copy(update={"findings": [bad]})
    json_out.write(results, tmp_path / "r.json")
    assert json_out.load(tmp_path / "r.json").findings[0].message == "name \ud800 here"
    junit.write(results, tmp_path / "j.xml")
    assert ET.parse(tmp_path / "j.xml").getroot().find("testsuite/testcase") is not None


def test_waivers_are_models_and_the_json_keeps_their_shape(tmp_path: Path) -> None:
    """A waiver is a WaiverEntry on the finding and in the report; the JSON results hold the same
    keys as before it was a model (target/account only when set, expires as an ISO date), and
    a results file read back gives the same entries."""
    path = tmp_path / "waivers.toml"
    path.write_text("[[waiver]]\ncheck = 'path.not-on-hyperv-host'\nsubject = '\\\\fs01*'\n"
                    "justification = 'CHG-1234'\nexpires = 2026-12-31\n")
    results = results_with_failures(path)
    json_out.write(results, tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    waived = next(f for f in data["findings"] if f.get("waived"))
    assert waived["waiver"] == {"check": "path.not-on-hyperv-host", "subject": "\\\\fs01*",
                                "justification": "CHG-1234", "expires": "2026-12-31"}
    assert data["waivers"]["applied"] == [waived["waiver"]]
    again = json_out.load(tmp_path / "r.json")
    assert again.waivers.applied == results.waivers.applied
    assert again.waivers.applied[0].expires == date(2026, 12, 31)
    assert load_waivers(path)[0].line == 1 and "line" not in load_waivers(path)[0].model_dump()

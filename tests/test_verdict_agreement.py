"""One verdict everywhere (issue 21.1, 21.5; SPEC §13): for the same run and `--fail-on`, the terminal,
the HTML (its text), the Markdown, JUnit, the JSON and the exit code say the same thing, and every
number a page prints adds up to the JSON's.

The demo runs in-process through the command line (`offlineprep preflight --demo`), then `offlineprep
report` judges its results under every `--fail-on`, writing every output again.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import builders
import pytest

from offlineprep.cli import _exit_code, app
from offlineprep.facts import CollectionError, ErrorKind

FAIL_ON = ("fail", "error", "warn", "never")
WORDS = {"ready": "READY", "not-ready": "NOT READY", "incomplete": "INCOMPLETE"}
EXIT = {"READY": 0, "NOT READY": 1, "INCOMPLETE": 3}
STATUSES = ("pass", "fail", "warn", "error", "skip")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = _exit_code(lambda: app(list(args), prog_name="offlineprep", standalone_mode=False))
    return code, capsys.readouterr().out


def outputs(folder: Path, stem: str) -> tuple[list[str], dict[str, Path]]:
    paths = {fmt: folder / f"{stem}.{fmt}" for fmt in ("html", "json", "junit", "markdown", "fix-script")}
    return [a for fmt, p in paths.items() for a in (f"--{fmt}", str(p))], paths


class _Text(HTMLParser):
    """The text of an HTML page, and that of the element with a given id."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.by_id: dict[str, list[str]] = {}
        self.open: list[tuple[str, str | None]] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        self.open.append((tag, dict(attrs).get("id")))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip -= 1
        while self.open and self.open.pop()[0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        self.parts.append(data)
        for _, element in self.open:
            if element:
                self.by_id.setdefault(element, []).append(data)


def html_text(path: Path) -> _Text:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def verdict_line(stdout: str) -> str:
    return next(line for line in reversed(stdout.splitlines()) if re.match(r"(READY|NOT READY|INCOMPLETE)\b", line))


def stated(stdout: str, paths: dict[str, Path]) -> dict[str, str]:
    """The verdict (with its partial note) as each output states it."""
    page = html_text(paths["html"])
    markdown = paths["markdown"].read_text(encoding="utf-8")
    junit = {p.get("name"): p.get("value") for p in ET.parse(paths["junit"]).getroot().iter("property")}
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    selection = data["selection"]
    note = f" (partial: {len(selection['checks_run'])} of {len(selection['checks_known'])} checks)" \
        if data["partial"] else ""
    return {
        "terminal": verdict_line(stdout).split(":", 1)[0] if "(partial" not in verdict_line(stdout)
        else verdict_line(stdout).split("):", 1)[0] + ")",
        "html": "".join(page.by_id["verdict-word"]).strip(),
        "markdown": re.search(r"^\S+ \*\*(.+?)\*\*", markdown, re.M).group(1),  # type: ignore[union-attr]
        "junit": junit["verdict"] or "",
        "json": WORDS[data["verdict"]] + note,
    }


def agree(code: int, stdout: str, paths: dict[str, Path], expected: str, expected_code: int) -> None:
    said = stated(stdout, paths)
    assert set(said.values()) == {expected}, said
    assert code == expected_code, (said, code)
    junit = {p.get("name"): p.get("value") for p in ET.parse(paths["junit"]).getroot().iter("property")}
    assert junit["exit_code"] == str(code)
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["partial"] is ("(partial" in expected)
    classes = re.search(r'<section class="verdict ([a-z-]+)"', paths["html"].read_text(encoding="utf-8"))
    assert classes is not None and classes.group(1) == data["verdict"]  # the colour follows the word


# what the demo holds: 12 failures and a warning; --only path.free-space: the warning alone
EXPECTED = {
    "all": {"fail": ("NOT READY", 1), "error": ("NOT READY", 1), "warn": ("NOT READY", 1), "never": ("NOT READY", 0)},
    "warning": {"fail": ("READY", 0), "error": ("READY", 0), "warn": ("NOT READY", 1), "never": ("READY", 0)},
    # a check pack that fails to load: never READY / exit 0, even under --fail-on never
    "broken": {"fail": ("INCOMPLETE", 3), "error": ("INCOMPLETE", 3), "warn": ("NOT READY", 1),
               "never": ("INCOMPLETE", 3)},
}


@pytest.fixture
def broken_checks(tmp_path: Path) -> Path:
    folder = tmp_path / "my-checks"
    folder.mkdir()
    (folder / "broken.py").write_text("raise RuntimeError('this pack does not load')\n")
    return folder


def demo_runs(broken: Path) -> Iterator[tuple[str, list[str], str]]:
    yield "all", [], ""
    yield "warning", ["--only", "path.free-space"], " (partial: 1 of {n} checks)"
    yield "broken", ["--only", "path.*", "--skip", "path.share-*", "--skip", "path.not-on-hyperv-host", "--skip",
                     "path.runas-read-write", "--checks-dir", str(broken)], \
        " (partial: {k} of {n} checks)"


def test_every_output_and_the_exit_code_state_one_verdict_under_every_fail_on(
        tmp_path: Path, broken_checks: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, selection, note in demo_runs(broken_checks):
        args, paths = outputs(tmp_path, name)
        code, stdout = run(capsys, "preflight", "--demo", *selection, *args)
        data = json.loads(paths["json"].read_text())
        note = note.format(k=len(data["selection"]["checks_run"]), n=len(data["selection"]["checks_known"]))
        word, expected_code = EXPECTED[name]["fail"]
        agree(code, stdout, paths, word + note, expected_code)  # preflight itself, default --fail-on
        if name == "broken":
            assert data["problems"] and "this pack does not load" in " ".join(data["problems"])
        for fail_on in FAIL_ON:
            again, again_paths = outputs(tmp_path, f"{name}-{fail_on}")
            code, stdout = run(capsys, "report", str(paths["json"]), "--fail-on", fail_on, *again)
            word, expected_code = EXPECTED[name][fail_on]
            agree(code, stdout, again_paths, word + note, expected_code)
            assert json.loads(again_paths["json"].read_text())["fail_on"] == fail_on
            check_counts(stdout, again_paths)


def test_an_output_that_cannot_be_written_is_never_ready(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The warning alone is READY; an output that cannot be written makes it INCOMPLETE, exit 3, in the
    outputs that were written too. (A path that is wrong from the start, such as a file where a folder
    should be, is a usage error before anything runs: tests/test_output_paths.py; this one fails while
    it is written, as a full disk would.)"""
    from offlineprep.render import markdown

    args, paths = outputs(tmp_path, "w")
    code, _ = run(capsys, "preflight", "--demo", "--only", "path.free-space", *args)
    assert code == 0

    def disk_full(*_: object, **__: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(markdown, "write", disk_full)
    again, again_paths = outputs(tmp_path, "again")
    code, stdout = run(capsys, "report", str(paths["json"]), *again, "--markdown", str(tmp_path / "summary.md"))
    assert code == 3
    assert "INCOMPLETE" in verdict_line(stdout) and "could not write the markdown output" in verdict_line(stdout)
    data = json.loads(again_paths["json"].read_text())
    assert data["verdict"] == "incomplete" and any("markdown" in p for p in data["problems"])
    assert "".join(html_text(again_paths["html"]).by_id["verdict-word"]).startswith("INCOMPLETE")


# ---- 21.5: every number on a page adds up to the JSON's --------------------------------------------------------

def _numbers(line: str) -> dict[str, int]:
    """"58 findings of 25 checks: 1 pass, 5 fail, 0 warn, 44 error, 8 skip, 1 waived; 49 blocking" as numbers."""
    found = {word: int(n.replace(",", "")) for n, word in re.findall(r"([\d,]+) (findings?|checks?|pass|fail|warn|error|"
                                                                     r"skip|waived|blocking)\b", line)}
    return {k.rstrip("s") if k in ("findings", "checks") else k: v for k, v in found.items()}


def expected_numbers(data: dict[str, object]) -> dict[str, int]:
    findings = data["findings"]
    assert isinstance(findings, list)
    selection = data["selection"]
    assert isinstance(selection, dict)
    out = {s: sum(1 for f in findings if f["status"] == s and not f.get("waived")) for s in STATUSES}
    out["waived"] = sum(1 for f in findings if f.get("waived"))
    out["finding"] = len(findings)
    out["check"] = len(selection["checks_run"])
    summary = data["summary"]
    assert isinstance(summary, dict)
    assert {k: summary[k] for k in (*STATUSES, "waived")} == {k: out[k] for k in (*STATUSES, "waived")}
    assert sum(summary[k] for k in (*STATUSES, "waived")) == len(findings)  # they add up
    return out


def blocking_of(data: dict[str, object]) -> int:
    """The contract, from the JSON alone: unwaived findings at or above --fail-on, errors below it, none
    under never; an error the unreached cause explains is not counted."""
    fail_on = data["fail_on"]
    rank = {"warn": 1, "error": 2, "fail": 3}
    unreached = {m.casefold() for m in (data.get("unreached") or {}).get("machines", [])}  # type: ignore[union-attr]
    count = 0
    for f in data["findings"]:  # type: ignore[union-attr]
        if f.get("waived") or fail_on == "never" or f["status"] in ("pass", "skip"):
            continue
        if f["status"] == "error" and f.get("cause") and f["cause"]["machine"].casefold() in unreached:
            continue
        if f["status"] == "error" or rank[f["status"]] >= rank[fail_on]:
            count += 1
    return count


def check_counts(stdout: str, paths: dict[str, Path]) -> None:
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    want = expected_numbers(data)
    blocking = blocking_of(data)
    if not want["waived"]:
        want.pop("waived")
    # the verdict line of the terminal and of the Markdown, and the HTML's counts line
    line = verdict_line(stdout)
    assert _numbers(line.split(" — ", 1)[0]) == {**want, "blocking": blocking}, line
    markdown = paths["markdown"].read_text(encoding="utf-8")
    counts_line = next(x for x in markdown.splitlines() if re.match(r"[\d,]+ findings? of", x))
    assert _numbers(counts_line) == {**want, "blocking": blocking}, counts_line
    page = html_text(paths["html"])
    assert _numbers(" ".join(page.by_id["verdict"])) == {**want, "blocking": blocking}
    # the terminal's table: each status column adds up to the JSON's count, a waived finding only as waived
    rows = [line for line in stdout.splitlines() if line.startswith("│")]
    columns = ("pass", "fail", "warn", "error", "skip", "waived")
    totals = dict.fromkeys(columns, 0)
    for row in rows:
        cells = [c.strip() for c in row.strip("│").split("│")]
        for name, value in zip(columns, cells[1:], strict=True):
            totals[name] += int(value or 0)
    assert {k: v for k, v in totals.items() if k != "waived"} == {s: want[s] for s in STATUSES}
    assert totals["waived"] == want.get("waived", 0)
    # the HTML summary table likewise
    table = re.search(r'<table class="summary-table">.*?</table>', paths["html"].read_text(encoding="utf-8"), re.S)
    assert table is not None
    html_totals = dict.fromkeys(columns, 0)
    for cells in re.findall(r"<tr><th scope=\"row\">.*?</th>(.*?)</tr>", table.group(0), re.S):
        html_columns = ("fail", "error", "warn", "pass", "skip", "waived")  # the page's order
        for name, value in zip(html_columns, re.findall(r"<td[^>]*>([\d,]*)</td>", cells), strict=True):
            html_totals[name] += int(value.replace(",", "") or 0)
    assert html_totals == totals
    # the sections: the terminal's blocking sections add up to the verdict line's count
    held = 0
    for title, n in re.findall(r"^(Could not be evaluated|Failures|Warnings) \(([\d,]+)[^)]*blocking under", stdout, re.M):
        header = next(x for x in stdout.splitlines() if x.startswith(f"{title} ({n}"))
        status = {"Could not be evaluated": "error", "Failures": "fail", "Warnings": "warn"}[title]
        count = int(n.replace(",", ""))
        assert count == want[status], header  # a section counts every unwaived finding of its status
        if ", blocking under" in header:
            held += count
        elif " of them blocking under" in header:
            held += int(re.search(r", ([\d,]+) of them blocking", header).group(1))  # type: ignore[union-attr]
    assert held == blocking, stdout
    # each cause says its checks and its findings, and lists exactly those checks
    for cause in re.findall(r"— (\d+) checks? not evaluated(?: \((\d+) findings?\))?[^(]*\(([^)]*)\)$", stdout, re.M):
        checks, _, listed = cause
        assert int(checks) == len(listed.split(", ")), cause
    # Markdown and HTML: what blocks, counted as the verdict line counts it
    md_blocking = re.search(r"^### Blocking \(([\d,]+)\)", markdown, re.M)
    assert (int(md_blocking.group(1)) if md_blocking else 0) == blocking
    assert f"What blocks ({blocking:,})" in " ".join(page.parts)
    junit = ET.parse(paths["junit"]).getroot()
    assert int(junit.get("failures") or 0) + int(junit.get("errors") or 0) == blocking


def test_counts_add_up_with_waivers_errors_and_a_partial_selection(
        site_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hosts = builders.hosts()
    hosts["fs11.contoso.com"] = hosts["fs11.contoso.com"].model_copy(update={
        "reachable": False, "paths": [], "error": CollectionError(kind=ErrorKind.UNREACHABLE,
                                                                  message="fs11.contoso.com refused the connection")})
    fs01 = hosts["fs01.contoso.com"]
    hosts["fs01.contoso.com"] = fs01.model_copy(update={
        "paths": [fs01.paths[0].model_copy(update={"free_bytes": 1})], "hyperv_installed": True})
    facts = builders.facts()
    facts.hosts = hosts
    facts_path = tmp_path / "facts.json"
    facts_path.write_text(facts.to_json())
    waivers = tmp_path / "waivers.toml"
    waivers.write_text("[[waiver]]\ncheck = 'path.not-on-hyperv-host'\nsubject = '*'\n"
                       "justification = 'FS01 leaves Hyper-V duty (CHG-1)'\nexpires = 2099-12-31\n")
    for fail_on in FAIL_ON:
        args, paths = outputs(tmp_path, fail_on)
        code, stdout = run(capsys, "preflight", "--config", str(site_file), "--facts", str(facts_path), "--skip",
                           "policy.*", "--waivers", str(waivers), "--fail-on", fail_on, *args)
        data = json.loads(paths["json"].read_text())
        assert any(f.get("waived") and f["status"] == "fail" for f in data["findings"])  # the waiver applied
        assert data["summary"]["error"] and data["summary"]["warn"] and data["partial"] is True
        word = stated(stdout, paths)["json"]
        agree(code, stdout, paths, word, EXIT[word.split(" (")[0]] if fail_on != "never" else 0)
        check_counts(stdout, paths)
        # a waived failure is not a failure anywhere: not in the table's fail column, not in a count
        table = {line.split("│")[1].strip(): line for line in stdout.splitlines() if line.startswith("│")}
        cells = [c.strip() for c in table["path.not-on-hyperv-host"].strip("│").split("│")]
        assert cells[2] == "" and int(cells[6]) >= 1, cells


def test_the_demo_counts_add_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args, paths = outputs(tmp_path, "demo")
    code, stdout = run(capsys, "preflight", "--demo", *args)
    assert code == 1
    check_counts(stdout, paths)

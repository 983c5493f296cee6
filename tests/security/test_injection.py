"""Hostile values are data everywhere: PowerShell literals, the fix script, the terminal, files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import builders
import pwsh_syntax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offlineprep.facts import CollectionError, ErrorKind, Facts, HostFacts
from offlineprep.pwsh import comment, quote
from offlineprep.remediation import add_delegation, grant_ntfs, grant_share
from offlineprep.render import write_atomically

QUOTES = "'\u2018\u2019\u201a\u201b"
HOSTILE = [
    "CONTOSO\\x'; Remove-Item C:\\ -Recurse; '",
    "O\u2019Brien\u2018; Stop-Computer; \u2019",
    "$(Stop-Computer -Force)",
    "`$env:SECRET`n",
    "a\nb\r\nRemove-Item x",
    "x" * 5000,
]


def _single_quoted(text: str, i: int) -> tuple[str, int]:
    """The value of the literal starting at text[i] and the index after it, as PowerShell reads it:
    a doubled quote character is one character, a lone one ends the literal."""
    assert text[i] in QUOTES
    out, i = [], i + 1
    while True:
        assert i < len(text), "the literal never ends"
        ch = text[i]
        if ch in QUOTES:
            if i + 1 < len(text) and text[i + 1] in QUOTES:
                out.append(ch)
                i += 2
                continue
            return "".join(out), i + 1
        out.append(ch)
        i += 1


def unquote_powershell(literal: str) -> str:
    """How PowerShell reads what pwsh.quote wrote: one literal, or ('' + 'ab' + [char]0x000A + …)."""
    if literal[0] != "(":
        value, end = _single_quoted(literal, 0)
        assert end == len(literal), f"text after the literal ends: {literal[end:]!r}"
        return value
    parts, i = [], 1
    while True:
        if literal[i] in QUOTES:
            value, i = _single_quoted(literal, i)
            parts.append(value)
        else:
            assert literal.startswith("[char]0x", i), literal[i:]
            parts.append(chr(int(literal[i + 8:i + 12], 16)))
            i += 12
        if literal[i] == ")":
            assert i == len(literal) - 1
            return "".join(parts)
        assert literal.startswith(" + ", i)
        i += 3


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_every_string_round_trips_through_a_powershell_literal(value: str) -> None:
    assert unquote_powershell(quote(value)) == value


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("qz'\u2019\n\r\x85\u2028\u2029\x0b\x1b\u202e\u2066\ud800\t")))
def test_a_quoted_value_is_one_line_without_invisible_characters(value: str) -> None:
    """A line end PowerShell does not know (U+2028, U+0085), one it does (CR, LF), a control or a bidi
    character in a literal would make the fix script read differently from how it runs: spelled."""
    literal = quote(value)
    assert unquote_powershell(literal) == value
    assert not any(ch in literal for ch in "\n\r\x85\u2028\u2029\x0b\x1b\u202e\u2066")
    pwsh_syntax.assert_values_in_literals(f"$x = {literal}", [part for part in value.split("\ud800") if part])


@pytest.mark.parametrize("value", HOSTILE)
def test_remediations_carry_hostile_names_only_inside_literals(value: str) -> None:
    fixes = [grant_share("fs01", "Exp", value, "Full"), add_delegation(value, [f"cifs/{value}"], True, "hv01")]
    ntfs = grant_ntfs("fs01", "D:\\Exp", value, "F", "x")
    if ntfs.actions[0].kind == "manual":  # icacls cannot be given it as one argument (test_native_arguments.py)
        assert any(c in value for c in "\r\n\"")
        pwsh_syntax.assert_values_in_literals(ntfs.powershell, [value])
    else:
        fixes.append(ntfs)
    for remediation in fixes:
        text = remediation.powershell
        literal = quote(value)
        assert literal in text or quote(f"{value}:(OI)(CI)F") in text or quote(f"cifs/{value}") in text
        outside = text.replace(literal, "").replace(quote(f"{value}:(OI)(CI)F"), "").replace(quote(f"cifs/{value}"), "")
        assert "Remove-Item" not in outside and "Stop-Computer" not in outside


@pytest.mark.parametrize("value", HOSTILE)
def test_comments_stay_one_line(value: str) -> None:
    line = comment(value)
    assert line.startswith("# ") and "\n" not in line and "\r" not in line


def test_terminal_shows_markup_and_escape_codes_as_text(site_file: Path, tmp_path: Path) -> None:
    facts = builders.facts()
    assert facts.hosts is not None
    facts.hosts["fs01.contoso.com"] = HostFacts(
        name="fs01.contoso.com", reachable=False,
        error=CollectionError(kind=ErrorKind.UNREACHABLE, message="[bold red]boom[/bold red] \x1b[2J\x07 gone"))
    path = tmp_path / "facts.json"
    path.write_text(facts.to_json())
    proc = subprocess.run([sys.executable, "-m", "offlineprep", "preflight", "--config", str(site_file), "--facts",
                           str(path)], capture_output=True, text=True, timeout=60)
    assert "[bold red]boom[/bold red]" in proc.stdout
    assert "\x1b[2J" not in proc.stdout and "\x07" not in proc.stdout


def test_atomic_writes_leave_no_half_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.html"
    target.write_text("the previous, complete report")

    def interrupted(src: str, dst: object) -> None:
        raise KeyboardInterrupt  # Ctrl-C after the data was written, before the rename

    monkeypatch.setattr("offlineprep.privatefile.os.replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(target, "half of a new report")
    assert target.read_text() == "the previous, complete report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # the temp file is gone
    monkeypatch.undo()
    target.unlink()
    assert not target.exists() and list(tmp_path.iterdir()) == []
    write_atomically(target, "whole")
    assert target.read_text() == "whole" and [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_a_lone_surrogate_stays_the_exact_value_in_powershell() -> None:
    # NTFS accepts an unpaired UTF-16 half in a name; PowerShell's JSON sends it as \ud800
    value = "D:\\Exp\ud800'x\udc00"
    literal = quote(value)
    literal.encode("utf-8")  # the fix script stays valid UTF-8
    assert literal == "('' + 'D:\\Exp' + [char]0xD800 + '''x' + [char]0xDC00)"
    assert "\ud800" not in comment(f"on {value}")


def test_a_lone_surrogate_from_a_host_costs_no_output(site_file: Path, tmp_path: Path) -> None:
    facts = builders.facts()
    assert facts.hosts is not None
    fs01 = facts.hosts["fs01.contoso.com"]
    path = fs01.paths[0].model_copy(update={"local_path": "D:\\Exp\ud800", "ntfs_sddl": "O:BAG:SYD:(A;OICI;FA;;;BA)"})
    facts.hosts["fs01.contoso.com"] = fs01.model_copy(update={"computer_name": "FS01\ud800.contoso.com",
                                                              "paths": [path, *fs01.paths[1:]]})
    (tmp_path / "facts.json").write_text(facts.to_json(), encoding="utf-8")  # what `collect --output` writes
    again = Facts.from_json((tmp_path / "facts.json").read_text(encoding="utf-8"))
    assert again.hosts is not None and again.hosts["fs01.contoso.com"].computer_name == "FS01\ud800.contoso.com"
    out = {fmt: tmp_path / f"out.{fmt}" for fmt in ("json", "junit", "html", "markdown", "fix-script")}
    proc = subprocess.run([sys.executable, "-m", "offlineprep", "preflight", "--config", str(site_file),
                           "--facts", str(tmp_path / "facts.json"),
                           *[arg for fmt, p in out.items() for arg in (f"--{fmt}", str(p))]],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the NTFS failure, not an internal error
    assert "could not write" not in proc.stdout + proc.stderr
    assert all(p.exists() for p in out.values())
    assert "'D:\\Exp' + [char]0xD800" in out["fix-script"].read_text(encoding="utf-8")


def test_outputs_are_private_and_never_inherit_the_mode_they_replace(tmp_path: Path) -> None:
    # issue 20: outputs name every account and server of a site; tests/security/test_files.py has the rest
    import os
    import stat

    old = os.umask(0o000)
    try:
        write_atomically(tmp_path / "report.html", "<p>x</p>")
        assert stat.S_IMODE((tmp_path / "report.html").stat().st_mode) == 0o600
        (tmp_path / "report.html").chmod(0o666)  # a pre-planted world-writable file
        write_atomically(tmp_path / "report.html", "<p>y</p>")
        assert stat.S_IMODE((tmp_path / "report.html").stat().st_mode) == 0o600
    finally:
        os.umask(old)

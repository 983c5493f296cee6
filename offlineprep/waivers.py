"""Waivers (`--waivers FILE`): accepted risks, each with a reason and an end date.

A waived finding keeps its status (the original verdict survives, as Prowler's `muted`) and is
marked `waived`; it does not count for the exit code. An expired waiver no longer applies and is
reported, and so is a waiver that matched nothing: stale suppressions are how real problems hide.

File format (TOML):

    [[waiver]]
    check = "path.free-space"          # check id (a glob is accepted)
    subject = "\\\\fs01*"               # subject glob, as written in the site file
    justification = "Disks shipped on USB; export volume is a staging area"
    expires = 2027-01-31               # ISO date
"""

from __future__ import annotations

import fnmatch
import tomllib
from datetime import date, datetime
from pathlib import Path

from pydantic import Field

from offlineprep.errors import WaiverFileError
from offlineprep.model import Finding, Status, WaiverEntry, WaiverReport
from offlineprep.sitefile import KeyLocator

_ALLOWED = {"check", "subject", "justification", "expires", "target", "account"}


class Waiver(WaiverEntry):
    """A waiver as the file holds it: the entry, and the line of its [[waiver]] (for messages)."""

    line: int | None = Field(default=None, exclude=True)

    def matches(self, finding: Finding) -> bool:
        def glob(pattern: str | None, value: str | None) -> bool:
            return pattern is None or fnmatch.fnmatchcase((value or "").casefold(), pattern.casefold())

        return (
            fnmatch.fnmatchcase(finding.check, self.check)
            and glob(self.subject, finding.subject)
            and glob(self.target, finding.target)
            and glob(self.account, finding.account)
        )

    def entry(self) -> WaiverEntry:
        """What findings and the report carry (no line)."""
        return WaiverEntry.model_validate(self.model_dump(exclude={"line"}))


def load_waivers(path: Path | str) -> list[Waiver]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM from Notepad or PowerShell 5 is fine
    except OSError as exc:
        raise WaiverFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise WaiverFileError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WaiverFileError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:  # hostile nesting ([[[[...) exceeds the interpreter's recursion limit
        raise WaiverFileError(f"{path}: nested too deeply to be read: not a waivers file") from None
    entries = data.get("waiver", [])
    extra = set(data) - {"waiver"}
    if extra:
        raise WaiverFileError(f"{path}: unknown top-level key {sorted(extra)[0]!r}; use [[waiver]] tables")
    if not isinstance(entries, list):
        raise WaiverFileError(f"{path}: 'waiver' must be an array of tables ([[waiver]])")
    header_lines = [n for n, line in enumerate(text.splitlines(), 1) if line.strip().startswith("[[waiver]]")]
    locator = KeyLocator(text)
    waivers = []
    for index, entry in enumerate(entries):
        line = header_lines[index] if index < len(header_lines) else locator.line_of(("waiver",))
        where = f"{path}:{line}" if line else str(path)
        if not isinstance(entry, dict):
            raise WaiverFileError(f"{where}: waiver #{index + 1} is not a table")
        unknown = set(entry) - _ALLOWED
        if unknown:
            raise WaiverFileError(f"{where}: [[waiver]] {sorted(unknown)[0]}: unknown key")
        for key in ("check", "subject", "justification", "expires"):
            if key not in entry:
                raise WaiverFileError(f"{where}: [[waiver]] {key}: required key is missing")
        for key in ("check", "subject", "justification", "target", "account"):
            if key in entry and not isinstance(entry[key], str):
                raise WaiverFileError(f"{where}: [[waiver]] {key}: must be a string")
        if not entry["justification"].strip():
            raise WaiverFileError(f"{where}: [[waiver]] justification: must not be empty")
        expires = entry["expires"]
        if isinstance(expires, datetime):  # `expires = 2026-12-31T23:59:00`: the day is what counts
            expires = expires.date()
        if isinstance(expires, str):
            try:
                expires = date.fromisoformat(expires)
            except ValueError:
                raise WaiverFileError(f"{where}: [[waiver]] expires: {expires!r} is not an ISO date (YYYY-MM-DD)") from None
        if not isinstance(expires, date):
            raise WaiverFileError(f"{where}: [[waiver]] expires: must be an ISO date (YYYY-MM-DD)")
        waivers.append(
            Waiver(
                check=entry["check"],
                subject=entry["subject"],
                justification=entry["justification"],
                expires=expires,
                target=entry.get("target"),
                account=entry.get("account"),
                line=line,
            )
        )
    return waivers


def apply_waivers(findings: list[Finding], waivers: list[Waiver], today: date) -> tuple[list[Finding], WaiverReport]:
    """Mark waived findings; report applied, expired and unused waivers. Passes are never waived."""
    report = WaiverReport()
    active = [w for w in waivers if w.expires >= today]
    report.expired = [w.entry() for w in waivers if w.expires < today]
    used: set[int] = set()
    out = []
    for finding in findings:
        waiver = None
        if finding.status is not Status.PASS:
            waiver = next((w for w in active if w.matches(finding)), None)
        if waiver is None:
            out.append(finding)
            continue
        used.add(id(waiver))
        out.append(finding.model_copy(update={"waived": True, "waiver": waiver.entry()}))
    report.applied = [w.entry() for w in active if id(w) in used]
    report.unused = [w.entry() for w in active if id(w) not in used]
    return out, report

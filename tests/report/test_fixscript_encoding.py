"""The fix script's encoding: UTF-8 with a byte-order mark, the way Windows PowerShell 5.1 needs it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pwsh_syntax
import pytest

from offlineprep.model import Finding, Results, Status, ToolInfo
from offlineprep.remediation import grant_ntfs
from offlineprep.render import fixscript, json_out, markdown

BOM = b"\xef\xbb\xbf"


def test_the_fix_script_is_written_with_a_byte_order_mark_and_the_other_outputs_without(tmp_path: Path) -> None:
    """Item 11.14 (lab-notes, measured): Windows PowerShell 5.1 reads a BOM-less script in the ANSI
    code page, where the UTF-8 bytes of `Ò` (C3 92) are `Ã’`, and that U+2019 ends a single-quoted
    literal: the rest of the folder name runs as commands. With the BOM it reads UTF-8."""
    folder = "D:\\ASR\u00d2xport; Stop-Computer; "
    finding = Finding(check="path.ntfs-full-control", status=Status.FAIL, severity="high", subject="x", message="m",
                      remediation=grant_ntfs("fs01.c.com", folder, "C\\vmm", "F", "Full Control"))
    res = Results(tool=ToolInfo(version="t"), generated_at=datetime(2026, 1, 2, tzinfo=UTC), verdict="not-ready",
                  summary={"pass": 0, "fail": 1, "warn": 0, "error": 0, "skip": 0}, findings=[finding])
    fixscript.write(res, tmp_path / "fix.ps1")
    raw = (tmp_path / "fix.ps1").read_bytes()
    assert raw.startswith(BOM) and not raw[3:].startswith(BOM)
    pwsh_syntax.assert_values_in_literals(raw[3:].decode("utf-8"), [folder])  # as PowerShell reads it with the BOM
    with pytest.raises(AssertionError):  # as 5.1 would read it without one: broken, or code outside a literal
        pwsh_syntax.assert_values_in_literals(raw[3:].decode("cp1252"), ["Stop-Computer"])
    json_out.write(res, tmp_path / "r.json")
    markdown.write(res, tmp_path / "r.md")
    assert not (tmp_path / "r.json").read_bytes().startswith(BOM)  # RFC 8259: no BOM in JSON
    assert not (tmp_path / "r.md").read_bytes().startswith(BOM)

"""Everything offlineprep emits in PowerShell parses (tree-sitter-powershell) with values only in literals."""

from __future__ import annotations

import pwsh_syntax
import pytest

from offlineprep.collect.hosts import collection_script
from offlineprep.pwsh import quote
from offlineprep.winrm.delivery import BOOTSTRAP

HOSTILE = [
    "CONTOSO\\x'; Remove-Item C:\\ -Recurse; '",
    "O\u2019Brien\u2018; Stop-Computer; \u2019",
    "$(Stop-Computer -Force)",
    "`$env:SECRET`n",
    "a;b",
    "\u00d3scar \u00f1 \u201cquoted\u201d",
]


def test_the_collection_script_and_its_bootstrap_parse() -> None:
    pwsh_syntax.assert_valid(collection_script(), "collect.ps1")
    pwsh_syntax.assert_valid(BOOTSTRAP, "the bootstrap")


def test_the_checker_finds_a_broken_script_and_a_value_spliced_into_code() -> None:
    with pytest.raises(AssertionError, match="does not parse"):
        pwsh_syntax.assert_valid("Set-Thing -Name 'unbalanced")
    value = "x'; Stop-Computer; '"
    with pytest.raises(AssertionError, match="outside any string literal"):
        pwsh_syntax.assert_values_in_literals(f"Set-Thing -Name '{value}'", [value])  # spliced, not quoted
    # a typographic quote that PowerShell treats as a quote must not hide an early end from the parser
    with pytest.raises(AssertionError):
        pwsh_syntax.assert_values_in_literals("Set-Thing -Name 'O\u2019Brien; Stop-Computer'", ["Stop-Computer"])


@pytest.mark.parametrize("value", HOSTILE)
def test_a_quoted_hostile_value_stays_one_literal(value: str) -> None:
    pwsh_syntax.assert_values_in_literals(f"Set-Thing -Name {quote(value)} -Other 1", [value])

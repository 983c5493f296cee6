"""PowerShell text we print: values quoted as data, comments that cannot become code.

PowerShell treats the typographic single quotes U+2018, U+2019, U+201A and U+201B exactly like
the ASCII apostrophe inside a single-quoted string, so every one of them is doubled too; a name
like `O’Brien'; Remove-Item C:\\ -Recurse; '` then stays one literal string.
"""

from __future__ import annotations

import re

_SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\u0085\ud800-\udfff]")
_LONE_SURROGATE = re.compile(r"([\ud800-\udfff])")


def quote(value: str) -> str:
    """A single-quoted PowerShell literal: no expansion, no escapes, quotes doubled.

    An unpaired UTF-16 surrogate (NTFS accepts one in a name; PowerShell's JSON sends it as
    `\\ud800`) cannot be written as UTF-8, so such a value becomes `('' + 'ab' + [char]0xD800)`:
    still exactly the name, in a file that stays valid UTF-8. The leading '' keeps `+` a string
    concatenation whatever comes first.
    """
    if not _LONE_SURROGATE.search(value):
        return _literal(value)
    parts = [f"[char]0x{ord(p):04X}" if _LONE_SURROGATE.fullmatch(p) else _literal(p)
             for p in _LONE_SURROGATE.split(value) if p]
    return "(" + " + ".join(["''", *parts]) + ")"


def _literal(value: str) -> str:
    return "'" + "".join(ch * 2 if ch in _SINGLE_QUOTES else ch for ch in value) + "'"


def quote_list(values: list[str]) -> str:
    return "@(" + ", ".join(quote(v) for v in values) + ")"


def comment(text: str) -> str:
    """One `#` comment line: newlines and control characters cannot end it and start code."""
    flat = _CONTROL.sub(" ", text.replace("\r", " ").replace("\n", " "))
    return "# " + flat.strip()


def cmd_arg(value: str) -> str:
    """An argument for a native command (icacls, setspn) as PowerShell passes it: a quoted literal."""
    return quote(value)

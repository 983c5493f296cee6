"""PowerShell text we print: values quoted as data, comments that cannot become code.

PowerShell treats the typographic single quotes U+2018, U+2019, U+201A and U+201B exactly like
the ASCII apostrophe inside a single-quoted string, so every one of them is doubled too; a name
like `O’Brien'; Remove-Item C:\\ -Recurse; '` then stays one literal string.

Characters a reader cannot see for what they are (line ends other than the ones PowerShell knows,
control characters, bidi controls that reorder the text around them, an unpaired UTF-16 half) are
spelled `[char]0x….` outside the literal: the value stays exact, and what a reviewer sees is what
runs.
"""

from __future__ import annotations

import re

from offlineprep.display import BIDI_CONTROLS

_SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
_CONTROL = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\\u2028\\u2029\\ud800-\\udfff{BIDI_CONTROLS}]")
_SPELLED = re.compile(f"([\\x00-\\x08\\x0a-\\x1f\\x7f-\\x9f\\u2028\\u2029\\ud800-\\udfff{BIDI_CONTROLS}])")


def quote(value: str) -> str:
    """A single-quoted PowerShell literal: no expansion, no escapes, quotes doubled.

    A character of `_SPELLED` (a newline, a control or bidi character, an unpaired UTF-16
    surrogate, which NTFS accepts in a name and PowerShell's JSON sends as `\\ud800`) becomes
    `('' + 'ab' + [char]0x000A + 'cd')`: still exactly the value, on one line, in a file that stays
    valid UTF-8. The leading '' keeps `+` a string concatenation whatever comes first.
    """
    if not _SPELLED.search(value):
        return _literal(value)
    parts = [f"[char]0x{ord(p):04X}" if _SPELLED.fullmatch(p) else _literal(p)
             for p in _SPELLED.split(value) if p]
    return "(" + " + ".join(["''", *parts]) + ")"


def _literal(value: str) -> str:
    return "'" + "".join(ch * 2 if ch in _SINGLE_QUOTES else ch for ch in value) + "'"


def quote_list(values: list[str]) -> str:
    return "@(" + ", ".join(quote(v) for v in values) + ")"


def comment(text: str) -> str:
    """One `#` comment line: newlines and control characters cannot end it and start code."""
    flat = _CONTROL.sub(" ", text.replace("\r", " ").replace("\n", " "))
    return "# " + flat.strip()

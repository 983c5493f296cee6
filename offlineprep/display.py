"""Characters that change what a reader sees without showing themselves, and links a reader may follow.

Bidi embeddings, overrides, isolates and marks reorder the text around them: a finding could read
`\\\\fs01\\ASRImport` on screen while naming another path. A line end or an escape sequence in a
host's name starts a line of its own in a terminal or a CI log: a forged "PASS". Text from AD or a
host is shown in the terminal, HTML, Markdown and JUnit, so each of them treats these from this one
list; the terminal and JUnit show them escaped (`visible`), so what was sent can still be read.
"""

import re

BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"  # the inside of a regex character class

# C0 controls (line ends and tabs included), DEL, C1 controls (U+009B is a CSI on some terminals), the
# Unicode line and paragraph separators, bidi controls, and lone UTF-16 surrogates
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff" + BIDI_CONTROLS + "]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _spelled(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """`text` on one line with every invisible or reordering character spelled out (`\\n`, `\\x1b`,
    `\\u202e`): nothing in a value can start a line, move the cursor or reverse what follows it."""
    return _INVISIBLE.sub(_spelled, text)


def https_link(url: str) -> bool:
    """Whether `url` may be shown as a link: an absolute `https:` URL with a host, nothing else
    (`javascript:`, `data:`, `file:`, `http:` or a relative reference is shown as plain text or dropped)."""
    return (re.fullmatch(r"https://[^\s/?#@\\]+(?:[/?#][^\s]*)?", url) is not None
            and _INVISIBLE.search(url) is None)

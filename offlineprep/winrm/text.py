"""Text that came from a remote machine or a client library, made fit to show and to keep: one
line, no control characters, bounded, and never the password."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def printable(text: str) -> str:
    return _CONTROL.sub("?", text)


def short(text: str, limit: int = 300) -> str:
    text = printable(" ".join(str(text).split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def scrub(text: str, password: str | None) -> str:
    if password and len(password) >= 3:
        from urllib.parse import quote

        text = text.replace(password, "********").replace(quote(password, safe=""), "********")
    return text

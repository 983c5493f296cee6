""""Did you mean …?" for a mistyped name: a site-file key, a check id, an `--only` glob."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' when one of `choices` is close to `word`, else ''."""
    options = [c for c in choices if c != word]
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.7)
    if not close:  # case is the usual slip in a TOML key or a check id
        close = [c for c in options if c.casefold() == word.casefold()][:1]
    if not close and len(word) >= 4:  # a part of the name: `retention` for recovery_point_retention_hours
        containing = [c for c in options if word.casefold() in c.casefold()]
        close = containing if len(containing) == 1 else []
    return f" (did you mean {close[0]!r}?)" if close else ""

"""JSON text for the files we write: readable UTF-8 where possible, exact where not.

A host can send an unpaired UTF-16 surrogate (NTFS accepts one in a name; PowerShell's JSON
writes it as `\\ud800`). It cannot be encoded as UTF-8, and pydantic's JSON parser refuses the
escape, so such a document is written with ASCII escapes and read back through `json`, which
keeps the value exact instead of failing the whole file.
"""

from __future__ import annotations

import json
from typing import Any


def dumps(data: Any, *, sort_keys: bool = False) -> str:
    text = json.dumps(data, indent=2, sort_keys=sort_keys, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(data, indent=2, sort_keys=sort_keys)
    return text

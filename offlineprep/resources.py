"""Where the bundled folders (`checks/`, `templates/`, PowerShell scripts) live.

In a wheel, hatchling maps the repository's `checks/` and `templates/` into
`offlineprep/_bundled/`; in a checkout or an editable install they sit beside the package. One
resolver looks in the wheel location first and falls back to the repository folders.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def bundled_dir(name: str) -> Path:
    inside = _PACKAGE / "_bundled" / name
    if inside.is_dir():
        return inside
    return _PACKAGE.parent / name

"""Shared test helpers: a healthy site file and facts file written to a temp folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from sites import SITE_TOML

sys.path.insert(0, str(Path(__file__).parent / "checks"))




@pytest.fixture
def site_file(tmp_path: Path) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(SITE_TOML)
    return path


@pytest.fixture
def healthy_facts(tmp_path: Path) -> Path:
    import builders

    path = tmp_path / "facts.json"
    path.write_text(builders.facts().to_json())
    return path

"""The `lab` fixture: a fresh demo lab per test (tests/apply/apply_lab.py)."""

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from apply_lab import Lab, started_lab


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    with started_lab(tmp_path) as started:
        yield started

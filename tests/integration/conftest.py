from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from dc_pair import dc_pair  # noqa: F401 - the two-DC lab, a session fixture every module may use
from samba import SambaDC, require_samba


@pytest.fixture(scope="session")
def samba_dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SambaDC]:
    require_samba()
    dc = SambaDC(tmp_path_factory.mktemp("samba"))
    try:
        dc.start()
        yield dc
    finally:
        dc.stop()

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from dc_pair import dc_pair  # noqa: F401 - the two-DC lab, a session fixture every module may use
from samba import SambaDC, samba_installed


@pytest.fixture(scope="session")
def samba_dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SambaDC]:
    if not samba_installed() or os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("the Samba AD DC tests need samba and root in CI (scripts/setup.sh installs samba)")
        pytest.skip("Samba AD DC not installed, or not root")
    dc = SambaDC(tmp_path_factory.mktemp("samba"))
    try:
        dc.start()
        yield dc
    finally:
        dc.stop()

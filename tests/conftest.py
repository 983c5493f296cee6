"""Shared test helpers: a healthy site file and facts file written to a temp folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "checks"))

SITE_TOML = r"""
[directory]
server = "ldaps://dc1.contoso.com"
user = "svc-preflight@contoso.com"

[winrm]
transport = "basic"
scheme = "http"
user = "CONTOSO\\svc-preflight"

[accounts]
vmm_service = "CONTOSO\\svc-vmm"
run_as = ["CONTOSO\\svc-runas"]

[source]
hosts = ["hv01.contoso.com", "hv02"]
export_path = '\\fs01.contoso.com\ASRExport'

[target]
hosts = ["hv11.contoso.com"]
import_path = '\\fs11.contoso.com\ASRImport'

[policy]
name = "Gold"
host_os = "Windows Server 2012 R2"
copy_frequency = "5m"
recovery_point_retention_hours = 24
app_consistent_snapshot_frequency_hours = 4
"""


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

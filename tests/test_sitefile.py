"""Every site-file error class names the file, the line and the key, in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from sites import SITE_TOML

from offlineprep.errors import SiteFileError
from offlineprep.example import EXAMPLE_SITE
from offlineprep.sitefile import load_site, parse_site


def error_for(text: str) -> str:
    with pytest.raises(SiteFileError) as caught:
        parse_site(text, "site.toml")
    return str(caught.value)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_healthy_site_loads() -> None:
    site = parse_site(SITE_TOML)
    assert [p.server for p in site.paths] == ["fs01.contoso.com", "fs11.contoso.com"]
    assert site.winrm is not None and site.winrm.effective_port == 5985


def test_unknown_key() -> None:
    text = SITE_TOML.replace('name = "Gold"', 'name = "Gold"\nretention = 3')
    assert error_for(text) == f"site.toml:{line_of(text, 'retention = 3')}: [policy] retention: unknown key"


def test_wrong_type() -> None:
    text = SITE_TOML.replace("recovery_point_retention_hours = 24", 'recovery_point_retention_hours = "a day"')
    message = error_for(text)
    assert message.startswith(f"site.toml:{line_of(text, 'a day')}: [policy] recovery_point_retention_hours:")
    assert "integer" in message


def test_missing_required_key() -> None:
    text = SITE_TOML.replace('vmm_service = "CONTOSO\\\\svc-vmm"\n', "")
    assert error_for(text) == f"site.toml:{line_of(text, '[accounts]')}: [accounts] vmm_service: required key is missing"


def test_literal_password_is_refused_before_anything_else() -> None:
    text = SITE_TOML.replace('user = "svc-preflight@contoso.com"', 'user = "x"\npassword = "hunter2-secret"')
    message = error_for(text)
    assert message.startswith(f"site.toml:{line_of(text, 'password =')}: [directory] password:")
    assert "hunter2-secret" not in message


def test_unparseable_unc_path() -> None:
    text = SITE_TOML.replace(r"'\\fs11.contoso.com\ASRImport'", "'fs11/ASRImport'")
    message = error_for(text)
    assert message.startswith(f"site.toml:{line_of(text, 'fs11/ASRImport')}: [target] import_path:")


def test_bad_enum_and_bad_toml() -> None:
    text = SITE_TOML.replace('transport = "basic"', 'transport = "telnet"')
    assert error_for(text).startswith(f"site.toml:{line_of(text, 'telnet')}: [winrm] transport:")
    assert error_for("[source\nhosts=[]").startswith("site.toml:1: not valid TOML")


def test_every_error_is_one_line_per_problem_and_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(SITE_TOML.replace('[source]', '[source]\nfoo = 1'))
    with pytest.raises(SiteFileError) as caught:
        load_site(path)
    assert str(caught.value).startswith(f"{path}:")
    with pytest.raises(SiteFileError, match="no such file"):
        load_site(tmp_path / "missing.toml")


def test_init_example_validates() -> None:
    site = parse_site(EXAMPLE_SITE)
    assert site.accounts.vmm_service == "CONTOSO\\svc-vmm"
    assert site.policy is not None and site.policy.copy_frequency == "5m"

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
    assert error_for(text) == (f"site.toml:{line_of(text, 'retention = 3')}: [policy] retention: unknown key "
                               "(did you mean 'recovery_point_retention_hours'?)")


@pytest.mark.parametrize(("old", "new", "table", "suggestion"), [
    ("export_path =", "exportpath =", "[source] exportpath", "export_path"),
    ("[policy]", "[polcy]", "polcy", "policy"),
    ('transport = "basic"', 'transprot = "basic"', "[winrm] transprot", "transport"),
    ("copy_frequency", "Copy_Frequency", "[policy] Copy_Frequency", "copy_frequency"),
])
def test_an_unknown_key_gets_a_suggestion(old: str, new: str, table: str, suggestion: str) -> None:
    text = SITE_TOML.replace(old, new)
    message = error_for(text)
    assert f": {table}: unknown key (did you mean {suggestion!r}?)" in message, message


def test_a_key_like_no_other_gets_no_suggestion() -> None:
    assert error_for(SITE_TOML.replace('name = "Gold"', 'name = "Gold"\nzzz = 3')).endswith("zzz: unknown key")


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


def test_a_host_listed_twice_is_an_error() -> None:
    text = SITE_TOML.replace('hosts = ["hv01.contoso.com", "hv02"]', 'hosts = ["hv01.contoso.com", "HV01.contoso.com."]')
    message = error_for(text)
    assert message.startswith(f"site.toml:{line_of(text, 'HV01.contoso.com.')}: [source] hosts:")
    assert "HV01.contoso.com." in message and "twice" in message


def test_a_host_in_both_source_and_target_is_an_error() -> None:
    text = SITE_TOML.replace('hosts = ["hv11.contoso.com"]', 'hosts = ["hv11.contoso.com", "HV02"]')
    message = error_for(text)
    assert message.startswith(f"site.toml:{line_of(text, 'HV02')}: [target] hosts:")
    assert "HV02" in message and "[source]" in message


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('copy_frequency = "5m"', 'copy_frequency = "5m"\nport = "8084"', "[policy] port"),
        ('copy_frequency = "5m"', "copy_frequency = 5", "[policy] copy_frequency"),
        ("recovery_point_retention_hours = 24", "recovery_point_retention_hours = true",
         "[policy] recovery_point_retention_hours"),
        ('scheme = "http"', 'scheme = "http"\nverify_tls = "no"', "[winrm] verify_tls"),
        ('scheme = "http"', 'scheme = "http"\nconcurrency = 8.0', "[winrm] concurrency"),
    ],
)
def test_wrong_types_are_not_coerced(old: str, new: str, key: str) -> None:
    """TOML has real types: "no" is not false and "8084" is not a port, so nothing is coerced."""
    text = SITE_TOML.replace(old, new)
    assert error_for(text).startswith(f"site.toml:{line_of(text, new.splitlines()[-1])}: {key}:")


def test_a_float_timeout_may_be_written_as_an_integer() -> None:
    site = parse_site(SITE_TOML.replace('scheme = "http"', 'scheme = "http"\ntimeout_seconds = 90'))
    assert site.winrm is not None and site.winrm.timeout_seconds == 90.0


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('vmm_service = "CONTOSO\\\\svc-vmm"', 'vmm_service = ""', "[accounts] vmm_service"),
        ('run_as = ["CONTOSO\\\\svc-runas"]', 'run_as = [" "]', "[accounts] run_as[0]"),
        ('server = "ldaps://dc1.contoso.com"', 'server = ""', "[directory] server"),
        ('server = "ldaps://dc1.contoso.com"', 'server = "dc1.contoso.com"', "[directory] server"),
        ('server = "ldaps://dc1.contoso.com"', 'server = "https://dc1.contoso.com"', "[directory] server"),
        ('user = "svc-preflight@contoso.com"', 'user = "svc-preflight@contoso.com"\npassword_env = ""',
         "[directory] password_env"),
    ],
)
def test_empty_names_and_a_server_that_is_no_ldap_url_are_errors(old: str, new: str, key: str) -> None:
    text = SITE_TOML.replace(old, new)
    assert error_for(text).startswith(f"site.toml:{line_of(text, new.splitlines()[-1])}: {key}:")


def test_a_duplicate_key_names_the_key_and_its_line() -> None:
    text = SITE_TOML.replace('name = "Gold"', 'name = "Gold"\nname = "Silver"')
    message = error_for(text)
    assert message.startswith(f"site.toml:{line_of(text, 'Silver')}: not valid TOML") and "'name'" in message


def test_a_site_file_saved_with_a_utf8_bom_loads(tmp_path: Path) -> None:
    """Notepad and PowerShell 5's `Out-File -Encoding utf8` write a BOM."""
    path = tmp_path / "site.toml"
    path.write_bytes(b"\xef\xbb\xbf" + SITE_TOML.encode())
    assert load_site(path).accounts.vmm_service == "CONTOSO\\svc-vmm"


def test_relative_certificate_files_are_resolved_next_to_the_site_file(tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    path = folder / "site.toml"
    path.write_text(SITE_TOML.replace('user = "svc-preflight@contoso.com"',
                                      'user = "svc-preflight@contoso.com"\nca_file = "contoso-ca.pem"')
                    .replace('scheme = "http"', 'scheme = "http"\nca_file = "certs/ca.pem"\n'
                             'cert_pem = "/abs/client.pem"'))
    site = load_site(path)
    assert site.primary_directory is not None and site.winrm is not None
    assert site.primary_directory.ca_file == str(folder / "contoso-ca.pem")
    assert site.winrm.ca_file == str(folder / "certs" / "ca.pem")
    assert site.winrm.cert_pem == "/abs/client.pem"


def test_a_password_inside_an_array_of_tables_is_refused_and_never_echoed() -> None:
    text = SITE_TOML.replace("[directory]", "[[directory]]").replace(
        'user = "svc-preflight@contoso.com"', 'user = "x"\npassword = "hunter2-secret"')
    message = error_for(text)
    assert message.startswith(f"site.toml:{line_of(text, 'password =')}: [directory] password:")
    text = SITE_TOML.replace("[policy]", "[[policy]]").replace('name = "Gold"', 'name = "hunter2-secret"')
    assert "hunter2-secret" not in error_for(text)


def test_a_missing_table_is_named_as_a_table() -> None:
    text = SITE_TOML.replace('[accounts]\nvmm_service = "CONTOSO\\\\svc-vmm"\nrun_as = ["CONTOSO\\\\svc-runas"]\n', "")
    assert error_for(text) == "site.toml: [accounts]: required table is missing"


def test_the_examples_commented_vmm_table_loads_when_uncommented() -> None:
    lines = EXAMPLE_SITE.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("# [vmm]")))
    end = lines.index("", start)
    text = "\n".join([*lines[:start], *(line[2:] for line in lines[start:end]), *lines[end:]])
    site = parse_site(text)
    assert site.vmm is not None and site.vmm.server == "vmm01.contoso.com" and site.vmm.target_cloud == "Recovery"

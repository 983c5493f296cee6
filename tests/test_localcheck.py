"""What this machine needs is checked before any network traffic, in under a second, with the fix.

The Kerberos libraries are installed here (scripts/setup.sh installs offlineprep[kerberos]), so a
machine without them is made by refusing their import in the child process (sys.modules[name] = None
makes `import name` raise ImportError): the narrow seam, everything else runs as shipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sites import SITE_TOML

RUN = """
import sys
for name in sys.argv[1].split(","):
    if name:
        sys.modules[name] = None  # this machine lacks the package
sys.argv = ["offlineprep", *sys.argv[2:]]
from offlineprep.cli import main
try:
    main()
except SystemExit as exit:
    print("EXIT", exit.code, "ldap3" in sys.modules, "winrm" in sys.modules, file=sys.stderr)
"""


def start(blocked: str, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", RUN, blocked, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "300", **(env or {})})
    return proc, time.monotonic() - started


def kerberos_site(tmp_path: Path, **extra: str) -> Path:
    text = SITE_TOML.replace('transport = "basic"', 'transport = "kerberos"').replace('scheme = "http"', 'scheme = "https"')
    text = text.replace('user = "svc-preflight@contoso.com"', 'user = "svc-preflight@contoso.com"\nauth = "kerberos"')
    for key, value in extra.items():
        table, _, name = key.partition("__")
        text = text.replace(f"[{table}]\n", f"[{table}]\n{name} = {value}\n", 1)
    path = tmp_path / "site.toml"
    path.write_text(text)
    return path


def test_a_missing_kerberos_extra_is_exit_2_in_under_a_second_with_the_pip_command(tmp_path: Path) -> None:
    site = kerberos_site(tmp_path)
    proc, seconds = start("gssapi,kerberos,winkerberos", "preflight", "--config", str(site))
    assert "EXIT 2 False False" in proc.stderr, proc.stderr  # no LDAP, no WinRM library even loaded
    assert seconds < 1.0, seconds
    assert "[directory] auth = \"kerberos\" needs the Python package gssapi" in proc.stderr
    assert "[winrm] transport = \"kerberos\" needs pywinrm's Kerberos extra" in proc.stderr
    assert proc.stderr.count("pip install 'offlineprep[kerberos]'") == 2
    assert "Traceback" not in proc.stderr


def test_no_kerberos_ticket_says_kinit_with_the_principal_in_under_a_second(tmp_path: Path) -> None:
    site = kerberos_site(tmp_path)
    proc, seconds = start("", "preflight", "--config", str(site), "--only", "ad.*",
                          env={"KRB5CCNAME": f"FILE:{tmp_path / 'no-such-cache'}", "KRB5_CLIENT_KTNAME": ""})
    assert "EXIT 2 False False" in proc.stderr, proc.stderr
    assert seconds < 1.0, seconds
    assert "no valid Kerberos ticket: run `kinit svc-preflight@CONTOSO.COM`" in proc.stderr
    assert "KRB5_CLIENT_KTNAME" in proc.stderr


def test_a_keytab_for_pipelines_counts_and_a_missing_one_is_named(tmp_path: Path) -> None:
    site = kerberos_site(tmp_path)
    proc, _ = start("", "preflight", "--config", str(site), "--only", "ad.*",
                    env={"KRB5CCNAME": f"FILE:{tmp_path / 'none'}", "KRB5_CLIENT_KTNAME": str(tmp_path / "svc.keytab")})
    assert "EXIT 2" in proc.stderr and f"KRB5_CLIENT_KTNAME names the keytab {tmp_path / 'svc.keytab'}, which does not exist" \
        in proc.stderr, proc.stderr


def test_an_unreadable_ca_file_and_a_missing_credssp_package_are_named(tmp_path: Path) -> None:
    (tmp_path / "not-a-ca.pem").write_text("hello\n")
    site = kerberos_site(tmp_path, directory__ca_file="'not-a-ca.pem'", winrm__ca_file="'missing.pem'")
    site.write_text(site.read_text().replace('transport = "kerberos"', 'transport = "credssp"')
                    .replace('auth = "kerberos"', 'auth = "simple"'))
    proc, seconds = start("requests_credssp", "preflight", "--config", str(site),
                          env={"OFFLINEPREP_LDAP_PASSWORD": "x", "OFFLINEPREP_WINRM_PASSWORD": "y"})
    assert "EXIT 2 False False" in proc.stderr, proc.stderr
    assert seconds < 1.0
    assert f"[directory] ca_file {tmp_path / 'not-a-ca.pem'}: holds no certificate in PEM form" in proc.stderr
    assert f"[winrm] ca_file {tmp_path / 'missing.pem'}: no such file" in proc.stderr
    assert "pip install 'offlineprep[credssp]'" in proc.stderr


def test_only_what_the_selected_checks_use_is_checked(tmp_path: Path) -> None:
    """--only policy.settings reads neither AD nor a host: a missing Kerberos extra does not matter."""
    site = kerberos_site(tmp_path)
    proc, _ = start("gssapi,kerberos,winkerberos", "preflight", "--config", str(site), "--only", "policy.settings")
    assert "EXIT 0" in proc.stderr, proc.stderr


def test_the_up_front_check_and_each_hosts_verdict_come_from_one_implementation(tmp_path: Path) -> None:
    """localcheck.winrm_problems serves both: the exit-2 check before any traffic (libraries by
    import) and the collector's per-host cause that host.reachable fails on (libraries as pywinrm
    recorded them). The same settings give the same sentences; only the library test is passed in."""
    import pytest

    from offlineprep import localcheck
    from offlineprep.collect.hosts import collect_hosts
    from offlineprep.collect.requests import HostRequest
    from offlineprep.facts import ErrorKind
    from offlineprep.site import WinRMConfig

    config = WinRMConfig(transport="kerberos", scheme="https", user="svc-preflight@contoso.com",
                         ca_file=str(tmp_path / "missing.pem"))
    up_front = localcheck.winrm_problems(config, has_library=lambda name: False)
    assert [p.split(":")[0] for p in up_front] == ['[winrm] transport = "kerberos" needs pywinrm\'s Kerberos extra '
                                                   '(pykerberos), which is not installed on this machine',
                                                   f"[winrm] ca_file {tmp_path / 'missing.pem'}"]
    assert "kinit svc-preflight@CONTOSO.COM" in up_front[0]
    with pytest.MonkeyPatch.context() as patch:
        import winrm.transport

        patch.setattr(winrm.transport, "HAVE_KERBEROS", False)
        host = collect_hosts(config, [HostRequest("hv01.offlineprep-test.invalid")], "x")["hv01.offlineprep-test.invalid"]
    assert host.error is not None and host.error.kind is ErrorKind.CLIENT and not host.reachable
    assert host.error.message == "; ".join(up_front)
    certificate = WinRMConfig(transport="certificate", scheme="https", cert_pem=str(tmp_path / "client.pem"))
    assert localcheck.winrm_problems(certificate) == [
        f"[winrm] cert_pem {tmp_path / 'client.pem'}: no such file",
        '[winrm] transport = "certificate" needs cert_key_pem: the client certificate (PEM) and its key']

"""Issue 20, item 6: apply and revert change nothing over LDAP without TLS or WinRM without
encryption; preflight warns about both, once, naming the setting (docs/security.md, "Transport").

ldap3 2.9.1 neither signs nor seals LDAP after an NTLM or Kerberos bind (docs/authentication.md), and
pywinrm encrypts over HTTP only for Kerberos, NTLM and CredSSP (message_encryption, winrm/transport.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from offlineprep.site import Site, weak_transports

BASE = {"accounts": {"vmm_service": "LAB\\svc-vmm"}, "source": {"hosts": ["hv01.lab.test"]},
        "target": {"hosts": ["hv11.lab.test"]}}


def site(directory: dict[str, object] | None = None, winrm: dict[str, object] | None = None) -> Site:
    data: dict[str, object] = dict(BASE)
    if directory is not None:
        data["directory"] = {"user": "LAB\\svc", **directory}
    if winrm is not None:
        data["winrm"] = {"user": "LAB\\svc", **winrm}
    return Site.model_validate(data)


@pytest.mark.parametrize("auth", ["simple", "ntlm", "kerberos"])
def test_ldap_without_tls_is_weak_whatever_the_bind(auth: str) -> None:
    problems = weak_transports(site({"server": "ldap://dc1.lab.test", "auth": auth}))
    assert len(problems) == 1 and 'server = "ldap://dc1.lab.test" without start_tls = true' in problems[0]
    assert f"the {auth} bind" in problems[0]


@pytest.mark.parametrize("directory", [{"server": "ldaps://dc1.lab.test", "auth": "ntlm"},
                                       {"server": "ldap://dc1.lab.test", "auth": "kerberos", "start_tls": True}])
def test_ldap_with_tls_is_not(directory: dict[str, object]) -> None:
    assert weak_transports(site(directory)) == []


@pytest.mark.parametrize(("winrm", "setting"), [
    ({"transport": "basic", "scheme": "http"}, '[winrm] transport = "basic" with scheme = "http"'),
    ({"transport": "certificate", "scheme": "http", "cert_pem": "c", "cert_key_pem": "k"},
     '[winrm] transport = "certificate" with scheme = "http"'),
    ({"transport": "ntlm", "scheme": "http", "message_encryption": "never"},
     '[winrm] message_encryption = "never" with scheme = "http"'),
])
def test_winrm_without_encryption_is_weak(winrm: dict[str, object], setting: str) -> None:
    problems = weak_transports(site(winrm=winrm))
    assert len(problems) == 1 and problems[0].startswith(setting)


@pytest.mark.parametrize("winrm", [{"transport": "ntlm", "scheme": "http"}, {"transport": "kerberos", "scheme": "http"},
                                   {"transport": "basic", "scheme": "https"},
                                   {"transport": "ntlm", "scheme": "https", "message_encryption": "never"}])
def test_encrypted_winrm_is_not(winrm: dict[str, object]) -> None:
    assert weak_transports(site(winrm=winrm)) == []


WEAK_SITE = ('[directory]\nserver = "ldap://dc1.lab.test"\nauth = "ntlm"\nuser = "LAB\\\\svc-preflight"\n'
             '[winrm]\ntransport = "basic"\nscheme = "http"\nuser = "LAB\\\\svc-preflight"\n'
             '[accounts]\nvmm_service = "LAB\\\\svc-vmm"\n[source]\nhosts = ["hv01.lab.test"]\n'
             "export_path = '\\\\fs01.lab.test\\ASRExport'\n[target]\nhosts = [\"hv11.lab.test\"]\n")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFLINEPREP_")}
    return subprocess.run([sys.executable, "-m", "offlineprep", *args], capture_output=True, text=True,
                          env={**env, "COLUMNS": "250", "OFFLINEPREP_LDAP_PASSWORD": "x",
                               "OFFLINEPREP_WINRM_PASSWORD": "x"}, timeout=300, cwd=cwd, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    proc = run("demo", "--apply", "--workdir", str(folder))
    # applied; the lab's steps by hand keep the re-check NOT READY (exit 1)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr
    (folder / "site.toml").write_text(WEAK_SITE)
    return folder


def test_preflight_warns_once_naming_each_setting(tmp_path: Path) -> None:
    (tmp_path / "site.toml").write_text(WEAK_SITE.replace('"ldap://dc1.lab.test"', '"ldap://127.0.0.1:9"'))
    proc = run("preflight", "--config", str(tmp_path / "site.toml"), "--only", "inventory.sources")
    assert proc.stderr.count("without start_tls = true") == 1, proc.stderr
    assert proc.stderr.count('transport = "basic" with scheme = "http"') == 1, proc.stderr


@pytest.mark.parametrize("command", ["apply", "revert"])
def test_apply_and_revert_refuse_to_change_anything_over_weak_transports(demo_files: Path, command: str) -> None:
    document = demo_files / ("plan.json" if command == "apply" else "record.json")
    record = demo_files / f"{command}-record.json"
    proc = run(command, str(document), "--config", str(demo_files / "site.toml"), "--yes", "--record", str(record))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "only over protected connections, and nothing was sent" in proc.stderr
    assert '[directory] server = "ldap://dc1.lab.test" without start_tls = true' in proc.stderr
    assert '[winrm] transport = "basic" with scheme = "http"' in proc.stderr
    assert not record.exists()  # before: it went on to connect (and a record of the attempt was written)


def test_a_dry_run_warns_and_says_that_yes_would_refuse(demo_files: Path) -> None:
    proc = run("apply", str(demo_files / "plan.json"), "--config", str(demo_files / "site.toml"))
    # the weak site's machines are not the demo's, so the re-plan finds none of the plan's findings and the
    # dry run ends refusing the steps (exit 3); the warning comes first, before anything is collected
    assert proc.returncode in (0, 3), proc.stdout + proc.stderr
    assert "apply --yes refuses it" in proc.stderr


def test_a_lab_may_allow_unencrypted_winrm_in_its_own_site_file_and_is_still_warned(
        capsys: pytest.CaptureFixture[str]) -> None:
    from types import SimpleNamespace

    from offlineprep.apply.model import How
    from offlineprep.cli import _refuse_weak_transports
    from offlineprep.errors import UsageError

    steps = [SimpleNamespace(how=How.HOST, action=SimpleNamespace(owner=None))]
    weak = site(winrm={"transport": "basic", "scheme": "http"})
    with pytest.raises(UsageError, match='transport = "basic" with scheme = "http"'):
        _refuse_weak_transports(weak, steps, False, True, "apply")
    lab = site(winrm={"transport": "basic", "scheme": "http", "allow_unencrypted": True})
    _refuse_weak_transports(lab, steps, False, True, "apply")  # no refusal
    assert "(allow_unencrypted = true)" in capsys.readouterr().err

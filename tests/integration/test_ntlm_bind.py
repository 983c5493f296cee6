"""auth = "ntlm" binds to a real DC from this Linux machine (issue 24).

ldap3's NTLM bind (the Sicily bind of MS-ADTS 5.1.1.1.3, which Samba's LDAP server speaks too)
hashes the password with MD4; on OpenSSL 3 only pycryptodome, a dependency of offlineprep,
provides it. Over LDAPS, because ldap3 negotiates no NTLM signing or sealing (docs/authentication.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from samba import ADMIN_PASSWORD, SambaDC

PASSWORD_ENV = "OFFLINEPREP_LDAP_PASSWORD"


def test_ntlm_over_ldaps_reads_the_directory(samba_dc: SambaDC, tmp_path: Path) -> None:
    dc = samba_dc
    dc.computer("NTLM01")
    dc.computer("NTLM11")
    site = tmp_path / "site.toml"
    site.write_text(
        "[directory]\n"
        f'server = "{dc.url}"\n'
        f'user = "{dc.netbios}\\\\Administrator"\n'  # ldap3's NTLM bind takes DOMAIN\name, not a UPN
        'auth = "ntlm"\n'
        f'password_env = "{PASSWORD_ENV}"\n'
        f"ca_file = '{dc.ca_file}'\n"
        "timeout_seconds = 5\n"
        "[accounts]\n"
        f'vmm_service = "{dc.netbios}\\\\Administrator"\n'
        "[source]\n"
        f'hosts = ["ntlm01.{dc.dns_domain}"]\n'
        f"export_path = '\\\\ntlm01.{dc.dns_domain}\\ASRExport'\n"
        "[target]\n"
        f'hosts = ["ntlm11.{dc.dns_domain}"]\n'
        f"import_path = '\\\\ntlm11.{dc.dns_domain}\\ASRImport'\n"
    )
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "offlineprep", "preflight", "--config", str(site), "--only", "ad.*", "--json", str(out)],
        capture_output=True, text=True, env={**os.environ, PASSWORD_ENV: ADMIN_PASSWORD}, timeout=120,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode in (0, 1), output  # a verdict, not 2 (this machine) or 3 (could not read)
    results = json.loads(out.read_text())
    errors = [f for f in results["findings"] if f["status"] == "error"]
    assert errors == [], errors
    assert results["statistics"]["ldap_searches"] >= 1
    assert "MD4" not in output

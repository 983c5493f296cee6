"""Two Samba AD DCs side by side, one per domain: the ground the several-domains work stands on.

The session's DC holds LAB.TEST (dc1); this module provisions FABRIKAM.TEST (dc2) on a loopback
address of its own, with its own DC name, so both /etc/hosts lines and both Kerberos realms live
together. Each domain is read with its own credentials: measured on Samba 4.17.12 (docs/inventory.md,
"Two domains in the lab"), `samba-tool domain trust create` between two DCs on one machine fails
(CreateTrustedDomainEx2 fails remotely after the first DC's LSA answered with the second domain's
identity), so the lab has no trust and offlineprep never relies on one to read a domain.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from samba import ADMIN_PASSWORD, SambaDC

from offlineprep.collect.directory import collect_directory
from offlineprep.collect.requests import DirectoryRequest
from offlineprep.site import DirectoryConfig


@pytest.fixture(scope="module")
def fabrikam_dc(samba_dc: SambaDC, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SambaDC]:
    dc = SambaDC(tmp_path_factory.mktemp("samba-fabrikam"), realm="FABRIKAM.TEST", netbios="FABRIKAM", dc_name="dc2")
    started = time.monotonic()
    try:
        dc.start()
        dc.started_seconds = round(time.monotonic() - started, 1)  # type: ignore[attr-defined]
        yield dc
    finally:
        dc.stop()


def config(dc: SambaDC) -> DirectoryConfig:
    return DirectoryConfig(server=dc.url, user=dc.admin_upn, ca_file=str(dc.ca_file))


def test_two_domains_run_side_by_side_each_read_with_its_own_credentials(samba_dc: SambaDC, fabrikam_dc: SambaDC) -> None:
    assert samba_dc.ip != fabrikam_dc.ip and samba_dc.dc_fqdn != fabrikam_dc.dc_fqdn
    hosts = Path("/etc/hosts").read_text()
    assert f"{samba_dc.ip} dc1.lab.test dc1" in hosts and f"{fabrikam_dc.ip} dc2.fabrikam.test dc2" in hosts
    lab = collect_directory(config(samba_dc), DirectoryRequest(), ADMIN_PASSWORD)
    fabrikam = collect_directory(config(fabrikam_dc), DirectoryRequest(), ADMIN_PASSWORD)
    assert lab.error is None and fabrikam.error is None, (lab.error, fabrikam.error)
    assert (lab.domain_dns_name, lab.netbios_name) == ("lab.test", "LAB")
    assert (fabrikam.domain_dns_name, fabrikam.netbios_name) == ("fabrikam.test", "FABRIKAM")
    assert samba_dc.domain_sid() != fabrikam_dc.domain_sid()


def test_resource_based_delegation_across_domains_is_read_on_the_file_servers_own_domain(
        samba_dc: SambaDC, fabrikam_dc: SambaDC) -> None:
    # the host in LAB, the import file server in FABRIKAM; the file server's account allows the host
    samba_dc.add_accounts(samba_dc.computer_ldif("HVX01", delegate_to=("cifs/fsx11.fabrikam.test",)))
    fabrikam_dc.add_accounts(fabrikam_dc.computer_ldif("FSX11"))
    host_sid = samba_dc.object_sid(f"CN=HVX01,CN=Computers,{samba_dc.base_dn}")
    allow_host = f"O:BAD:(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;{host_sid})"  # what Set-ADComputer -PrincipalsAllowed... writes
    fabrikam_dc.set_security_descriptor(f"CN=FSX11,CN=Computers,{fabrikam_dc.base_dn}",
                                        "msDS-AllowedToActOnBehalfOfOtherIdentity", allow_host)
    fabrikam = collect_directory(config(fabrikam_dc), DirectoryRequest(computers=["fsx11.fabrikam.test"]), ADMIN_PASSWORD)
    lab = collect_directory(config(samba_dc), DirectoryRequest(computers=["hvx01.lab.test", "fsx11.fabrikam.test"]),
                            ADMIN_PASSWORD)
    file_server = fabrikam.computers["fsx11.fabrikam.test"]
    assert file_server.found and host_sid in file_server.rbcd_allowed_sids
    assert lab.computers["hvx01.lab.test"].object_sid == host_sid
    assert not lab.computers["fsx11.fabrikam.test"].found  # LAB's DC knows nothing of FABRIKAM's accounts


# ----------------------------------------------------------------- the proof of issue 15, item 9


def _two_domain_site(folder: Path, lab: SambaDC, fabrikam: SambaDC) -> Path:
    """Hosts in LAB.TEST, the export share on LAB's FSY01, the import share on FABRIKAM's FSY11;
    one [[directory]] per domain, each with its own DC and password."""
    site = folder / "site.toml"
    site.write_text(
        "[[directory]]\n"
        'domain = "lab.test"\n'
        f'server = "{lab.url}"\nuser = "{lab.admin_upn}"\npassword_env = "LAB_LDAP_PASSWORD"\n'
        f"ca_file = '{lab.ca_file}'\n"
        "[[directory]]\n"
        'domain = "fabrikam.test"\n'
        f'server = "{fabrikam.url}"\nuser = "{fabrikam.admin_upn}"\npassword_env = "FABRIKAM_LDAP_PASSWORD"\n'
        f"ca_file = '{fabrikam.ca_file}'\n"
        "[accounts]\n"
        'vmm_service = "LAB\\\\Administrator"\n'
        "[source]\n"
        'hosts = ["hvy01.lab.test", "hvy02.lab.test"]\n'
        "export_path = '\\\\fsy01.lab.test\\ASRExport'\n"
        "[target]\n"
        'hosts = ["hvy11.lab.test"]\n'
        "import_path = '\\\\fsy11.fabrikam.test\\ASRImport'\n")
    return site


def _preflight(site: Path, out: Path) -> tuple[int, dict[str, Any], str]:
    env = {**os.environ, "LAB_LDAP_PASSWORD": ADMIN_PASSWORD, "FABRIKAM_LDAP_PASSWORD": ADMIN_PASSWORD}
    proc = subprocess.run([sys.executable, "-m", "offlineprep", "preflight", "--config", str(site), "--only", "ad.*",
                           "--json", str(out), "--fix-script", str(out.with_suffix(".ps1"))],
                          capture_output=True, text=True, env=env, timeout=120)
    results = json.loads(out.read_text()) if out.exists() else {}
    return proc.returncode, results, proc.stdout + proc.stderr


def _table(results: dict[str, Any], check: str) -> dict[str, str]:
    return {f["subject"] + (f"->{f['target']}" if f.get("target") else ""): f["status"]
            for f in results["findings"] if f["check"] == check}


def test_classic_delegation_fails_across_domains_and_resource_based_on_the_file_servers_account_passes(
        samba_dc: SambaDC, fabrikam_dc: SambaDC, tmp_path: Path) -> None:
    """Issue 15's proof against two real DCs, through the CLI: each object is read in its own
    domain; the hosts list cifs/fsy11.fabrikam.test (classic), which does not cross domains, so
    every pair to FSY11 fails with resource-based delegation on FSY11 (in fabrikam.test) as the
    fix; once FSY11's descriptor allows LAB's group HVY-Hosts (HVY01 and HVY11 are members),
    those pass and HVY02 still fails; allowing HVY02's own SID as well, every pair passes."""
    lab, fab = samba_dc, fabrikam_dc
    classic = ("cifs/fsy01.lab.test", "cifs/FSY01", "cifs/fsy11.fabrikam.test", "cifs/FSY11")
    pt = 0x1000 | 0x1000000  # workstation trust, TRUSTED_TO_AUTH_FOR_DELEGATION
    lab.add_accounts(*(lab.computer_ldif(name, uac=pt, delegate_to=classic) for name in ("HVY01", "HVY02", "HVY11")),
                     lab.computer_ldif("FSY01", spns=("HOST/fsy01.lab.test", "HOST/FSY01")))
    fab.add_accounts(fab.computer_ldif("FSY11", spns=("HOST/fsy11.fabrikam.test", "HOST/FSY11")))
    lab.tool("group", "add", "HVY-Hosts")
    for name in ("HVY01", "HVY11"):
        lab.add_to_group("HVY-Hosts", f"CN={name},CN=Computers,{lab.base_dn}")
    site = _two_domain_site(tmp_path, lab, fab)

    code, results, output = _preflight(site, tmp_path / "classic.json")
    assert code == 1, output
    assert _table(results, "ad.delegation") == {
        "hvy01.lab.test->fsy01.lab.test": "pass", "hvy01.lab.test->fsy11.fabrikam.test": "fail",
        "hvy02.lab.test->fsy01.lab.test": "pass", "hvy02.lab.test->fsy11.fabrikam.test": "fail",
        "hvy11.lab.test->fsy11.fabrikam.test": "warn"}, output
    failed = next(f for f in results["findings"] if f["check"] == "ad.delegation"
                  and f["subject"] == "hvy01.lab.test" and f["target"] == "fsy11.fabrikam.test")
    assert "does not cross domains" in failed["message"] and "cannot be seen" not in failed["message"]
    fix = failed["remediation"]["powershell"]
    assert "-PrincipalsAllowedToDelegateToAccount" in fix and "-Server 'fabrikam.test'" in fix
    assert "-Server 'dc1.lab.test'" in fix  # the hosts are read through their own domain's DC
    # FSY11 is judged in fabrikam.test, where it was read; the hosts in lab.test
    assert _table(results, "ad.delegation-target") == {"fsy01.lab.test": "pass", "fsy11.fabrikam.test": "pass"}
    assert set(_table(results, "ad.host-account").values()) == {"pass"}
    per_domain = results["statistics"]["ldap_searches_per_domain"]
    assert set(per_domain) == {"lab.test", "fabrikam.test"}
    assert per_domain["lab.test"] <= math.ceil(4 / 100) + 5 and per_domain["fabrikam.test"] <= math.ceil(1 / 100) + 5

    group = lab.object_sid(f"CN=HVY-Hosts,CN=Users,{lab.base_dn}")
    fsy11 = f"CN=FSY11,CN=Computers,{fab.base_dn}"
    # what Set-ADComputer -PrincipalsAllowedToDelegateToAccount writes, allowing a group of the other domain
    fab.set_security_descriptor(fsy11, "msDS-AllowedToActOnBehalfOfOtherIdentity",
                                f"O:BAD:(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;{group})")
    code, results, output = _preflight(site, tmp_path / "group.json")
    assert _table(results, "ad.delegation") == {
        "hvy01.lab.test->fsy01.lab.test": "pass", "hvy01.lab.test->fsy11.fabrikam.test": "pass",
        "hvy02.lab.test->fsy01.lab.test": "pass", "hvy02.lab.test->fsy11.fabrikam.test": "fail",
        "hvy11.lab.test->fsy11.fabrikam.test": "pass"}, output
    per_domain = results["statistics"]["ldap_searches_per_domain"]
    assert per_domain["lab.test"] <= math.ceil(4 / 100) + 5, per_domain  # the hosts' groups read, one level

    hvy02 = lab.object_sid(f"CN=HVY02,CN=Computers,{lab.base_dn}")
    fab.set_security_descriptor(fsy11, "msDS-AllowedToActOnBehalfOfOtherIdentity",
                                f"O:BAD:(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;{group})(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;{hvy02})")
    code, results, output = _preflight(site, tmp_path / "both.json")
    assert set(_table(results, "ad.delegation").values()) == {"pass"}, output
    assert code == 0, output

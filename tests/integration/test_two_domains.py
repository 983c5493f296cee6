"""Two Samba AD DCs side by side, one per domain: the ground the several-domains work stands on.

The session's DC holds LAB.TEST (dc1); this module provisions FABRIKAM.TEST (dc2) on a loopback
address of its own, with its own DC name, so both /etc/hosts lines and both Kerberos realms live
together. Each domain is read with its own credentials: measured on Samba 4.17.12 (docs/inventory.md,
"Two domains in the lab"), `samba-tool domain trust create` between two DCs on one machine fails
(CreateTrustedDomainEx2 fails remotely after the first DC's LSA answered with the second domain's
identity), so the lab has no trust and offlineprep never relies on one to read a domain.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

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

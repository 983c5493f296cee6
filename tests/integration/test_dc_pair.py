"""The two-DC lab behaves as two DCs of one domain do: what the every-DC collector will be held to.

A change written on one DC while the other's inbound replication is paused is on the first DC only
(its LDAP and its KDC) until replication runs; the replication metadata on each DC names the DC and
time the change originated; and a plain LDAP search finds both DCs as writable DCs. Measured on
Samba 4.17.12 (Debian 12); docs/replication.md "The two-DC lab" has the numbers.
"""

from __future__ import annotations

import datetime
import time
from pathlib import Path

import pytest
from dc_pair import DISABLE_INBOUND_REPL, DCPair
from samba import KDC, UF_WORKSTATION_TRUST_ACCOUNT, kerberos_tools_installed

TRUSTED_TO_AUTH_FOR_DELEGATION = 0x1000000  # "any authentication protocol" (protocol transition)
SERVER_TRUST_ACCOUNT = 0x2000  # a writable DC's computer account; an RODC has PARTIAL_SECRETS_ACCOUNT instead


@pytest.fixture(scope="module")
def accounts(dc_pair: DCPair) -> DCPair:
    """A file server and a service account, made on dc1 and replicated to dc2 before any test pauses."""
    dc_pair.add_computer(dc_pair.dc1, "PFS01", spns=("HOST/pfs01.pair.test", "HOST/PFS01"))
    dc_pair.add_user(dc_pair.dc1, "psvc")
    dc_pair.converge()
    return dc_pair


def _delegates(pair: DCPair, dc_index: int, host: str) -> list[str]:
    return sorted(pair.read(pair.dcs[dc_index], pair.computer_dn(host), "msDS-AllowedToDelegateTo"))


def test_a_change_on_dc1_while_dc2_is_paused_is_on_dc1_only_until_converged(accounts: DCPair) -> None:
    pair = accounts
    pair.add_computer(pair.dc1, "PHV01", uac=UF_WORKSTATION_TRUST_ACCOUNT | TRUSTED_TO_AUTH_FOR_DELEGATION)
    pair.converge()
    assert _delegates(pair, 1, "PHV01") == []  # dc2 has the account, without delegation
    spns = ["cifs/PFS01", "cifs/pfs01.pair.test"]
    with pair.inbound_paused(pair.dc2):
        written = datetime.datetime.now(datetime.UTC)
        pair.set_allowed_to_delegate_to(pair.dc1, "PHV01", spns)
        time.sleep(5)  # unpaused, a change reaches the partner in 1-4 s (test below): give it that chance
        assert _delegates(pair, 0, "PHV01") == spns
        assert _delegates(pair, 1, "PHV01") == []  # not replicated: dc2 refuses to pull while paused
        # the paused DC's own NTDS Settings say so (options: IS_GC | DISABLE_INBOUND_REPL), on either DC
        dsa = {d["dn"].split(",")[1]: int(d["options"][0]) for d in pair.ntds_settings(pair.dc1)}
        assert dsa["CN=PDC2"] & DISABLE_INBOUND_REPL and not dsa["CN=PDC1"] & DISABLE_INBOUND_REPL

        # who wrote it, and when: dc1 holds the originating write; dc2 has no metadata for it at all
        on_dc1 = pair.origin(pair.dc1, pair.computer_dn("PHV01"), "msDS-AllowedToDelegateTo")
        assert on_dc1 is not None and on_dc1.dc_name == "PDC1" and on_dc1.version == 1
        assert on_dc1.dsa_dn == f"CN=NTDS Settings,CN=PDC1,CN=Servers,CN=Default-First-Site-Name,CN=Sites,{pair.configuration_dn}"
        assert abs((on_dc1.time - written).total_seconds()) < 5  # whole seconds, UTC
        assert pair.origin(pair.dc2, pair.computer_dn("PHV01"), "msDS-AllowedToDelegateTo") is None
        # Samba 4.17 does not construct msDS-ReplAttributeMetaData: asked for by name, it is absent
        # (ldap3 lists it with no value); Windows answers one XML string per attribute
        answer = pair.search(pair.dc1, pair.computer_dn("PHV01"), "(objectClass=*)", ["msDS-ReplAttributeMetaData"],
                             scope="BASE")
        assert answer[0].get("msDS-ReplAttributeMetaData", []) == []

    # inbound_paused resumed dc2 and forced replication both ways
    assert _delegates(pair, 1, "PHV01") == spns
    on_dc2 = pair.origin(pair.dc2, pair.computer_dn("PHV01"), "msDS-AllowedToDelegateTo")
    assert on_dc2 is not None
    # replication keeps the originating DC, time, version and USN; only the local USN is dc2's own
    assert (on_dc2.dc_name, on_dc2.time, on_dc2.version, on_dc2.invocation_id, on_dc2.originating_usn) == \
        (on_dc1.dc_name, on_dc1.time, on_dc1.version, on_dc1.invocation_id, on_dc1.originating_usn)
    dsa = {d["dn"].split(",")[1]: int(d["options"][0]) for d in pair.ntds_settings(pair.dc2)}
    assert not dsa["CN=PDC2"] & DISABLE_INBOUND_REPL


def test_a_change_on_dc2_while_dc1_is_paused_names_dc2_as_its_origin(accounts: DCPair) -> None:
    """The other direction, and userAccountControl: the fixture writes on whichever DC it is told."""
    pair = accounts
    pt = UF_WORKSTATION_TRUST_ACCOUNT | TRUSTED_TO_AUTH_FOR_DELEGATION
    pair.add_computer(pair.dc1, "PHV02", uac=pt, delegate_to=("cifs/pfs01.pair.test", "cifs/PFS01"))
    pair.converge()
    with pair.inbound_paused(pair.dc1):
        pair.set_user_account_control(pair.dc2, "PHV02", UF_WORKSTATION_TRUST_ACCOUNT)  # "Kerberos only"
        time.sleep(3)
        assert pair.read(pair.dc2, pair.computer_dn("PHV02"), "userAccountControl") == [str(UF_WORKSTATION_TRUST_ACCOUNT)]
        assert pair.read(pair.dc1, pair.computer_dn("PHV02"), "userAccountControl") == [str(pt)]
        on_dc2 = pair.origin(pair.dc2, pair.computer_dn("PHV02"), "userAccountControl")
        on_dc1 = pair.origin(pair.dc1, pair.computer_dn("PHV02"), "userAccountControl")
        assert on_dc1 is not None and on_dc1.dc_name == "PDC1"
        # the newer write carries the higher version (what replication resolves a conflict by); on
        # Samba the version is not a count of writes: measured 1 after the add, 3 after one modify
        assert on_dc2 is not None and on_dc2.dc_name == "PDC2" and on_dc2.version > on_dc1.version
        assert on_dc2.time >= on_dc1.time
    after = pair.origin(pair.dc1, pair.computer_dn("PHV02"), "userAccountControl")
    assert pair.read(pair.dc1, pair.computer_dn("PHV02"), "userAccountControl") == [str(UF_WORKSTATION_TRUST_ACCOUNT)]
    assert after is not None and (after.dc_name, after.version, after.time) == ("PDC2", on_dc2.version, on_dc2.time)


@pytest.mark.skipif(not kerberos_tools_installed(), reason="MIT kinit/kvno not installed")
def test_each_dcs_kdc_answers_s4u2proxy_from_its_own_database(accounts: DCPair, tmp_path: Path) -> None:
    """What a Hyper-V host sees: the DC of its site issues or refuses the export's ticket by what
    that DC holds. kvno prints a version even when it fails: judged by its exit code."""
    pair = accounts
    pair.add_computer(pair.dc1, "PHV03", uac=UF_WORKSTATION_TRUST_ACCOUNT | TRUSTED_TO_AUTH_FOR_DELEGATION)
    pair.converge()
    for dc in pair.dcs:
        (tmp_path / dc.dc_name).mkdir()
    kdc1, kdc2 = (KDC(dc, tmp_path / dc.dc_name) for dc in pair.dcs)  # each names only its own DC as KDC
    with pair.inbound_paused(pair.dc2):
        pair.set_allowed_to_delegate_to(pair.dc1, "PHV03", ["cifs/pfs01.pair.test", "cifs/PFS01"])
        issued1, said1 = kdc1.s4u2proxy("PHV03", "psvc", "cifs/pfs01.pair.test")
        issued2, said2 = kdc2.s4u2proxy("PHV03", "psvc", "cifs/pfs01.pair.test")
        assert issued1, said1
        assert not issued2 and "constrained delegation failed" in said2, said2
    issued2, said2 = kdc2.s4u2proxy("PHV03", "psvc", "cifs/pfs01.pair.test")
    assert issued2, said2


def test_an_unpaused_change_reaches_the_other_dc_by_itself(accounts: DCPair) -> None:
    """No forced replication: DRS change notification carries it within seconds (measured 1-4 s)."""
    pair = accounts
    pair.add_computer(pair.dc1, "PHV04")
    pair.wait_until(lambda: pair.read(pair.dc2, pair.computer_dn("PHV04"), "dNSHostName"), timeout=30)
    began = time.monotonic()
    pair.set_allowed_to_delegate_to(pair.dc2, "PHV04", ["cifs/pfs01.pair.test"])
    pair.wait_until(lambda: _delegates(pair, 0, "PHV04") == ["cifs/pfs01.pair.test"], timeout=30)
    assert time.monotonic() - began < 30


def test_both_dcs_are_found_as_writable_dcs_by_a_plain_ldap_search(accounts: DCPair) -> None:
    """The two searches that find every writable DC of a domain, and what each DC answers.

    1. Configuration partition, base CN=Sites,CN=Configuration,<domain>, subtree,
       `(objectCategory=nTDSDSA)`: one NTDS Settings object per DC, its parent the server object
       (CN=PDC1,CN=Servers,CN=<site>,CN=Sites,...: the site is the third RDN). An RODC's is of class
       nTDSDSARO, so objectCategory=nTDSDSA leaves it out; Samba adds `msDS-isRODC: FALSE`.
       msDS-hasMasterNCs lists the writable partitions (domain, configuration, schema).
    2. Domain partition, base OU=Domain Controllers,<domain>, subtree,
       `(&(objectCategory=computer)(userAccountControl:1.2.840.113556.1.4.803:=8192))`
       (SERVER_TRUST_ACCOUNT): the DC computer accounts, dNSHostName the name to reach LDAP on,
       serverReferenceBL the server object under Sites (which ties the two searches together).
       Samba's DCs: userAccountControl 532480 (SERVER_TRUST_ACCOUNT | TRUSTED_FOR_DELEGATION),
       primaryGroupID 516 (Domain Controllers).
    """
    pair = accounts
    site = f"CN=Default-First-Site-Name,CN=Sites,{pair.configuration_dn}"
    for dc in pair.dcs:
        dsas = pair.search(dc, f"CN=Sites,{pair.configuration_dn}", "(objectCategory=nTDSDSA)",
                           ["msDS-hasMasterNCs", "msDS-isRODC", "invocationId"])
        assert sorted(d["dn"] for d in dsas) == [f"CN=NTDS Settings,CN=PDC{n},CN=Servers,{site}" for n in (1, 2)]
        for d in dsas:
            assert sorted(d["msDS-hasMasterNCs"]) == sorted(pair.naming_contexts)
            assert d["msDS-isRODC"] == ["FALSE"]
        computers = pair.search(dc, f"OU=Domain Controllers,{pair.base_dn}",
                                "(&(objectCategory=computer)(userAccountControl:1.2.840.113556.1.4.803:=8192))",
                                ["dNSHostName", "serverReferenceBL", "userAccountControl", "primaryGroupID"])
        assert {c["dNSHostName"][0]: c["serverReferenceBL"][0] for c in computers} == {
            "pdc1.pair.test": f"CN=PDC1,CN=Servers,{site}", "pdc2.pair.test": f"CN=PDC2,CN=Servers,{site}"}
        for c in computers:
            assert int(c["userAccountControl"][0]) & SERVER_TRUST_ACCOUNT and c["primaryGroupID"] == ["516"]
        # the every-DC collector's one search (server and nTDSDSA objects under Sites), as Samba answers it
        found = pair.search(dc, f"CN=Sites,{pair.configuration_dn}", "(|(objectClass=nTDSDSA)(objectClass=server))",
                            ["objectClass", "dNSHostName", "msDS-HasDomainNCs", "options", "invocationId"])
        servers = {e["dn"]: e.get("dNSHostName") for e in found if "server" in e["objectClass"]}
        assert servers == {f"CN=PDC{n},CN=Servers,{site}": [f"pdc{n}.pair.test"] for n in (1, 2)}
        ntds = {e["dn"]: e for e in found if "nTDSDSA" in e["objectClass"]}
        assert set(ntds) == {f"CN=NTDS Settings,CN=PDC{n},CN=Servers,{site}" for n in (1, 2)}
        for e in ntds.values():
            assert e["msDS-HasDomainNCs"] == [pair.base_dn] and len(e["invocationId"][0]) == 16
            assert int(e["options"][0]) & 0x1  # IS_GC; DISABLE_INBOUND_REPL only while paused
    # the DCs really are two: each answers LDAPS at its own address under its own certificate
    assert pair.dc1.ip != pair.dc2.ip and pair.dc1.ca_file.read_text() != pair.dc2.ca_file.read_text()
    assert pair.ca_bundle.read_text() == pair.dc1.ca_file.read_text() + pair.dc2.ca_file.read_text()

"""ad.replicated (issue 22.2): DCs that disagree on a judged value fail, blocking, naming which DC holds
what, when it changed and where, and which DC (site, hosts) does not have it yet."""

from __future__ import annotations

from datetime import UTC, datetime

from builders import directory, facts, hosts, run

from offlineprep.facts import AttributeChange, CollectionError, DcObject, DirectoryFacts, DomainController, ErrorKind
from offlineprep.model import Status, blocks

SITES = "CN=Sites,CN=Configuration,DC=contoso,DC=com"
HV01 = "CN=HV01,CN=Computers,DC=contoso,DC=com"
CHANGED = datetime(2026, 12, 6, 17, 42, 10, tzinfo=UTC)


def _ntds(name: str, site: str) -> str:
    return f"CN=NTDS Settings,CN={name},CN=Servers,CN={site},{SITES}"


def _objects(d: DirectoryFacts, **override: list[str]) -> dict[str, DcObject]:
    """Each judged object as the named DC holds it; `override` replaces HV01's attributes."""
    out = {}
    for c in d.computers.values():
        values = {"msDS-AllowedToDelegateTo": sorted(c.allowed_to_delegate_to, key=str.casefold),
                  "userAccountControl": [f"0x{(c.user_account_control or 0) & 0x1180002:X}"],
                  "servicePrincipalName": c.service_principal_names, "memberOf": [],
                  "msDS-AllowedToActOnBehalfOfOtherIdentity": []}
        if c.distinguished_name == HV01:
            values.update(override)
        out[c.distinguished_name or ""] = DcObject(values=values, changes=[AttributeChange(
            attribute="msDS-AllowedToDelegateTo", version=1, changed_at=datetime(2026, 1, 1, tzinfo=UTC),
            originating_dsa=_ntds("DC1", "HQ"))])
    return out


def _pair(**dc2_hv01: list[str]) -> DirectoryFacts:
    d = directory()
    dc1 = DomainController(host_name="dc1.contoso.com", site="HQ", ntds_settings=_ntds("DC1", "HQ"), named=True,
                           objects=_objects(d), searches=1)
    dc2 = DomainController(host_name="dc2.contoso.com", site="Branch", ntds_settings=_ntds("DC2", "Branch"),
                           objects=_objects(d, **dc2_hv01), searches=1)
    d.domain_controllers = [dc1, dc2]
    return d


def _hosts_with_sites() -> dict:
    out = hosts()
    out["hv01.contoso.com"].ad_site = "HQ"
    out["hv11.contoso.com"].ad_site = "Branch"
    return out


def test_dcs_that_agree_pass_once_for_the_domain_and_show_each_hosts_site() -> None:
    [finding] = run("ad.replicated", the_facts=facts(_pair(), _hosts_with_sites()))
    assert finding.status == Status.PASS and finding.subject == "contoso.com"
    assert "dc1.contoso.com (site HQ), dc2.contoso.com (site Branch)" in finding.message
    assert finding.message.endswith("Hyper-V hosts by site: site HQ (dc1.contoso.com): hv01.contoso.com; "
                                    "site Branch (dc2.contoso.com): hv11.contoso.com")
    assert finding.evidence["host_sites"] == {"hv01.contoso.com": "HQ", "hv11.contoso.com": "Branch"}


def test_a_delegation_on_one_dc_only_fails_blocking_naming_the_dcs_the_change_and_the_hosts_site() -> None:
    d = _pair(**{"msDS-AllowedToDelegateTo": ["cifs/FS01"]})
    hv01 = d.domain_controllers[0].objects[HV01]  # type: ignore[index]
    hv01.changes = [AttributeChange(attribute="msDS-AllowedToDelegateTo", version=2, changed_at=CHANGED,
                                    originating_dsa=_ntds("DC1", "HQ"))]
    findings = run("ad.replicated", the_facts=facts(d, _hosts_with_sites()))
    [failed] = [f for f in findings if f.status == Status.FAIL]
    assert failed.subject == "hv01.contoso.com" and blocks(failed, "fail")
    assert ("msDS-AllowedToDelegateTo (constrained delegation) of hv01.contoso.com holds cifs/fs01.contoso.com, "
            "cifs/FS11, cifs/fs11.contoso.com on dc1.contoso.com (changed at 2026-12-06 17:42:10 UTC on "
            "dc1.contoso.com, version 2, per the DCs' replication metadata), not yet on dc2.contoso.com "
            "(site Branch), the DC of hv11.contoso.com") in failed.message
    assert failed.remediation is not None
    assert "repadmin /syncall dc1.contoso.com /AdeP" in failed.remediation.powershell
    assert "repadmin /replicate dc2.contoso.com dc1.contoso.com DC=contoso,DC=com" in failed.remediation.powershell
    assert not [f for f in findings if f.status == Status.PASS]  # READY needs every DC to agree


def test_the_newer_change_wins_whichever_dc_was_named() -> None:
    """A value removed on DC2 (version 2) while DC1 still holds it: DC2 has the newest, DC1 is behind."""
    d = _pair(**{"msDS-AllowedToDelegateTo": []})
    dc2 = d.domain_controllers[1]  # type: ignore[index]
    dc2.inbound_disabled = True
    dc2.objects[HV01].changes = [AttributeChange(attribute="msDS-AllowedToDelegateTo", version=2, changed_at=CHANGED,
                                                 originating_dsa=_ntds("DC2", "Branch"))]
    [failed] = [f for f in run("ad.replicated", the_facts=facts(d)) if f.status == Status.FAIL]
    assert failed.message.startswith("msDS-AllowedToDelegateTo (constrained delegation) of hv01.contoso.com no longer "
                                     "holds cifs/FS01, ")
    assert "on dc2.contoso.com (changed at 2026-12-06 17:42:10 UTC on dc2.contoso.com" in failed.message
    assert failed.message.endswith("still on dc1.contoso.com (site HQ)")


def test_a_flag_set_on_one_dc_only_is_named_by_its_flag() -> None:
    findings = run("ad.replicated", the_facts=facts(_pair(userAccountControl=["0x0"])))
    [failed] = [f for f in findings if f.status == Status.FAIL]
    assert failed.message == ("the delegation flags of userAccountControl of hv01.contoso.com is "
                              "TRUSTED_TO_AUTH_FOR_DELEGATION on dc1.contoso.com, still none of the delegation "
                              "flags on dc2.contoso.com (site Branch)")


def test_an_object_missing_on_a_dc_fails() -> None:
    d = _pair()
    d.domain_controllers[1].objects[HV01] = DcObject(found=False)  # type: ignore[index]
    [failed] = [f for f in run("ad.replicated", the_facts=facts(d)) if f.status == Status.FAIL]
    assert failed.message == "hv01.contoso.com exists on dc1.contoso.com but not yet on dc2.contoso.com (site Branch)"


def test_spn_case_is_no_disagreement() -> None:
    d = _pair(servicePrincipalName=["host/HV01", "HOST/hv01.contoso.com"])
    assert {f.status for f in run("ad.replicated", the_facts=facts(d))} == {Status.PASS}


def test_a_dc_that_could_not_be_read_is_an_error_for_what_it_would_confirm_with_one_cause() -> None:
    d = _pair()
    dc2 = d.domain_controllers[1]  # type: ignore[index]
    dc2.objects = {}
    dc2.error = CollectionError(kind=ErrorKind.UNREACHABLE, message="dc2.contoso.com refused the connection on port 636")
    findings = run("ad.replicated", the_facts=facts(d))
    assert findings and {f.status for f in findings} == {Status.ERROR}
    assert {f.cause.machine for f in findings if f.cause} == {"dc2.contoso.com"}
    assert len({f.cause.key for f in findings if f.cause}) == 1
    assert "not confirmed on dc2.contoso.com (site Branch)" in findings[0].message


def test_one_writable_dc_passes_and_an_rodc_is_not_compared() -> None:
    d = directory()
    d.domain_controllers = [DomainController(host_name="dc1.contoso.com", site="HQ", named=True),
                            DomainController(host_name="rodc1.contoso.com", site="Branch", read_only=True)]
    [finding] = run("ad.replicated", the_facts=facts(d))
    assert finding.status == Status.PASS
    assert finding.message == "contoso.com has one writable domain controller, dc1.contoso.com (site HQ): nothing to replicate"


def test_facts_collected_before_dcs_were_read_skip() -> None:
    [finding] = run("ad.replicated", the_facts=facts(directory()))
    assert finding.status == Status.SKIP and "collect again" in finding.message

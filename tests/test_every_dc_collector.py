"""Every writable DC of a domain (issue 22.1): discovery from the configuration, the per-DC reading of
the judged objects, replication metadata in both forms, and a DC that cannot be reached."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import ldap3
import pytest

from offlineprep.collect import dc_readings
from offlineprep.collect.directory import collect_directory, dc_config
from offlineprep.collect.requests import DirectoryRequest
from offlineprep.lab.directory import LabDirectory
from offlineprep.site import DirectoryConfig

PAIR = [("dc1", "Default-First-Site-Name"), ("dc2", "Branch")]

# two rows of replPropertyMetaData as Samba 4.17.12 returned them for a computer (the probe of
# docs/replication.md): userAccountControl, then msDS-AllowedToDelegateTo (version 1, the DC's invocation ID)
SAMBA_ROWS = ("0800090001000000d8372621030000003322799c5c9734488423fb0dde7be513980f000000000000980f000000000000"
              "fb06090001000000d9372621030000003322799c5c9734488423fb0dde7be5139b0f0000000000009b0f000000000000")
SAMBA_INVOCATION = "9c792233-975c-4834-8423-fb0dde7be513"


def _pair(delegate_on_dc1: list[str], delegate_on_dc2: list[str]) -> tuple[LabDirectory, LabDirectory, Any]:
    labs = []
    for named, delegate in (("dc1", delegate_on_dc1), ("dc2", delegate_on_dc2)):
        lab = LabDirectory(controllers=list(PAIR), named_dc=named)
        lab.user("svc-vmm")
        lab.computer("HV01", uac=0x1000 | 0x1000000, delegate_to=delegate)
        lab.computer("FS01")
        labs.append(lab)

    def connect(config: DirectoryConfig, password: str | None) -> ldap3.Connection:
        return (labs[0] if "//dc1." in config.server else labs[1]).connect(config, password)

    return labs[0], labs[1], connect


REQUEST = DirectoryRequest(computers=["HV01", "FS01"], principals=["LAB\\svc-vmm"], spn_names=["fs01.lab.test"])


def test_one_dc_is_found_in_the_configuration_and_costs_no_search_more() -> None:
    lab = LabDirectory()
    lab.user("svc-vmm")
    lab.computer("HV01")
    facts = collect_directory(lab.config(), REQUEST, lab.password, connect=lab.connect)
    assert facts.error is None and facts.netbios_name == "LAB"
    [dc] = facts.domain_controllers or []
    assert (dc.host_name, dc.site, dc.named, dc.read_only) == ("dc1.lab.test", "Default-First-Site-Name", True, False)
    assert dc.objects == {} and dc.searches == 0  # nothing to compare: not read again
    assert facts.searches == 5  # rootDSE, configuration (crossRef and DCs), accounts, tokenGroups, group names


def test_each_dc_is_read_for_the_judged_objects_and_says_what_it_holds() -> None:
    dc1, _, connect = _pair(["cifs/fs01.lab.test", "cifs/FS01"], [])
    facts = collect_directory(dc1.config(), REQUEST, dc1.password, connect=connect)
    assert facts.error is None
    first, second = facts.domain_controllers or []
    assert (first.host_name, first.named, second.host_name, second.site) == ("dc1.lab.test", True, "dc2.lab.test", "Branch")
    hv01 = facts.computers["HV01"].distinguished_name
    assert hv01 is not None
    assert first.objects[hv01].values["msDS-AllowedToDelegateTo"] == ["cifs/FS01", "cifs/fs01.lab.test"]
    assert second.objects[hv01].values["msDS-AllowedToDelegateTo"] == []
    assert first.objects[hv01].values["userAccountControl"] == ["0x1000000"]  # the judged bits only
    # the judged objects: two computers, the account and the SPN holder (FS01, already one of them)
    assert len(first.objects) == len(second.objects) == 3
    assert first.searches == second.searches == 1  # one batch of 100 objects per DC
    assert second.error is None and second.seconds is not None


def test_the_search_count_per_dc_grows_by_batches_not_by_hosts() -> None:
    counts = {}
    for n in (10, 250):
        labs = []
        for named in ("dc1", "dc2"):
            lab = LabDirectory(controllers=list(PAIR), named_dc=named)
            for i in range(n):
                lab.computer(f"hv{i:04}")
            labs.append(lab)
        names = [f"hv{i:04}" for i in range(n)]

        def connect(config: DirectoryConfig, password: str | None, labs: list[LabDirectory] = labs) -> ldap3.Connection:
            return (labs[0] if "//dc1." in config.server else labs[1]).connect(config, password)

        facts = collect_directory(labs[0].config(), DirectoryRequest(computers=names), labs[0].password, connect=connect)
        counts[n] = [dc.searches for dc in facts.domain_controllers or []]
    assert counts == {10: [1, 1], 250: [3, 3]}  # ceil(N/100) per DC


def test_a_dc_that_cannot_be_reached_keeps_its_error_and_the_run_goes_on() -> None:
    dc1, _, _ = _pair(["cifs/fs01.lab.test"], [])

    def connect(config: DirectoryConfig, password: str | None) -> ldap3.Connection:
        if "//dc2." in config.server:
            raise ldap3.core.exceptions.LDAPSocketOpenError("socket connection error while opening: timed out")
        return dc1.connect(config, password)

    facts = collect_directory(dc1.config(), REQUEST, dc1.password, connect=connect)
    assert facts.error is None and facts.computers["HV01"].found
    first, second = facts.domain_controllers or []
    assert first.error is None and first.objects
    assert second.error is not None and second.objects == {} and "dc2.lab.test" in second.error.message
    assert dc1.password not in second.error.message


def test_another_dc_is_reached_with_the_named_dcs_scheme_port_and_settings() -> None:
    config = DirectoryConfig(server="ldap://dc1.contoso.com:3268", start_tls=True, ca_file="/etc/ca.pem",
                             user="svc@contoso.com")
    other = dc_config(config, "dc2.contoso.com")
    assert (other.server, other.start_tls, other.ca_file, other.user) == (
        "ldap://dc2.contoso.com:3268", True, "/etc/ca.pem", "svc@contoso.com")
    assert dc_config(DirectoryConfig(server="ldaps://dc1.contoso.com"), "dc2.contoso.com").server == "ldaps://dc2.contoso.com"


def _entry(dn: str, classes: list[str], **attributes: Any) -> dict[str, Any]:
    return {"dn": dn, "attributes": {"objectClass": classes, **attributes},
            "raw_attributes": {k: v for k, v in attributes.items() if k == "invocationId"}}


def test_discovery_keeps_the_domains_writable_dcs_and_marks_an_rodc() -> None:
    sites = "CN=Sites,CN=Configuration,DC=contoso,DC=com"
    entries = []
    for name, site, domain, ro in (("DC1", "HQ", "DC=contoso,DC=com", False), ("DC2", "Branch", "DC=contoso,DC=com", False),
                                   ("RODC1", "Branch", "DC=contoso,DC=com", True),
                                   ("CDC1", "HQ", "DC=child,DC=contoso,DC=com", False)):
        server = f"CN={name},CN=Servers,CN={site},{sites}"
        entries.append(_entry(server, ["top", "server"], dNSHostName=[f"{name.lower()}.contoso.com"]))
        entries.append(_entry(f"CN=NTDS Settings,{server}", ["top", "applicationSettings", "nTDSDSA"]
                              + (["nTDSDSARO"] if ro else []), **{"msDS-HasDomainNCs": [domain],
                                                                   "options": ["3" if name == "DC2" else "1"]}))
    dcs = dc_readings.controllers(entries, "DC=contoso,DC=com", f"CN=NTDS Settings,CN=DC1,CN=Servers,CN=HQ,{sites}")
    assert [(d.host_name, d.site, d.named, d.read_only, d.inbound_disabled) for d in dcs] == [
        ("dc1.contoso.com", "HQ", True, False, False), ("dc2.contoso.com", "Branch", False, False, True),
        ("rodc1.contoso.com", "Branch", False, True, False)]


def test_an_rodc_is_known_by_msds_isrodc_or_its_object_category_too() -> None:
    server = "CN=R,CN=Servers,CN=S,CN=Sites,CN=Configuration,DC=x"
    for extra in ({"msDS-isRODC": ["TRUE"]}, {"objectCategory": ["CN=NTDS-DSA-RO,CN=Schema,CN=Configuration,DC=x"]}):
        entries = [_entry(server, ["server"], dNSHostName=["r.x"]),
                   _entry(f"CN=NTDS Settings,{server}", ["nTDSDSA"], **{"msDS-HasDomainNCs": ["DC=x"]}, **extra)]
        [dc] = dc_readings.controllers(entries, "DC=x", None)
        assert dc.read_only


def test_windows_xml_metadata_names_the_originating_dc_and_time() -> None:
    value = ("<DS_REPL_ATTR_META_DATA>\n\t<pszAttributeName>msDS-AllowedToDelegateTo</pszAttributeName>\n"
             "\t<dwVersion>3</dwVersion>\n\t<ftimeLastOriginatingChange>2026-12-06T17:42:10Z</ftimeLastOriginatingChange>\n"
             "\t<uuidLastOriginatingDsaInvocationID>0b3c2f57-0000-4000-8000-000000000001</uuidLastOriginatingDsaInvocationID>\n"
             "\t<usnOriginatingChange>41234</usnOriginatingChange>\n\t<usnLocalChange>41234</usnLocalChange>\n"
             "\t<pszLastOriginatingDsaDN>CN=NTDS Settings,CN=DC1,CN=Servers,CN=HQ,CN=Sites,CN=Configuration,DC=contoso,"
             "DC=com</pszLastOriginatingDsaDN>\n</DS_REPL_ATTR_META_DATA>\n\x00")
    other = value.replace("msDS-AllowedToDelegateTo", "whenChanged")
    [row] = dc_readings.parse_attribute_metadata([value, other, "not xml"])
    assert (row.attribute, row.version, row.changed_at) == ("msDS-AllowedToDelegateTo", 3,
                                                           datetime(2026, 12, 6, 17, 42, 10, tzinfo=UTC))
    assert row.originating_dsa is not None and row.originating_dsa.startswith("CN=NTDS Settings,CN=DC1,")


def test_sambas_binary_metadata_is_read_and_its_originator_named_by_invocation_id() -> None:
    blob = bytes.fromhex("01000000" "00000000" "02000000" "00000000" + SAMBA_ROWS)
    uac, adtd = dc_readings.parse_property_metadata(blob)
    assert (uac.attribute, adtd.attribute) == ("userAccountControl", "msDS-AllowedToDelegateTo")
    assert adtd.version == 1 and adtd.originating_invocation_id == SAMBA_INVOCATION
    assert adtd.changed_at is not None and adtd.changed_at.year == 2026 and adtd.changed_at > uac.changed_at  # type: ignore[operator]
    assert dc_readings.parse_property_metadata(blob[:40]) == [] and dc_readings.parse_property_metadata(b"\x02" + blob[1:]) == []


@pytest.mark.parametrize("dn, site", [
    ("CN=NTDS Settings,CN=DC2,CN=Servers,CN=Branch,CN=Sites,CN=Configuration,DC=x", "Branch"),
    ("CN=DC2,CN=Servers,CN=Branch Office,CN=Sites,CN=Configuration,DC=x", "Branch Office"),
    ("CN=DC2,OU=Domain Controllers,DC=x", None)])
def test_the_site_is_the_rdn_under_cn_sites(dn: str, site: str | None) -> None:
    assert dc_readings.site_of(dn) == site


def test_the_readings_survive_a_facts_file_and_an_older_file_still_loads() -> None:
    from offlineprep.facts import Facts, ToolStamp

    dc1, _, connect = _pair(["cifs/fs01.lab.test"], [])
    directory = collect_directory(dc1.config(), REQUEST, dc1.password, connect=connect)
    facts = Facts(tool=ToolStamp(version="t"), directory=directory)
    again = Facts.from_json(facts.to_json())
    assert again.directory is not None and again.directory.domain_controllers == directory.domain_controllers
    older = facts.model_dump(mode="json", by_alias=True)
    for d in older["directories"].values():
        del d["domain_controllers"]  # written before issue 22
    loaded = Facts.model_validate(older)
    assert loaded.directory is not None and loaded.directory.domain_controllers is None

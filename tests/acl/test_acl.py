"""Windows values the Samba oracle cannot vouch for, and the parser's edges."""

from __future__ import annotations

import pytest

from offlineprep.acl import (
    FILE_ALL_ACCESS,
    FILE_GENERIC_READ,
    FILE_GENERIC_WRITE,
    READ_CONTROL,
    WRITE_DAC,
    SddlError,
    describe_mask,
    effective_access,
    explain_access,
    parse_sddl,
    share_and_ntfs,
)

USER = "S-1-5-21-1-2-3-1105"
GROUP = "S-1-5-21-1-2-3-1200"
TOKEN = [USER, GROUP, "S-1-1-0", "S-1-5-11", "S-1-5-2"]


@pytest.mark.parametrize(
    ("alias", "mask"),
    [("FA", 0x1F01FF), ("FR", 0x120089), ("FW", 0x120116), ("FX", 0x1200A0), ("GA", 0x1F01FF),
     ("GR", 0x120089), ("GW", 0x120116), ("GX", 0x1200A0), ("RCWD", READ_CONTROL | WRITE_DAC)],
)
def test_rights_aliases_map_to_windows_values(alias: str, mask: int) -> None:
    assert effective_access(f"O:SYG:SYD:(A;;{alias};;;WD)", TOKEN) == mask


def test_null_dacl_grants_everything_and_empty_dacl_nothing() -> None:
    assert effective_access("O:SYG:SY", TOKEN) == FILE_ALL_ACCESS
    assert effective_access("O:SYG:SYD:NO_ACCESS_CONTROL", TOKEN) == FILE_ALL_ACCESS
    assert effective_access("O:SYG:SYD:", TOKEN) == 0
    assert effective_access("O:SYG:SYD:P", TOKEN) == 0


def test_inherit_only_aces_do_not_apply_to_the_folder_itself() -> None:
    assert effective_access(f"O:SYG:SYD:(A;OICIIO;FA;;;{USER})(A;OICI;FR;;;{USER})", TOKEN) == FILE_GENERIC_READ


def test_deny_removes_only_rights_not_yet_granted() -> None:
    # canonical order: explicit deny before allow wins
    assert effective_access(f"O:SYG:SYD:(D;;FW;;;{GROUP})(A;;FA;;;{USER})", TOKEN) & FILE_GENERIC_WRITE == 0
    # an explicit allow before an inherited deny keeps what it granted
    granted = effective_access(f"O:SYG:SYD:(A;;FA;;;{USER})(D;ID;FA;;;{GROUP})", TOKEN)
    assert granted == FILE_ALL_ACCESS


def test_owner_gets_read_control_and_write_dac_unless_owner_rights_ace() -> None:
    assert effective_access(f"O:{USER}G:SYD:", TOKEN) == READ_CONTROL | WRITE_DAC
    assert effective_access(f"O:{USER}G:SYD:(A;;FR;;;OW)", TOKEN) == FILE_GENERIC_READ
    assert effective_access(f"O:{USER}G:SYD:(A;;FR;;;OW)", ["S-1-1-0"]) == 0


def test_share_intersects_ntfs() -> None:
    share = "O:SYG:SYD:(A;;0x1301bf;;;WD)"  # Change
    ntfs = f"O:SYG:SYD:(A;OICI;FA;;;{USER})"
    granted = share_and_ntfs(share, ntfs, TOKEN)
    assert granted == 0x1301BF
    assert granted & WRITE_DAC == 0  # Change lacks "change permissions": VMM error 31218


def test_sid_aliases_and_field_positions() -> None:
    sd = parse_sddl("O:BAG:SYD:AI(A;OICIID;FA;;;BA)(A;;WD;;;WD)(A;;0x1200a9;;;AU)(D;;FA;;;DU)",
                    domain_sid="S-1-5-21-7")
    assert sd.owner == "S-1-5-32-544"
    assert [a.sid for a in sd.dacl or ()] == ["S-1-5-32-544", "S-1-1-0", "S-1-5-11", "S-1-5-21-7-513"]
    assert (sd.dacl or ())[1].mask == WRITE_DAC  # WD as a right is WRITE_DAC, as a SID Everyone
    assert "AI" in sd.dacl_flags


def test_explanation_names_the_deciding_aces() -> None:
    explanation = explain_access(f"O:SYG:SYD:(D;;WD;;;{GROUP})(A;;FA;;;{USER})", TOKEN)
    effects = [(e.effect, e.sid) for e in explanation.effects]
    assert effects == [("denied", GROUP), ("granted", USER)]
    assert explanation.granted == FILE_ALL_ACCESS & ~WRITE_DAC


@pytest.mark.parametrize(
    "bad",
    ["", "X:BA", "O:BAG:SYD:(A;;FA;;;WD", "O:BAG:SYD:(Q;;FA;;;WD)", "O:BAG:SYD:(A;ZZ;FA;;;WD)",
     "O:BAG:SYD:(A;;QQ;;;WD)", "O:BAG:SYD:(A;;FA;;;nobody)", "O:DA", "O:BAG:SYD:(A;;0x1ffffffff;;;WD)"],
)
def test_bad_sddl_raises_our_error(bad: str) -> None:
    with pytest.raises(SddlError):
        effective_access(bad, TOKEN)


def test_describe_mask() -> None:
    assert describe_mask(0x1F01FF) == ["FullControl"]
    assert describe_mask(0x1301BF) == ["Modify"]
    assert describe_mask(0) == ["None"]


# Every SDDL SID alias of sid-strings / Sddl.h, with the SID Windows (and Samba 4.17) give it.
SID_ALIASES = {
    "AA": "S-1-5-32-579", "AC": "S-1-15-2-1", "AN": "S-1-5-7", "AO": "S-1-5-32-548", "AP": "{d}-525",
    "AS": "S-1-18-1", "AU": "S-1-5-11", "BA": "S-1-5-32-544", "BG": "S-1-5-32-546", "BO": "S-1-5-32-551",
    "BU": "S-1-5-32-545", "CA": "{d}-517", "CD": "S-1-5-32-574", "CG": "S-1-3-1", "CN": "{d}-522",
    "CO": "S-1-3-0", "CY": "S-1-5-32-569", "DA": "{d}-512", "DC": "{d}-515", "DD": "{d}-516", "DG": "{d}-514",
    "DU": "{d}-513", "EA": "{d}-519", "ED": "S-1-5-9", "EK": "{d}-527", "ER": "S-1-5-32-573",
    "ES": "S-1-5-32-576", "HA": "S-1-5-32-578", "HI": "S-1-16-12288", "IS": "S-1-5-32-568", "IU": "S-1-5-4",
    "KA": "{d}-526", "LA": "{d}-500", "LG": "{d}-501", "LS": "S-1-5-19", "LU": "S-1-5-32-559",
    "LW": "S-1-16-4096", "ME": "S-1-16-8192", "MP": "S-1-16-8448", "MS": "S-1-5-32-577", "MU": "S-1-5-32-558",
    "NO": "S-1-5-32-556", "NS": "S-1-5-20", "NU": "S-1-5-2", "OW": "S-1-3-4", "PA": "{d}-520",
    "PO": "S-1-5-32-550", "PS": "S-1-5-10", "PU": "S-1-5-32-547", "RA": "S-1-5-32-575", "RC": "S-1-5-12",
    "RD": "S-1-5-32-555", "RE": "S-1-5-32-552", "RM": "S-1-5-32-580", "RO": "{d}-498", "RS": "{d}-553",
    "RU": "S-1-5-32-554", "SA": "{d}-518", "SI": "S-1-16-16384", "SO": "S-1-5-32-549", "SS": "S-1-18-2",
    "SU": "S-1-5-6", "SY": "S-1-5-18", "UD": "S-1-5-84-0-0-0-0-0", "WD": "S-1-1-0", "WR": "S-1-5-33",
}


@pytest.mark.parametrize(("alias", "sid"), sorted(SID_ALIASES.items()))
def test_every_sddl_sid_alias_maps_to_the_windows_sid(alias: str, sid: str) -> None:
    # Get-Acl on a member server writes e.g. "RU" (Pre-Windows 2000 Compatible Access) or "WR";
    # an alias we did not know made the whole path an `error`.
    domain = "S-1-5-21-1-2-3"
    sd = parse_sddl(f"O:{alias}G:SYD:(A;;FA;;;{alias})", domain_sid=domain)
    assert sd.owner == sid.format(d=domain)
    assert (sd.dacl or ())[0].sid == sid.format(d=domain)


def test_domain_relative_aliases_resolve_with_the_servers_domain() -> None:
    # A domain member's Get-Acl writes its own domain's SIDs as aliases: O:DAG:DU, (A;;FA;;;DU)
    domain = "S-1-5-21-1-2-3"
    sddl = "O:DAG:DUD:PAI(A;OICI;FA;;;DU)"
    assert effective_access(sddl, [f"{domain}-513"], domain_sid=domain) == FILE_ALL_ACCESS
    assert effective_access(sddl, ["S-1-5-21-9-9-9-513"], domain_sid=domain) == 0
    with pytest.raises(SddlError):
        effective_access(sddl, TOKEN)  # unknown domain: an honest error, never a guess


def test_conditional_aces_with_nested_parentheses_parse() -> None:
    # Dynamic Access Control writes conditions nested to any depth, quoted strings included
    sddl = (f"O:SYG:SYD:(XA;;FA;;;WD;((Member_of {{SID(BA)}}) || (@User.Department == \"R(&)D\")))"
            f"(XD;;WD;;;WD;(Member_of {{SID(BA)}}))(A;;FA;;;{USER})")
    sd = parse_sddl(sddl)
    assert [a.type for a in sd.dacl or ()] == ["XA", "XD", "A"]
    # a callback allow is not counted; a callback deny is applied (the conservative reading)
    assert effective_access(sddl, TOKEN) == FILE_ALL_ACCESS & ~WRITE_DAC

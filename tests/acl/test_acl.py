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

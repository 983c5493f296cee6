"""Item 17 in the descriptor model (offlineprep.lab.descriptors): the SDDL after fix + revert is the
SDDL before, where the old revert (icacls /remove:g, Revoke-SmbShareAccess) took away what the
account had before. Also each modelled command against the behaviour Microsoft documents."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offlineprep import remediation as r
from offlineprep.acl import Ace, SecurityDescriptor, effective_access, format_sddl, parse_sddl
from offlineprep.actions import powershell as ps
from offlineprep.lab import descriptors as d

DOM = "S-1-5-21-100-200-300"
SVC, OTHER, THIRD = f"{DOM}-1101", f"{DOM}-1102", f"{DOM}-1103"
FULL, CHANGE, READ = 0x1F01FF, 0x1301BF, 0x1200A9


def sd(text: str) -> SecurityDescriptor:
    return parse_sddl(text, DOM)


# --------------------------------------------------------------------------- the commands, as documented


def test_icacls_grant_adds_to_the_explicit_grant_and_grant_r_replaces_it() -> None:
    before = sd(f"O:BAG:SYD:PAI(A;OICI;{READ:#x};;;{SVC})(A;OICIID;FA;;;BA)")
    added = d.icacls_grant(before, f"*{SVC}:(OI)(CI)(WD,AD)")
    assert format_sddl(added) == format_sddl(sd(f"O:BAG:SYD:PAI(A;OICI;{READ | 0x6:#x};;;{SVC})(A;OICIID;FA;;;BA)"))
    replaced = d.icacls_grant(before, f"*{SVC}:(OI)(CI)(WD,AD)", replace_existing=True)
    assert format_sddl(replaced) == format_sddl(sd(f"O:BAG:SYD:PAI(A;OICI;0x6;;;{SVC})(A;OICIID;FA;;;BA)"))


def test_icacls_keeps_the_canonical_order() -> None:
    before = sd(f"O:BAG:SYD:PAI(D;;FA;;;{OTHER})(A;;FA;;;BA)(A;OICIID;FA;;;SY)")
    granted = d.icacls_grant(before, f"*{SVC}:(OI)(CI)F")
    assert [(a.type, "ID" in a.flags) for a in granted.dacl or ()] == [("D", False), ("A", False), ("A", False),
                                                                         ("A", True)]
    denied = d.icacls_deny(granted, f"*{SVC}:(WDAC)")
    assert (denied.dacl or ())[1] == Ace(type="D", flags=frozenset(), mask=0x40000, sid=SVC)
    assert (denied.dacl or ())[3].mask == FULL & ~0x40000  # the same right taken out of the grant


def test_icacls_remove_g_removes_every_explicit_grant_of_the_sid_and_nothing_else() -> None:
    before = sd(f"O:BAG:SYD:(D;;0x40000;;;{SVC})(A;;{READ:#x};;;{SVC})(A;OICI;FA;;;{SVC})(A;;FA;;;BA)"
                f"(A;OICIID;FA;;;{SVC})")
    after = d.icacls_remove(before, f"*{SVC}", "g")
    assert format_sddl(after) == format_sddl(sd(f"O:BAG:SYD:(D;;0x40000;;;{SVC})(A;;FA;;;BA)(A;OICIID;FA;;;{SVC})"))


def test_share_cmdlets() -> None:
    before = sd(f"O:SYG:SYD:(A;;{READ:#x};;;WD)(A;;{READ:#x};;;{SVC})")
    full = d.grant_smb_share_access(before, SVC, "Full")
    assert format_sddl(full) == format_sddl(sd(f"O:SYG:SYD:(A;;{READ:#x};;;WD)(A;;FA;;;{SVC})"))
    added = d.grant_smb_share_access(before, OTHER, "Change")
    assert (added.dacl or ())[-1] == Ace(type="A", flags=frozenset(), mask=CHANGE, sid=OTHER)  # listed last
    blocked = d.block_smb_share_access(full, SVC)
    assert (blocked.dacl or ())[0].is_deny and effective_access(blocked, [SVC, "S-1-1-0"]) == 0
    assert d.unblock_smb_share_access(blocked, SVC) == full
    assert format_sddl(d.revoke_smb_share_access(full, SVC)) == format_sddl(sd(f"O:SYG:SYD:(A;;{READ:#x};;;WD)"))
    with pytest.raises(d.CommandError):
        d.grant_smb_share_access(before, SVC, "Modify")


def test_the_rendered_icacls_argument_is_what_the_model_parses() -> None:
    for mask, what in ((FULL, "F"), (0x12019F, "(RC,S,RD,WD,AD,REA,WEA,RA,WA)")):
        action = r.ntfs_grant("fs01", "D:\\Exp", "C\\svc", mask, "x", account_sid=SVC)
        argument = ps.ntfs_grant_argument(action)
        assert argument == f"*{SVC}:(OI)(CI){what}"
        assert d.parse_icacls_perm(argument) == (SVC, frozenset({"OI", "CI"}), mask)


# --------------------------------------------------------------------------- fix, then revert


def test_the_old_reverts_took_away_the_access_the_account_had_before() -> None:
    """What `icacls /remove:g` and `Revoke-SmbShareAccess` (the reverts before this change) leave:
    the Run As account's earlier read access is gone too."""
    ntfs = sd(f"O:BAG:SYD:PAI(A;OICI;{READ:#x};;;{SVC})(A;OICI;FA;;;BA)")
    fixed = d.icacls_grant(ntfs, f"*{SVC}:(OI)(CI)F")
    assert effective_access(d.icacls_remove(fixed, SVC, "g"), [SVC]) == 0
    share = sd(f"O:SYG:SYD:(A;;{READ:#x};;;{SVC})")
    assert d.revoke_smb_share_access(d.grant_smb_share_access(share, SVC, "Full"), SVC).dacl == ()


@pytest.mark.parametrize("before", [
    "O:BAG:SYD:PAI(A;OICI;FA;;;BA)",  # the account had nothing
    f"O:BAG:SYD:PAI(A;OICI;{READ:#x};;;{SVC})(A;OICI;FA;;;BA)",  # read, merged into by the grant
    f"O:BAG:SYD:PAI(A;;{READ:#x};;;{SVC})(A;OICI;FA;;;BA)(A;CIIO;0x1301bf;;;{SVC})",  # other inheritance
    f"O:BAG:SYD:AI(D;OICI;0x40000;;;{SVC})(A;OICI;FA;;;BA)(A;OICIID;0x1200a9;;;{SVC})",  # a deny, an inherited one
])
def test_ntfs_fix_then_revert_gives_back_the_sddl_before(before: str) -> None:
    action = r.ntfs_grant("fs01", "D:\\Exp", "C\\svc", FULL, "Full Control", account_sid=SVC, before_sddl=before,
                          domain_sid=DOM)
    fixed = d.run_fix(action, sd(before))
    assert effective_access(fixed, [SVC]) & FULL == FULL or "(D;" in before
    assert format_sddl(d.run_revert(action, fixed, DOM)) == format_sddl(sd(before))


@pytest.mark.parametrize("before", [
    "O:SYG:SYD:(A;;0x1200a9;;;WD)",
    f"O:SYG:SYD:(A;;0x1200a9;;;WD)(A;;0x1301bf;;;{SVC})(A;;FA;;;BA)",
    f"O:SYG:SYD:(D;;FA;;;{OTHER})(A;;0x1200a9;;;{SVC})(A;;0x1200a9;;;WD)",
])
def test_share_fix_then_revert_gives_back_the_sddl_before(before: str) -> None:
    action = r.share_grant("fs01", "Exp", "C\\svc", "Full", account_sid=SVC, before_sddl=before, domain_sid=DOM)
    fixed = d.run_fix(action, sd(before))
    assert format_sddl(d.run_revert(action, fixed, DOM)) == format_sddl(sd(before))


def test_a_change_made_since_the_fix_survives_the_revert() -> None:
    before = f"O:BAG:SYD:PAI(A;OICI;{READ:#x};;;{SVC})(A;OICI;FA;;;BA)"
    action = r.ntfs_grant("fs01", "D:\\Exp", "C\\svc", FULL, "Full Control", account_sid=SVC, before_sddl=before)
    fixed = d.run_fix(action, sd(before))
    later = d.icacls_grant(fixed, f"*{THIRD}:(OI)(CI)M")  # someone else's grant, after ours
    reverted = d.run_revert(action, later, DOM)
    assert [a for a in reverted.dacl or () if a.sid == SVC] == [a for a in sd(before).dacl or () if a.sid == SVC]
    assert any(a.sid == THIRD for a in reverted.dacl or ())


_SIDS = st.sampled_from([SVC, OTHER, "S-1-5-32-544", "S-1-1-0"])
_ACES = st.builds(
    lambda kind, flags, mask, sid, inherited: Ace(type=kind, flags=frozenset(flags) | ({"ID"} if inherited else set()),
                                                  mask=mask, sid=sid),
    st.sampled_from(["A", "D"]), st.sets(st.sampled_from(["OI", "CI", "IO", "NP"]), max_size=3),
    st.sampled_from([FULL, CHANGE, READ, 0x40000, 0x120089, 0x6]), _SIDS, st.booleans())


def _canonical(aces: list[Ace]) -> tuple[Ace, ...]:
    """Explicit denies, explicit grants, inherited denies, inherited grants (what Windows writes)."""
    return tuple(sorted(aces, key=lambda a: ("ID" in a.flags, a.is_allow)))


@settings(max_examples=300, deadline=None)
@given(st.lists(_ACES, max_size=8), st.sampled_from(["A", "P", "PAI", "AI"]), st.booleans(),
       st.sampled_from([FULL, 0x12019F]))
def test_any_descriptor_comes_back_whole_after_fix_and_revert(aces: list[Ace], flags: str, share: bool,
                                                              mask: int) -> None:
    dacl_flags = frozenset({"P", "AI"} if flags == "PAI" else {flags} - {"A"})
    if share:  # a share's descriptor has no inheritance
        aces = [Ace(type=a.type, flags=frozenset(), mask=a.mask, sid=a.sid) for a in aces]
    before = SecurityDescriptor(owner="S-1-5-32-544", group="S-1-5-18", dacl=_canonical(aces), dacl_flags=dacl_flags)
    text = format_sddl(before)
    assert parse_sddl(text) == before
    if share:
        action = r.share_grant("fs01", "Exp", "C\\svc", "Full" if mask == FULL else "Change", account_sid=SVC,
                               before_sddl=text)
    else:
        action = r.ntfs_grant("fs01", "D:\\Exp", "C\\svc", mask, "x", account_sid=SVC, before_sddl=text)
    fixed = d.run_fix(action, before)
    assert format_sddl(d.run_revert(action, fixed)) == text
    assert format_sddl(d.run_revert(action, d.run_revert(action, fixed))) == text  # a second revert changes nothing

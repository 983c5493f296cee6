"""What Windows' ACL tools do to a security descriptor: a small model, for the tests and the lab.

Each function takes a descriptor (`offlineprep.security_descriptor.SecurityDescriptor`) and returns the one the
command leaves, as Microsoft documents the command. Where the documentation is silent the model
says what it assumes (marked "Assumed"), and docs/fixes.md lists those assumptions as unverified
on Windows. The simulated hosts can run fix actions on their own descriptors with `run_fix` and
`run_revert`.

Sources:
- icacls (Microsoft, Windows Commands: icacls): "/grant[:r] Sid:perm: Grants specified user access
  rights. Permissions replace previously granted explicit permissions [with :r]. Not adding the :r
  means that permissions are added to any previously granted explicit permissions"; "/deny: An
  explicit deny ACE is added for the stated permissions and the same permissions in any explicit
  grant are removed"; "/remove[:g|:d] Sid: Removes all occurrences of the specified SID from the
  DACL. :g removes all occurrences of granted rights ... :d ... denied rights"; "This command
  preserves the canonical order of ACE entries: explicit denials, explicit grants, inherited
  denials, inherited grants"; the perm forms (simple rights F M RX R W, specific rights in
  parentheses, inheritance (OI)(CI)(IO)(NP)) and "*" before a numeric SID.
- Grant-SmbShareAccess: "Adds an allow access control entry (ACE) for a trustee to the security
  descriptor of the SMB share" (AccessRight Full, Change or Read); Revoke-SmbShareAccess: "Removes
  all of the allow ACEs for a trustee"; Block-SmbShareAccess: "Adds a deny ACE for a trustee";
  Unblock-SmbShareAccess: "Removes all of the deny ACEs for the trustee" (Microsoft, SmbShare
  module reference). Share masks: Full 0x1F01FF, Change 0x1301BF, Read 0x1200A9.
- Set-Acl of a descriptor's access section (Microsoft: Set-Acl; FileSystemSecurity.
  SetSecurityDescriptorSddlForm): the object's explicit entries become the given ones; inherited
  entries keep coming from the parent (SetSecurityInfo with an unprotected DACL).
- The revert's `Restore-AccountAces` (offlineprep.actions.powershell): .NET RawAcl.RemoveAce(index)
  and RawAcl.InsertAce(index, ace) change the list at exactly that index (Microsoft: RawAcl).
"""

from __future__ import annotations

import re
from dataclasses import replace

from offlineprep.actions import powershell as ps
from offlineprep.actions import types as t
from offlineprep.security_descriptor import Ace, SecurityDescriptor, format_sddl, parse_sddl

SHARE_RIGHTS = {"Full": 0x1F01FF, "Change": 0x1301BF, "Read": 0x1200A9}

_SIMPLE = {"F": 0x1F01FF, "M": 0x1301BF, "RX": 0x1200A9, "R": 0x120089, "W": 0x100116}
_SPECIFIC = {
    "D": 0x10000, "RC": 0x20000, "WDAC": 0x40000, "WO": 0x80000, "S": 0x100000, "AS": 0x1000000,
    "MA": 0x2000000, "GR": 0x80000000, "GW": 0x40000000, "GE": 0x20000000, "GA": 0x10000000,
    "RD": 0x1, "WD": 0x2, "AD": 0x4, "REA": 0x8, "WEA": 0x10, "X": 0x20, "DC": 0x40, "RA": 0x80, "WA": 0x100,
}
_INHERITANCE = {"OI", "CI", "IO", "NP"}
_PERM = re.compile(r"^(?P<sid>[^:]+):(?P<inherit>(?:\((?:OI|CI|IO|NP)\))*)(?P<rights>.+)$", re.IGNORECASE)


class CommandError(ValueError):
    """What the command itself would refuse (a malformed permission, an unknown account form)."""


def _explicit(ace: Ace) -> bool:
    return "ID" not in ace.flags


def _same_sid(ace: Ace, sid: str) -> bool:
    return ace.sid.upper() == sid.upper()


def _dacl(sd: SecurityDescriptor) -> list[Ace]:
    if sd.dacl is None:
        raise CommandError("the object has a null DACL")
    return list(sd.dacl)


def _with(sd: SecurityDescriptor, aces: list[Ace]) -> SecurityDescriptor:
    return replace(sd, dacl=tuple(aces))


def _canonical_slot(aces: list[Ace], allow: bool) -> int:
    """Where a new explicit entry goes while keeping the documented canonical order. Assumed: a new
    grant goes after the explicit grants already there, a new deny after the explicit denies."""
    for index, ace in enumerate(aces):
        if not _explicit(ace) or (not allow and ace.is_allow):
            return index
    return len(aces)


# --------------------------------------------------------------------------- icacls


def parse_icacls_perm(argument: str) -> tuple[str, frozenset[str], int]:
    """`*S-1-5-21-…:(OI)(CI)F` -> (SID, ACE flags, mask). Only the numeric `*SID` form is modelled."""
    found = _PERM.match(argument)
    if not found:
        raise CommandError(f"icacls: invalid parameter {argument!r}")
    sid = found.group("sid")
    if not sid.startswith("*"):
        raise CommandError(f"icacls: the model resolves no account names ({sid!r}); give *SID")
    flags = frozenset(f.upper() for f in re.findall(r"\((\w\w)\)", found.group("inherit")))
    rights = found.group("rights")
    if rights.startswith("(") and rights.endswith(")"):
        mask = 0
        for name in rights[1:-1].split(","):
            if name.upper() not in _SPECIFIC:
                raise CommandError(f"icacls: unknown right {name!r}")
            mask |= _SPECIFIC[name.upper()]
    elif rights.upper() in _SIMPLE:
        mask = _SIMPLE[rights.upper()]
    else:
        raise CommandError(f"icacls: unknown rights {rights!r}")
    return sid[1:], flags & _INHERITANCE, mask


def icacls_grant(sd: SecurityDescriptor, argument: str, *, replace_existing: bool = False) -> SecurityDescriptor:
    """`icacls <path> /grant[:r] <argument>`. Assumed: the rights are added to an explicit grant of
    the same SID with the same inheritance flags, in place; otherwise a new explicit grant is added
    (`_canonical_slot`). With :r the SID's explicit grants are replaced by the new one."""
    sid, flags, mask = parse_icacls_perm(argument)
    aces = _dacl(sd)
    if replace_existing:
        aces = [a for a in aces if not (_explicit(a) and a.is_allow and _same_sid(a, sid))]
    for index, ace in enumerate(aces):
        if _explicit(ace) and ace.type == "A" and _same_sid(ace, sid) and ace.flags == flags:
            aces[index] = replace(ace, mask=ace.mask | mask)
            return _with(sd, aces)
    aces.insert(_canonical_slot(aces, allow=True), Ace(type="A", flags=flags, mask=mask, sid=sid))
    return _with(sd, aces)


def icacls_deny(sd: SecurityDescriptor, argument: str) -> SecurityDescriptor:
    """`icacls <path> /deny <argument>`: a deny entry, and the same rights taken out of the SID's
    explicit grants (an entry left with no right is dropped: assumed)."""
    sid, flags, mask = parse_icacls_perm(argument)
    aces = []
    for ace in _dacl(sd):
        if _explicit(ace) and ace.is_allow and _same_sid(ace, sid):
            ace = replace(ace, mask=ace.mask & ~mask)
            if not ace.mask:
                continue
        aces.append(ace)
    aces.insert(_canonical_slot(aces, allow=False), Ace(type="D", flags=flags, mask=mask, sid=sid))
    return _with(sd, aces)


def icacls_remove(sd: SecurityDescriptor, sid: str, which: str = "") -> SecurityDescriptor:
    """`icacls <path> /remove[:g|:d] *<sid>`: the SID's explicit grants (g), denies (d) or both go.
    Inherited entries stay (they come from the parent)."""
    sid = sid.lstrip("*")

    def removed(ace: Ace) -> bool:
        if not (_explicit(ace) and _same_sid(ace, sid)):
            return False
        return (which in ("", "g") and ace.is_allow) or (which in ("", "d") and ace.is_deny)

    return _with(sd, [a for a in _dacl(sd) if not removed(a)])


# --------------------------------------------------------------------------- Set-Acl


def set_acl_access(sd: SecurityDescriptor, sddl: str, domain_sid: str | None = None) -> SecurityDescriptor:
    """Set-Acl of a descriptor whose access section is `sddl`: its explicit entries and DACL flags
    replace the object's; the inherited entries are the object's own (still from the same parent)."""
    given = parse_sddl(sddl, domain_sid)
    explicit = [a for a in _dacl(given) if _explicit(a)]
    inherited = [a for a in _dacl(sd) if not _explicit(a)]
    return SecurityDescriptor(owner=sd.owner, group=sd.group, dacl=tuple(explicit + inherited),
                              dacl_flags=given.dacl_flags)


def restore_account_aces(current: SecurityDescriptor, saved: SecurityDescriptor, sid: str) -> SecurityDescriptor:
    """What the revert's Restore-AccountAces does: drop the SID's explicit entries from `current`,
    then insert each explicit entry of the SID that `saved` holds at its index in `saved`."""
    aces = [a for a in _dacl(current) if not (_explicit(a) and _same_sid(a, sid))]
    for index, ace in enumerate(_dacl(saved)):
        if _explicit(ace) and _same_sid(ace, sid):
            aces.insert(min(index, len(aces)), ace)
    return _with(current, aces)


# --------------------------------------------------------------------------- SMB share cmdlets


def grant_smb_share_access(sd: SecurityDescriptor, sid: str, access_right: str) -> SecurityDescriptor:
    """Grant-SmbShareAccess. Assumed: an allow entry the trustee already has gets the right added in
    place; otherwise the new entry comes after the others (the documented example lists it last)."""
    if access_right not in SHARE_RIGHTS:
        raise CommandError(f"Grant-SmbShareAccess: -AccessRight {access_right!r} is not Full, Change or Read")
    mask = SHARE_RIGHTS[access_right]
    aces = _dacl(sd)
    for index, ace in enumerate(aces):
        if ace.type == "A" and _same_sid(ace, sid) and not ace.flags:
            aces[index] = replace(ace, mask=ace.mask | mask)
            return _with(sd, aces)
    aces.append(Ace(type="A", flags=frozenset(), mask=mask, sid=sid))
    return _with(sd, aces)


def revoke_smb_share_access(sd: SecurityDescriptor, sid: str) -> SecurityDescriptor:
    return _with(sd, [a for a in _dacl(sd) if not (a.is_allow and _same_sid(a, sid))])


def block_smb_share_access(sd: SecurityDescriptor, sid: str) -> SecurityDescriptor:
    """Block-SmbShareAccess: a deny entry (Full). Assumed: placed first, as denies come first."""
    return _with(sd, [Ace(type="D", flags=frozenset(), mask=SHARE_RIGHTS["Full"], sid=sid), *_dacl(sd)])


def unblock_smb_share_access(sd: SecurityDescriptor, sid: str) -> SecurityDescriptor:
    return _with(sd, [a for a in _dacl(sd) if not (a.is_deny and _same_sid(a, sid))])


def set_smb_share_security(sd: SecurityDescriptor, sddl: str, domain_sid: str | None = None) -> SecurityDescriptor:
    """Set-SmbShare -SecurityDescriptor: the share's descriptor becomes the one given."""
    return parse_sddl(sddl, domain_sid)


# --------------------------------------------------------------------------- running fix actions


def run_fix(action: t.GrantNtfsRights | t.GrantShareRights, sd: SecurityDescriptor) -> SecurityDescriptor:
    """The descriptor after the action's fix ran, with exactly the values its rendering passes."""
    if isinstance(action, t.GrantNtfsRights):
        return icacls_grant(sd, ps.ntfs_grant_argument(action))
    if not action.account_sid:
        raise CommandError("the model resolves no account names: the action needs account_sid")
    return grant_smb_share_access(sd, action.account_sid, action.access_right)


def run_revert(action: t.GrantNtfsRights | t.GrantShareRights, sd: SecurityDescriptor,
               domain_sid: str | None = None) -> SecurityDescriptor:
    """The descriptor after the action's revert ran: Restore-AccountAces over the saved descriptor,
    then Set-Acl (NTFS: the access section) or Set-SmbShare -SecurityDescriptor."""
    if not (action.account_sid and action.before_sddl):
        raise CommandError("no saved descriptor: the revert only warns")
    restored = format_sddl(restore_account_aces(sd, parse_sddl(action.before_sddl, domain_sid), action.account_sid))
    if isinstance(action, t.GrantNtfsRights):
        return set_acl_access(sd, restored)
    return set_smb_share_security(sd, restored)

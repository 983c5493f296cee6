"""Security descriptors as Windows evaluates them: the MS-DTYP access check (2.5.3.2).

The descriptors themselves (SDDL and binary, the model, the masks) are read and written by
`offlineprep.security_descriptor`; their names are importable from here too.

`effective_access(sddl, sids)` answers what a MAXIMUM_ALLOWED open would be granted for a token
holding `sids`, the way the file server computes it:
- ACEs are walked in stored order; inherit-only ACEs do not apply to the object itself;
- a deny ACE removes rights not yet granted; an allow ACE adds rights (first match wins per bit);
- generic bits in an ACE are mapped to file rights first (GENERIC_READ -> FILE_GENERIC_READ …);
- a null DACL grants everything, an empty DACL nothing;
- the owner implicitly gets READ_CONTROL and WRITE_DAC unless an OWNER RIGHTS (S-1-3-4) ACE is
  present, in which case that ACE alone decides what the owner gets beyond the others.
Callback ACEs (XA/XD) carry conditions we cannot evaluate; they are parsed and reported through
`SecurityDescriptor.unevaluable`, and skipped like Windows skips a condition that is not TRUE
for an allow (a callback deny is applied, the conservative reading).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

# The descriptor model, SDDL and the mask vocabulary live in the codec; their names stay importable
# from here, where the checks and remediation have always found them.
from offlineprep.security_descriptor import (
    ACCESS_SYSTEM_SECURITY,
    ACE_FLAGS,
    ACE_TYPES,
    AUTHENTICATED_USERS,
    DELETE,
    DOMAIN_RELATIVE,
    DOMAIN_RID_NAMES,
    EVERYONE,
    FILE_ALL_ACCESS,
    FILE_APPEND_DATA,
    FILE_DELETE_CHILD,
    FILE_EXECUTE,
    FILE_GENERIC_EXECUTE,
    FILE_GENERIC_READ,
    FILE_GENERIC_WRITE,
    FILE_READ_ATTRIBUTES,
    FILE_READ_DATA,
    FILE_READ_EA,
    FILE_WRITE_ATTRIBUTES,
    FILE_WRITE_DATA,
    FILE_WRITE_EA,
    GENERIC_ALL,
    GENERIC_EXECUTE,
    GENERIC_READ,
    GENERIC_WRITE,
    MAXIMUM_ALLOWED,
    NETWORK,
    OWNER_RIGHTS,
    READ_CONTROL,
    RIGHT_ALIASES,
    STANDARD_RIGHTS_REQUIRED,
    SYNCHRONIZE,
    WELL_KNOWN_SIDS,
    WRITE_DAC,
    WRITE_OWNER,
    Ace,
    DescriptorError,
    SddlError,
    SecurityDescriptor,
    describe_mask,
    explicit_aces_of,
    format_ace,
    format_mask,
    format_sddl,
    map_generic,
    parse_sddl,
    well_known_sid_name,
)

__all__ = [
    "ACCESS_SYSTEM_SECURITY",
    "ACE_FLAGS",
    "ACE_TYPES",
    "AUTHENTICATED_USERS",
    "DELETE",
    "DOMAIN_RELATIVE",
    "DOMAIN_RID_NAMES",
    "EVERYONE",
    "FILE_ALL_ACCESS",
    "FILE_APPEND_DATA",
    "FILE_DELETE_CHILD",
    "FILE_EXECUTE",
    "FILE_GENERIC_EXECUTE",
    "FILE_GENERIC_READ",
    "FILE_GENERIC_WRITE",
    "FILE_READ_ATTRIBUTES",
    "FILE_READ_DATA",
    "FILE_READ_EA",
    "FILE_WRITE_ATTRIBUTES",
    "FILE_WRITE_DATA",
    "FILE_WRITE_EA",
    "FULL_CONTROL",
    "GENERIC_ALL",
    "GENERIC_EXECUTE",
    "GENERIC_READ",
    "GENERIC_WRITE",
    "MAXIMUM_ALLOWED",
    "NETWORK",
    "OWNER_RIGHTS",
    "READ_CONTROL",
    "READ_WRITE",
    "RIGHT_ALIASES",
    "SHARE_CHANGE",
    "SHARE_FULL",
    "SHARE_READ",
    "STANDARD_RIGHTS_REQUIRED",
    "SYNCHRONIZE",
    "WELL_KNOWN_SIDS",
    "WRITE_DAC",
    "WRITE_OWNER",
    "AccessExplanation",
    "Ace",
    "AceEffect",
    "DescriptorError",
    "SddlError",
    "SecurityDescriptor",
    "describe_mask",
    "effective_access",
    "explain_access",
    "explicit_aces_of",
    "format_ace",
    "format_mask",
    "format_sddl",
    "map_generic",
    "parse_sddl",
    "share_and_ntfs",
    "well_known_sid_name",
]

SHARE_FULL = 0x1F01FF
SHARE_CHANGE = 0x1301BF
SHARE_READ = 0x1200A9

FULL_CONTROL = FILE_ALL_ACCESS
READ_WRITE = FILE_GENERIC_READ | FILE_GENERIC_WRITE


# --------------------------------------------------------------------------- access check


@dataclass(frozen=True)
class AceEffect:
    """One ACE that changed the outcome: the rights it granted or denied (for evidence)."""

    ace: str  # readable form
    sid: str
    effect: str  # "granted" | "denied"
    rights: int

    def as_evidence(self) -> dict[str, str]:
        return {"ace": self.ace, "effect": self.effect, "rights": format_mask(self.rights)}


@dataclass(frozen=True)
class AccessExplanation:
    granted: int
    null_dacl: bool = False
    effects: tuple[AceEffect, ...] = field(default_factory=tuple)
    owner_implicit: int = 0
    unevaluable: tuple[str, ...] = field(default_factory=tuple)

    def as_evidence(self) -> dict[str, object]:
        return {
            "granted": format_mask(self.granted),
            "granted_mask": f"0x{self.granted:X}",
            "null_dacl": self.null_dacl,
            "deciding_aces": [e.as_evidence() for e in self.effects],
            **({"owner_implicit": format_mask(self.owner_implicit)} if self.owner_implicit else {}),
            **({"unevaluable_aces": list(self.unevaluable)} if self.unevaluable else {}),
        }


def explain_access(
    sddl: str | SecurityDescriptor, sids: Iterable[str], domain_sid: str | None = None
) -> AccessExplanation:
    """`domain_sid`: the domain of the machine that wrote the SDDL. Windows writes SIDs of its own
    domain as two-letter aliases (`O:DAG:DU`, `(A;;FA;;;DA)`), which only that SID resolves."""
    sd = parse_sddl(sddl, domain_sid) if isinstance(sddl, str) else sddl
    token = {s.upper() for s in sids}
    if sd.dacl is None:
        return AccessExplanation(granted=FILE_ALL_ACCESS, null_dacl=True)
    granted = 0
    denied = 0
    effects: list[AceEffect] = []
    owner_in_token = sd.owner is not None and sd.owner.upper() in token
    owner_rights_present = any(a.sid == OWNER_RIGHTS and not a.inherit_only for a in sd.dacl)
    owner_implicit = 0
    if owner_in_token and not owner_rights_present:
        # MS-DTYP 2.5.3.2: the owner is granted READ_CONTROL and WRITE_DAC before the DACL walk
        owner_implicit = READ_CONTROL | WRITE_DAC
        granted |= owner_implicit
    for ace in sd.dacl:
        if ace.inherit_only:
            continue
        applies = ace.sid.upper() in token or (ace.sid == OWNER_RIGHTS and owner_in_token)
        if not applies or ace.type in {"XA", "ZA"} or not (ace.is_allow or ace.is_deny):
            continue
        rights = ace.file_mask
        if ace.is_allow:
            new = rights & ~granted & ~denied
            if new:
                granted |= new
                effects.append(AceEffect(ace.describe(), ace.sid, "granted", new))
        else:
            new = rights & ~granted & ~denied
            if new:
                denied |= new
                effects.append(AceEffect(ace.describe(), ace.sid, "denied", new))
    return AccessExplanation(
        granted=granted,
        effects=tuple(effects),
        owner_implicit=owner_implicit,
        unevaluable=tuple(a.describe() for a in sd.unevaluable),
    )


def effective_access(sddl: str, sids: Iterable[str], domain_sid: str | None = None) -> int:
    """The access mask granted to a token holding `sids`, as for MAXIMUM_ALLOWED."""
    return explain_access(sddl, sids, domain_sid).granted


def share_and_ntfs(share_sddl: str, ntfs_sddl: str, sids: Iterable[str], domain_sid: str | None = None) -> int:
    """Over the network Windows grants the intersection of share and NTFS permissions."""
    token = list(sids)
    return effective_access(share_sddl, token, domain_sid) & effective_access(ntfs_sddl, token, domain_sid)

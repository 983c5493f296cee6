"""The states apply compares, as plain data, and the bytes of a resource-based delegation descriptor.

No I/O here: the LDAP changer (`apply.directory`) reads the directory and uses these to decide
whether a step is still to do, already done, or changed since planned (or since applied).

msDS-AllowedToActOnBehalfOfOtherIdentity holds a self-relative security descriptor whose DACL
allows the accounts that may delegate to the computer (MS-DTYP 2.4.6 SECURITY_DESCRIPTOR, 2.4.5
ACL, 2.4.4.2 ACCESS_ALLOWED_ACE; Microsoft: "Kerberos constrained delegation overview",
resource-based). Set-ADComputer -PrincipalsAllowedToDelegateToAccount writes the owner
BUILTIN\\Administrators and one allow entry per account with the rights 0xF01FF
(`O:BAD:(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;<SID>)`); apply writes the same shape, and keeps every
entry already there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from offlineprep.actions import types as t
from offlineprep.security_descriptor import (
    BUILTIN_ADMINISTRATORS,
    Ace,
    DescriptorError,
    SecurityDescriptor,
    decode_descriptor,
    encode_descriptor,
    sid_to_bytes,
)
from offlineprep.security_descriptor import allowed_sids as _allowed_by
from offlineprep.security_descriptor import sid_from_bytes as sid_from_bytes  # the codec's, importable from here

RBCD_RIGHTS = 0xF01FF  # CCDCLCSWRPWPDTLOCRSDRCWDWO, what Set-ADComputer writes


def folded(values: Iterable[str]) -> frozenset[str]:
    """A multi-valued string attribute as a set, case-insensitively (SPNs compare so: docs/checks.md)."""
    return frozenset(v.casefold() for v in values)


def same_values(a: Iterable[str], b: Iterable[str]) -> bool:
    return folded(a) == folded(b)


def wanted_flags(action: t.AccountControlChange) -> dict[int, bool]:
    """The userAccountControl flags the action sets (True) or clears (False): its type's, never a value
    of the file (SetProtocolTransition owns TRUSTED_TO_AUTH_FOR_DELEGATION, and clears
    TRUSTED_FOR_DELEGATION when asked; ClearNotDelegated owns NOT_DELEGATED; EnableAccount
    ACCOUNTDISABLE). The bits are Microsoft's (userAccountControl, ADS_USER_FLAG_ENUM:
    https://learn.microsoft.com/windows/win32/adschema/a-useraccountcontrol)."""
    wanted = action.wanted()
    stray = [bit for bit, on in wanted.items() if bit not in _OWNED or (on and bit not in _MAY_SET)]
    if stray:  # a subclass gone wrong, never a plan: the type decides, and no type sets these
        raise ValueError(f"{action.kind} would change userAccountControl bits it does not own: "
                         + ", ".join(hex_uac(b) for b in stray))
    return wanted


# every bit an account-control type changes, and the ones it may set (turning on unconstrained delegation
# 0x80000 or "no Kerberos pre-authentication" 0x400000 is no fix offlineprep makes)
_OWNED = frozenset({t.UAC_ACCOUNTDISABLE, t.UAC_TRUSTED_FOR_DELEGATION, t.UAC_NOT_DELEGATED,
                    t.UAC_TRUSTED_TO_AUTH_FOR_DELEGATION})
_MAY_SET = frozenset({t.UAC_TRUSTED_TO_AUTH_FOR_DELEGATION})


def uac_target(live: int, action: t.AccountControlChange) -> int:
    """What apply writes: the value read live, with only the bits the action's type owns flipped."""
    value = live
    for bit, on in wanted_flags(action).items():
        value = value | bit if on else value & ~bit
    return value


def uac_restored(live: int, was: int, action: t.AccountControlChange) -> int:
    """What revert writes: the value read live, with only the bits the action's type owns put back as
    they were before apply (`was`, from the record); every other bit stays as it is now."""
    value = live
    for bit in wanted_flags(action):
        value = (value | bit) if was & bit else (value & ~bit)
    return value


def hex_uac(value: int | None) -> str:
    return "unknown" if value is None else f"0x{value:X}"


# --------------------------------------------------------------------------- SIDs and descriptors (the codec's)


def ldap_sid_filter(sid: str) -> str:
    """`(objectSid=\\01\\05...)`: the binary form every DC (and ldap3's mock) matches exactly."""
    return "(objectSid=" + "".join(f"\\{b:02x}" for b in sid_to_bytes(sid)) + ")"


def _descriptor(blob: bytes) -> SecurityDescriptor:
    try:
        return decode_descriptor(blob)
    except DescriptorError as exc:
        raise DescriptorError(f"msDS-AllowedToActOnBehalfOfOtherIdentity holds no readable security descriptor "
                              f"({exc})", exc.offset) from None


def allowed_sids(blob: bytes | None) -> list[str]:
    """The SIDs of the allow entries of a descriptor's DACL, in order; [] for none or no descriptor.
    Raises DescriptorError (a ValueError) for a value that is no readable descriptor, naming the byte."""
    return _allowed_by(_descriptor(blob)) if blob else []


def descriptor_allowing(current: bytes | None, sids: Sequence[str]) -> bytes:
    """`current` with an allow entry added for each of `sids` it does not allow yet, every other part
    kept as it is (entries, owner, group, SACL, control); with no descriptor yet, the one
    Set-ADComputer writes (owner Administrators)."""
    descriptor = (_descriptor(current) if current
                  else SecurityDescriptor(owner=BUILTIN_ADMINISTRATORS, group=None, dacl=()))
    have = {s.upper() for s in _allowed_by(descriptor)}
    new = [Ace(type="A", flags=frozenset(), mask=RBCD_RIGHTS, sid=s) for s in sids if s.upper() not in have]
    return encode_descriptor(replace(descriptor, dacl=(*(descriptor.dacl or ()), *new),
                                     dacl_flags=descriptor.dacl_flags - {"NO_ACCESS_CONTROL"}))

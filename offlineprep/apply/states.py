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
    """The userAccountControl flags the action sets (True) or clears (False)."""
    return action.wanted()


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


def descriptor_without(current: bytes, sids: Sequence[str]) -> bytes:
    """`current` without the allow entries of `sids` (what revert takes out, by type), every other part
    kept; b"" when no entry is left and nothing else was there (the attribute goes, as before apply)."""
    descriptor = _descriptor(current)
    gone = {s.upper() for s in sids}
    kept = tuple(ace for ace in descriptor.dacl or () if not (ace.type == "A" and ace.sid.upper() in gone))
    if not kept and descriptor.owner == BUILTIN_ADMINISTRATORS and descriptor.sacl is None:
        return b""
    return encode_descriptor(replace(descriptor, dacl=kept))

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

import struct
from collections.abc import Iterable, Sequence

from offlineprep.actions import types as t

SE_DACL_PRESENT = 0x0004
SE_SELF_RELATIVE = 0x8000
ACL_REVISION = 2
ACCESS_ALLOWED_ACE_TYPE = 0x00
ACCESS_ALLOWED_OBJECT_ACE_TYPE = 0x05
RBCD_RIGHTS = 0xF01FF  # CCDCLCSWRPWPDTLOCRSDRCWDWO, what Set-ADComputer writes
BUILTIN_ADMINISTRATORS = "S-1-5-32-544"


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


# --------------------------------------------------------------------------- SIDs


def sid_to_bytes(sid: str) -> bytes:
    """MS-DTYP 2.4.2.2: revision, sub-authority count, 48-bit authority (big endian), sub-authorities."""
    parts = sid.strip().upper().split("-")
    if len(parts) < 3 or parts[0] != "S":
        raise ValueError(f"{sid!r} is not a SID")
    subs = [int(x) for x in parts[3:]]
    return bytes([int(parts[1]), len(subs)]) + int(parts[2]).to_bytes(6, "big") + struct.pack(f"<{len(subs)}I", *subs)


def sid_from_bytes(data: bytes, offset: int = 0) -> tuple[str, int]:
    revision, count = data[offset], data[offset + 1]
    authority = int.from_bytes(data[offset + 2:offset + 8], "big")
    subs = struct.unpack_from(f"<{count}I", data, offset + 8)
    return "S-" + "-".join(str(x) for x in (revision, authority, *subs)), 8 + 4 * count


def ldap_sid_filter(sid: str) -> str:
    """`(objectSid=\\01\\05...)`: the binary form every DC (and ldap3's mock) matches exactly."""
    return "(objectSid=" + "".join(f"\\{b:02x}" for b in sid_to_bytes(sid)) + ")"


# --------------------------------------------------------------------------- security descriptors


def _parts(blob: bytes) -> tuple[int, bytes | None, bytes | None, bytes | None, bytes | None]:
    """(control, owner SID, group SID, SACL, DACL) of a self-relative descriptor, each as its bytes."""
    _revision, _sbz, control, o_owner, o_group, o_sacl, o_dacl = struct.unpack_from("<BBHIIII", blob, 0)

    def sid_at(offset: int) -> bytes | None:
        if not offset:
            return None
        _, length = sid_from_bytes(blob, offset)
        return blob[offset:offset + length]

    def acl_at(offset: int) -> bytes | None:
        if not offset:
            return None
        size = struct.unpack_from("<H", blob, offset + 2)[0]
        return blob[offset:offset + size]

    return control, sid_at(o_owner), sid_at(o_group), acl_at(o_sacl), acl_at(o_dacl)


def allowed_sids(blob: bytes | None) -> list[str]:
    """The SIDs of the allow entries of a descriptor's DACL, in order; [] for none or no descriptor."""
    if not blob:
        return []
    try:
        dacl = _parts(blob)[4]
        if dacl is None:
            return []
        count = struct.unpack_from("<H", dacl, 4)[0]
        position, sids = 8, []
        for _ in range(count):
            ace_type, _flags, size = struct.unpack_from("<BBH", dacl, position)
            if ace_type == ACCESS_ALLOWED_ACE_TYPE:
                sids.append(sid_from_bytes(dacl, position + 8)[0])
            elif ace_type == ACCESS_ALLOWED_OBJECT_ACE_TYPE:
                flags = struct.unpack_from("<I", dacl, position + 8)[0]
                at = position + 12 + (16 if flags & 1 else 0) + (16 if flags & 2 else 0)
                sids.append(sid_from_bytes(dacl, at)[0])
            position += size
        return sids
    except (struct.error, IndexError, ValueError) as exc:
        raise ValueError("msDS-AllowedToActOnBehalfOfOtherIdentity holds no readable security descriptor") from exc


def _acl(aces: Sequence[bytes], revision: int = ACL_REVISION) -> bytes:
    body = b"".join(aces)
    return struct.pack("<BBHHH", revision, 0, 8 + len(body), len(aces), 0) + body


def _allow(sid: str, mask: int = RBCD_RIGHTS) -> bytes:
    body = struct.pack("<I", mask) + sid_to_bytes(sid)
    return struct.pack("<BBH", ACCESS_ALLOWED_ACE_TYPE, 0, 4 + len(body)) + body


def _aces(dacl: bytes) -> list[bytes]:
    count = struct.unpack_from("<H", dacl, 4)[0]
    position, out = 8, []
    for _ in range(count):
        size = struct.unpack_from("<H", dacl, position + 2)[0]
        out.append(dacl[position:position + size])
        position += size
    return out


def descriptor_allowing(current: bytes | None, sids: Sequence[str]) -> bytes:
    """`current` with an allow entry added for each of `sids` it does not allow yet, every other part
    kept as it is; with no descriptor yet, the one Set-ADComputer writes (owner Administrators)."""
    have = {s.upper() for s in allowed_sids(current)}
    new = [_allow(s) for s in sids if s.upper() not in have]
    if current:
        control, owner, group, sacl, dacl = _parts(current)
        revision = dacl[0] if dacl else ACL_REVISION
        dacl = _acl([*(_aces(dacl) if dacl else []), *new], revision)
    else:
        control, owner, group, sacl, dacl = SE_SELF_RELATIVE | SE_DACL_PRESENT, sid_to_bytes(BUILTIN_ADMINISTRATORS), \
            None, None, _acl(new)
    return _self_relative(control | SE_SELF_RELATIVE | SE_DACL_PRESENT, owner, group, sacl, dacl)


def _self_relative(control: int, owner: bytes | None, group: bytes | None, sacl: bytes | None,
                   dacl: bytes | None) -> bytes:
    offsets, body, position = [], b"", 20
    for part in (sacl, dacl, owner, group):
        offsets.append(position if part is not None else 0)
        if part is not None:
            body += part
            position += len(part)
    o_sacl, o_dacl, o_owner, o_group = offsets
    return struct.pack("<BBHIIII", 1, 0, control, o_owner, o_group, o_sacl, o_dacl) + body

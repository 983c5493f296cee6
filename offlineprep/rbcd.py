"""Resource-based constrained delegation: the file server's security descriptor, read as Windows does.

`msDS-AllowedToActOnBehalfOfOtherIdentity` on the back-end's account (the file server) holds a
self-relative security descriptor (MS-DTYP 2.4.6) whose DACL lists who may delegate to it; this is
the delegation that crosses domains (Microsoft, "Troubleshooting Kerberos constrained delegation
issues": front end and back end in different domains need resource-based constrained delegation).
The KDC decides with an access check of that descriptor against the front end's token (its own
SID and its groups, from the ticket's PAC): Samba's KDC, source4/kdc/pac-glue.c
`samba_kdc_check_s4u2proxy_rbcd`, asks for SEC_ADS_CONTROL_ACCESS (0x100) only, noting that
"although Windows grants SEC_ADS_GENERIC_ALL access in security descriptors it creates for RBCD,
its KDC only requires SEC_ADS_CONTROL_ACCESS". So does `allows`.

The descriptor is turned into SDDL (`sddl_from_security_descriptor`) so that offlineprep.acl does
the access check, with the directory's own generic mapping applied first (generic bits of a
directory object are not a file's: GENERIC_WRITE never includes control access there).
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

from offlineprep.acl import AUTHENTICATED_USERS, EVERYONE, effective_access, parse_sddl

if TYPE_CHECKING:
    from offlineprep.facts import DirectoryFacts

ADS_RIGHT_DS_CONTROL_ACCESS = 0x100

# Active Directory's generic rights, as ADS_RIGHTS_ENUM describes them
# (learn.microsoft.com/windows/win32/api/iads/ne-iads-ads_rights_enum; the bits: MS-ADTS 5.1.3.2):
# GENERIC_READ = read permissions, read all properties, list the object and its contents (RC|RP|LO|LC);
# GENERIC_WRITE = read permissions, write all properties, validated writes (RC|WP|SW);
# GENERIC_EXECUTE = read permissions, list contents (RC|LC); GENERIC_ALL = every right, control access (CR) too
_DS_GENERIC = {0x80000000: 0x20094, 0x40000000: 0x20028, 0x20000000: 0x20004, 0x10000000: 0xF01FF}

_ACE_TYPES = {0x00: "A", 0x01: "D", 0x05: "OA", 0x06: "OD"}
_ACE_FLAGS = [(0x01, "OI"), (0x02, "CI"), (0x04, "NP"), (0x08, "IO"), (0x10, "ID")]
_SE_DACL_PRESENT = 0x0004


class DescriptorError(ValueError):
    """A binary security descriptor that cannot be read; the message says where."""


def _sid(data: bytes, offset: int) -> tuple[str, int]:
    if offset + 8 > len(data):
        raise DescriptorError(f"a SID at byte {offset} runs past the end")
    revision, count = data[offset], data[offset + 1]
    if offset + 8 + 4 * count > len(data):
        raise DescriptorError(f"a SID at byte {offset} runs past the end")
    authority = int.from_bytes(data[offset + 2:offset + 8], "big")
    subs = struct.unpack_from(f"<{count}I", data, offset + 8)
    return "S-" + "-".join(str(x) for x in (revision, authority, *subs)), 8 + 4 * count


def ds_mask(mask: int) -> int:
    """Generic bits mapped to directory rights (a directory object's mapping, not a file's)."""
    out = mask & ~sum(_DS_GENERIC)
    for bit, mapped in _DS_GENERIC.items():
        if mask & bit:
            out |= mapped
    return out


def sddl_from_security_descriptor(blob: bytes) -> str:
    """A self-relative security descriptor as SDDL: owner, group and DACL (masks in hex, generic
    bits mapped as a directory object maps them). Raises DescriptorError for a malformed one."""
    try:
        if len(blob) < 20 or blob[0] != 1:
            raise DescriptorError("not a self-relative security descriptor (revision 1)")
        control, owner_at, group_at, _sacl_at, dacl_at = struct.unpack_from("<HIIII", blob, 2)
        parts = []
        if owner_at:
            parts.append("O:" + _sid(blob, owner_at)[0])
        if group_at:
            parts.append("G:" + _sid(blob, group_at)[0])
        if not control & _SE_DACL_PRESENT or not dacl_at:
            return "".join(parts) + "D:NO_ACCESS_CONTROL"  # no DACL: everyone is granted everything
        count = struct.unpack_from("<H", blob, dacl_at + 4)[0]
        position = dacl_at + 8
        aces = []
        for _ in range(count):
            ace_type, flags, size = struct.unpack_from("<BBH", blob, position)
            if size < 8:
                raise DescriptorError(f"an ACE at byte {position} has size {size}")
            kind = _ACE_TYPES.get(ace_type)
            if kind is not None:
                mask = struct.unpack_from("<I", blob, position + 4)[0]
                object_type = inherited_type = ""
                sid_at = position + 8
                if kind in {"OA", "OD"}:
                    object_flags = struct.unpack_from("<I", blob, position + 8)[0]
                    sid_at = position + 12
                    if object_flags & 1:
                        object_type = str(uuid.UUID(bytes_le=blob[sid_at:sid_at + 16]))
                        sid_at += 16
                    if object_flags & 2:
                        inherited_type = str(uuid.UUID(bytes_le=blob[sid_at:sid_at + 16]))
                        sid_at += 16
                flag_text = "".join(name for bit, name in _ACE_FLAGS if flags & bit)
                sid = _sid(blob, sid_at)[0]
                aces.append(f"({kind};{flag_text};0x{ds_mask(mask):x};{object_type};{inherited_type};{sid})")
            position += size
        return "".join(parts) + "D:" + "".join(aces)
    except (struct.error, IndexError) as exc:
        raise DescriptorError(f"the security descriptor is truncated ({exc})") from None


def _applicable(sddl: str) -> str:
    """The DACL as the KDC's check sees it: it asks for no object type, so an object ACE that names
    one (MS-DTYP 2.5.3.2) does not apply; an object ACE without one applies as a plain ACE."""
    descriptor = parse_sddl(sddl)
    if descriptor.dacl is None:
        return sddl
    owner = f"O:{descriptor.owner}" if descriptor.owner else ""
    group = f"G:{descriptor.group}" if descriptor.group else ""
    kept = []
    for ace in descriptor.dacl:
        if ace.type in {"OA", "OD"} and ace.object_type:
            continue
        kind = {"OA": "A", "OD": "D"}.get(ace.type, ace.type)
        kept.append(f"({kind};{''.join(sorted(ace.flags))};0x{ace.mask:x};;;{ace.sid})")
    return f"{owner}{group}D:{''.join(kept)}"


def named_sids(sddl: str) -> list[str]:
    """Every SID the descriptor's DACL names (allowed or denied), in order: whose groups must be known
    to decide it. A descriptor that cannot be parsed names none."""
    try:
        descriptor = parse_sddl(sddl)
    except ValueError:
        return []
    return list(dict.fromkeys(ace.sid for ace in descriptor.dacl or ()))


def front_end_token(account_sid: str, group_sids: Iterable[str]) -> list[str]:
    """The SIDs the KDC checks for a front-end account: its own, its groups (tokenGroups), and the
    default groups every authenticated logon has."""
    return [account_sid, *group_sids, EVERYONE, AUTHENTICATED_USERS]


def allows(sddl: str, account_sid: str, group_sids: Iterable[str] = ()) -> bool:
    """Whether the descriptor lets this account delegate to the resource (control access granted)."""
    granted = effective_access(_applicable(sddl), front_end_token(account_sid, group_sids))
    return granted & ADS_RIGHT_DS_CONTROL_ACCESS == ADS_RIGHT_DS_CONTROL_ACCESS


def groups_needed(facts: DirectoryFacts, elsewhere: list[str]) -> bool:
    """Whether a resource-based delegation descriptor (read here, or in another domain: `elsewhere`)
    names a SID of this domain that is not one of the computers read: a group, whose members the
    KDC lets through as well. Otherwise the computers' own SIDs decide, and their groups cost no search."""
    own = {c.object_sid for c in facts.computers.values() if c.object_sid}
    named = set(elsewhere)
    for computer in facts.computers.values():
        if computer.rbcd_sddl:
            named.update(named_sids(computer.rbcd_sddl))
    prefix = f"{facts.domain_sid}-" if facts.domain_sid else "S-1-5-21-"
    return any(sid.startswith(prefix) and sid not in own for sid in named)

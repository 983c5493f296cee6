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

The collector decodes the descriptor once (offlineprep.security_descriptor) and keeps it as SDDL
in the KDC's reading (`kdc_sddl`): the directory's own generic mapping applied first (generic bits
of a directory object are not a file's: GENERIC_WRITE never includes control access there), only
the entries an access check reads. `allows` then makes the check with offlineprep.acl.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from offlineprep.acl import AUTHENTICATED_USERS, EVERYONE, explain_access
from offlineprep.security_descriptor import (
    Ace,
    DescriptorError,
    SecurityDescriptor,
    decode_descriptor,
    format_sddl,
    parse_sddl,
)

if TYPE_CHECKING:
    from offlineprep.facts import DirectoryFacts

__all__ = ["ADS_RIGHT_DS_CONTROL_ACCESS", "DescriptorError", "allows", "ds_mask", "front_end_token",
           "groups_needed", "kdc_descriptor", "kdc_sddl", "named_sids", "sddl_from_security_descriptor"]

ADS_RIGHT_DS_CONTROL_ACCESS = 0x100

# Active Directory's generic rights, as ADS_RIGHTS_ENUM describes them
# (learn.microsoft.com/windows/win32/api/iads/ne-iads-ads_rights_enum; the bits: MS-ADTS 5.1.3.2):
# GENERIC_READ = read permissions, read all properties, list the object and its contents (RC|RP|LO|LC);
# GENERIC_WRITE = read permissions, write all properties, validated writes (RC|WP|SW);
# GENERIC_EXECUTE = read permissions, list contents (RC|LC); GENERIC_ALL = every right, control access (CR) too
_DS_GENERIC = {0x80000000: 0x20094, 0x40000000: 0x20028, 0x20000000: 0x20004, 0x10000000: 0xF01FF}

_KDC_ACE_TYPES = frozenset({"A", "D", "OA", "OD"})  # allow and deny, plain and object (MS-DTYP 2.4.4.2-2.4.4.5)
_INHERITANCE_FLAGS = frozenset({"OI", "CI", "NP", "IO", "ID"})


def ds_mask(mask: int) -> int:
    """Generic bits mapped to directory rights (a directory object's mapping, not a file's)."""
    out = mask & ~sum(_DS_GENERIC)
    for bit, mapped in _DS_GENERIC.items():
        if mask & bit:
            out |= mapped
    return out


def kdc_descriptor(descriptor: SecurityDescriptor) -> SecurityDescriptor:
    """The descriptor as the KDC's access check reads it: owner, group and the DACL's allow and deny
    entries (plain and object), their masks mapped as a directory object maps generic bits, their
    inheritance flags; a missing DACL is a null one (`D:NO_ACCESS_CONTROL`: everyone is granted)."""
    if descriptor.dacl is None:
        return SecurityDescriptor(owner=descriptor.owner, group=descriptor.group, dacl=None,
                                  dacl_flags=frozenset({"NO_ACCESS_CONTROL"}))
    aces = tuple(Ace(type=a.type, flags=a.flags & _INHERITANCE_FLAGS, mask=ds_mask(a.mask), sid=a.sid,
                     object_type=a.object_type, inherited_object_type=a.inherited_object_type)
                 for a in descriptor.dacl if a.type in _KDC_ACE_TYPES)
    return SecurityDescriptor(owner=descriptor.owner, group=descriptor.group, dacl=aces)


def kdc_sddl(descriptor: SecurityDescriptor) -> str:
    """`kdc_descriptor` as SDDL (masks in hex, SIDs in full): what the facts keep as `rbcd_sddl`."""
    return format_sddl(kdc_descriptor(descriptor))


def sddl_from_security_descriptor(blob: bytes) -> str:
    """A self-relative security descriptor's bytes as `kdc_sddl`. Raises DescriptorError for a
    malformed one, naming the byte."""
    return kdc_sddl(decode_descriptor(blob))


def _applicable(descriptor: SecurityDescriptor) -> SecurityDescriptor:
    """The DACL as the KDC's check sees it: it asks for no object type, so an object ACE that names
    one (MS-DTYP 2.5.3.2) does not apply; an object ACE without one applies as a plain ACE."""
    if descriptor.dacl is None:
        return descriptor
    kept = tuple(replace(ace, type={"OA": "A", "OD": "D"}.get(ace.type, ace.type), object_type="",
                         inherited_object_type="", condition="")
                 for ace in descriptor.dacl if not (ace.type in {"OA", "OD"} and ace.object_type))
    return SecurityDescriptor(owner=descriptor.owner, group=descriptor.group, dacl=kept)


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


def allows(sddl: str | SecurityDescriptor, account_sid: str, group_sids: Iterable[str] = ()) -> bool:
    """Whether the descriptor (`kdc_sddl`'s text, or the model) lets this account delegate to the
    resource (control access granted)."""
    descriptor = parse_sddl(sddl) if isinstance(sddl, str) else sddl
    granted = explain_access(_applicable(descriptor), front_end_token(account_sid, group_sids)).granted
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

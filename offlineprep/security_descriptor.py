"""Security descriptors, binary and SDDL text: the one codec offlineprep reads and writes them with.

The model (`Sid` text, `Ace`, `SecurityDescriptor`) and its two encodings, after Microsoft's
[MS-DTYP] "Windows Data Types":
- a SID (2.4.2): text `S-1-<authority>-<sub>…` (2.4.2.1) and binary (2.4.2.2): revision 1, the
  number of sub-authorities (at most 15), a 48-bit authority big endian, each sub-authority a
  32-bit little-endian number;
- an access mask (2.4.3), with the SDDL rights strings (2.5.1.1) and the file system's generic
  mapping, which the access check (`offlineprep.acl`) and the ACE's readable form use;
- an ACE (2.4.4): the header (2.4.4.1: type, flags, size), then the mask and the SID; an object
  ACE (2.4.4.3) has flags and up to two GUIDs between them; whatever follows the SID inside the ACE
  (a callback ACE's application data, 2.4.4.6, or padding) is kept as `application_data`;
- an ACL (2.4.5): revision, size, ACE count, then the ACEs;
- a self-relative security descriptor (2.4.6): revision 1, control, the offsets of owner, group,
  SACL and DACL, each part in the bytes that follow;
- SDDL (2.5.1): `O:owner G:group D:flags(ace)(ace)…`, with the SID aliases of 2.5.1.1.

One behaviour on bad input, whichever the encoding: `DescriptorError`, a ValueError naming what is
wrong and where (`offset`: the byte of a binary value, the character of SDDL text), never an
IndexError or a struct.error from the bytes. The SACL of SDDL text is not read (the access check
does not need it, and Windows writes resource attributes there that no check uses); a binary one is.
"""

from __future__ import annotations

import functools
import re
import struct
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

# --------------------------------------------------------------------------- errors


class DescriptorError(ValueError):
    """A SID, ACL, security descriptor or SDDL string that cannot be read or written; the message
    says what is wrong and where (`offset`: byte of binary input, character of SDDL text)."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


SddlError = DescriptorError  # the name the SDDL parser's callers know it by
_T = TypeVar("_T")

# --------------------------------------------------------------------------- access masks (2.4.3)

FILE_READ_DATA = 0x1
FILE_WRITE_DATA = 0x2
FILE_APPEND_DATA = 0x4
FILE_READ_EA = 0x8
FILE_WRITE_EA = 0x10
FILE_EXECUTE = 0x20
FILE_DELETE_CHILD = 0x40
FILE_READ_ATTRIBUTES = 0x80
FILE_WRITE_ATTRIBUTES = 0x100
DELETE = 0x10000
READ_CONTROL = 0x20000
WRITE_DAC = 0x40000
WRITE_OWNER = 0x80000
SYNCHRONIZE = 0x100000
ACCESS_SYSTEM_SECURITY = 0x1000000
MAXIMUM_ALLOWED = 0x2000000
GENERIC_ALL = 0x10000000
GENERIC_EXECUTE = 0x20000000
GENERIC_WRITE = 0x40000000
GENERIC_READ = 0x80000000

STANDARD_RIGHTS_REQUIRED = 0xF0000
FILE_ALL_ACCESS = STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0x1FF  # 0x1F01FF
FILE_GENERIC_READ = READ_CONTROL | FILE_READ_DATA | FILE_READ_ATTRIBUTES | FILE_READ_EA | SYNCHRONIZE  # 0x120089
FILE_GENERIC_WRITE = (
    READ_CONTROL | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES | FILE_WRITE_EA | FILE_APPEND_DATA | SYNCHRONIZE
)  # 0x120116
FILE_GENERIC_EXECUTE = READ_CONTROL | FILE_READ_ATTRIBUTES | FILE_EXECUTE | SYNCHRONIZE  # 0x1200A0

_GENERIC_MAP = {
    GENERIC_READ: FILE_GENERIC_READ,
    GENERIC_WRITE: FILE_GENERIC_WRITE,
    GENERIC_EXECUTE: FILE_GENERIC_EXECUTE,
    GENERIC_ALL: FILE_ALL_ACCESS,
}

RIGHT_ALIASES = {
    "GA": GENERIC_ALL, "GR": GENERIC_READ, "GW": GENERIC_WRITE, "GX": GENERIC_EXECUTE,
    "RC": READ_CONTROL, "SD": DELETE, "WD": WRITE_DAC, "WO": WRITE_OWNER,
    "FA": FILE_ALL_ACCESS, "FR": FILE_GENERIC_READ, "FW": FILE_GENERIC_WRITE, "FX": FILE_GENERIC_EXECUTE,
    "KA": 0xF003F, "KR": 0x20019, "KW": 0x20006, "KX": 0x20019,
    "NR": 0x1, "NW": 0x2, "NX": 0x4,
    # directory-service rights (appear on AD objects, harmless on files)
    "RP": 0x10, "WP": 0x20, "CC": 0x1, "DC": 0x2, "LC": 0x4, "SW": 0x8, "LO": 0x80, "DT": 0x40, "CR": 0x100,
}


def map_generic(mask: int) -> int:
    """Generic bits become file-specific rights, as the file system maps them before the check."""
    out = mask & ~(GENERIC_ALL | GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE)
    for bit, mapped in _GENERIC_MAP.items():
        if mask & bit:
            out |= mapped
    return out


_NAMED_MASKS = [
    (FILE_ALL_ACCESS, "FullControl"),
    (0x1301BF, "Modify"),
    (0x1200A9, "ReadAndExecute"),
    (FILE_GENERIC_READ, "Read"),
    (0x100116, "Write"),
]
_BITS = [
    (FILE_READ_DATA, "ReadData"), (FILE_WRITE_DATA, "WriteData"), (FILE_APPEND_DATA, "AppendData"),
    (FILE_READ_EA, "ReadExtendedAttributes"), (FILE_WRITE_EA, "WriteExtendedAttributes"),
    (FILE_EXECUTE, "Traverse"), (FILE_DELETE_CHILD, "DeleteSubdirectoriesAndFiles"),
    (FILE_READ_ATTRIBUTES, "ReadAttributes"), (FILE_WRITE_ATTRIBUTES, "WriteAttributes"),
    (DELETE, "Delete"), (READ_CONTROL, "ReadPermissions"), (WRITE_DAC, "ChangePermissions"),
    (WRITE_OWNER, "TakeOwnership"), (SYNCHRONIZE, "Synchronize"), (ACCESS_SYSTEM_SECURITY, "AccessSystemSecurity"),
]


def describe_mask(mask: int) -> list[str]:
    """Readable names: the largest named set it contains, then the remaining individual rights."""
    if mask == 0:
        return ["None"]
    names: list[str] = []
    rest = mask
    for value, name in _NAMED_MASKS:
        if rest & value == value:
            names.append(name)
            rest &= ~value
            break
    for value, name in _BITS:
        if rest & value:
            names.append(name)
            rest &= ~value
    if rest:
        names.append(f"0x{rest:X}")
    return names


def format_mask(mask: int) -> str:
    return f"0x{mask:X} ({', '.join(describe_mask(mask))})"


# --------------------------------------------------------------------------- SIDs (2.4.2)

WELL_KNOWN_SIDS: dict[str, tuple[str, str]] = {
    # SDDL alias (2.5.1.1): (SID, name)
    "WD": ("S-1-1-0", "Everyone"),
    "CO": ("S-1-3-0", "CREATOR OWNER"),
    "CG": ("S-1-3-1", "CREATOR GROUP"),
    "OW": ("S-1-3-4", "OWNER RIGHTS"),
    "NU": ("S-1-5-2", "NETWORK"),
    "IU": ("S-1-5-4", "INTERACTIVE"),
    "SU": ("S-1-5-6", "SERVICE"),
    "AN": ("S-1-5-7", "ANONYMOUS LOGON"),
    "ED": ("S-1-5-9", "ENTERPRISE DOMAIN CONTROLLERS"),
    "PS": ("S-1-5-10", "SELF"),
    "AU": ("S-1-5-11", "Authenticated Users"),
    "RC": ("S-1-5-12", "RESTRICTED"),
    "SY": ("S-1-5-18", "SYSTEM"),
    "LS": ("S-1-5-19", "LOCAL SERVICE"),
    "NS": ("S-1-5-20", "NETWORK SERVICE"),
    "BA": ("S-1-5-32-544", "BUILTIN\\Administrators"),
    "BU": ("S-1-5-32-545", "BUILTIN\\Users"),
    "BG": ("S-1-5-32-546", "BUILTIN\\Guests"),
    "PU": ("S-1-5-32-547", "BUILTIN\\Power Users"),
    "AO": ("S-1-5-32-548", "BUILTIN\\Account Operators"),
    "SO": ("S-1-5-32-549", "BUILTIN\\Server Operators"),
    "PO": ("S-1-5-32-550", "BUILTIN\\Print Operators"),
    "BO": ("S-1-5-32-551", "BUILTIN\\Backup Operators"),
    "RE": ("S-1-5-32-552", "BUILTIN\\Replicator"),
    "RD": ("S-1-5-32-555", "BUILTIN\\Remote Desktop Users"),
    "NO": ("S-1-5-32-556", "BUILTIN\\Network Configuration Operators"),
    "MU": ("S-1-5-32-558", "BUILTIN\\Performance Monitor Users"),
    "LU": ("S-1-5-32-559", "BUILTIN\\Performance Log Users"),
    "IS": ("S-1-5-32-568", "BUILTIN\\IIS_IUSRS"),
    "CY": ("S-1-5-32-569", "BUILTIN\\Cryptographic Operators"),
    "ER": ("S-1-5-32-573", "BUILTIN\\Event Log Readers"),
    "RM": ("S-1-5-32-580", "BUILTIN\\Remote Management Users"),
    "RU": ("S-1-5-32-554", "BUILTIN\\Pre-Windows 2000 Compatible Access"),
    "CD": ("S-1-5-32-574", "BUILTIN\\Certificate Service DCOM Access"),
    "RA": ("S-1-5-32-575", "BUILTIN\\RDS Remote Access Servers"),
    "ES": ("S-1-5-32-576", "BUILTIN\\RDS Endpoint Servers"),
    "MS": ("S-1-5-32-577", "BUILTIN\\RDS Management Servers"),
    "HA": ("S-1-5-32-578", "BUILTIN\\Hyper-V Administrators"),
    "AA": ("S-1-5-32-579", "BUILTIN\\Access Control Assistance Operators"),
    "WR": ("S-1-5-33", "WRITE RESTRICTED"),
    "UD": ("S-1-5-84-0-0-0-0-0", "USER MODE DRIVERS"),
    "AS": ("S-1-18-1", "Authentication authority asserted identity"),
    "SS": ("S-1-18-2", "Service asserted identity"),
    "AC": ("S-1-15-2-1", "ALL APPLICATION PACKAGES"),
    "LW": ("S-1-16-4096", "Low Mandatory Level"),
    "ME": ("S-1-16-8192", "Medium Mandatory Level"),
    "MP": ("S-1-16-8448", "Medium Plus Mandatory Level"),
    "HI": ("S-1-16-12288", "High Mandatory Level"),
    "SI": ("S-1-16-16384", "System Mandatory Level"),
}
DOMAIN_RELATIVE = {
    "LA": 500, "LG": 501, "DA": 512, "DU": 513, "DG": 514, "DC": 515, "DD": 516, "CA": 517,
    "SA": 518, "EA": 519, "PA": 520, "RO": 498, "CN": 522, "AP": 525, "KA": 526, "EK": 527, "RS": 553,
}
DOMAIN_RID_NAMES = {
    500: "Administrator", 501: "Guest", 512: "Domain Admins", 513: "Domain Users", 514: "Domain Guests",
    515: "Domain Computers", 516: "Domain Controllers", 517: "Cert Publishers", 518: "Schema Admins",
    519: "Enterprise Admins", 520: "Group Policy Creator Owners", 521: "Read-only Domain Controllers",
    525: "Protected Users", 526: "Key Admins", 527: "Enterprise Key Admins",
    498: "Enterprise Read-only Domain Controllers",
}
_SID_NAMES = {sid: name for sid, name in WELL_KNOWN_SIDS.values()}
OWNER_RIGHTS = "S-1-3-4"
EVERYONE = "S-1-1-0"
AUTHENTICATED_USERS = "S-1-5-11"
NETWORK = "S-1-5-2"
BUILTIN_ADMINISTRATORS = "S-1-5-32-544"

# 2.4.2.1: the authority in decimal, or as 0x and 12 hex digits when it is 2^32 or more
_SID_RE = re.compile(r"^S-1-(\d+|0x[0-9a-f]{12})(-\d+)*$", re.IGNORECASE)
SID_MAX_SUB_AUTHORITIES = 15


def well_known_sid_name(sid: str) -> str | None:
    if sid in _SID_NAMES:
        return _SID_NAMES[sid]
    parts = sid.split("-")
    if len(parts) > 4 and sid.startswith("S-1-5-21-"):
        try:
            return DOMAIN_RID_NAMES.get(int(parts[-1]))
        except ValueError:
            return None
    return None


def is_sid(text: str) -> bool:
    """Whether `text` is a SID in text form (2.4.2.1) that also fits the binary form."""
    try:
        sid_to_bytes(text)
    except DescriptorError:
        return False
    return True


def sid_to_bytes(sid: str) -> bytes:
    """A SID's binary form (2.4.2.2): revision 1, the sub-authority count, the 48-bit authority
    (big endian), then each sub-authority (32 bits, little endian)."""
    text = sid.strip() if isinstance(sid, str) else ""
    if not _SID_RE.match(text):
        raise DescriptorError(f"{sid!r} is not a SID (S-1-<authority>-<sub-authority>…)")
    parts = text.split("-")
    authority = int(parts[2], 16) if parts[2].lower().startswith("0x") else int(parts[2])
    subs = [int(x) for x in parts[3:]]
    if authority >= 1 << 48:
        raise DescriptorError(f"{sid!r}: the authority {parts[2]} does not fit in 48 bits")
    if len(subs) > SID_MAX_SUB_AUTHORITIES:
        raise DescriptorError(f"{sid!r} has {len(subs)} sub-authorities; at most {SID_MAX_SUB_AUTHORITIES}")
    for position, sub in enumerate(subs, start=1):
        if sub >= 1 << 32:
            raise DescriptorError(f"{sid!r}: sub-authority {position} ({sub}) does not fit in 32 bits")
    return bytes([1, len(subs)]) + authority.to_bytes(6, "big") + struct.pack(f"<{len(subs)}I", *subs)


def sid_from_bytes(data: bytes, offset: int = 0, end: int | None = None) -> tuple[str, int]:
    """The SID at `offset` of `data` (2.4.2.2) in text form (2.4.2.1), and its length in bytes.
    `end`: where the structure holding it ends (an ACE, a descriptor), which it must not pass."""
    limit = len(data) if end is None else min(end, len(data))
    if offset < 0 or offset + 8 > limit:
        raise DescriptorError(f"the SID at byte {offset} runs past the end (8 bytes of header needed, "
                              f"{max(limit - offset, 0)} left)", offset)
    revision, count = data[offset], data[offset + 1]
    if revision != 1:
        raise DescriptorError(f"the SID at byte {offset} has revision {revision}; 1 expected", offset)
    if count > SID_MAX_SUB_AUTHORITIES:
        raise DescriptorError(f"the SID at byte {offset} claims {count} sub-authorities; at most "
                              f"{SID_MAX_SUB_AUTHORITIES}", offset)
    length = 8 + 4 * count
    if offset + length > limit:
        raise DescriptorError(f"the SID at byte {offset} runs past the end ({count} sub-authorities need "
                              f"{length} bytes, {limit - offset} left)", offset)
    authority = int.from_bytes(data[offset + 2:offset + 8], "big")
    subs = struct.unpack_from(f"<{count}I", data, offset + 8)
    shown = str(authority) if authority < 1 << 32 else f"0x{authority:012X}"
    return "-".join(["S-1", shown, *(str(s) for s in subs)]), length


# --------------------------------------------------------------------------- the model


ACE_TYPES = {
    "A": "allow", "D": "deny", "OA": "allow-object", "OD": "deny-object",
    "AU": "audit", "AL": "alarm", "OU": "audit-object", "OL": "alarm-object",
    "ML": "label", "XA": "allow-callback", "XD": "deny-callback",
    "ZA": "allow-callback-object", "XU": "audit-callback", "SP": "scoped-policy",
}
ACE_FLAGS = {"CI": 0x2, "OI": 0x1, "NP": 0x4, "IO": 0x8, "ID": 0x10, "SA": 0x40, "FA": 0x80, "TP": 0x0, "CR": 0x0}

# 2.4.4.1 AceType: the binary type of each SDDL type; object types carry flags and GUIDs (2.4.4.3),
# callback types application data (2.4.4.6)
ACE_TYPE_CODES = {
    "A": 0x00, "D": 0x01, "AU": 0x02, "AL": 0x03, "OA": 0x05, "OD": 0x06, "OU": 0x07, "OL": 0x08,
    "XA": 0x09, "XD": 0x0A, "ZA": 0x0B, "XU": 0x0D, "ML": 0x11, "RA": 0x12, "SP": 0x13,
}
_ACE_TYPE_NAMES = {code: name for name, code in ACE_TYPE_CODES.items()}
OBJECT_ACE_TYPES = frozenset({"OA", "OD", "OU", "OL", "ZA"})
CALLBACK_ACE_TYPES = frozenset({"XA", "XD", "ZA", "XU"})
# 2.4.4.1 AceFlags; CRITICAL_ACE_FLAG (0x20) reads as SDDL's CR
ACE_FLAG_BITS = (("OI", 0x01), ("CI", 0x02), ("NP", 0x04), ("IO", 0x08), ("ID", 0x10), ("CR", 0x20),
                 ("SA", 0x40), ("FA", 0x80))
_ACE_OBJECT_TYPE_PRESENT = 0x1
_ACE_INHERITED_OBJECT_TYPE_PRESENT = 0x2
ACL_REVISION = 2
ACL_REVISION_DS = 4

# 2.4.6 SECURITY_DESCRIPTOR Control
SE_DACL_PRESENT = 0x0004
SE_SACL_PRESENT = 0x0010
SE_DACL_AUTO_INHERIT_REQ = 0x0100
SE_DACL_AUTO_INHERITED = 0x0400
SE_DACL_PROTECTED = 0x1000
SE_SELF_RELATIVE = 0x8000
_DACL_FLAG_BITS = (("P", SE_DACL_PROTECTED), ("AR", SE_DACL_AUTO_INHERIT_REQ), ("AI", SE_DACL_AUTO_INHERITED))
_DERIVED_CONTROL = SE_DACL_PRESENT | SE_SACL_PRESENT | SE_SELF_RELATIVE | sum(b for _, b in _DACL_FLAG_BITS)


@dataclass(frozen=True)
class Ace:
    type: str  # one of ACE_TYPES keys: A, D, OA, ...
    flags: frozenset[str]
    mask: int  # as written (generic bits unmapped)
    sid: str
    object_type: str = ""  # a GUID, lower case, as SDDL writes it
    inherited_object_type: str = ""
    condition: str = ""  # a conditional ACE's expression, as SDDL text
    application_data: bytes = b""  # what follows the SID in a binary ACE (2.4.4.6), kept as read

    @property
    def is_allow(self) -> bool:
        return self.type in {"A", "OA", "XA", "ZA"}

    @property
    def is_deny(self) -> bool:
        return self.type in {"D", "OD", "XD"}

    @property
    def inherit_only(self) -> bool:
        return "IO" in self.flags

    @property
    def file_mask(self) -> int:
        return map_generic(self.mask)

    def describe(self) -> str:
        kind = "allow" if self.is_allow else "deny" if self.is_deny else ACE_TYPES.get(self.type, self.type)
        flags = ",".join(sorted(self.flags))
        name = well_known_sid_name(self.sid)
        who = f"{self.sid} ({name})" if name else self.sid
        return f"{kind} {who} {format_mask(self.file_mask)}" + (f" [{flags}]" if flags else "")


@dataclass(frozen=True)
class SecurityDescriptor:
    owner: str | None
    group: str | None
    dacl: tuple[Ace, ...] | None  # None: a null DACL (everyone gets everything)
    dacl_flags: frozenset[str] = frozenset()
    # what only the binary form holds: the SACL (None: none), each ACL's revision (2.4.5), and the
    # control bits (2.4.6) other than those the parts above decide
    sacl: tuple[Ace, ...] | None = None
    dacl_revision: int = ACL_REVISION
    sacl_revision: int = ACL_REVISION
    control: int = 0

    @property
    def unevaluable(self) -> list[Ace]:
        return [a for a in self.dacl or () if a.type in {"XA", "XD", "ZA"}]


def allowed_sids(descriptor: SecurityDescriptor) -> list[str]:
    """The SIDs of the allow entries (plain and object, 2.4.4.2 and 2.4.4.3) of the DACL, in order.

    What msDS-AllowedToActOnBehalfOfOtherIdentity lists as the accounts allowed to delegate."""
    return [a.sid for a in descriptor.dacl or () if a.type in {"A", "OA"}]


def explicit_aces_of(sd: SecurityDescriptor, sid: str) -> list[Ace]:
    """The entries of `sid` written on the object itself (not inherited), in stored order."""
    return [a for a in sd.dacl or () if "ID" not in a.flags and a.sid.upper() == sid.upper()]


# --------------------------------------------------------------------------- binary: reading


class _Bytes:
    """Bounds-checked reads: running past `end` is a DescriptorError naming the part and its byte."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def unpack(self, fmt: str, offset: int, end: int, what: str) -> tuple[int, ...]:
        size = struct.calcsize(fmt)
        if offset < 0 or offset + size > min(end, len(self.data)):
            raise DescriptorError(f"{what} at byte {offset} runs past the end ({size} bytes needed, "
                                  f"{max(min(end, len(self.data)) - offset, 0)} left)", offset)
        return struct.unpack_from(fmt, self.data, offset)

    def guid(self, offset: int, end: int, what: str) -> str:
        if offset + 16 > min(end, len(self.data)):
            raise DescriptorError(f"{what} at byte {offset} runs past the end (16 bytes needed)", offset)
        return str(uuid.UUID(bytes_le=self.data[offset:offset + 16]))


def _decode_ace(reader: _Bytes, offset: int, end: int) -> tuple[Ace, int]:
    """The ACE at `offset` (2.4.4), which must end before `end`; returns it and its size."""
    code, flag_bits, size = reader.unpack("<BBH", offset, end, "an ACE header")
    if size < 16:  # header, mask and the smallest SID (2.4.4.2)
        raise DescriptorError(f"the ACE at byte {offset} has size {size}; at least 16 expected", offset)
    if offset + size > end:
        raise DescriptorError(f"the ACE at byte {offset} (size {size}) runs past the end of its ACL at byte {end}",
                              offset)
    kind = _ACE_TYPE_NAMES.get(code)
    if kind is None:
        raise DescriptorError(f"the ACE at byte {offset} has type 0x{code:02X}, which is not one MS-DTYP 2.4.4.1 "
                              "defines for an ACL", offset)
    ace_end = offset + size
    (mask,) = reader.unpack("<I", offset + 4, ace_end, "an ACE's mask")
    position = offset + 8
    object_type = inherited = ""
    if kind in OBJECT_ACE_TYPES:
        (present,) = reader.unpack("<I", position, ace_end, "an object ACE's flags")
        if present & ~(_ACE_OBJECT_TYPE_PRESENT | _ACE_INHERITED_OBJECT_TYPE_PRESENT):
            raise DescriptorError(f"the object ACE at byte {offset} has unknown object flags 0x{present:X}",
                                  position)
        position += 4
        if present & _ACE_OBJECT_TYPE_PRESENT:
            object_type = reader.guid(position, ace_end, "an object ACE's object type")
            position += 16
        if present & _ACE_INHERITED_OBJECT_TYPE_PRESENT:
            inherited = reader.guid(position, ace_end, "an object ACE's inherited object type")
            position += 16
    sid, length = sid_from_bytes(reader.data, position, ace_end)
    position += length
    flags = frozenset(name for name, bit in ACE_FLAG_BITS if flag_bits & bit)
    return Ace(type=kind, flags=flags, mask=mask, sid=sid, object_type=object_type, inherited_object_type=inherited,
               application_data=bytes(reader.data[position:ace_end])), size


def _decode_acl(reader: _Bytes, offset: int, what: str) -> tuple[int, tuple[Ace, ...]]:
    """The ACL at `offset` (2.4.5): its revision and its ACEs."""
    revision, _sbz1, size, count, _sbz2 = reader.unpack("<BBHHH", offset, len(reader.data), f"the {what} header")
    if revision not in (ACL_REVISION, ACL_REVISION_DS):
        raise DescriptorError(f"the {what} at byte {offset} has revision {revision}; 2 or 4 expected", offset)
    if size < 8:
        raise DescriptorError(f"the {what} at byte {offset} has size {size}; at least 8 expected", offset)
    if offset + size > len(reader.data):
        raise DescriptorError(f"the {what} at byte {offset} has size {size}, past the end of the "
                              f"{len(reader.data)}-byte descriptor", offset)
    end = offset + size
    aces = []
    position = offset + 8
    for _ in range(count):
        ace, ace_size = _decode_ace(reader, position, end)
        aces.append(ace)
        position += ace_size
    return revision, tuple(aces)


def decode_descriptor(blob: bytes) -> SecurityDescriptor:
    """A self-relative security descriptor (2.4.6) as the model: owner, group, DACL and SACL.

    A DACL that is absent (SE_DACL_PRESENT clear, or its offset 0) is a null DACL: `dacl` None, as
    for SDDL text without `D:`. Raises DescriptorError, naming the byte."""
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise DescriptorError("the security descriptor is not bytes")
    reader = _Bytes(bytes(blob))
    if len(reader.data) < 20:
        raise DescriptorError(f"the security descriptor has {len(reader.data)} bytes; a self-relative one has "
                              "at least 20", 0)
    revision, _sbz1, control, owner_at, group_at, sacl_at, dacl_at = reader.unpack("<BBHIIII", 0, 20, "the header")
    if revision != 1:
        raise DescriptorError(f"the security descriptor has revision {revision}; 1 expected", 0)
    if not control & SE_SELF_RELATIVE:
        raise DescriptorError("the security descriptor is not self-relative (SE_SELF_RELATIVE is clear)", 2)
    for name, at in (("owner", owner_at), ("group", group_at), ("SACL", sacl_at), ("DACL", dacl_at)):
        if at and not 20 <= at < len(reader.data):
            raise DescriptorError(f"the {name} offset {at} points outside the {len(reader.data)}-byte descriptor", at)
    owner = sid_from_bytes(reader.data, owner_at)[0] if owner_at else None
    group = sid_from_bytes(reader.data, group_at)[0] if group_at else None
    sacl: tuple[Ace, ...] | None = None
    sacl_revision = ACL_REVISION
    if control & SE_SACL_PRESENT and sacl_at:
        sacl_revision, sacl = _decode_acl(reader, sacl_at, "SACL")
    dacl: tuple[Ace, ...] | None = None
    dacl_revision = ACL_REVISION
    dacl_flags = frozenset(name for name, bit in _DACL_FLAG_BITS if control & bit)
    if control & SE_DACL_PRESENT and dacl_at:
        dacl_revision, dacl = _decode_acl(reader, dacl_at, "DACL")
    return SecurityDescriptor(owner=owner, group=group, dacl=dacl, dacl_flags=dacl_flags, sacl=sacl,
                              dacl_revision=dacl_revision, sacl_revision=sacl_revision,
                              control=control & ~_DERIVED_CONTROL)


# --------------------------------------------------------------------------- binary: writing


def _guid_bytes(text: str, ace: Ace) -> bytes:
    try:
        return uuid.UUID(text).bytes_le
    except ValueError:
        raise DescriptorError(f"ACE {format_ace(ace)}: {text!r} is not a GUID") from None


def encode_ace(ace: Ace) -> bytes:
    """One ACE in binary (2.4.4). A conditional expression written only as SDDL text (2.4.4.17) is
    not compiled: such an ACE raises DescriptorError unless it carries its application data."""
    code = ACE_TYPE_CODES.get(ace.type)
    if code is None:
        raise DescriptorError(f"an ACE of type {ace.type!r} has no binary form")
    if ace.condition and not ace.application_data:
        raise DescriptorError(f"the conditional ACE for {ace.sid} is SDDL text only; its binary expression "
                              "is not written")
    if not 0 <= ace.mask < 1 << 32:
        raise DescriptorError(f"the mask 0x{ace.mask:X} of the ACE for {ace.sid} does not fit in 32 bits")
    body = struct.pack("<I", ace.mask)
    if ace.type in OBJECT_ACE_TYPES:
        present = (_ACE_OBJECT_TYPE_PRESENT if ace.object_type else 0) | (
            _ACE_INHERITED_OBJECT_TYPE_PRESENT if ace.inherited_object_type else 0)
        body += struct.pack("<I", present)
        body += _guid_bytes(ace.object_type, ace) if ace.object_type else b""
        body += _guid_bytes(ace.inherited_object_type, ace) if ace.inherited_object_type else b""
    elif ace.object_type or ace.inherited_object_type:
        raise DescriptorError(f"an ACE of type {ace.type} names an object type; only object ACEs do")
    body += sid_to_bytes(ace.sid) + ace.application_data
    flag_bits = 0
    for name in ace.flags:
        bit = dict(ACE_FLAG_BITS).get(name, ACE_FLAGS.get(name))
        if bit is None:
            raise DescriptorError(f"the ACE flag {name!r} has no binary form")
        flag_bits |= bit
    size = 4 + len(body)
    if size > 0xFFFF:
        raise DescriptorError(f"the ACE for {ace.sid} would be {size} bytes; at most 65535")
    return struct.pack("<BBH", code, flag_bits, size) + body


def encode_acl(aces: Iterable[Ace], revision: int = ACL_REVISION) -> bytes:
    """An ACL in binary (2.4.5): revision, size, count, then each ACE as `encode_ace` writes it.
    `revision` becomes 4 (ACL_REVISION_DS) when an object ACE is in it, as 2.4.5 requires."""
    listed = list(aces)
    if any(a.type in OBJECT_ACE_TYPES for a in listed):
        revision = max(revision, ACL_REVISION_DS)  # 2.4.5: an ACL holding an object ACE MUST be revision 4
    encoded = [encode_ace(a) for a in listed]
    body = b"".join(encoded)
    if 8 + len(body) > 0xFFFF or len(encoded) > 0xFFFF:
        raise DescriptorError(f"an ACL of {len(encoded)} entries and {8 + len(body)} bytes does not fit its header")
    return struct.pack("<BBHHH", revision, 0, 8 + len(body), len(encoded), 0) + body


def encode_descriptor(descriptor: SecurityDescriptor) -> bytes:
    """A self-relative security descriptor (2.4.6), its parts in the order Windows lays them out:
    SACL, DACL, owner, group. The control is the model's own bits with SE_SELF_RELATIVE,
    SE_DACL_PRESENT and SE_SACL_PRESENT, and the DACL flags (P, AR, AI), as the parts say."""
    control = descriptor.control & ~_DERIVED_CONTROL | SE_SELF_RELATIVE
    control |= sum(bit for name, bit in _DACL_FLAG_BITS if name in descriptor.dacl_flags)
    parts: list[bytes | None] = [None, None, None, None]  # SACL, DACL, owner, group
    if descriptor.sacl is not None:
        control |= SE_SACL_PRESENT
        parts[0] = encode_acl(descriptor.sacl, descriptor.sacl_revision)
    if descriptor.dacl is not None:
        control |= SE_DACL_PRESENT
        parts[1] = encode_acl(descriptor.dacl, descriptor.dacl_revision)
    parts[2] = sid_to_bytes(descriptor.owner) if descriptor.owner else None
    parts[3] = sid_to_bytes(descriptor.group) if descriptor.group else None
    offsets, body, position = [], b"", 20
    for part in parts:
        offsets.append(position if part is not None else 0)
        if part is not None:
            body += part
            position += len(part)
    sacl_at, dacl_at, owner_at, group_at = offsets
    return struct.pack("<BBHIIII", 1, 0, control, owner_at, group_at, sacl_at, dacl_at) + body


# --------------------------------------------------------------------------- SDDL text: reading (2.5.1)


def parse_sddl(text: str, domain_sid: str | None = None) -> SecurityDescriptor:
    """SDDL (2.5.1) as the model. `domain_sid`: the domain whose two-letter aliases (DA, DU …) the
    text uses. The S: part (SACL) is not read.

    Each text is parsed once per run: the facts hold descriptors as SDDL, and several checks (and
    every host of a path) read the same one; the model is immutable, so the parse is shared."""
    if not isinstance(text, str) or not (domain_sid is None or isinstance(domain_sid, str)):
        raise SddlError("the security descriptor is not a string")
    return _parse_sddl(text, domain_sid)


@functools.lru_cache(maxsize=4096)
def _parse_sddl(text: str, domain_sid: str | None) -> SecurityDescriptor:
    s = "".join(text.split())
    if not s:
        raise SddlError("the security descriptor is empty")
    try:
        parts = _split_components(s)
        owner = _at(parts["O"][0], lambda: _parse_sid(parts["O"][1], domain_sid)) if "O" in parts else None
        group = _at(parts["G"][0], lambda: _parse_sid(parts["G"][1], domain_sid)) if "G" in parts else None
        if "D" not in parts:
            return SecurityDescriptor(owner=owner, group=group, dacl=None)
        flags, aces = _parse_acl(*parts["D"], domain_sid)
    except SddlError as exc:
        if exc.offset is None:
            raise
        # the offset counted in the text without its blanks: say it in the text as given
        located = [i for i, c in enumerate(text) if not c.isspace()]
        where = located[exc.offset] if exc.offset < len(located) else len(text)
        raise SddlError(f"{exc} (at character {where})", where) from None
    if "NO_ACCESS_CONTROL" in flags:
        return SecurityDescriptor(owner=owner, group=group, dacl=None, dacl_flags=frozenset(flags))
    return SecurityDescriptor(owner=owner, group=group, dacl=tuple(aces), dacl_flags=frozenset(flags))


def _at(offset: int, parse: Callable[[], _T]) -> _T:
    """`parse()`, its SddlError placed at `offset` unless it names a place of its own."""
    try:
        return parse()
    except SddlError as exc:
        if exc.offset is not None:
            raise
        raise SddlError(str(exc), offset) from None


def _split_components(s: str) -> dict[str, tuple[int, str]]:
    """Split `O:..G:..D:..S:..` by component letters that are not inside an ACE's parentheses:
    each component's text and where it starts."""
    parts: dict[str, tuple[int, str]] = {}
    i, depth, current, start = 0, 0, None, 0
    while i < len(s):
        c = s[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise SddlError("unbalanced ')'", i)
        elif depth == 0 and c in "OGDS" and i + 1 < len(s) and s[i + 1] == ":":
            if current is not None:
                parts[current] = (start, s[start:i])
            if c in parts or c == current:
                raise SddlError(f"component {c}: appears twice", i)
            current, start = c, i + 2
            i += 2
            continue
        elif current is None:
            raise SddlError(f"unexpected {c!r}: expected O:, G:, D: or S:", i)
        i += 1
    if depth != 0:
        raise SddlError("unbalanced '(' in the security descriptor", len(s))
    if current is not None:
        parts[current] = (start, s[start:])
    return parts


def _parse_acl(offset: int, text: str, domain_sid: str | None) -> tuple[set[str], list[Ace]]:
    first = text.find("(")
    flag_text = text if first < 0 else text[:first]
    flags: set[str] = set()
    rest = flag_text
    for token in ("NO_ACCESS_CONTROL", "AI", "AR", "P"):
        while token in rest:
            flags.add(token)
            rest = rest.replace(token, "", 1)
    if rest:
        raise SddlError(f"unknown ACL flags {rest!r}", offset)
    if first < 0:
        return flags, []
    body_at = offset + first
    return flags, [_at(body_at + at, functools.partial(_parse_ace, ace, domain_sid))
                   for at, ace in _split_aces(text[first:], body_at)]


def _split_aces(body: str, offset: int = 0) -> list[tuple[int, str]]:
    """The text inside each top-level `( … )`, and where its `(` is: a conditional ACE (XA/XD,
    Dynamic Access Control) nests parentheses to any depth,
    `(XA;;FA;;;WD;((Member_of {SID(BA)}) || (@User.dept == "x")))`, and its quoted strings may hold
    any character. `offset`: where `body` starts, for the errors."""
    aces: list[tuple[int, str]] = []
    depth, start, quoted = 0, 0, False
    for i, c in enumerate(body):
        if quoted:
            quoted = c != '"'
        elif c == '"' and depth > 0:
            quoted = True
        elif c == "(":
            if depth == 0:
                start = i + 1
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise SddlError(f"unbalanced ')' between ACEs at {body[:i + 1]!r}", offset + i)
            if depth == 0:
                aces.append((start - 1, body[start:i]))
        elif depth == 0:
            raise SddlError(f"unexpected {c!r} between ACEs", offset + i)
    if depth or quoted:
        raise SddlError("an ACE is not closed", offset + start - 1)
    return aces


def _parse_ace(text: str, domain_sid: str | None) -> Ace:
    fields = text.split(";")
    if len(fields) < 6:
        raise SddlError(f"ACE ({text}) has {len(fields)} fields; 6 expected")
    ace_type, flag_text, rights, object_type, inherited, sid_text = fields[:6]
    condition = ";".join(fields[6:])
    ace_type = ace_type.upper()
    if ace_type not in ACE_TYPES:
        raise SddlError(f"ACE ({text}): unknown ACE type {ace_type!r}")
    flags = set()
    for i in range(0, len(flag_text), 2):
        token = flag_text[i : i + 2].upper()
        if token not in ACE_FLAGS:
            raise SddlError(f"ACE ({text}): unknown ACE flag {flag_text[i:i+2]!r}")
        flags.add(token)
    return Ace(
        type=ace_type,
        flags=frozenset(flags),
        mask=_parse_rights(rights, text),
        sid=_parse_sid(sid_text, domain_sid),
        object_type=object_type,
        inherited_object_type=inherited,
        condition=condition,
    )


def _parse_rights(rights: str, ace_text: str) -> int:
    if not rights:
        return 0
    lowered = rights.lower()
    try:
        if lowered.startswith("0x"):
            value = int(lowered, 16)
        elif rights.isdigit():
            value = int(rights, 10)
        else:
            value = None
    except ValueError:
        raise SddlError(f"ACE ({ace_text}): rights {rights!r} are not a number") from None
    if value is not None:
        if value > 0xFFFFFFFF:
            raise SddlError(f"ACE ({ace_text}): rights {rights!r} do not fit in 32 bits")
        return value
    if len(rights) % 2:
        raise SddlError(f"ACE ({ace_text}): rights {rights!r} are neither a number nor two-letter codes")
    mask = 0
    for i in range(0, len(rights), 2):
        token = rights[i : i + 2].upper()
        if token not in RIGHT_ALIASES:
            raise SddlError(f"ACE ({ace_text}): unknown right {rights[i:i+2]!r}")
        mask |= RIGHT_ALIASES[token]
    return mask


def _parse_sid(text: str, domain_sid: str | None) -> str:
    token = text.upper()
    if token in WELL_KNOWN_SIDS:
        return WELL_KNOWN_SIDS[token][0]
    if token in DOMAIN_RELATIVE:
        if not domain_sid:
            raise SddlError(f"SID alias {text!r} is domain-relative and no domain SID is known")
        return f"{domain_sid}-{DOMAIN_RELATIVE[token]}"
    if _SID_RE.match(text):
        return "S" + text[1:]
    raise SddlError(f"{text!r} is not a SID or a known SID alias")


# --------------------------------------------------------------------------- SDDL text: writing

_FLAG_ORDER = ("OI", "CI", "NP", "IO", "ID", "SA", "FA", "TP", "CR")
_ACL_FLAG_ORDER = ("P", "AR", "AI", "NO_ACCESS_CONTROL")


def format_ace(ace: Ace) -> str:
    """One ACE in SDDL (2.5.1.1): the mask in hex and the SID in full, so it reads the same
    whatever domain parses it. A callback ACE read from binary keeps its expression only in binary
    (2.4.4.17 is not decompiled): it has no SDDL text here, and raises DescriptorError."""
    if ace.type in CALLBACK_ACE_TYPES and ace.application_data and not ace.condition:
        raise DescriptorError(f"the {ace.type} entry for {ace.sid} holds a binary condition, which is not "
                              "written as SDDL text")
    if ace.type not in ACE_TYPES:
        raise DescriptorError(f"an ACE of type {ace.type!r} has no SDDL form here")
    flags = "".join(f for f in _FLAG_ORDER if f in ace.flags)
    fields = [ace.type, flags, f"0x{ace.mask:x}", ace.object_type, ace.inherited_object_type, ace.sid]
    if ace.condition:
        fields.append(ace.condition)
    return "(" + ";".join(fields) + ")"


def format_sddl(sd: SecurityDescriptor) -> str:
    """The descriptor in SDDL (owner, group, DACL); a null DACL is `D:NO_ACCESS_CONTROL`."""
    out = (f"O:{sd.owner}" if sd.owner else "") + (f"G:{sd.group}" if sd.group else "")
    flags = "".join(f for f in _ACL_FLAG_ORDER if f in sd.dacl_flags)
    if sd.dacl is None:
        return out + "D:NO_ACCESS_CONTROL" if "NO_ACCESS_CONTROL" in sd.dacl_flags else out
    return out + "D:" + flags + "".join(format_ace(a) for a in sd.dacl)

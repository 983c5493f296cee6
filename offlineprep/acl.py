"""Security descriptors as Windows evaluates them: an SDDL parser and the MS-DTYP access check.

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

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

# --------------------------------------------------------------------------- masks

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

SHARE_FULL = 0x1F01FF
SHARE_CHANGE = 0x1301BF
SHARE_READ = 0x1200A9

FULL_CONTROL = FILE_ALL_ACCESS
READ_WRITE = FILE_GENERIC_READ | FILE_GENERIC_WRITE

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

# --------------------------------------------------------------------------- SIDs

WELL_KNOWN_SIDS: dict[str, tuple[str, str]] = {
    # alias: (SID, name)
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

_SID_RE = re.compile(r"^S-1-(\d+)(-\d+)*$", re.IGNORECASE)


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


class SddlError(ValueError):
    """An SDDL string we cannot parse; the message names the part that is wrong."""


# --------------------------------------------------------------------------- model


ACE_TYPES = {
    "A": "allow", "D": "deny", "OA": "allow-object", "OD": "deny-object",
    "AU": "audit", "AL": "alarm", "OU": "audit-object", "OL": "alarm-object",
    "ML": "label", "XA": "allow-callback", "XD": "deny-callback",
    "ZA": "allow-callback-object", "XU": "audit-callback", "SP": "scoped-policy",
}
ACE_FLAGS = {"CI": 0x2, "OI": 0x1, "NP": 0x4, "IO": 0x8, "ID": 0x10, "SA": 0x40, "FA": 0x80, "TP": 0x0, "CR": 0x0}


@dataclass(frozen=True)
class Ace:
    type: str  # one of ACE_TYPES keys: A, D, OA, ...
    flags: frozenset[str]
    mask: int  # as written (generic bits unmapped)
    sid: str
    object_type: str = ""
    inherited_object_type: str = ""
    condition: str = ""

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

    @property
    def unevaluable(self) -> list[Ace]:
        return [a for a in self.dacl or () if a.type in {"XA", "XD", "ZA"}]


def map_generic(mask: int) -> int:
    """Generic bits become file-specific rights, as the file system maps them before the check."""
    out = mask & ~(GENERIC_ALL | GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE)
    for bit, mapped in _GENERIC_MAP.items():
        if mask & bit:
            out |= mapped
    return out


# --------------------------------------------------------------------------- parsing


def parse_sddl(text: str, domain_sid: str | None = None) -> SecurityDescriptor:
    if not isinstance(text, str):
        raise SddlError("the security descriptor is not a string")
    s = "".join(text.split())
    if not s:
        raise SddlError("the security descriptor is empty")
    parts = _split_components(s)
    owner = _parse_sid(parts["O"], domain_sid) if "O" in parts else None
    group = _parse_sid(parts["G"], domain_sid) if "G" in parts else None
    if "D" not in parts:
        return SecurityDescriptor(owner=owner, group=group, dacl=None)
    flags, aces = _parse_acl(parts["D"], domain_sid)
    if "NO_ACCESS_CONTROL" in flags:
        return SecurityDescriptor(owner=owner, group=group, dacl=None, dacl_flags=frozenset(flags))
    return SecurityDescriptor(owner=owner, group=group, dacl=tuple(aces), dacl_flags=frozenset(flags))


def _split_components(s: str) -> dict[str, str]:
    """Split `O:..G:..D:..S:..` by component letters that are not inside an ACE's parentheses."""
    parts: dict[str, str] = {}
    i, depth, current, start = 0, 0, None, 0
    while i < len(s):
        c = s[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise SddlError(f"unbalanced ')' at position {i}")
        elif depth == 0 and c in "OGDS" and i + 1 < len(s) and s[i + 1] == ":":
            if current is not None:
                parts[current] = s[start:i]
            if c in parts or c == current:
                raise SddlError(f"component {c}: appears twice")
            current, start = c, i + 2
            i += 2
            continue
        elif current is None:
            raise SddlError(f"unexpected {c!r} at position {i}: expected O:, G:, D: or S:")
        i += 1
    if depth != 0:
        raise SddlError("unbalanced '(' in the security descriptor")
    if current is not None:
        parts[current] = s[start:]
    return parts


def _parse_acl(text: str, domain_sid: str | None) -> tuple[set[str], list[Ace]]:
    first = text.find("(")
    flag_text = text if first < 0 else text[:first]
    flags: set[str] = set()
    rest = flag_text
    for token in ("NO_ACCESS_CONTROL", "AI", "AR", "P"):
        while token in rest:
            flags.add(token)
            rest = rest.replace(token, "", 1)
    if rest:
        raise SddlError(f"unknown ACL flags {rest!r}")
    body = "" if first < 0 else text[first:]
    return flags, [_parse_ace(ace, domain_sid) for ace in _split_aces(body)]


def _split_aces(body: str) -> list[str]:
    """The text inside each top-level `( … )`: a conditional ACE (XA/XD, Dynamic Access Control)
    nests parentheses to any depth, `(XA;;FA;;;WD;((Member_of {SID(BA)}) || (@User.dept == "x")))`,
    and its quoted strings may hold any character."""
    aces: list[str] = []
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
                raise SddlError(f"unbalanced ')' between ACEs at {body[:i + 1]!r}")
            if depth == 0:
                aces.append(body[start:i])
        elif depth == 0:
            raise SddlError(f"unexpected {c!r} between ACEs")
    if depth or quoted:
        raise SddlError("an ACE is not closed")
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


# --------------------------------------------------------------------------- describing

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


# --------------------------------------------------------------------------- writing SDDL

_FLAG_ORDER = ("OI", "CI", "NP", "IO", "ID", "SA", "FA", "TP", "CR")
_ACL_FLAG_ORDER = ("P", "AR", "AI", "NO_ACCESS_CONTROL")


def format_ace(ace: Ace) -> str:
    """One ACE in SDDL (MS-DTYP 2.5.1.1): the mask in hex and the SID in full, so it reads the same
    whatever domain parses it."""
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


def explicit_aces_of(sd: SecurityDescriptor, sid: str) -> list[Ace]:
    """The entries of `sid` written on the object itself (not inherited), in stored order."""
    return [a for a in sd.dacl or () if "ID" not in a.flags and a.sid.upper() == sid.upper()]

"""Every writable DC of a domain, and what each holds of the objects a run judges (issue 22, SPEC 14).

Pure: the directory collector (`collect/directory.py`) does the searches and hands the entries here,
as ldap3 returns them (`{"dn", "attributes", "raw_attributes"}`).

Where the DCs are. Each DC of the forest has an nTDSDSA object ("NTDS Settings") whose parent is its
server object, under `CN=Servers,CN=<site>,CN=Sites` of the configuration naming context (MS-ADTS
6.1.1.2.2.1.2.1.1 "nTDSDSA Object",
https://learn.microsoft.com/openspecs/windows_protocols/ms-adts/8ebf2419-1169-4413-88e2-12a5ad499cf5):
the server object holds the DC's dNSHostName, the nTDSDSA object its domain (msDS-HasDomainNCs;
hasMasterNCs before Windows Server 2003), its invocationId and its options (NTDSDSA_OPT_DISABLE_INBOUND_REPL
0x2, NTDSDSA_OPT_DISABLE_OUTBOUND_REPL 0x4, same page). A read-only DC's object is of class nTDSDSARO
(MS-ADSC 2.206, https://learn.microsoft.com/openspecs/windows_protocols/ms-adsc/0632f8b7-6031-4831-9fcf-3fbf1767b41e,
objectCategory CN=NTDS-DSA-RO) and answers msDS-isRODC TRUE (a constructed attribute, MS-ADA2
https://learn.microsoft.com/openspecs/windows_protocols/ms-ada2/2e4a157d-1bc5-43ae-93ae-de4c486a6f4e):
nothing is written to an RODC, so it is listed and not read. The site is the RDN under CN=Sites.

When a value changed. msDS-ReplAttributeMetaData is constructed (FLAG_ATTR_IS_CONSTRUCTED, MS-ADA2 2.444,
https://learn.microsoft.com/openspecs/windows_protocols/ms-ada2/7517418b-c383-4599-90a8-52bd18e05c03): a
DC returns it only when asked by name, one XML value per attribute, the members of
DS_REPL_ATTR_META_DATA_2 (https://learn.microsoft.com/windows/win32/api/ntdsapi/ns-ntdsapi-ds_repl_attr_meta_data_2:
dwVersion, ftimeLastOriginatingChange, uuidLastOriginatingDsaInvocationID, pszLastOriginatingDsaDN; "replication
of the change does not affect" them). Samba 4.17 does not construct it (measured: no value, no error);
it returns replPropertyMetaData, the binary vector those rows are made from (MS-DRSR
PROPERTY_META_DATA_EXT_VECTOR; MS-ADA3 2.192 replPropertyMetaData: "extracted in public form through
DsReplicaGetInfo"): a 16-byte header (version 1, reserved, count, reserved) and 48 bytes per attribute
(ATTRTYP, version, change time in seconds since 1601, originating invocation ID, originating USN,
local USN). Its ATTRTYPs of base-schema attributes follow the static prefix table (MS-DRSR 5.16.4:
prefix 9 is 1.2.840.113556.1.4), so the four judged attributes that have metadata are known by number.
memberOf has none: it is a back link, changed through the group's member (value metadata, not read).
"""

from __future__ import annotations

import re
import struct
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

from offlineprep.facts import AttributeChange, DcObject, DomainController
from offlineprep.names import host_key

# the attributes the ad.* checks judge, read on every DC for the objects a run judges
JUDGED_ATTRIBUTES = ["msDS-AllowedToDelegateTo", "userAccountControl", "servicePrincipalName", "memberOf",
                     "msDS-AllowedToActOnBehalfOfOtherIdentity"]
METADATA_ATTRIBUTES = ["msDS-ReplAttributeMetaData", "replPropertyMetaData"]
# the bits of userAccountControl the checks judge: ACCOUNTDISABLE, TRUSTED_FOR_DELEGATION, NOT_DELEGATED,
# TRUSTED_TO_AUTH_FOR_DELEGATION (MS-ADTS 2.2.16); other bits change for reasons of no concern here
JUDGED_UAC_BITS = 0x2 | 0x80000 | 0x100000 | 0x1000000
# ATTRTYP of the judged attributes: prefix 9 (1.2.840.113556.1.4) << 16 | the OID's last arc (MS-DRSR 5.16.4)
ATTRTYPS = {0x000906FB: "msDS-AllowedToDelegateTo",  # 1.2.840.113556.1.4.1787
            0x00090008: "userAccountControl",  # 1.2.840.113556.1.4.8
            0x00090303: "servicePrincipalName",  # 1.2.840.113556.1.4.771
            0x00090886: "msDS-AllowedToActOnBehalfOfOtherIdentity"}  # 1.2.840.113556.1.4.2182
NTDSDSA_OPT_DISABLE_INBOUND_REPL = 0x2
NTDSDSA_OPT_DISABLE_OUTBOUND_REPL = 0x4
DISCOVERY_FILTER = "(|(objectClass=nTDSDSA)(objectClass=server))"
DISCOVERY_ATTRIBUTES = ["objectClass", "objectCategory", "dNSHostName", "msDS-HasDomainNCs", "hasMasterNCs",
                        "msDS-isRODC", "options", "invocationId"]
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


def dn_key(dn: str) -> str:
    return ",".join(part.strip().casefold() for part in dn.split(","))


def site_of(ntds_or_server_dn: str) -> str | None:
    """`Branch` of CN=NTDS Settings,CN=DC2,CN=Servers,CN=Branch,CN=Sites,CN=Configuration,..."""
    parts = [p.strip() for p in ntds_or_server_dn.split(",")]
    for i in range(len(parts) - 2):
        if parts[i].casefold() == "cn=servers" and parts[i + 2].casefold() == "cn=sites" and "=" in parts[i + 1]:
            return parts[i + 1].split("=", 1)[1]
    return None


def _values(entry: Mapping[str, Any], name: str) -> list[Any]:
    value = entry.get("attributes", {}).get(name)
    if value is None or value == []:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _raw(entry: Mapping[str, Any], name: str) -> list[bytes]:
    return [bytes(v) for v in entry.get("raw_attributes", {}).get(name) or [] if isinstance(v, (bytes, bytearray))]


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else str(value)


def _guid(raw: bytes) -> str | None:
    return str(uuid.UUID(bytes_le=raw)) if len(raw) == 16 else None


def _true(values: list[Any]) -> bool:
    return any(_text(v).strip().upper() == "TRUE" for v in values)


def controllers(entries: Iterable[Mapping[str, Any]], domain_nc: str, named_ntds: str | None,
                named_host: str | None = None) -> list[DomainController]:
    """The DCs of the domain whose naming context is `domain_nc`, from the server and nTDSDSA objects of
    the configuration; `named_ntds` (rootDSE dsServiceName) or else `named_host` marks the DC read first."""
    servers: dict[str, Mapping[str, Any]] = {}
    dsas: list[Mapping[str, Any]] = []
    for entry in entries:
        classes = {_text(c).casefold() for c in _values(entry, "objectClass")}
        if "ntdsdsa" in classes or "ntdsdsaro" in classes:
            dsas.append(entry)
        elif "server" in classes:
            servers[dn_key(str(entry.get("dn", "")))] = entry
    found = []
    for dsa in dsas:
        dn = str(dsa.get("dn", ""))
        ncs = [_text(v) for v in _values(dsa, "msDS-HasDomainNCs")] or [_text(v) for v in _values(dsa, "hasMasterNCs")]
        if dn_key(domain_nc) not in {dn_key(nc) for nc in ncs}:
            continue
        server = servers.get(dn_key(dn.split(",", 1)[1])) if "," in dn else None
        host = _text(next(iter(_values(server, "dNSHostName")), "")) if server else ""
        if not host:
            continue  # a server object without a DNS name cannot be reached by name
        classes = {_text(c).casefold() for c in _values(dsa, "objectClass")}
        category = _text(next(iter(_values(dsa, "objectCategory")), ""))
        read_only = ("ntdsdsaro" in classes or category.casefold().startswith("cn=ntds-dsa-ro,")
                     or _true(_values(dsa, "msDS-isRODC")))
        try:
            options = int(_text(next(iter(_values(dsa, "options")), "0")))
        except ValueError:
            options = 0
        invocation = next((g for g in (_guid(r) for r in _raw(dsa, "invocationId")) if g), None)
        found.append(DomainController(
            host_name=host, site=site_of(dn), ntds_settings=dn, invocation_id=invocation, read_only=read_only,
            inbound_disabled=bool(options & NTDSDSA_OPT_DISABLE_INBOUND_REPL),
            outbound_disabled=bool(options & NTDSDSA_OPT_DISABLE_OUTBOUND_REPL)))
    for dc in found:
        if named_ntds:
            dc.named = dn_key(dc.ntds_settings or "") == dn_key(named_ntds)
        elif named_host:
            dc.named = host_key(dc.host_name) == host_key(named_host)
    return sorted(found, key=lambda d: (not d.named, d.host_name.casefold()))


# --------------------------------------------------------------------------- metadata


def parse_attribute_metadata(values: Iterable[Any], wanted: Iterable[str] = JUDGED_ATTRIBUTES) -> list[AttributeChange]:
    """msDS-ReplAttributeMetaData: one XML document per attribute (Windows ends each with a NUL);
    only the `wanted` attributes are kept. A value that is no such document is left out."""
    keep = {w.casefold() for w in wanted}
    out = []
    for value in values:
        text = _text(value).replace("\x00", "").strip()
        try:
            root = ElementTree.fromstring(text)
        except ElementTree.ParseError:
            continue
        fields = {child.tag: (child.text or "").strip() for child in root}
        name = fields.get("pszAttributeName", "")
        if name.casefold() not in keep:
            continue
        out.append(AttributeChange(
            attribute=name, version=_int(fields.get("dwVersion")),
            changed_at=_xml_time(fields.get("ftimeLastOriginatingChange", "")),
            originating_dsa=fields.get("pszLastOriginatingDsaDN") or None,
            originating_invocation_id=fields.get("uuidLastOriginatingDsaInvocationID") or None))
    return out


def parse_property_metadata(blob: bytes) -> list[AttributeChange]:
    """replPropertyMetaData (version 1): the rows of the judged attributes; [] for a blob of another shape."""
    if len(blob) < 16:
        return []
    version, _, count, _ = struct.unpack_from("<IIII", blob, 0)
    if version != 1 or len(blob) < 16 + 48 * count:
        return []
    out = []
    for i in range(count):
        attid, attr_version, seconds = struct.unpack_from("<IIQ", blob, 16 + 48 * i)
        name = ATTRTYPS.get(attid)
        if name is None:
            continue
        invocation = _guid(blob[16 + 48 * i + 16: 16 + 48 * i + 32])
        try:
            changed = _FILETIME_EPOCH + timedelta(seconds=seconds)
        except OverflowError:
            changed = None
        out.append(AttributeChange(attribute=name, version=attr_version, changed_at=changed,
                                   originating_invocation_id=invocation))
    return out


def metadata_of(entry: Mapping[str, Any]) -> list[AttributeChange]:
    """The judged attributes' metadata: msDS-ReplAttributeMetaData where the DC constructs it, else
    replPropertyMetaData."""
    rows = parse_attribute_metadata(_values(entry, "msDS-ReplAttributeMetaData"))
    if rows:
        return rows
    for blob in _raw(entry, "replPropertyMetaData"):
        return parse_property_metadata(blob)
    return []


def name_originators(dcs: list[DomainController]) -> None:
    """Each change's originating DC by its nTDSDSA DN, from the invocation ID where only that was given."""
    by_invocation = {dc.invocation_id.casefold(): dc.ntds_settings for dc in dcs if dc.invocation_id}
    for dc in dcs:
        for obj in dc.objects.values():
            for change in obj.changes:
                if change.originating_dsa is None and change.originating_invocation_id:
                    change.originating_dsa = by_invocation.get(change.originating_invocation_id.casefold())


def dc_object(values: dict[str, list[str]], changes: list[AttributeChange]) -> DcObject:
    return DcObject(found=True, values={k: sorted(v, key=str.casefold) for k, v in values.items()}, changes=changes)


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


_XML_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})")


def _xml_time(text: str) -> datetime | None:
    """ftimeLastOriginatingChange as the XML writes it: 2026-12-06T18:00:00Z."""
    match = _XML_TIME.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None

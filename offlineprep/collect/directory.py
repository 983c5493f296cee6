"""The directory collector: reads what the ad.* checks need from AD over LDAP (ldap3), read-only.

Few round trips: one rootDSE read, one search for the domain's crossRef (its NetBIOS name),
batched OR filters for computers (`batch_size` names per search; the principals and SPN holders
ride along in the last one), one base read of tokenGroups per principal (there are few; under
`manager = "hyperv-replica"` each host's computer account is one too: path.host-accounts), one
batched search for group names. Paged results throughout, so nothing is
truncated at a DC's 1,000-entry MaxPageSize. Bitwise userAccountControl tests are done in Python:
portable across DCs, and ldap3's mock strategy cannot evaluate extensible-match filters.

Every directory problem becomes `DirectoryFacts.error` (what was read before stays), never an
exception; no message ever contains the password.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import ldap3
from ldap3.core import exceptions as lx
from ldap3.utils.conv import escape_filter_chars

from offlineprep.collect import dc_readings
from offlineprep.collect.requests import DirectoryRequest
from offlineprep.facts import (
    CollectionError,
    ComputerAccount,
    DcObject,
    DirectoryFacts,
    DomainController,
    ErrorKind,
    Principal,
    SpnHolder,
)
from offlineprep.names import Account, DomainName, HostName, NameError_, domain_key, host_key, parse_account, parse_spn
from offlineprep.rbcd import groups_needed, kdc_sddl
from offlineprep.security_descriptor import DescriptorError, allowed_sids, decode_descriptor, sid_from_bytes
from offlineprep.site import DirectoryConfig
from offlineprep.winrm.diagnose import certificate_problem, endpoint, peer_certificate, reach

log = logging.getLogger(__name__)

Connect = Callable[[DirectoryConfig, str | None], ldap3.Connection]

COMPUTER_ATTRIBUTES = [
    "sAMAccountName", "dNSHostName", "userAccountControl", "msDS-AllowedToDelegateTo",
    "msDS-AllowedToActOnBehalfOfOtherIdentity", "servicePrincipalName", "operatingSystem",
    "operatingSystemVersion", "objectSid", "objectClass", "memberOf", "primaryGroupID",
]
GROUP_NESTING = 8  # levels of nested groups followed; AD itself allows any depth, real sites use a few
PRINCIPAL_ATTRIBUTES = ["sAMAccountName", "userPrincipalName", "objectSid", "objectClass", "userAccountControl"]
PRINCIPAL_SEARCH_ATTRIBUTES = [*PRINCIPAL_ATTRIBUTES, "servicePrincipalName"]
ALL_ATTRIBUTES = [*COMPUTER_ATTRIBUTES, *(a for a in PRINCIPAL_SEARCH_ATTRIBUTES if a not in COMPUTER_ATTRIBUTES)]
PAGE_SIZE = 500


class _DirectoryProblem(Exception):
    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


# --------------------------------------------------------------------------- connection


def connect(config: DirectoryConfig, password: str | None) -> ldap3.Connection:
    """Open, secure and bind a connection as the site file says; TLS is verified unless told not to."""
    url = config.server
    use_ssl = url.lower().startswith("ldaps://")
    if not use_ssl and not url.lower().startswith("ldap://"):
        raise _DirectoryProblem(ErrorKind.PROTOCOL, f"{url}: the server must be an ldaps:// or ldap:// URL")
    if config.auth == "simple" and not use_ssl and not config.start_tls:
        raise _DirectoryProblem(ErrorKind.TLS, "a simple bind needs TLS: use ldaps:// or start_tls = true")
    if not config.verify_tls:
        log.warning("TLS certificate verification for %s is turned off (verify_tls = false)", url)
    tls = ldap3.Tls(
        validate=ssl.CERT_REQUIRED if config.verify_tls else ssl.CERT_NONE,
        ca_certs_file=config.ca_file,
        version=ssl.PROTOCOL_TLS_CLIENT if config.verify_tls else None,
    )
    server = ldap3.Server(url, use_ssl=use_ssl, tls=tls, connect_timeout=config.timeout_seconds, get_info=ldap3.NONE)
    kwargs: dict[str, Any] = {"raise_exceptions": True, "receive_timeout": max(1, round(config.timeout_seconds)),
                              "auto_referrals": False, "read_only": True}
    if config.auth == "simple":
        conn = ldap3.Connection(server, user=config.user, password=password, authentication=ldap3.SIMPLE, **kwargs)
    elif config.auth == "ntlm":
        conn = ldap3.Connection(server, user=config.user, password=password, authentication=ldap3.NTLM, **kwargs)
    else:
        try:
            import gssapi  # noqa: F401
        except ImportError:
            raise _DirectoryProblem(ErrorKind.AUTH, "Kerberos needs the gssapi package: "
                                    "pip install 'offlineprep[kerberos]'") from None
        conn = ldap3.Connection(server, user=config.user, authentication=ldap3.SASL,
                                sasl_mechanism=ldap3.KERBEROS, **kwargs)
    conn.open()
    if config.start_tls and not use_ssl:
        conn.start_tls()
    conn.bind()
    return conn


# --------------------------------------------------------------------------- collector


class _Reader:
    """Counts every search request (each page counts) and reads entries as plain dicts."""

    def __init__(self, conn: ldap3.Connection) -> None:
        self.conn = conn
        self.searches = 0

    def search(self, base: str, flt: str, attributes: list[str], scope: Any = ldap3.SUBTREE) -> Iterator[dict[str, Any]]:
        if scope == ldap3.BASE:
            self.searches += 1
            self.conn.search(base, flt, search_scope=scope, attributes=attributes)
            for item in self.conn.response or []:
                if item.get("type") == "searchResEntry":
                    yield item
            return
        cookie: Any = None
        while True:
            self.searches += 1
            self.conn.search(base, flt, search_scope=scope, attributes=attributes, paged_size=PAGE_SIZE,
                             paged_cookie=cookie)
            for item in self.conn.response or []:
                if item.get("type") == "searchResEntry":
                    yield item
            controls = (self.conn.result or {}).get("controls") or {}
            cookie = controls.get("1.2.840.113556.1.4.319", {}).get("value", {}).get("cookie")
            if not cookie:
                return


def collect_directory(
    config: DirectoryConfig, request: DirectoryRequest, password: str | None, connect: Connect | None = None
) -> DirectoryFacts:
    facts = DirectoryFacts(server=config.server, base_dn=config.base_dn)
    reader: _Reader | None = None
    conn = None
    opener: Connect = connect or globals()["connect"]
    try:
        conn = opener(config, password)
        reader = _Reader(conn)
        _read(reader, config, request, facts)
        if facts.domain_controllers and sum(not dc.read_only for dc in facts.domain_controllers) > 1:
            read_every_dc(reader, config, password, opener, facts)
    except _DirectoryProblem as problem:
        facts.error = CollectionError(kind=problem.kind, message=_clean(problem.message, password))
    except Exception as exc:  # ldap3 raises many types; each becomes one sentence
        log.debug("directory collection failed", exc_info=True)
        kind, message = describe_ldap_error(exc, config)
        facts.error = CollectionError(kind=kind, message=_clean(message, password))
    finally:
        if reader is not None:
            facts.searches = reader.searches
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.unbind()
    return facts


def _read(reader: _Reader, config: DirectoryConfig, request: DirectoryRequest, facts: DirectoryFacts) -> None:
    sent = datetime.now(UTC)
    root = _root_dse(reader, required=not config.base_dn)
    facts.current_time = generalized_time(_first(root, "currentTime"))
    if facts.current_time is not None:  # this machine's clock in the middle of the request
        facts.current_time_observed_at = sent + (datetime.now(UTC) - sent) / 2
    base = config.base_dn or _default_naming_context(root)
    facts.base_dn = base
    if _dn_key(base) == _dn_key(str(_first(root, "defaultNamingContext") or "")):  # the level of the DC's own domain
        facts.domain_functionality = _int(_first(root, "domainFunctionality"))
    facts.domain_dns_name = ".".join(p.split("=", 1)[1] for p in base.split(",") if p.strip().upper().startswith("DC="))
    facts.netbios_name = _configuration(reader, root, base, facts, config)
    member_of = _read_computers_principals_and_spns(reader, base, request, facts, config.batch_size)
    names = _sids_to_name(facts)
    if groups_needed(facts, request.named_sids):  # the names ride along in its first search
        names = _read_computer_groups(reader, base, facts, member_of, config.batch_size, names)
    _read_group_names(reader, base, facts, config.batch_size, names)


def _root_dse(reader: _Reader, required: bool) -> dict[str, Any]:
    """The rootDSE: its default naming context (needed unless base_dn is set), its configuration
    naming context (where the domain's NetBIOS name is), the DC's clock (currentTime, MS-ADTS
    3.1.1.3.2.1: GeneralizedTime, UTC), for host.clock-skew, and the domain's functional level
    (domainFunctionality: the domain NC's msDS-Behavior-Version, MS-ADTS rootDSE attributes), for
    ad.account-delegable (Protected Users). Optional when base_dn is set: a DC that
    refuses it still gets today's lookups."""
    try:
        for entry in reader.search("", "(objectClass=*)", ["defaultNamingContext", "configurationNamingContext",
                                                           "currentTime", "domainFunctionality", "dsServiceName"],
                                   scope=ldap3.BASE):
            return entry
    except lx.LDAPException as exc:
        if required:
            raise
        log.debug("rootDSE read failed: %s", type(exc).__name__)
    return {}


def generalized_time(value: Any) -> datetime | None:
    """currentTime as ldap3 returns it without a schema ('20261124093000.0Z') or, with one, a datetime."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    text = _str(value)
    if not text:
        return None
    try:
        return datetime.strptime(text.strip()[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _default_naming_context(root: dict[str, Any]) -> str:
    value = _first(root, "defaultNamingContext")
    if value:
        return str(value)
    raise _DirectoryProblem(ErrorKind.PROTOCOL, "the rootDSE has no defaultNamingContext; set base_dn in the site file")


def _dn_key(dn: str) -> str:
    return ",".join(part.strip().casefold() for part in dn.split(","))


def _configuration(reader: _Reader, root: dict[str, Any], base: str, facts: DirectoryFacts,
                   config: DirectoryConfig) -> str | None:
    """One search of the configuration naming context (readable by any authenticated user) for two
    things: the nETBIOSName of the crossRef whose nCName is `base` (CN=Partitions), returned, and the
    domain's DCs (their server and nTDSDSA objects under CN=Sites: offlineprep.collect.dc_readings),
    kept in facts.domain_controllers. It is the search that read the crossRef alone before, so one
    DC still costs what it did. None when it cannot be read: the account names are then looked up as
    written, as before, and the DCs stay unknown (None)."""
    config_nc = _first(root, "configurationNamingContext")
    if not config_nc:
        return None
    partitions = _dn_key(f"CN=Partitions,{config_nc}")
    flt = f"(|(&(objectClass=crossRef)(nETBIOSName=*)){dc_readings.DISCOVERY_FILTER})"
    name = None
    found = []
    try:
        for entry in reader.search(str(config_nc), flt, ["nCName", "nETBIOSName", *dc_readings.DISCOVERY_ATTRIBUTES]):
            dn = _dn_key(str(entry.get("dn", "")))
            if dn.split(",", 1)[-1] == partitions and "crossref" in {str(c).casefold() for c in _all(entry, "objectClass")}:
                if name is None and _dn_key(str(_first(entry, "nCName") or "")) == _dn_key(base):
                    name = _str(_first(entry, "nETBIOSName")) or None
            else:
                found.append(entry)
    except lx.LDAPException as exc:
        log.debug("configuration read failed: %s", type(exc).__name__)
        return None
    named_ntds = _str(_first(root, "dsServiceName"))
    facts.domain_controllers = dc_readings.controllers(found, base, named_ntds, endpoint(config.server)[0])
    return name


def account_domain_elsewhere(account: str, netbios: str | None, dns: str | None) -> str | None:
    """The DOMAIN of `DOMAIN\\name` when it names another domain than the one read, else None.

    DOMAIN may be the NetBIOS name, the DNS name or its first label. Never judged: a UPN (its
    suffix may be an alternative UPN suffix, not a domain name), a plain name, or any name when
    the NetBIOS name of the domain read is unknown.
    """
    if not netbios:
        return None
    try:
        parsed = parse_account(account)
    except NameError_:
        return None
    if parsed.is_upn or parsed.domain is None:
        return None
    own = {domain_key(netbios)}
    if dns:
        own |= {domain_key(dns), DomainName(dns).first_label}
    return None if domain_key(parsed.domain) in own else parsed.domain.strip()


def _batches(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _sam_candidates(name: str) -> set[str]:
    """The name's first label and $, and the computer account Windows derives when it differs other
    than in case (a NetBIOS name keeps 15 characters); LDAP compares sAMAccountName case-insensitively."""
    host = HostName(name)
    written = f"{host.short}$"
    return {written} if host.computer_account.casefold() == written.casefold() else {written, host.computer_account}


def _computer_filter(chunk: list[str]) -> str:
    terms = set()
    for name in chunk:
        bare = HostName(name).bare
        for sam in _sam_candidates(bare):
            terms.add(f"(sAMAccountName={escape_filter_chars(sam)})")
        if HostName(bare).is_fqdn:
            terms.add(f"(dNSHostName={escape_filter_chars(bare)})")
        else:  # a short name longer than 15 characters is found only through its DNS name
            terms.add(f"(dNSHostName={escape_filter_chars(bare)}.*)")
    return f"(&(objectClass=computer)(|{''.join(sorted(terms))}))"


def _read_computers_principals_and_spns(
    reader: _Reader, base: str, request: DirectoryRequest, facts: DirectoryFacts, batch: int
) -> dict[str, tuple[list[str], str | None]]:
    """Computers in batches of `batch` names; the principals and SPN holders (a few accounts, two
    paths) ride along in the last computer search, so they cost no search of their own."""
    foreign = {p: account_domain_elsewhere(p, facts.netbios_name, facts.domain_dns_name) for p in request.principals}
    spn_terms = []
    for name in request.spn_names:
        for service in ("HOST", "cifs"):  # SPNs never carry the root dot of an FQDN
            spn_terms.append(f"(servicePrincipalName={escape_filter_chars(f'{service}/{HostName(name).bare}')})")
    other_terms = [_account_filter(p) for p in request.principals if not foreign[p]] + spn_terms
    other_chunks = list(_batches(other_terms, batch))
    computer_chunks = list(_batches(request.computers, batch))
    searches: list[tuple[str, list[str]]] = [(_computer_filter(c), COMPUTER_ATTRIBUTES) for c in computer_chunks]
    if searches and other_chunks:
        flt, _ = searches[-1]
        searches[-1] = (f"(|{flt}{''.join(other_chunks.pop(0))})", ALL_ATTRIBUTES)
    searches += [(f"(|{''.join(chunk)})", PRINCIPAL_SEARCH_ATTRIBUTES) for chunk in other_chunks]
    by_dn: dict[str, dict[str, Any]] = {}  # an object can answer two searches: keep it once
    for flt, attributes in searches:
        for entry in reader.search(base, flt, attributes):
            seen = by_dn.setdefault(_dn_key(str(entry.get("dn", ""))), entry)
            if seen is not entry:
                seen.setdefault("attributes", {}).update(entry.get("attributes", {}))
                seen.setdefault("raw_attributes", {}).update(entry.get("raw_attributes", {}))
    entries = list(by_dn.values())
    computers = [e for e in entries if "computer" in {str(c).casefold() for c in _all(e, "objectClass")}]
    index = _ComputerIndex(computers)
    # computer asked -> the DNs of the groups it is a direct member of, and its primary group's SID
    member_of: dict[str, tuple[list[str], str | None]] = {}
    for name in request.computers:
        matched = _match_computer(name, index, facts.domain_dns_name)
        facts.computers[name] = _computer(name, matched)
        if matched is not None:
            member_of[name] = ([str(v) for v in _all(matched, "memberOf")], _primary_group(matched))
        sid = facts.computers[name].object_sid
        if sid and not facts.domain_sid and sid.count("-") >= 7:
            facts.domain_sid = sid.rsplit("-", 1)[0]
    for name in request.principals:
        other = foreign[name]
        facts.principals[name] = (Principal(query=name, found=False, other_domain=other) if other
                                  else _principal(reader, name, entries))
    for name in request.spn_names:
        holders = []
        for entry in entries:
            for value in _all(entry, "servicePrincipalName"):
                spn = parse_spn(str(value))
                if spn and spn.service_class.casefold() in {"host", "cifs"} and HostName(spn.host) == name:
                    holders.append(SpnHolder(spn=str(value), distinguished_name=entry.get("dn", ""),
                                             sam_account_name=_str(_first(entry, "sAMAccountName"))))
        facts.spn_holders[name] = holders
    return member_of


class _ComputerIndex:
    """The computers found, by DNS name, by its first label and by sAMAccountName, each list in
    search order. Scanning every entry for every name was quadratic: 4 million comparisons and
    3 of the 6 seconds of a 2,000-host run."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self.by_dns: dict[str, list[dict[str, Any]]] = {}
        self.by_label: dict[str, list[dict[str, Any]]] = {}
        self.by_sam: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for position, entry in enumerate(entries):
            dns = _dns_name(entry)
            if dns:
                self.by_dns.setdefault(dns, []).append(entry)
                self.by_label.setdefault(dns.split(".", 1)[0], []).append(entry)
            sam = str(_first(entry, "sAMAccountName") or "").casefold()
            if sam:
                self.by_sam.setdefault(sam, []).append((position, entry))


def _dns_name(entry: dict[str, Any]) -> str | None:
    value = _first(entry, "dNSHostName")
    return host_key(str(value)) if value else None


def _match_computer(name: str, index: _ComputerIndex, domain: str | None) -> dict[str, Any] | None:
    """The computer a site-file name means: by DNS name first, then by sAMAccountName.

    A short name matches the dNSHostName's first label (a name longer than 15 characters has a
    truncated sAMAccountName). The sAMAccountName fallback is refused for an FQDN in another domain
    than the one read when the account has a dNSHostName of its own: `hv11.child.contoso.com` is
    not the `HV11$` of contoso.com (its account lives in the child domain's naming context).
    """
    wanted = HostName(name)
    bare, short, suffix = wanted.key, wanted.label, wanted.suffix
    fqdn = wanted.is_fqdn
    in_domain = suffix is None or (domain is not None and suffix == domain_key(domain))

    if fqdn:
        exact = index.by_dns.get(bare)
        if exact:
            return exact[0]
    else:
        by_label = index.by_label.get(short)
        if by_label:
            home = "." + (domain_key(domain) or "") if domain else None
            return sorted(by_label, key=lambda e: 0 if home and (_dns_name(e) or "").endswith(home) else 1)[0]
    sams = {s.casefold() for s in _sam_candidates(bare)}
    candidates = sorted((found for sam in sams for found in index.by_sam.get(sam, [])), key=lambda found: found[0])
    for _, entry in candidates:
        if _dns_name(entry) is None or in_domain:
            return entry
    return None


def _primary_group(entry: dict[str, Any]) -> str | None:
    """The SID of the primary group: the account's domain SID and primaryGroupID (515, Domain
    Computers, for a computer), which memberOf never lists."""
    sid, rid = _sid(entry), _int(_first(entry, "primaryGroupID"))
    return f"{sid.rsplit('-', 1)[0]}-{rid}" if sid and rid and sid.count("-") > 3 else None


def _computer(name: str, entry: dict[str, Any] | None) -> ComputerAccount:
    if entry is None:
        return ComputerAccount(query=name, found=False)
    rbcd_allowed_sids, rbcd_sddl = _delegation_descriptor(entry)
    return ComputerAccount(
        query=name,
        found=True,
        distinguished_name=entry.get("dn"),
        sam_account_name=_str(_first(entry, "sAMAccountName")),
        dns_host_name=_str(_first(entry, "dNSHostName")),
        object_sid=_sid(entry),
        user_account_control=_int(_first(entry, "userAccountControl")),
        allowed_to_delegate_to=[str(v) for v in _all(entry, "msDS-AllowedToDelegateTo")],
        rbcd_allowed_sids=rbcd_allowed_sids,
        rbcd_sddl=rbcd_sddl,
        service_principal_names=[str(v) for v in _all(entry, "servicePrincipalName")],
        operating_system=_str(_first(entry, "operatingSystem")),
        operating_system_version=_str(_first(entry, "operatingSystemVersion")),
    )


def _delegation_descriptor(entry: dict[str, Any]) -> tuple[list[str], str | None]:
    """msDS-AllowedToActOnBehalfOfOtherIdentity, decoded once: the SIDs its DACL allows and its SDDL as
    the KDC reads it (offlineprep.rbcd). A value that is no readable security descriptor is logged,
    naming the byte, and read as none set ([] and None), as before: the run goes on, and apply refuses
    to write over it (offlineprep.apply.states.allowed_sids)."""
    blob = _first_raw(entry.get("raw_attributes", {}), "msDS-AllowedToActOnBehalfOfOtherIdentity")
    if not blob:
        return [], None
    try:
        descriptor = decode_descriptor(blob)
    except DescriptorError as exc:
        log.warning("msDS-AllowedToActOnBehalfOfOtherIdentity of %s cannot be read: %s", entry.get("dn"), exc)
        return [], None
    return allowed_sids(descriptor), kdc_sddl(descriptor)


def _account_filter(name: str) -> str:
    try:
        account = parse_account(name)
    except NameError_:
        return f"(sAMAccountName={escape_filter_chars(name)})"
    terms = [f"(sAMAccountName={escape_filter_chars(account.name)})"]
    if account.is_upn:
        terms.append(f"(userPrincipalName={escape_filter_chars(name.strip())})")
    return "".join(terms)


def _principal(reader: _Reader, name: str, entries: list[dict[str, Any]]) -> Principal:
    try:
        account = parse_account(name)
        wanted, upn = account.name.casefold(), name.strip().casefold() if account.is_upn else None
    except NameError_:
        wanted, upn = name.casefold(), None
    accounts = [e for e in entries if "objectClass" in e.get("attributes", {})]
    # A UPN names one account exactly; its prefix is often another account's sAMAccountName.
    entry = next((e for e in accounts if upn is not None
                  and str(_first(e, "userPrincipalName") or "").casefold() == upn), None) or next(
        (e for e in accounts if str(_first(e, "sAMAccountName") or "").casefold() == wanted), None)
    if entry is None:
        return Principal(query=name, found=False)
    # tokenGroups "is not present if no GC server is available" (MS-ADTS 3.1.1.4.5.19), and a bind
    # account without the right to read it gets no value either: ldap3 then fills in an empty list
    # (return_empty_attributes). A read membership always holds the primary group, so an empty
    # answer means "not returned", recorded as such rather than as "member of nothing".
    token_groups: list[str] = []
    for item in reader.search(entry["dn"], "(objectClass=*)", ["tokenGroups"], scope=ldap3.BASE):
        token_groups = [sid for v in item.get("raw_attributes", {}).get("tokenGroups", []) if (sid := _to_sid(v))]
    return Principal(
        query=name,
        found=True,
        distinguished_name=entry.get("dn"),
        sam_account_name=_str(_first(entry, "sAMAccountName")),
        object_sid=_sid(entry),
        object_classes=[str(c) for c in _all(entry, "objectClass")],
        user_account_control=_int(_first(entry, "userAccountControl")),
        token_group_sids=token_groups,
        token_groups_read=bool(token_groups),
    )


def _read_computer_groups(reader: _Reader, base: str, facts: DirectoryFacts,
                          member_of: dict[str, tuple[list[str], str | None]], batch: int,
                          names: list[str]) -> list[str]:
    """Each computer's domain groups: its primary group (primaryGroupID, Domain Computers by default),
    its direct groups (memberOf) and the groups those are in, level by level, one batched search per
    level. A resource-based delegation that allows a group allows its members (the KDC checks the
    front end's token, its groups included: offlineprep.rbcd). A lookup that fails leaves the
    groups unread (None), never "no groups". The first search also names the SIDs `names` (the
    principals' groups, for evidence), which would otherwise cost a search of their own; those it
    did not ask for are returned."""
    sids_of: dict[str, str] = {}  # group DN key -> SID
    parents: dict[str, list[str]] = {}  # group DN key -> DNs of the groups it is in
    frontier = {_dn_key(dn): dn for dns, _ in member_of.values() for dn in dns}
    unnamed = list(names)
    try:
        for _ in range(GROUP_NESTING):
            wanted = {key: dn for key, dn in frontier.items() if key not in sids_of}
            if not wanted:
                break
            frontier = {}
            terms = [f"(distinguishedName={escape_filter_chars(dn)})" for dn in wanted.values()]
            terms += [f"(objectSid={sid})" for sid in unnamed]
            unnamed = []
            for chunk in _batches(terms, batch):
                for entry in reader.search(base, "(|" + "".join(chunk) + ")", ["objectSid", "memberOf", "sAMAccountName"]):
                    key = _dn_key(str(entry.get("dn", "")))
                    sid = _sid(entry)
                    _name_sid(facts, entry)
                    if key not in wanted:  # found by its SID only, for its name
                        continue
                    if sid:
                        sids_of[key] = sid
                    parents[key] = [str(v) for v in _all(entry, "memberOf")]
                    frontier.update({_dn_key(p): p for p in parents[key]})
    except lx.LDAPException as exc:
        log.debug("group membership lookup failed: %s", type(exc).__name__)
        return [sid for sid in names if sid not in facts.sid_names]
    facts.groups_read = True
    for name, (direct, primary) in member_of.items():
        account = facts.computers.get(name)
        if account is None or not account.found:
            continue
        seen: set[str] = set()
        stack = [_dn_key(dn) for dn in direct]
        while stack:
            key = stack.pop()
            if key in seen:
                continue
            seen.add(key)
            stack += [_dn_key(p) for p in parents.get(key, [])]
        groups = sorted({sids_of[k] for k in seen if k in sids_of})
        account.group_sids = groups + ([primary] if primary and primary not in groups else [])
    return unnamed  # asked for already (a SID the search did not find has no name to find)


def _sids_to_name(facts: DirectoryFacts) -> list[str]:
    """The domain SIDs in the principals' tokenGroups, whose names the evidence shows."""
    return sorted({s for p in facts.principals.values() for s in p.token_group_sids if s.startswith("S-1-5-21-")})


def _name_sid(facts: DirectoryFacts, entry: dict[str, Any]) -> None:
    sid, sam = _sid(entry), _str(_first(entry, "sAMAccountName"))
    if sid and sam:
        domain = facts.netbios_name or (facts.domain_dns_name or "").split(".")[0].upper()
        facts.sid_names[sid] = Account.down_level(sam, domain).text


def _read_group_names(reader: _Reader, base: str, facts: DirectoryFacts, batch: int, sids: list[str]) -> None:
    """Names for the SIDs in tokenGroups: evidence only, so a failure here costs nothing else."""
    for chunk in _batches(sids, batch):
        flt = "(|" + "".join(f"(objectSid={s})" for s in chunk) + ")"
        try:
            for entry in reader.search(base, flt, ["sAMAccountName", "objectSid"]):
                _name_sid(facts, entry)
        except lx.LDAPException as exc:
            log.debug("group name lookup failed: %s", type(exc).__name__)
            return


# --------------------------------------------------------------------------- every DC


def judged_objects(facts: DirectoryFacts) -> list[str]:
    """The DNs of the objects this run judges, as the named DC returned them: the computers and
    accounts found, and every SPN holder."""
    dns: dict[str, str] = {}
    found = [(a.found, a.distinguished_name) for a in facts.computers.values()]
    found += [(p.found, p.distinguished_name) for p in facts.principals.values()]
    for ok, dn in found:
        if ok and dn:
            dns.setdefault(_dn_key(dn), dn)
    for holders in facts.spn_holders.values():
        for holder in holders:
            dns.setdefault(_dn_key(holder.distinguished_name), holder.distinguished_name)
    return list(dns.values())


def dc_config(config: DirectoryConfig, host: str) -> DirectoryConfig:
    """The site file's directory settings for another DC of the domain: its DNS name in the URL, the
    same scheme and port, credentials and TLS settings (the CA that signed one DC's certificate is
    normally the domain's)."""
    parts = urlsplit(config.server)
    port = f":{parts.port}" if parts.port else ""
    return config.model_copy(update={"server": f"{parts.scheme}://{host}{port}"})


def read_dc(reader: _Reader, base: str, dns: list[str], batch: int) -> dict[str, DcObject]:
    """What one DC holds of the objects `dns`: the judged attributes and their replication metadata,
    `batch` objects per search (the metadata is constructed: asked for by name). Keyed by the DN as
    given; an object the DC does not have is `found = False`."""
    wanted = {_dn_key(dn): dn for dn in dns}
    objects: dict[str, DcObject] = {}
    attributes = [*dc_readings.JUDGED_ATTRIBUTES, *dc_readings.METADATA_ATTRIBUTES]
    for chunk in _batches(dns, batch):
        flt = "(|" + "".join(f"(distinguishedName={escape_filter_chars(dn)})" for dn in chunk) + ")"
        for entry in reader.search(base, flt, attributes):
            dn = wanted.get(_dn_key(str(entry.get("dn", ""))))
            if dn is not None:
                objects[dn] = dc_readings.dc_object(_judged_values(entry), dc_readings.metadata_of(entry))
    return {dn: objects.get(dn) or DcObject(found=False) for dn in dns}


def _judged_values(entry: dict[str, Any]) -> dict[str, list[str]]:
    """The judged attributes as they are compared between DCs: the delegation bits of
    userAccountControl only, the resource-based descriptor as the KDC reads it (SDDL; hex when it is
    no readable descriptor)."""
    uac = _int(_first(entry, "userAccountControl"))
    blob = _first_raw(entry.get("raw_attributes", {}), "msDS-AllowedToActOnBehalfOfOtherIdentity")
    _, sddl = _delegation_descriptor(entry)
    return {
        "msDS-AllowedToDelegateTo": [str(v) for v in _all(entry, "msDS-AllowedToDelegateTo")],
        "userAccountControl": [] if uac is None else [f"0x{uac & dc_readings.JUDGED_UAC_BITS:X}"],
        "servicePrincipalName": [str(v) for v in _all(entry, "servicePrincipalName")],
        "memberOf": [str(v) for v in _all(entry, "memberOf")],
        "msDS-AllowedToActOnBehalfOfOtherIdentity": [sddl or blob.hex()] if blob else [],
    }


def read_every_dc(reader: _Reader, config: DirectoryConfig, password: str | None, opener: Connect,
                  facts: DirectoryFacts) -> None:
    """Each writable DC of the domain read for the judged objects (SPEC 14): the named one through the
    connection already open, the others each through a connection of its own (same credentials and
    TLS settings), side by side. A DC that cannot be read keeps its error, never an exception; what
    it would have confirmed stays unknown (ad.replicated says so, naming it once)."""
    base = facts.base_dn or ""
    dns = judged_objects(facts)
    dcs = [dc for dc in facts.domain_controllers or [] if not dc.read_only]

    def one(dc: DomainController) -> None:
        started = time.monotonic()
        own = reader if dc.named else None
        conn = None
        before = own.searches if own else 0
        dc_settings = dc_config(config, dc.host_name)
        try:
            if own is None:
                conn = opener(dc_settings, password)
                own = _Reader(conn)
            dc.objects = read_dc(own, base, dns, config.batch_size)
        except _DirectoryProblem as problem:
            dc.error = CollectionError(kind=problem.kind, message=_clean(problem.message, password))
        except Exception as exc:  # each DC's failure is its own, in one sentence
            log.debug("reading %s failed", dc.host_name, exc_info=True)
            kind, message = describe_ldap_error(exc, dc_settings)
            dc.error = CollectionError(kind=kind, message=_clean(message, password))
        finally:
            dc.searches = (own.searches - before) if own is not None else 0
            dc.seconds = round(time.monotonic() - started, 3)
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.unbind()

    others = [dc for dc in dcs if not dc.named]
    for dc in dcs:
        if dc.named:
            one(dc)
    if others:
        with ThreadPoolExecutor(max_workers=min(8, len(others))) as pool:
            list(pool.map(one, others))
    dc_readings.name_originators(facts.domain_controllers or [])


# --------------------------------------------------------------------------- values


def _all(entry: dict[str, Any], name: str) -> list[Any]:
    value = entry.get("attributes", {}).get(name)
    if value is None or value == []:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _first(entry: dict[str, Any], name: str) -> Any:
    values = _all(entry, name)
    return values[0] if values else None


def _first_raw(raw: dict[str, Any], name: str) -> bytes | None:
    values = raw.get(name) or []
    return bytes(values[0]) if values and isinstance(values[0], (bytes, bytearray)) else None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _sid(entry: dict[str, Any]) -> str | None:
    raw = _first_raw(entry.get("raw_attributes", {}), "objectSid")
    if raw is not None and len(raw) >= 8:
        return _to_sid(raw)
    value = _first(entry, "objectSid")
    return str(value) if value else None


def _to_sid(value: Any) -> str | None:
    """A SID as ldap3 returns it: text already, or the binary form (MS-DTYP 2.4.2.2); None, logged,
    for bytes that are no SID, so one bad value never ends the run."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        if value[:4] == b"S-1-":
            return value.decode("ascii", "replace")
        try:
            return sid_from_bytes(bytes(value))[0]
        except DescriptorError as exc:
            log.warning("a SID value cannot be read: %s", exc)
            return None
    return str(value)


# --------------------------------------------------------------------------- errors


def describe_ldap_error(exc: BaseException, config: DirectoryConfig) -> tuple[ErrorKind, str]:
    """One kind and one plain sentence per failure, never the password, never a traceback.

    ldap3 keeps no structure for socket and TLS failures (an errno or a certificate turns into
    text), so for those the cause is established again, directly: resolve the name, open TCP to
    the port, and read the server's certificate without trusting it. Each step says what an
    administrator checks next: DNS, a listener, a firewall, the CA or the name on the certificate.
    """
    text = str(exc)
    server = config.server
    host, port = endpoint(config.server)
    if isinstance(exc, lx.LDAPInvalidCredentialsResult):
        return ErrorKind.AUTH, (f"{host} rejected the user name or password of {config.user} (invalid credentials, "
                                "the LDAP equivalent of HTTP 401): check user and the password in "
                                f"{config.password_env}")
    if isinstance(exc, lx.LDAPStrongerAuthRequiredResult) or "Sign or Seal" in text:
        if "Sign or Seal" in text:
            return ErrorKind.AUTH, (f"{server} requires Kerberos signing or sealing on top of TLS, which ldap3 does not "
                                    "offer: use auth = \"simple\" over ldaps://, or allow SASL over TLS on the DC")
        return ErrorKind.TLS, f"{server} requires a stronger authentication: use ldaps:// or start_tls = true"
    if isinstance(exc, (lx.LDAPReferralError,)) or "referral" in text.lower():
        return ErrorKind.PROTOCOL, f"{server} answered with a referral; point the site file at a DC of the domain"
    verify_failed = "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text.lower()
    if isinstance(exc, lx.LDAPCertificateError) or verify_failed:
        return ErrorKind.TLS, certificate_problem(host, port, _peer_certificate(config, host, port), config.ca_file)
    # a DC that hangs (accepts, never answers) times out in the TLS handshake too: timeouts first
    timed_out = isinstance(exc, lx.LDAPSocketReceiveError) or "timed out" in text.lower() or "timeout" in text.lower()
    if not timed_out and (isinstance(exc, lx.LDAPStartTLSError) or "ssl" in text.lower() or "tls" in text.lower()):
        return ErrorKind.TLS, f"TLS with {host} on port {port} failed: {_short(text)}"
    socket_error = isinstance(exc, (lx.LDAPSocketOpenError, lx.LDAPSocketSendError, lx.LDAPSessionTerminatedByServerError,
                                    lx.LDAPCommunicationError, ConnectionError, OSError))
    if timed_out or socket_error:
        unreachable = reach(host, port, config.timeout_seconds)
        if unreachable is not None:
            return unreachable
        if timed_out:
            return ErrorKind.TIMEOUT, (f"{host} accepted the connection on port {port} but did not answer within "
                                       f"{config.timeout_seconds:g} s (the DC is hung or overloaded)")
        return ErrorKind.UNREACHABLE, f"the connection to {host} on port {port} failed: {_short(text)}"
    if isinstance(exc, lx.LDAPInsufficientAccessRightsResult):
        return ErrorKind.ACCESS_DENIED, f"{config.user} may not read what offlineprep needs on {server}"
    if isinstance(exc, lx.LDAPOperationResult):
        return ErrorKind.PROTOCOL, f"{server} answered {exc.result}: {_short(exc.description or text)}"
    if isinstance(exc, lx.LDAPException):
        return ErrorKind.PROTOCOL, f"LDAP error with {server}: {type(exc).__name__}: {_short(text)}"
    return ErrorKind.INTERNAL, f"directory collection failed: {type(exc).__name__}: {_short(text)}"


def _peer_certificate(config: DirectoryConfig, host: str, port: int) -> bytes | None:
    """The server's certificate (DER), read without trusting it, only to describe it; None if it
    cannot be read. StartTLS needs ldap3 to ask for TLS first; ldaps:// is TLS from the first byte."""
    timeout = min(config.timeout_seconds, 10.0)
    try:
        if config.server.lower().startswith("ldaps://"):
            return peer_certificate(host, port, timeout)
        tls_config = ldap3.Tls(validate=ssl.CERT_NONE)
        server = ldap3.Server(config.server, use_ssl=False, tls=tls_config, connect_timeout=timeout, get_info=ldap3.NONE)
        conn = ldap3.Connection(server, receive_timeout=max(1, round(timeout)))
        try:
            conn.open()
            conn.start_tls()
            der: bytes | None = conn.socket.getpeercert(binary_form=True)
            return der
        finally:
            with contextlib.suppress(Exception):
                conn.unbind()
    except Exception:
        return None


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clean(message: str, password: str | None) -> str:
    if password and len(password) >= 3:
        message = message.replace(password, "********")
    return message

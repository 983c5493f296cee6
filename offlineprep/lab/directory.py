"""An in-process directory for the demo and benchmarks: ldap3's MOCK_SYNC strategy with the AD
schema, filled with objects shaped like the ones AD stores (binary SIDs, tokenGroups stored as
values, userAccountControl as a number). The real directory collector runs against it unchanged;
it never uses extensible-match filters, which the mock cannot evaluate.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import ldap3

from offlineprep.security_descriptor import Ace, SecurityDescriptor, encode_descriptor, sid_to_bytes
from offlineprep.site import DirectoryConfig

BIND_DN = "CN=svc-preflight,CN=Users,{base}"


def sid_bytes(sid: str) -> bytes:
    """objectSid as AD stores it (MS-DTYP 2.4.2.2)."""
    return sid_to_bytes(sid)


def rbcd_descriptor(allowed_sids: list[str]) -> bytes:
    """A self-relative security descriptor whose DACL allows `allowed_sids` (as AD stores RBCD): no
    owner, one allow entry of 0xF01FF per SID."""
    dacl = tuple(Ace(type="A", flags=frozenset(), mask=0xF01FF, sid=sid) for sid in allowed_sids)
    return encode_descriptor(SecurityDescriptor(owner=None, group=None, dacl=dacl))


@dataclass
class LabDirectory:
    domain: str = "lab.test"
    domain_sid: str = "S-1-5-21-1111-2222-3333"
    password: str = "lab-ldap-password"
    netbios_name: str | None = None  # when not the first label of `domain`, upper case
    has_crossref: bool = True  # False: the domain's NetBIOS name cannot be read (as from a DC that hides it)
    clock_offset_seconds: float = 0.0  # the DC's clock against this machine's (rootDSE currentTime)
    # the domain's functional level as rootDSE domainFunctionality gives it (MS-ADTS: 6 = Windows Server 2012 R2,
    # 7 = 2016); None: a DC whose rootDSE lacks it
    functional_level: int | None = 7
    # the domain's DCs, (name, site) each, as the configuration lists them (server and nTDSDSA objects); the
    # connection answers as `named_dc` (rootDSE dsServiceName)
    controllers: list[tuple[str, str]] = field(default_factory=lambda: [("dc1", "Default-First-Site-Name")])
    named_dc: str = "dc1"
    _entries: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _rid: int = 1100
    # one mock server for the life of the lab: its entries (ldap3 keeps them on the Server) are filled on the
    # first connection, so a change made through one connection is read back through the next
    _server: Any = field(default=None, init=False, repr=False)
    _binds: dict[str, str] = field(default_factory=dict, init=False, repr=False)  # further bind accounts: DN -> password
    # groups made with `group`: name -> (SID, the names of the groups it is nested in), for computers' tokenGroups
    _groups: dict[str, tuple[str, list[str]]] = field(default_factory=dict, init=False, repr=False)

    @property
    def base_dn(self) -> str:
        return ",".join(f"DC={p}" for p in self.domain.split("."))

    @property
    def netbios(self) -> str:
        return self.netbios_name or self.domain.split(".")[0].upper()

    def next_sid(self) -> str:
        self._rid += 1
        return f"{self.domain_sid}-{self._rid}"

    def computer(self, name: str, uac: int = 0x1000, delegate_to: list[str] | None = None,
                 rbcd: list[str] | None = None, os: str = "Windows Server 2012 R2 Datacenter",
                 os_version: str = "6.3 (9600)", groups: list[str] | None = None) -> str:
        """`groups`: names of groups (made with `group`) the computer is a direct member of (memberOf);
        its primary group is Domain Computers (RID 515), as for every computer account."""
        sid = self.next_sid()
        short = name.upper()
        attrs: dict[str, Any] = {
            "objectClass": ["top", "person", "organizationalPerson", "user", "computer"],
            "sAMAccountName": f"{short}$", "dNSHostName": f"{name.lower()}.{self.domain}",
            "userAccountControl": uac, "objectSid": sid_bytes(sid),
            "servicePrincipalName": [f"HOST/{short}", f"HOST/{name.lower()}.{self.domain}"],
            "operatingSystem": os, "operatingSystemVersion": os_version, "primaryGroupID": 515,
        }
        if groups:
            attrs["memberOf"] = [self.group_dn(g) for g in groups]
        # tokenGroups, constructed by the DC for any account (MS-ADTS 3.1.1.4.5.19): its primary group (Domain
        # Computers) and every group it is in, transitively; read when a host's account is a principal
        attrs["tokenGroups"] = [sid_bytes(g) for g in [f"{self.domain_sid}-515", *self._nested(groups or [])]]
        if delegate_to:
            attrs["msDS-AllowedToDelegateTo"] = delegate_to
        if rbcd:
            attrs["msDS-AllowedToActOnBehalfOfOtherIdentity"] = rbcd_descriptor(rbcd)
        self._add((f"CN={short},CN=Computers,{self.base_dn}", attrs))
        return sid

    def user(self, name: str, uac: int = 0x200, groups: list[str] | None = None, token_groups: bool = True) -> str:
        """`token_groups=False`: the DC does not return tokenGroups for this account, as when it reaches no
        Global Catalog or the bind account may not read it."""
        sid = self.next_sid()
        attrs: dict[str, Any] = {
            "objectClass": ["top", "person", "organizationalPerson", "user"], "sAMAccountName": name,
            "userPrincipalName": f"{name}@{self.domain}", "userAccountControl": uac, "objectSid": sid_bytes(sid),
        }
        if token_groups:
            attrs["tokenGroups"] = [sid_bytes(g) for g in [f"{self.domain_sid}-513", *(groups or [])]]
        self._add((f"CN={name},CN=Users,{self.base_dn}", attrs))
        return sid

    def group(self, name: str, rid: int | None = None, member_of: list[str] | None = None) -> str:
        """`member_of`: names of the groups this group is nested in."""
        sid = f"{self.domain_sid}-{rid}" if rid else self.next_sid()
        attrs: dict[str, Any] = {"objectClass": ["top", "group"], "sAMAccountName": name, "objectSid": sid_bytes(sid),
                                 "distinguishedName": self.group_dn(name)}
        if member_of:
            attrs["memberOf"] = [self.group_dn(g) for g in member_of]
        self._add((self.group_dn(name), attrs))
        self._groups[name] = (sid, list(member_of or []))
        return sid

    def _nested(self, names: list[str]) -> list[str]:
        """The SIDs of the groups `names` and of every group they are nested in."""
        seen: dict[str, str] = {}
        stack = list(names)
        while stack:
            name = stack.pop()
            if name in seen or name not in self._groups:
                continue
            sid, parents = self._groups[name]
            seen[name] = sid
            stack += parents
        return sorted(seen.values())

    def group_dn(self, name: str) -> str:
        return f"CN={name},CN=Users,{self.base_dn}"

    @property
    def configuration_dn(self) -> str:
        return f"CN=Configuration,{self.base_dn}"

    def crossref(self, netbios: str, dns_root: str) -> None:
        """The crossRef of another domain of the forest."""
        self._add(self._crossref(netbios, dns_root))

    def _crossref(self, netbios: str, dns_root: str) -> tuple[str, dict[str, Any]]:
        """A domain's crossRef under CN=Partitions: where its NetBIOS name (nETBIOSName) is kept."""
        nc = ",".join(f"DC={p}" for p in dns_root.split("."))
        return (f"CN={netbios},CN=Partitions,{self.configuration_dn}",
                {"objectClass": ["top", "crossRef"], "nCName": nc, "nETBIOSName": netbios, "dnsRoot": dns_root,
                 "systemFlags": 3})

    def _add(self, entry: tuple[str, dict[str, Any]]) -> None:
        """An object of the lab; once the mock server exists, also in its entries."""
        self._entries.append(entry)
        if self._server is not None:
            self._server_connection().strategy.add_entry(entry[0], {"distinguishedName": entry[0], **entry[1]})

    def bind_account(self, name: str, password: str) -> str:
        """A further account to bind as (the demo's account for changes); its DN."""
        dn = f"CN={name},CN=Users,{self.base_dn}"
        self._binds[dn] = password
        if self._server is not None:
            self._add_bind(self._server_connection(), dn, name, password)
        return dn

    def ntds_settings(self, name: str) -> str:
        site = dict(self.controllers).get(name, "Default-First-Site-Name")
        return f"CN=NTDS Settings,CN={name.upper()},CN=Servers,CN={site},CN=Sites,{self.configuration_dn}"

    def _controller_entries(self) -> list[tuple[str, dict[str, Any]]]:
        """Each DC's server object (its dNSHostName) and nTDSDSA object (its domain, options, invocationId),
        under CN=Servers of its site (MS-ADTS 6.1.1.2.2.1.2.1.1)."""
        sites = f"CN=Sites,{self.configuration_dn}"
        out: list[tuple[str, dict[str, Any]]] = [(sites, {"objectClass": ["top", "sitesContainer"]})]
        for site in dict.fromkeys(site for _, site in self.controllers):
            out.append((f"CN={site},{sites}", {"objectClass": ["top", "site"]}))
            out.append((f"CN=Servers,CN={site},{sites}", {"objectClass": ["top", "serversContainer"]}))
        for name, site in self.controllers:
            server = f"CN={name.upper()},CN=Servers,CN={site},{sites}"
            out.append((server, {"objectClass": ["top", "server"], "dNSHostName": f"{name}.{self.domain}",
                                 "serverReference": f"CN={name.upper()},OU=Domain Controllers,{self.base_dn}"}))
            out.append((self.ntds_settings(name), {
                "objectClass": ["top", "applicationSettings", "nTDSDSA"], "options": 1,
                "msDS-HasDomainNCs": self.base_dn, "invocationId": uuid.uuid5(uuid.NAMESPACE_DNS, name).bytes_le}))
        return out

    def config(self) -> DirectoryConfig:
        return DirectoryConfig(server=f"ldaps://{self.named_dc}." + self.domain, user=BIND_DN.format(base=self.base_dn),
                               base_dn=self.base_dn, password_env="OFFLINEPREP_DEMO_LDAP_PASSWORD")

    def connect(self, config: DirectoryConfig, password: str | None) -> ldap3.Connection:
        """The `connect` seam of `collect_directory`: a bound connection to the mock directory."""
        bind_dn = BIND_DN.format(base=self.base_dn)
        if self._server is None:
            self._server = ldap3.Server("lab", get_info=ldap3.OFFLINE_AD_2012_R2)
            self._fill(self._server_connection(), bind_dn)
        conn = _LabConnection(self._server, user=config.user or bind_dn, password=password,
                              client_strategy=ldap3.MOCK_SYNC, raise_exceptions=True)
        now = datetime.now(UTC) + timedelta(seconds=self.clock_offset_seconds)
        conn.root_dse = {"defaultNamingContext": self.base_dn, "configurationNamingContext": self.configuration_dn,
                         "currentTime": now.strftime("%Y%m%d%H%M%S.0Z"),  # GeneralizedTime, as AD writes it
                         "dsServiceName": self.ntds_settings(self.named_dc)}
        if self.functional_level is not None:  # an integer, written as its decimal text (LDAP INTEGER syntax)
            conn.root_dse["domainFunctionality"] = str(self.functional_level)
        conn.bind()
        return conn

    def _server_connection(self) -> ldap3.Connection:
        return _LabConnection(self._server, client_strategy=ldap3.MOCK_SYNC)

    def _fill(self, conn: ldap3.Connection, bind_dn: str) -> None:
        self._add_bind(conn, bind_dn, "svc-preflight", self.password)
        for dn, password in self._binds.items():
            self._add_bind(conn, dn, dn.split(",", 1)[0].split("=", 1)[1], password)
        conn.strategy.add_entry(self.base_dn, {"objectClass": ["top", "domain"], "objectSid": sid_bytes(self.domain_sid)})
        conn.strategy.add_entry(self.configuration_dn, {"objectClass": ["top", "configuration"]})
        conn.strategy.add_entry(f"CN=Partitions,{self.configuration_dn}", {"objectClass": ["top", "crossRefContainer"]})
        if self.has_crossref:
            conn.strategy.add_entry(*self._crossref(self.netbios, self.domain))
        for dn, attrs in [*self._controller_entries(), *self._entries]:
            conn.strategy.add_entry(dn, {"distinguishedName": dn, **attrs})

    @staticmethod
    def _add_bind(conn: ldap3.Connection, dn: str, name: str, password: str) -> None:
        conn.strategy.add_entry(dn, {"objectClass": ["top", "person", "user"], "sAMAccountName": name,
                                     "userPassword": password})


class _LabConnection(ldap3.Connection):
    """ldap3's mock cannot hold the rootDSE (an empty DN): a base search of "" is answered here."""

    root_dse: dict[str, str] | None = None

    def search(self, search_base: str, search_filter: str, *args: Any, **kwargs: Any) -> bool:
        if search_base != "" or self.root_dse is None:
            return bool(super().search(search_base, search_filter, *args, **kwargs))
        wanted = {a.casefold() for a in kwargs.get("attributes") or []}
        attributes = {k: v for k, v in self.root_dse.items() if k.casefold() in wanted}
        self.response = [{"type": "searchResEntry", "dn": "", "attributes": attributes,
                          "raw_attributes": {k: [v.encode()] for k, v in attributes.items()}}]
        self.result = {"result": 0, "description": "success", "controls": {}}
        return True

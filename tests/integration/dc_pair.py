"""Two Samba DCs of one domain that replicate: the lab for "truth on every domain controller".

PAIR.TEST, a domain of its own (the session's LAB.TEST DC stays a single DC): `pdc1` is provisioned,
`pdc2` joins it with `samba-tool domain join pair.test DC --server=<pdc1>`, each on a loopback
address of its own. What it takes on one machine (lab notes, "two DCs of one domain, replicating"):
each DC its own `interfaces`, pid, ncalrpc, winbindd and ntp_signd folders and log; `server services
= rpc ldap cldap kdc drepl kcc`; `_NO_WINBINDD=1`; both DCs' `<NTDS Settings objectGUID>._msdcs.<domain>`
names in /etc/hosts (DRS asks for its partner by that name); `samba_spnupdate` on both (or DRS's
Kerberos bind fails); and a krb5.conf naming both KDCs under both spellings of the realm.

To make them disagree, a DC's inbound replication is paused (`samba-tool drs options <dc>
--dsa-option=+DISABLE_INBOUND_REPL`: its pulls are refused, WERR_DS_DRA_SINK_DISABLED); a change is
then written on ONE DC over LDAP (`ldbmodify -H ldap://<that dc>`), as an administrator or apply
would. `resume_and_converge()` clears the option and forces `samba-tool drs replicate` of the domain,
configuration and schema partitions both ways.

Use: `dc_pair` is a session fixture (conftest.py imports it); a test that pauses a DC resumes it,
best with `with dc_pair.inbound_paused(dc_pair.dc2): ...`, which converges on the way out.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import struct
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from samba import ACCOUNT_PASSWORD, ADMIN_PASSWORD, UF_NORMAL_ACCOUNT, UF_WORKSTATION_TRUST_ACCOUNT, SambaDC, require_samba

PAIR_REALM = "PAIR.TEST"
PAIR_NETBIOS = "PAIR"
DISABLE_INBOUND_REPL = 0x2  # nTDSDSA options (samba-tool drs options' DISABLE_INBOUND_REPL); IS_GC is 0x1
T = TypeVar("T")


@dataclass
class DCPair:
    """Two writable DCs of PAIR.TEST (dc1 provisioned, dc2 joined) and what tests do with them."""

    folder: Path
    dc1: SambaDC = field(init=False)
    dc2: SambaDC = field(init=False)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per start-up step, for docs/replication.md
    _paused: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.dc1 = SambaDC(self.folder / "pdc1", realm=PAIR_REALM, netbios=PAIR_NETBIOS, dc_name="pdc1", isolated=True)
        self.dc2 = SambaDC(self.folder / "pdc2", realm=PAIR_REALM, netbios=PAIR_NETBIOS, dc_name="pdc2", isolated=True)

    # ------------------------------------------------------------------ what the tests read

    @property
    def dcs(self) -> tuple[SambaDC, SambaDC]:
        return self.dc1, self.dc2

    @property
    def dns_domain(self) -> str:
        return self.dc1.dns_domain

    @property
    def base_dn(self) -> str:
        return self.dc1.base_dn

    @property
    def configuration_dn(self) -> str:
        return f"CN=Configuration,{self.base_dn}"

    @property
    def schema_dn(self) -> str:
        return f"CN=Schema,{self.configuration_dn}"

    @property
    def naming_contexts(self) -> tuple[str, str, str]:
        return self.base_dn, self.configuration_dn, self.schema_dn

    @property
    def admin_user(self) -> str:
        """The administrator as a UPN (a SIMPLE bind over LDAPS takes it)."""
        return self.dc1.admin_upn

    @property
    def admin_password(self) -> str:
        return ADMIN_PASSWORD

    @property
    def ca_bundle(self) -> Path:
        """One PEM file trusting both DCs (each Samba DC makes its own self-signed CA)."""
        return self.folder / "ca-bundle.pem"

    @property
    def krb5_config(self) -> Path:
        return self.folder / "krb5.conf"

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> DCPair:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._write_krb5_conf()
        for dc in self.dcs:
            dc.krb5_config = self.krb5_config
        began = step = time.monotonic()

        def lap(name: str) -> None:
            nonlocal step
            now = time.monotonic()
            self.timings[name] = round(now - step, 1)
            step = now

        self.dc1.start()
        lap("provision and start dc1")
        self._spnupdate(self.dc1)
        self.dc2.make(join=self.dc1)
        lap("join dc2")
        # DRS asks for its partner as <NTDS Settings objectGUID>._msdcs.<domain>: both names resolve
        # before dc2 runs (dc1 asks for dc2's about a second after the join)
        guids = self.ntds_guids(self.dc2)
        for dc in self.dcs:
            dc.set_hosts_names(f"{guids[dc.dc_name]}._msdcs.{self.dns_domain}")
        self._spnupdate(self.dc2)
        self.dc2.launch()
        lap("start dc2")
        self.ca_bundle.write_text(self.dc1.ca_file.read_text() + self.dc2.ca_file.read_text())
        self.converge()
        lap("first convergence")
        self.timings["total"] = round(time.monotonic() - began, 1)
        return self

    def stop(self) -> None:
        for dc in (self.dc2, self.dc1):
            dc.stop()

    def _write_krb5_conf(self) -> None:
        """Both KDCs under both spellings of the realm: Samba's DRS client asks for the realm as written
        in the partner's name as well as in capitals (lab notes)."""
        kdcs = "".join(f"  kdc = {dc.ip}\n" for dc in self.dcs)
        realms = "".join(f" {realm} = {{\n{kdcs} }}\n" for realm in (PAIR_REALM, PAIR_REALM.lower()))
        self.krb5_config.write_text(
            f"[libdefaults]\n default_realm = {PAIR_REALM}\n dns_lookup_kdc = false\n dns_lookup_realm = false\n"
            f" rdns = false\n dns_canonicalize_hostname = false\n[realms]\n{realms}"
            f"[domain_realm]\n .{PAIR_REALM.lower()} = {PAIR_REALM}\n {PAIR_REALM.lower()} = {PAIR_REALM}\n")

    def _spnupdate(self, dc: SambaDC) -> None:
        """samba_spnupdate: the DRS service principal the dnsupdate service would have registered."""
        proc = subprocess.run(["samba_spnupdate", "-s", str(dc.smb_conf)], capture_output=True, text=True,
                              env=dc.env(), timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"samba_spnupdate on {dc.dc_name}: {(proc.stdout + proc.stderr).strip()[-800:]}")

    def ntds_guids(self, dc: SambaDC) -> dict[str, str]:
        """{dc name (lower case): objectGUID of its NTDS Settings}, read from `dc`'s own database."""
        out = subprocess.run(["ldbsearch", "-H", str(dc.sam), "-b", f"CN=Sites,{self.configuration_dn}",
                              "(objectClass=nTDSDSA)", "objectGUID"], capture_output=True, text=True, check=True).stdout
        guids: dict[str, str] = {}
        server = ""
        for line in out.splitlines():
            if line.startswith("dn: "):
                server = line.split(",")[1].removeprefix("CN=").lower()
            elif line.startswith("objectGUID: "):
                guids[server] = line.split(": ", 1)[1].strip()
        return guids

    # ------------------------------------------------------------------ replication

    def drs(self, *args: str, dc: SambaDC | None = None) -> str:
        """`samba-tool drs ...` against `dc` (default dc1) as the administrator, the password in PASSWD:
        e.g. `pair.drs("showrepl", pair.dc2.dc_fqdn, dc=pair.dc2)`."""
        dc = dc or self.dc1
        proc = subprocess.run(["samba-tool", "drs", *args, "-U", f"{dc.netbios}\\Administrator", "-s", str(dc.smb_conf)],
                              capture_output=True, text=True, env=dc.env(admin=True), timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"samba-tool drs {' '.join(args)}: {(proc.stdout + proc.stderr).strip()[-800:]}")
        return proc.stdout

    def pause_inbound(self, dc: SambaDC) -> None:
        """`dc` stops pulling changes from its partner until resumed: what `samba-tool drs options <dc>
        --dsa-option=+DISABLE_INBOUND_REPL` does, an LDAP modify of `options` on the DC's own NTDS
        Settings object, written on that DC (its pulls are then refused, WERR_DS_DRA_SINK_DISABLED)."""
        self._set_dsa_option(dc, DISABLE_INBOUND_REPL, on=True)
        self._paused.add(dc.dc_name)

    def resume_inbound(self, dc: SambaDC) -> None:
        """`samba-tool drs options <dc> --dsa-option=-DISABLE_INBOUND_REPL`."""
        self._set_dsa_option(dc, DISABLE_INBOUND_REPL, on=False)
        self._paused.discard(dc.dc_name)

    def _set_dsa_option(self, dc: SambaDC, flag: int, on: bool) -> None:
        import ldap3

        ntds = f"CN=NTDS Settings,CN={dc.dc_name.upper()},CN=Servers,CN=Default-First-Site-Name,CN=Sites,{self.configuration_dn}"
        options = int(self.read(dc, ntds, "options")[0])
        options = options | flag if on else options & ~flag
        with self._connect(dc) as conn:
            if not conn.modify(ntds, {"options": [(ldap3.MODIFY_REPLACE, [str(options)])]}):
                raise RuntimeError(f"options of {ntds} on {dc.dc_name}: {conn.result}")

    def converge(self) -> None:
        """Force replication of the domain, configuration and schema partitions both ways: what
        `samba-tool drs replicate <dest> <source> <NC>` does six times (DsReplicaSync to the destination
        DC naming the source's NTDS Settings objectGUID), in one process: one samba-tool start costs
        about a second on a loaded machine, the call itself milliseconds."""
        guids = self.ntds_guids(self.dc1)
        calls = [(dest.dc_fqdn, guids[source.dc_name], nc)
                 for dest, source in ((self.dc2, self.dc1), (self.dc1, self.dc2)) for nc in self.naming_contexts]
        proc = subprocess.run(["/usr/bin/python3", "-c", _SYNC_SCRIPT, str(self.dc1.smb_conf), json.dumps(calls)],
                              capture_output=True, text=True, env=self.dc1.env(admin=True), timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"DsReplicaSync: {(proc.stdout + proc.stderr).strip()[-1500:]}")

    def resume_and_converge(self) -> None:
        """Clear DISABLE_INBOUND_REPL on every paused DC, then force replication both ways."""
        for dc in self.dcs:
            if dc.dc_name in self._paused:
                self.resume_inbound(dc)
        self.converge()

    @contextlib.contextmanager
    def inbound_paused(self, dc: SambaDC) -> Iterator[SambaDC]:
        """`with pair.inbound_paused(pair.dc2):` — dc2 disagrees inside, both agree again after."""
        self.pause_inbound(dc)
        try:
            yield dc
        finally:
            self.resume_and_converge()

    @staticmethod
    def wait_until(predicate: Callable[[], T], timeout: float = 30, interval: float = 0.5) -> T:
        """The first truthy answer of `predicate`, asked every `interval` s; AssertionError after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            answer = predicate()
            if answer:
                return answer
            if time.monotonic() >= deadline:
                raise AssertionError(f"not true within {timeout} s: {predicate!r} answered {answer!r}")
            time.sleep(interval)

    # ------------------------------------------------------------------ writes on ONE chosen DC, over LDAP

    def ldap_tool(self, dc: SambaDC, tool: str, ldif: str) -> None:
        """`ldbadd`/`ldbmodify -H ldap://<dc>` as the administrator: the write lands in that DC's
        database first (originating there, as an administrator's or apply's write would) and reaches
        the other DC only by replication."""
        proc = subprocess.run([tool, "-H", f"ldap://{dc.dc_fqdn}", "-U", f"{dc.netbios}\\Administrator"], input=ldif,
                              capture_output=True, text=True, env=dc.env(admin=True), timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"{tool} on {dc.dc_name}: {(proc.stdout + proc.stderr).strip()[-800:]}\n{ldif}")

    def computer_dn(self, name: str) -> str:
        return f"CN={name},CN=Computers,{self.base_dn}"

    def user_dn(self, name: str) -> str:
        return f"CN={name},CN=Users,{self.base_dn}"

    def add_computer(self, dc: SambaDC, name: str, uac: int = UF_WORKSTATION_TRUST_ACCOUNT,
                     delegate_to: tuple[str, ...] = (), spns: tuple[str, ...] = (),
                     password: str = ACCOUNT_PASSWORD) -> str:
        """A computer account NAME$ (dNSHostName name.pair.test, a password the KDC helper logs on with)
        made on `dc`; its DN."""
        self.ldap_tool(dc, "ldbadd", dc.computer_ldif(name, uac=uac, delegate_to=delegate_to, spns=spns,
                                                        password=password))
        return self.computer_dn(name)

    def add_user(self, dc: SambaDC, name: str, uac: int = UF_NORMAL_ACCOUNT, password: str = ACCOUNT_PASSWORD) -> str:
        self.ldap_tool(dc, "ldbadd", dc.user_ldif(name, uac=uac, password=password))
        return self.user_dn(name)

    def replace(self, dc: SambaDC, dn: str, attribute: str, values: tuple[str, ...] | list[str]) -> None:
        """Replace `attribute` of `dn` on `dc` with `values` (none: the attribute is cleared)."""
        lines = [f"dn: {dn}", "changetype: modify", f"replace: {attribute}", *(f"{attribute}: {v}" for v in values)]
        self.ldap_tool(dc, "ldbmodify", "\n".join(lines) + "\n")

    def set_allowed_to_delegate_to(self, dc: SambaDC, name: str, spns: tuple[str, ...] | list[str]) -> None:
        self.replace(dc, self.computer_dn(name), "msDS-AllowedToDelegateTo", spns)

    def set_user_account_control(self, dc: SambaDC, name: str, uac: int) -> None:
        self.replace(dc, self.computer_dn(name), "userAccountControl", [str(uac)])

    # ------------------------------------------------------------------ reads from ONE chosen DC, over LDAPS

    def search(self, dc: SambaDC, base: str, ldap_filter: str, attributes: list[str],
               scope: str = "SUBTREE") -> list[dict[str, Any]]:
        """ldap3 over LDAPS to `dc` only (SIMPLE bind as the administrator, the pair's CA bundle):
        [{"dn": ..., attribute: [values]}]. Constructed attributes (msDS-ReplAttributeMetaData) come
        back only when named in `attributes`."""
        import ldap3

        with self._connect(dc) as conn:
            conn.search(base, ldap_filter, search_scope=getattr(ldap3, scope), attributes=attributes)
            return [{"dn": e.entry_dn, **{k: list(v) if isinstance(v, list) else [v]
                                          for k, v in e.entry_attributes_as_dict.items()}} for e in conn.entries]

    def _connect(self, dc: SambaDC) -> Any:
        import ldap3

        tls = ldap3.Tls(ca_certs_file=str(self.ca_bundle), validate=2)  # ssl.CERT_REQUIRED
        server = ldap3.Server(dc.dc_fqdn, port=636, use_ssl=True, tls=tls, get_info=ldap3.NONE, connect_timeout=10)
        return ldap3.Connection(server, user=self.admin_user, password=self.admin_password, auto_bind=True,
                                receive_timeout=30)

    def read(self, dc: SambaDC, dn: str, attribute: str) -> list[str]:
        """The values of one attribute of one object as `dc` answers ([] when absent or no such object)."""
        import ldap3.core.exceptions

        try:
            found = self.search(dc, dn, "(objectClass=*)", [attribute], scope="BASE")
        except ldap3.core.exceptions.LDAPNoSuchObjectResult:
            return []
        if not found:
            return []
        return [str(v) for v in next((vals for key, vals in found[0].items() if key.lower() == attribute.lower()), [])]

    # ------------------------------------------------------------------ who wrote an attribute last, and when

    def ntds_settings(self, dc: SambaDC) -> list[dict[str, Any]]:
        """The nTDSDSA objects (one per DC) as `dc` answers: dn, objectGUID, invocationId, options,
        msDS-hasMasterNCs. `options` bit 1 is DISABLE_INBOUND_REPL (set while paused), bit 0 IS_GC."""
        return self.search(dc, f"CN=Sites,{self.configuration_dn}", "(objectClass=nTDSDSA)",
                           ["objectGUID", "invocationId", "options", "msDS-hasMasterNCs"])

    def origin(self, dc: SambaDC, dn: str, attribute: str) -> Origin | None:
        """The replication metadata of one attribute as `dc` holds it (None: never written there).

        What Samba 4.17 answers, measured: the constructed `msDS-ReplAttributeMetaData` (Windows: one
        XML string per attribute, DS_REPL_ATTR_META_DATA_2 with pszLastOriginatingDsaDN) comes back
        EMPTY even when asked for by name — Samba does not construct it. The stored
        `replPropertyMetaData` does come back over LDAP when asked for by name: a little-endian blob
        (Samba's drsblobs.idl replPropertyMetaDataBlob, version 1): uint32 version=1, uint32 reserved,
        uint32 count, uint32 reserved, then `count` entries of 48 bytes: uint32 attid, uint32 version,
        uint64 originating change time (seconds since 1601-01-01 UTC), 16-byte originating invocationId
        (a GUID, bytes_le), uint64 originating USN, uint64 local USN. The originating DSA is the nTDSDSA
        object whose invocationId matches (not its objectGUID: a joined DC's two differ)."""
        found = self.search(dc, dn, "(objectClass=*)", ["replPropertyMetaData"], scope="BASE")
        blob = next((v[0] for k, v in found[0].items() if k.lower() == "replpropertymetadata" and v), b"") if found else b""
        wanted = attid(self.attribute_id(dc, attribute))
        for entry in parse_repl_property_metadata(blob):
            if entry["attid"] == wanted:
                dsas = {uuid.UUID(bytes_le=bytes(d["invocationId"][0])): d["dn"] for d in self.ntds_settings(dc)}
                return Origin(version=entry["version"], time=entry["time"], invocation_id=entry["invocation_id"],
                              dsa_dn=dsas.get(entry["invocation_id"], ""), originating_usn=entry["originating_usn"],
                              local_usn=entry["local_usn"])
        return None

    def attribute_id(self, dc: SambaDC, attribute: str) -> str:
        """The attribute's attributeID (its OID) from the schema partition."""
        found = self.search(dc, self.schema_dn, f"(&(objectClass=attributeSchema)(lDAPDisplayName={attribute}))",
                            ["attributeID"], scope="LEVEL")
        return str(found[0]["attributeID"][0])


@dataclass(frozen=True)
class Origin:
    """One attribute's replication metadata on one DC: the originating write (DC and time), and the USN
    the reading DC applied it at."""

    version: int
    time: datetime.datetime
    invocation_id: uuid.UUID
    dsa_dn: str  # the originating DC's NTDS Settings DN (pszLastOriginatingDsaDN on Windows)
    originating_usn: int
    local_usn: int

    @property
    def dc_name(self) -> str:
        """`PDC1` from `CN=NTDS Settings,CN=PDC1,CN=Servers,...`."""
        return self.dsa_dn.split(",")[1].removeprefix("CN=") if self.dsa_dn else ""


# the default prefix table's OID prefixes for the attributes the checks judge (MS-DRSR 5.16.4
# "ATTRTYP-to-OID Conversion"); measured here: userAccountControl 1.2.840.113556.1.4.8 is 0x00090008
_PREFIXES = {"2.5.4": 0x0000, "1.2.840.113556.1.2": 0x0002, "1.2.840.113556.1.4": 0x0009}


def attid(oid: str) -> int:
    """The ATTRTYP of a base-schema attribute: prefix index << 16 | last arc (arcs below 16384)."""
    prefix, _, last = oid.rpartition(".")
    return (_PREFIXES[prefix] << 16) | int(last)


def parse_repl_property_metadata(blob: bytes) -> list[dict[str, Any]]:
    """replPropertyMetaData as Samba returns it over LDAP (layout in DCPair.origin)."""
    if len(blob) < 16:
        return []
    version, _, count, _ = struct.unpack_from("<IIII", blob, 0)
    if version != 1:
        raise ValueError(f"replPropertyMetaData version {version}")
    entries = []
    for i in range(count):
        attr, ver, seconds, guid, o_usn, l_usn = struct.unpack_from("<IIQ16sQQ", blob, 16 + 48 * i)
        entries.append({"attid": attr, "version": ver, "invocation_id": uuid.UUID(bytes_le=guid),
                        "time": _NT_EPOCH + datetime.timedelta(seconds=seconds),
                        "originating_usn": o_usn, "local_usn": l_usn})
    return entries


_NT_EPOCH = datetime.datetime(1601, 1, 1, tzinfo=datetime.UTC)


@pytest.fixture(scope="session")
def dc_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DCPair]:
    """Two replicating DCs of PAIR.TEST, started once per session (21-44 s, docs/replication.md)."""
    require_samba()
    pair = DCPair(tmp_path_factory.mktemp("dc-pair"))
    try:
        pair.start()
        yield pair
    finally:
        pair.stop()


# Run by Debian's python3 (python3-samba): samba-tool drs replicate's DsReplicaSync, several at once.
# argv: smb.conf, JSON [[destination DC, source NTDS Settings objectGUID, naming context], ...];
# the administrator's password in PASSWD.
_SYNC_SCRIPT = """
import json, os, sys
from samba import drs_utils
from samba.credentials import Credentials
from samba.dcerpc import drsuapi
from samba.param import LoadParm
lp = LoadParm(); lp.load(sys.argv[1])
creds = Credentials(); creds.guess(lp)
creds.set_username("Administrator"); creds.set_password(os.environ["PASSWD"]); creds.set_domain(lp.get("workgroup"))
bound = {}
for dest, source_guid, nc in json.loads(sys.argv[2]):
    if dest not in bound:
        bound[dest] = drs_utils.drsuapi_connect(dest, lp, creds)
    connection, handle = bound[dest][0], bound[dest][1]
    connection.request_timeout = 300
    drs_utils.sendDsReplicaSync(connection, handle, source_guid, nc, drsuapi.DRSUAPI_DRS_WRIT_REP)
"""

"""A real Samba AD domain controller for the tests, on a loopback address of its own.

Provisioned into a temporary folder (its own pid folder too, so it never collides with another
Samba), started in the foreground (`samba -i`), and stopped at the end. Objects are made the way
administrators make them: samba-tool computer/user/group/delegation/spn, and ldbmodify for what
samba-tool does not set (dNSHostName, userAccountControl bits).

Several DCs run side by side (two domains, issue 15): each gets its own realm, NetBIOS domain, DC
name and loopback address, so their /etc/hosts lines and Kerberos realms never clash. The defaults
are the single lab domain every other test uses (LAB.TEST, dc1).
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

REALM = "LAB.TEST"
DOMAIN = "LAB"
ADMIN_PASSWORD = "Passw0rd!Lab-9f3c"
DC_NAME = "dc1"
DC_FQDN = "dc1.lab.test"
UF_NORMAL_ACCOUNT = 0x200
UF_WORKSTATION_TRUST_ACCOUNT = 0x1000
ACCOUNT_PASSWORD = "Acc0unt-Passw0rd!7d"  # for accounts made with add_accounts (a test lab, not a secret)


def require_samba() -> None:
    """The one gate of every Samba fixture: CI must have the DC (scripts/setup.sh installs it), so there
    its absence fails; a workstation without samba or root skips the integration tests instead."""
    if not samba_installed() or os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("the Samba AD DC tests need samba and root in CI (scripts/setup.sh installs samba)")
        pytest.skip("Samba AD DC not installed, or not root")


def samba_installed() -> bool:
    return all(shutil.which(t) for t in ("samba", "samba-tool", "ldbmodify"))


_RESERVED: set[str] = set()  # addresses handed to a DC of this process that has not added them to lo yet


def free_loopback_address() -> str:
    out = subprocess.run(["ip", "-o", "addr", "show", "dev", "lo"], capture_output=True, text=True).stdout
    for last in range(40, 60):
        ip = f"127.0.0.{last}"
        if f"inet {ip}/" not in out and ip not in _RESERVED:
            _RESERVED.add(ip)
            return ip
    raise RuntimeError("no free loopback address in 127.0.0.40-59")


class SambaDC:
    def __init__(self, folder: Path, ip: str | None = None, realm: str = REALM, netbios: str = DOMAIN,
                 dc_name: str = DC_NAME, isolated: bool = False) -> None:
        self.folder = folder
        self.ip = ip or free_loopback_address()
        self.realm = realm.upper()
        self.netbios = netbios.upper()
        self.dns_domain = realm.lower()
        self.dc_name = dc_name
        self.dc_fqdn = f"{dc_name}.{self.dns_domain}"
        self.process: subprocess.Popen[bytes] | None = None
        self._added_address = False
        self._hosts_line = f"{self.ip} {self.dc_fqdn} {dc_name}  # offlineprep tests\n"
        # isolated: every socket folder of its own and only the services LDAP, Kerberos and DRS need,
        # so two DCs of one domain run side by side (lab notes, "two DCs of one domain, replicating")
        self.isolated = isolated
        self.krb5_config: Path | None = None  # the krb5.conf the samba processes use (the DRS client's KDCs)

    # ------------------------------------------------------------------ lifecycle

    @property
    def smb_conf(self) -> Path:
        return self.folder / "etc" / "smb.conf"

    @property
    def sam(self) -> Path:
        return self.folder / "private" / "sam.ldb"

    @property
    def ca_file(self) -> Path:
        return self.folder / "private" / "tls" / "ca.pem"

    @property
    def url(self) -> str:
        return f"ldaps://{self.dc_fqdn}"

    @property
    def base_dn(self) -> str:
        return ",".join(f"DC={label}" for label in self.dns_domain.split("."))

    @property
    def admin_upn(self) -> str:
        return f"Administrator@{self.dns_domain}"

    def start(self, join: SambaDC | None = None) -> SambaDC:
        """Provision a new domain (or join `join`'s), then run it."""
        return self.make(join).launch()

    def make(self, join: SambaDC | None = None) -> SambaDC:
        """Provision a new domain, or with `join` become a further DC of `join`'s domain
        (`samba-tool domain join REALM DC --server=<join's address>`, what DRS replication needs)."""
        subprocess.run(["ip", "addr", "add", f"{self.ip}/32", "dev", "lo"], check=True, capture_output=True)
        self._added_address = True
        self.set_hosts_names()
        run_dir = self.folder / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        options = [f"--option=interfaces={self.ip}", "--option=bind interfaces only=yes",
                   f"--option=pid directory={run_dir}",
                   "--option=ldap server require strong auth=allow_sasl_over_tls"]
        if self.isolated:
            for folder in ("ncalrpc", "winbindd", "ntp_signd"):
                (run_dir / folder).mkdir(exist_ok=True)
            options += [f"--option=ncalrpc dir={run_dir / 'ncalrpc'}",
                        f"--option=winbindd socket directory={run_dir / 'winbindd'}",
                        f"--option=ntp signd socket directory={run_dir / 'ntp_signd'}",
                        f"--option=log file={self.folder / 'log.samba'}",
                        "--option=server services=rpc ldap cldap kdc drepl kcc"]
        if join is None:
            command = ["samba-tool", "domain", "provision", f"--realm={self.realm}", f"--domain={self.netbios}",
                       "--server-role=dc", "--dns-backend=NONE", f"--adminpass={ADMIN_PASSWORD}",
                       f"--targetdir={self.folder}", f"--host-name={self.dc_name}", "--use-rfc2307", *options]
        else:
            # the password travels in PASSWD (Samba's credentials read it), not in argv
            command = ["samba-tool", "domain", "join", self.dns_domain, "DC", f"--server={join.ip}",
                       "--dns-backend=NONE", f"--targetdir={self.folder}", "-U", "Administrator",
                       f"--option=netbios name={self.dc_name.upper()}", f"--option=workgroup={self.netbios}",
                       f"--realm={self.realm}", *options]
        made = subprocess.run(command, capture_output=True, text=True, timeout=300, env=self.env(admin=True))
        if made.returncode != 0:
            # samba-tool says what is missing (a package, a free address) only on stderr
            raise RuntimeError(f"samba-tool domain {command[2]} exited {made.returncode}: "
                               f"{made.stderr.strip()[-1500:]}")
        return self

    def launch(self) -> SambaDC:
        """Run the provisioned or joined DC (`samba -i`, foreground) and wait until LDAPS answers."""
        log = open(self.folder / "samba.log", "wb")  # noqa: SIM115 - lives as long as the process
        self.process = subprocess.Popen(["samba", "-i", "-M", "single", "-s", str(self.smb_conf)],
                                        stdout=log, stderr=subprocess.STDOUT, env=self.env())
        self._wait_for_ldaps()
        return self

    def env(self, admin: bool = False) -> dict[str, str]:
        """The environment of this DC's samba and samba-tool processes: an isolated DC runs without
        winbindd (`_NO_WINBINDD=1`) and with its own krb5.conf; `admin` adds the administrator's
        password as PASSWD, where Samba's tools look for it when argv names only the user."""
        env = dict(os.environ)
        if self.isolated:
            env["_NO_WINBINDD"] = "1"
        if self.krb5_config is not None:
            env["KRB5_CONFIG"] = str(self.krb5_config)
        if admin:
            env["PASSWD"] = ADMIN_PASSWORD
        return env

    def set_hosts_names(self, *more: str) -> None:
        """This DC's /etc/hosts line: its address, FQDN and short name, and `more` names (a joined
        DC's `<NTDS Settings objectGUID>._msdcs.<domain>`, the name DRS asks for)."""
        line = " ".join([self.ip, self.dc_fqdn, self.dc_name, *more]) + "  # offlineprep tests\n"
        hosts = Path("/etc/hosts")
        text = hosts.read_text()
        kept = "".join(old for old in text.splitlines(True) if old != self._hosts_line and f" {self.dc_fqdn} " not in old)
        if kept + line != text:
            hosts.write_text(kept + line)
        self._hosts_line = line

    def _wait_for_ldaps(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"samba exited: {(self.folder / 'samba.log').read_text()[-2000:]}")
            try:
                with socket.create_connection((self.ip, 636), timeout=1):
                    time.sleep(1.5)  # the TLS listener accepts a moment before it answers binds
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("Samba's LDAPS port did not open in time")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None
        if self._added_address:
            subprocess.run(["ip", "addr", "del", f"{self.ip}/32", "dev", "lo"], capture_output=True)
            self._added_address = False
        _RESERVED.discard(self.ip)
        hosts = Path("/etc/hosts")
        text = hosts.read_text()
        if self._hosts_line in text:
            hosts.write_text(text.replace(self._hosts_line, ""))

    def pause(self) -> None:
        """Stop answering (SIGSTOP) to make a DC that hangs in the middle of a run."""
        if self.process is not None:
            os.kill(self.process.pid, 19)

    def resume(self) -> None:
        if self.process is not None:
            os.kill(self.process.pid, 18)

    # ------------------------------------------------------------------ administration

    def tool(self, *args: str) -> str:
        proc = subprocess.run(["samba-tool", *args, "-s", str(self.smb_conf)], capture_output=True, text=True,
                              timeout=120, env=self.env(admin=True))
        if proc.returncode != 0:
            raise RuntimeError(f"samba-tool {' '.join(args)}: {proc.stderr.strip()[-800:]}")
        return proc.stdout

    def modify(self, ldif: str) -> None:
        proc = subprocess.run(["ldbmodify", "-H", str(self.sam)], input=ldif,
                              capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"ldbmodify: {proc.stderr.strip()[-800:]}\n{ldif}")

    def add(self, ldif: str) -> None:
        proc = subprocess.run(["ldbadd", "-H", str(self.sam)], input=ldif,
                              capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"ldbadd: {proc.stderr.strip()[-800:]}")

    def computer(self, name: str, fqdn: bool = True, enabled: bool = True) -> str:
        """A computer account as `samba-tool computer create` makes it, then joined-like (enabled)."""
        args = ["computer", "create", name]
        if enabled:
            args.append("--prepare-oldjoin")
        self.tool(*args)
        dn = f"CN={name},CN=Computers,{self.base_dn}"
        if fqdn:
            self.set_attribute(dn, "dNSHostName", f"{name.lower()}.{self.dns_domain}")
        return dn

    def set_attribute(self, dn: str, attribute: str, value: str) -> None:
        self.modify(f"dn: {dn}\nchangetype: modify\nreplace: {attribute}\n{attribute}: {value}\n")

    def user(self, name: str, password: str = "Us3r-Passw0rd!x") -> str:
        self.tool("user", "create", name, password)
        return f"CN={name},CN=Users,{self.base_dn}"

    def domain_sid(self) -> str:
        out = subprocess.run(["ldbsearch", "-H", str(self.sam), "-s", "base", "-b", self.base_dn, "objectSid"],
                             capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("objectSid:"):
                return line.split(":", 1)[1].strip()
        raise RuntimeError(out)

    # ------------------------------------------------------------------ many objects at once, and the KDC

    def add_accounts(self, *ldif_entries: str) -> None:
        """Several accounts in one ldbadd through the DC's own database (as system): a few hundred
        milliseconds, where samba-tool takes about a second per call. Passwords go in as unicodePwd,
        which Samba's password_hash module turns into the Kerberos keys the KDC uses."""
        self.add("\n".join(ldif_entries))

    def computer_ldif(self, name: str, uac: int = UF_WORKSTATION_TRUST_ACCOUNT, delegate_to: tuple[str, ...] = (),
                      spns: tuple[str, ...] = (), password: str = ACCOUNT_PASSWORD) -> str:
        """A computer account: sAMAccountName NAME$, dNSHostName name.<domain>, msDS-AllowedToDelegateTo."""
        lines = [f"dn: CN={name},CN=Computers,{self.base_dn}", "objectClass: computer", f"sAMAccountName: {name}$",
                 f"userAccountControl: {uac}", f"dNSHostName: {name.lower()}.{self.dns_domain}",
                 f"unicodePwd:: {_unicode_pwd(password)}"]
        lines += [f"msDS-AllowedToDelegateTo: {spn}" for spn in delegate_to]
        lines += [f"servicePrincipalName: {spn}" for spn in spns]
        return "\n".join(lines) + "\n"

    def user_ldif(self, name: str, uac: int = UF_NORMAL_ACCOUNT, password: str = ACCOUNT_PASSWORD) -> str:
        return "\n".join([f"dn: CN={name},CN=Users,{self.base_dn}", "objectClass: user", f"sAMAccountName: {name}",
                          f"userPrincipalName: {name}@{self.dns_domain}", f"userAccountControl: {uac}",
                          f"unicodePwd:: {_unicode_pwd(password)}"]) + "\n"

    def add_to_group(self, group_cn: str, member_dn: str) -> None:
        self.modify(f"dn: CN={group_cn},CN=Users,{self.base_dn}\nchangetype: modify\nadd: member\nmember: {member_dn}\n")

    def krb5_conf(self, folder: Path) -> Path:
        """An MIT krb5.conf naming this DC's address as the KDC of its realm, nothing looked up in DNS."""
        conf = folder / "krb5.conf"
        conf.write_text(f"[libdefaults]\n default_realm = {self.realm}\n dns_lookup_kdc = false\n dns_lookup_realm = false\n"
                        " rdns = false\n dns_canonicalize_hostname = false\n"
                        f"[realms]\n {self.realm} = {{\n  kdc = {self.ip}\n }}\n")
        return conf

    def set_security_descriptor(self, dn: str, attribute: str, sddl: str) -> None:
        """Write a security-descriptor attribute as the DC's own database does, as system.

        Samba 4.17 refuses an LDAP write of msDS-AllowedToActOnBehalfOfOtherIdentity ("can only be
        modified as system"); its LDAP reads work. So resource-based delegation is set the way the lab
        notes measured: the SDDL packed as NDR by python3-samba (Debian's own interpreter), then
        ldbmodify on sam.ldb."""
        script = ("import base64,sys\nfrom samba.dcerpc import security\nfrom samba.ndr import ndr_pack\n"
                  "sd = security.descriptor.from_sddl(sys.argv[1], security.dom_sid(sys.argv[2]))\n"
                  "print(base64.b64encode(ndr_pack(sd)).decode())\n")
        packed = subprocess.run(["/usr/bin/python3", "-c", script, sddl, self.domain_sid()], capture_output=True,
                                text=True, check=True).stdout.strip()
        self.modify(f"dn: {dn}\nchangetype: modify\nreplace: {attribute}\n{attribute}:: {packed}\n")

    def object_sid(self, dn: str) -> str:
        out = subprocess.run(["ldbsearch", "-H", str(self.sam), "-s", "base", "-b", dn, "objectSid"],
                             capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("objectSid:"):
                return line.split(":", 1)[1].strip()
        raise RuntimeError(out)



def _unicode_pwd(password: str) -> str:
    """unicodePwd as AD takes it: the password in double quotes, UTF-16LE, here base64 for LDIF."""
    return base64.b64encode(f'"{password}"'.encode("utf-16-le")).decode("ascii")


def kerberos_tools_installed() -> bool:
    return all(shutil.which(t) for t in ("kinit", "kvno"))


class KDC:
    """Asks the DC's KDC what VMMS asks it: S4U2Self then S4U2Proxy, as the Hyper-V host's account.

    MIT `kinit -f` as HOST$ (forwardable: without it every S4U2Proxy fails), then `kvno -U <user> -P
    cifs/<name>`. impacket's getST fails against Samba's KDC at S4U2Self (lab notes); MIT kvno works.
    """

    def __init__(self, dc: SambaDC, folder: Path) -> None:
        self.folder = folder
        self.realm = dc.realm
        self.conf = dc.krb5_conf(folder)
        self._logged_on: set[str] = set()

    def _env(self, account: str) -> dict[str, str]:
        return {**os.environ, "KRB5_CONFIG": str(self.conf), "KRB5CCNAME": f"FILE:{self.folder}/cc-{account}"}

    def s4u2proxy(self, host: str, user: str, spn: str, password: str = ACCOUNT_PASSWORD) -> tuple[bool, str]:
        """(issued, kvno's last line) for a ticket to `spn` on behalf of `user`, asked by the computer `host`."""
        if host not in self._logged_on:
            kinit = subprocess.run(["kinit", "-f", f"{host}$@{self.realm}"], input=password + "\n", text=True,
                                   capture_output=True, env=self._env(host), timeout=30)
            if kinit.returncode != 0:
                raise RuntimeError(f"kinit as {host}$ failed: {kinit.stderr.strip()}")
            self._logged_on.add(host)
        kvno = subprocess.run(["kvno", "-U", user, "-P", spn], text=True, capture_output=True,
                              env=self._env(host), timeout=30)
        said = (kvno.stdout + kvno.stderr).strip().splitlines()
        return kvno.returncode == 0, said[-1] if said else "no answer"

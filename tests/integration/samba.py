"""A real Samba AD domain controller for the tests, on a loopback address of its own.

Provisioned into a temporary folder (its own pid folder too, so it never collides with another
Samba), started in the foreground (`samba -i`), and stopped at the end. Objects are made the way
administrators make them: samba-tool computer/user/group/delegation/spn, and ldbmodify for what
samba-tool does not set (dNSHostName, userAccountControl bits).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

REALM = "LAB.TEST"
DOMAIN = "LAB"
ADMIN_PASSWORD = "Passw0rd!Lab-9f3c"
DC_NAME = "dc1"
DC_FQDN = "dc1.lab.test"


def samba_installed() -> bool:
    return all(shutil.which(t) for t in ("samba", "samba-tool", "ldbmodify"))


def free_loopback_address() -> str:
    for last in range(40, 60):
        ip = f"127.0.0.{last}"
        out = subprocess.run(["ip", "-o", "addr", "show", "dev", "lo"], capture_output=True, text=True).stdout
        if f"inet {ip}/" not in out:
            return ip
    raise RuntimeError("no free loopback address in 127.0.0.40-59")


class SambaDC:
    def __init__(self, folder: Path, ip: str | None = None) -> None:
        self.folder = folder
        self.ip = ip or free_loopback_address()
        self.process: subprocess.Popen[bytes] | None = None
        self._added_address = False
        self._hosts_line = f"{self.ip} {DC_FQDN} {DC_NAME}  # offlineprep tests\n"

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
        return f"ldaps://{DC_FQDN}"

    @property
    def base_dn(self) -> str:
        return "DC=lab,DC=test"

    def start(self) -> SambaDC:
        subprocess.run(["ip", "addr", "add", f"{self.ip}/32", "dev", "lo"], check=True, capture_output=True)
        self._added_address = True
        hosts = Path("/etc/hosts")
        text = hosts.read_text()
        if self._hosts_line not in text:
            hosts.write_text(
                "".join(line for line in text.splitlines(True) if f" {DC_FQDN} " not in line) + self._hosts_line
            )
        run_dir = self.folder / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        provision = subprocess.run(
            ["samba-tool", "domain", "provision", f"--realm={REALM}", f"--domain={DOMAIN}", "--server-role=dc",
             "--dns-backend=NONE", f"--adminpass={ADMIN_PASSWORD}", f"--targetdir={self.folder}",
             f"--host-name={DC_NAME}", "--use-rfc2307",
             f"--option=interfaces={self.ip}", "--option=bind interfaces only=yes",
             f"--option=pid directory={run_dir}", "--option=ldap server require strong auth=allow_sasl_over_tls"],
            capture_output=True, text=True, timeout=180,
        )
        if provision.returncode != 0:
            # samba-tool says what is missing (a package, a free address) only on stderr
            raise RuntimeError(f"samba-tool domain provision exited {provision.returncode}: "
                               f"{provision.stderr.strip()[-1500:]}")
        log = open(self.folder / "samba.log", "wb")  # noqa: SIM115 - lives as long as the process
        self.process = subprocess.Popen(["samba", "-i", "-M", "single", "-s", str(self.smb_conf)],
                                        stdout=log, stderr=subprocess.STDOUT)
        self._wait_for_ldaps()
        return self

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
                              timeout=120)
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
            self.set_attribute(dn, "dNSHostName", f"{name.lower()}.lab.test")
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

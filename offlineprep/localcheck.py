"""What this machine needs before offlineprep sends anything over the network.

A missing Python extra, no MD4 for an NTLM bind, a missing Kerberos ticket or an unreadable CA
file is a problem of the machine offlineprep runs on, not of the hosts: found after connecting, it
would show as an error on every host (25 lines for one cause). So these are checked first, in well
under a second and without network traffic, and each is reported with the exact command that fixes
it (exit 2).

Only what the run will use is checked: the directory's settings when a selected check reads
Active Directory, the WinRM settings when one reads the hosts.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import json
import os
import shlex
import shutil
import ssl
import subprocess
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from offlineprep.site import DirectoryConfig, Site, WinRMConfig


def install_extra(extra: str) -> str:
    """The pip command that adds an extra to this installation. Installed from a folder (the README's
    `pip install .`), pip records the folder in direct_url.json (PEP 610): `offlineprep[extra]` would
    fetch offlineprep from a package index instead, so the command names that folder."""
    command = f"pip install 'offlineprep[{extra}]'"
    try:
        text = importlib.metadata.distribution("offlineprep").read_text("direct_url.json")
        info = json.loads(text) if text else {}
        url = urllib.parse.urlparse(info.get("url", ""))
    except Exception:  # not installed (a checkout on sys.path), or metadata we cannot read
        return command
    if url.scheme != "file" or not isinstance(info.get("dir_info"), dict):
        return command
    editable = "-e " if info["dir_info"].get("editable") else ""
    return f"pip install {editable}{shlex.quote(urllib.parse.unquote(url.path) + f'[{extra}]')}"


# a dependency of offlineprep: missing only where offlineprep was installed without its dependencies
MD4_PACKAGE = "pip install pycryptodome"


def problems(site: Site, directory: bool, hosts: bool) -> list[str]:
    """Every local problem for a run that reads the directory (`directory`) and/or the hosts (`hosts`)."""
    found: list[str] = []
    kerberos_users: list[str] = []
    for config in site.directories if directory else []:
        found += _directory_problems(config)
        if config.auth == "kerberos":
            kerberos_users.append(config.user or "")
    ntlm = [config for config in site.directories if config.auth == "ntlm"] if directory else []
    if ntlm and not md4_available():  # a property of this machine, not of a directory: said once
        found.append(_md4_problem(ntlm, several=len(site.directories) > 1))
    if hosts and site.winrm is not None:
        found += winrm_problems(site.winrm)
        if site.winrm.transport == "kerberos":
            kerberos_users.append(site.winrm.user or "")
    if kerberos_users and not found:  # without the libraries, a ticket is the second thing to fix
        problem = _ticket_problem(kerberos_users, site)
        if problem:
            found.append(problem)
    return found


def _directory_problems(config: DirectoryConfig) -> list[str]:
    found = []
    if config.auth == "kerberos" and not _importable("gssapi"):
        found.append(f"[directory] auth = \"kerberos\" needs the Python package gssapi, which is not installed: "
                     f"run `{install_extra('kerberos')}` (it needs libkrb5-dev to build: `apt-get install libkrb5-dev gcc`)")
    uses_tls = config.server.lower().startswith("ldaps://") or config.start_tls
    if config.ca_file and uses_tls and config.verify_tls:
        problem = _ca_problem(config.ca_file)
        if problem:
            found.append(f"[directory] ca_file {config.ca_file}: {problem}")
    return found


def md4_available() -> bool:
    """Whether ldap3's NTLM client can hash a password on this machine, tried the way it does
    (ldap3/utils/ntlm.py, NtlmClient.ntowf_v2): hashlib's MD4, which OpenSSL 3 no longer provides
    (`hashlib.new("md4")` raises ValueError), else `Crypto.Hash.MD4`, pycryptodome's. Judged by
    what works, not by a package name: an OpenSSL that still has MD4 needs no pycryptodome.
    (pywinrm's NTLM is not concerned: pyspnego brings an MD4 of its own.)"""
    try:
        hashlib.new("md4", b"")
    except ValueError:
        pass
    else:
        return True
    try:
        importlib.import_module("Crypto.Hash.MD4").new(b"").digest()
    except Exception:  # ImportError, or a pycryptodome whose compiled MD4 does not load
        return False
    return True


def _md4_problem(ntlm: list[DirectoryConfig], several: bool) -> str:
    where = ('[[directory]] auth = "ntlm" (' + ", ".join(c.domain or c.server for c in ntlm) + ")" if several
             else '[directory] auth = "ntlm"')
    return (f"{where} needs MD4 for the NTLM password hash, which this machine lacks: its OpenSSL no longer "
            "provides MD4 to Python, and the Python package pycryptodome (whose MD4 ldap3 uses instead) is not "
            f"installed: run `{MD4_PACKAGE}`")


# What each WinRM transport needs on this machine beyond pywinrm itself: the packages pywinrm tries to
# import for it (winrm/transport.py sets HAVE_KERBEROS, HAVE_NTLM, HAVE_CREDSSP from those imports)
WINRM_LIBRARIES = {
    "kerberos": (("kerberos", "winkerberos"), "pywinrm's Kerberos extra (pykerberos)",
                 "run `{kerberos}` (it needs libkrb5-dev to build: `apt-get install libkrb5-dev gcc`)"),
    "credssp": (("requests_credssp",), "the Python package requests-credssp", "run `{credssp}`"),
    "ntlm": (("requests_ntlm",), "the Python package requests-ntlm", "run `pip install requests-ntlm`"),
}


def winrm_library_importable(transport: str) -> bool:
    """Whether the package a transport needs imports here (pykerberos's module is `kerberos`;
    winkerberos on Windows), without importing winrm: the up-front check runs before any collector."""
    return any(_importable(module) for module in WINRM_LIBRARIES[transport][0])


def winrm_problems(config: WinRMConfig, has_library: Callable[[str], bool] = winrm_library_importable) -> list[str]:
    """What this machine lacks for the [winrm] settings: the transport's package, a ticket hint for
    Kerberos, the client certificate files, a usable CA file.

    The one implementation of it: the up-front check (exit 2 before any network traffic) calls it
    with the import test above; the WinRM collector calls it for each host with pywinrm's own
    record of what it loaded (`has_library`), and host.reachable then fails the host naming it."""
    found = []
    if config.transport in WINRM_LIBRARIES and not has_library(config.transport):
        _, what, install = WINRM_LIBRARIES[config.transport]
        install = install.format(kerberos=install_extra("kerberos"), credssp=install_extra("credssp"))
        found.append(f"[winrm] transport = \"{config.transport}\" needs {what}, which is not installed on this "
                     f"machine: {install}"
                     + (f"; then a Kerberos ticket: `kinit {_principal([config.user or ''], None)}`"
                        if config.transport == "kerberos" else ""))
    if config.ca_file and config.scheme == "https" and config.verify_tls:
        problem = _ca_problem(config.ca_file)
        if problem:
            found.append(f"[winrm] ca_file {config.ca_file}: {problem}")
    if config.transport == "certificate":
        for key in ("cert_pem", "cert_key_pem"):
            value = getattr(config, key)
            if not value:
                found.append(f"[winrm] transport = \"certificate\" needs {key}: the client certificate (PEM) and its key")
            elif not os.access(value, os.R_OK):
                found.append(f"[winrm] {key} {value}: {_unreadable(value)}")
    return found


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except Exception:  # ImportError, or a library that is there but cannot load (libgssapi missing)
        return False
    return True


def _unreadable(path: str) -> str:
    return "no such file" if not Path(path).exists() else "cannot be read by this user"


def _ca_problem(path: str) -> str | None:
    """Why the CA file cannot be used to verify a server's certificate, or None."""
    if not os.access(path, os.R_OK):
        return _unreadable(path)
    try:
        ssl.create_default_context(cafile=path)
    except ssl.SSLError:
        return "holds no certificate in PEM form (-----BEGIN CERTIFICATE-----); export the CA certificate as Base-64"
    except (OSError, ValueError) as exc:
        return f"cannot be read: {exc}"
    return None


def _ticket_problem(users: list[str], site: Site) -> str | None:
    """No Kerberos ticket and no client keytab: kinit first. Local only: the credentials cache
    (`klist -s`) or the keytab file that KRB5_CLIENT_KTNAME names; no ticket is requested."""
    keytab = os.environ.get("KRB5_CLIENT_KTNAME")
    if keytab:
        path = keytab.split(":", 1)[1] if keytab.upper().startswith(("FILE:", "WRFILE:")) else keytab
        if os.access(path, os.R_OK):
            return None
        return f"KRB5_CLIENT_KTNAME names the keytab {path}, which {_unreadable(path).replace('no such file', 'does not exist')}"
    if _has_ticket():
        return None
    principal = _principal(users, site.primary_directory)
    return (f"Kerberos is selected but this machine has no valid Kerberos ticket: run `kinit {principal}` "
            "(or, in a pipeline, point KRB5_CLIENT_KTNAME at a keytab: `export KRB5_CLIENT_KTNAME=/path/svc.keytab`); "
            "the realm must be in /etc/krb5.conf (see the README, Kerberos)")


def _has_ticket() -> bool:
    klist = shutil.which("klist")
    if klist:
        try:
            # exit status 0: a credentials cache with a ticket that has not expired (MIT and Heimdal)
            return subprocess.run([klist, "-s"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, timeout=5).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return True  # cannot tell: let the connection say
    try:
        import gssapi

        return bool(gssapi.Credentials(usage="initiate").lifetime)
    except ImportError:
        return True  # reported above as a missing package
    except Exception:  # GSSError: no credentials cache, or expired
        return False


def _principal(users: list[str], directory: DirectoryConfig | None) -> str:
    """The principal to kinit as: the site file's user in user@REALM form when it can be told (the
    realm of DOMAIN\\user from the [directory] server's DNS suffix)."""
    realm = ""
    if directory is not None:
        host = directory.server.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
        if host.count(".") >= 2:
            realm = host.split(".", 1)[1].upper()
    for user in users:
        if "@" in user:
            name, _, domain = user.partition("@")
            return f"{name}@{domain.upper()}"
        if "\\" in user and realm:
            return f"{user.split(chr(92), 1)[1]}@{realm}"
    return f"user@{realm or 'REALM'}"

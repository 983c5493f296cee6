"""Why a WinRM connection or command failed, as an administrator says it: one kind
(`offlineprep.facts.ErrorKind`) and one plain sentence, from the exception's type and fields, the
errors it wraps, and (for a refused Kerberos login) this machine's own Kerberos library. Never the
credentials. The LDAP side's plain-language diagnosis is `offlineprep.winrm.diagnose`."""

from __future__ import annotations

import contextlib
import errno
import xml.etree.ElementTree as ET
from typing import Any

from offlineprep.facts import ErrorKind
from offlineprep.localcheck import winrm_problems
from offlineprep.site import WinRMConfig
from offlineprep.winrm.text import short


class Deadline(Exception):
    """The machine's own deadline passed while its command ran (pywinrm retries operation timeouts
    in Receive forever, so the delivery keeps its own clock)."""


def client_problem(config: WinRMConfig) -> str | None:
    """What this machine lacks for the chosen transport, found before any packet is sent: without
    it every host would fail with the same library message, which is a fact about this machine, not
    about the host. The rules are offlineprep.localcheck's (the up-front check applies the same);
    here the libraries are as pywinrm recorded them when it loaded (winrm.transport.HAVE_KERBEROS /
    HAVE_CREDSSP / HAVE_NTLM), since pywinrm is what will use them."""
    import winrm.transport as transport

    problems = winrm_problems(config, has_library=lambda name: bool(getattr(transport, f"HAVE_{name.upper()}")))
    return "; ".join(problems) or None


# RFC 2744 routine error: no credentials at all (no ticket in the cache)
GSS_S_NO_CRED = 7 << 16


def kerberos_diagnosis(host: str, config: WinRMConfig) -> str | None:
    """Why a Kerberos login was refused, asked of this machine's own Kerberos library: no ticket,
    or no ticket to be had for HTTP/<host> (no such SPN, KDC unreachable). None: a service ticket
    can be had, so the host itself refused it.

    pywinrm's Kerberos handler may swallow its GSSAPI failure and return the server's 401, so the
    library is asked again here."""
    try:
        import kerberos
    except ImportError:
        return None
    service = f"HTTP@{host}"  # pywinrm's default service class and the host name as written
    context = None
    try:
        _, context = kerberos.authGSSClientInit(service, gssflags=kerberos.GSS_C_MUTUAL_FLAG | kerberos.GSS_C_SEQUENCE_FLAG)
        kerberos.authGSSClientStep(context, "")
    except kerberos.GSSError as exc:
        return describe_gss_error(exc, host, config)
    except Exception:  # an unexpected library state: keep the server's answer as the cause
        return None
    finally:
        if context is not None:
            with contextlib.suppress(Exception):
                kerberos.authGSSClientClean(context)
    return None


def describe_gss_error(exc: BaseException, host: str, config: WinRMConfig) -> str:
    """pykerberos' GSSError carries ((major text, major status), (minor text, minor status)); the
    major status is one of RFC 2744's routine errors, GSS_S_NO_CRED when there is no ticket."""
    major = _gss_code(exc, 0)
    minor = _gss_text(exc, 1) or _gss_text(exc, 0)
    if major is not None and (major & 0xFFFF0000) == GSS_S_NO_CRED:
        return (f"this machine has no Kerberos ticket to log on to {host} with: run kinit "
                f"{config.user or 'user@REALM'} (Kerberos for WinRM needs a ticket; {minor})")
    return f"Kerberos could not get a ticket for HTTP/{host} from this machine: {minor}"


def _gss_code(exc: BaseException, index: int) -> int | None:
    try:
        return int(exc.args[index][1])
    except (IndexError, TypeError, ValueError):
        return None


def _gss_text(exc: BaseException, index: int) -> str:
    try:
        return short(str(exc.args[index][0]), 200)
    except (IndexError, TypeError):
        return ""


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps: requests and urllib3 keep the socket's own error in
    `args`, `reason`, `__cause__` and `__context__` (ConnectionError -> MaxRetryError -> NewConnectionError
    or NameResolutionError -> socket.gaierror)."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo and len(seen) < 20:
        current = todo.pop(0)
        if any(current is s for s in seen):
            continue
        seen.append(current)
        linked = [getattr(current, "reason", None), current.__cause__, current.__context__, *current.args]
        todo.extend(e for e in linked if isinstance(e, BaseException))
    return seen


def _find(exc: BaseException, kind: type[BaseException] | tuple[type[BaseException], ...]) -> Any:
    return next((e for e in _causes(exc) if isinstance(e, kind)), None)


def describe_winrm_error(exc: BaseException, host: str, config: WinRMConfig) -> tuple[ErrorKind, str]:
    """One kind and one sentence, from the exception's type and fields (never the credentials)."""
    import socket
    import ssl

    name = type(exc).__name__
    text = short(str(exc))
    port = config.effective_port
    if isinstance(exc, Deadline):
        return ErrorKind.TIMEOUT, f"{host} did not finish within {config.timeout_seconds:g} s"
    gss = next((e for e in _causes(exc) if type(e).__name__ == "GSSError"), None)
    if gss is not None:  # the Kerberos library of this machine failed before anything was sent
        return ErrorKind.CLIENT, describe_gss_error(gss, host, config)
    if name in {"InvalidCredentialsError", "BasicAuthDisabledError", "AuthenticationError"}:
        how = {"kerberos": "Kerberos", "ntlm": "NTLM", "credssp": "CredSSP", "basic": "Basic",
               "certificate": "the client certificate"}.get(config.transport, config.transport)
        return ErrorKind.AUTH, (f"{host} refused the credentials (HTTP 401) for {how} authentication: the password, "
                                f"the account's rights on the host (Administrators or Remote Management Users), or "
                                f"{how} not allowed by the host's WinRM service")
    if name == "WSManFaultError":
        reason = short(str(getattr(exc, "reason", "") or text))
        code = getattr(exc, "wsman_fault_code", None)
        return ErrorKind.PROTOCOL, f"{host} answered a WS-Management fault" + (f" {code}" if code else "") + \
            f": {reason}"
    if name == "WinRMTransportError":
        status = getattr(exc, "code", None)
        if status == 401:
            return ErrorKind.AUTH, f"{host} refused the credentials (HTTP 401)"
        return ErrorKind.PROTOCOL, (f"{host} answered HTTP {status}, not WS-Management: "
                                    f"{short(getattr(exc, 'response_text', '') or text)}")
    verify = _find(exc, ssl.SSLCertVerificationError)
    if verify is not None:
        why = short(str(getattr(verify, "verify_message", "") or verify), 120)
        return ErrorKind.TLS, (f"the TLS certificate of {host} is not trusted from this machine ({why}): set [winrm] "
                               "ca_file to the CA that issued it, or give the host's HTTPS listener a certificate "
                               "that names it (verify_tls = false only for a lab)")
    handshake = _find(exc, ssl.SSLError)
    if handshake is not None:
        reason = getattr(handshake, "reason", None) or short(str(handshake), 120)
        return ErrorKind.TLS, (f"TLS with {host} on port {port} failed ({reason}): what answers there is no WinRM HTTPS "
                               "listener (an HTTP listener, or another service)")
    proxy = next((e for e in _causes(exc) if type(e).__name__ == "ProxyError"), None)
    if proxy is not None:  # requests' ProxyError: pywinrm goes through the proxy of this machine's environment
        return ErrorKind.UNREACHABLE, (f"cannot reach {host} through the proxy this machine uses (HTTP_PROXY, "
                                       f"HTTPS_PROXY, NO_PROXY in its environment): {short(str(proxy), 160)}")
    dns = _find(exc, socket.gaierror)
    if dns is not None:
        if dns.errno == socket.EAI_AGAIN:
            return ErrorKind.NAME_RESOLUTION, (f"{host} could not be resolved from this machine: the DNS server did not "
                                               "answer (temporary failure)")
        return ErrorKind.NAME_RESOLUTION, f"{host} does not resolve in DNS from this machine"
    if _find(exc, ConnectionRefusedError) is not None:
        return ErrorKind.UNREACHABLE, (f"connection refused by {host} on port {port}: no WinRM {config.scheme.upper()} "
                                       "listener there, or a firewall rejects it")
    if name == "ConnectTimeout" or (_find(exc, socket.timeout) is not None and name != "ReadTimeout"):
        return ErrorKind.TIMEOUT, (f"{host} did not accept a connection on port {port} within "
                                   f"{config.timeout_seconds:g} s: the host is down or a firewall drops the packets")
    if name in {"ReadTimeout", "Timeout", "timeout", "TimeoutError"}:
        return ErrorKind.TIMEOUT, f"{host} did not answer within {config.timeout_seconds:g} s"
    unreachable = _find(exc, OSError)
    if unreachable is not None and getattr(unreachable, "errno", None) in _NO_ROUTE:
        return ErrorKind.UNREACHABLE, f"cannot reach {host} from this machine: no route to it"
    if name in {"ConnectionError", "ChunkedEncodingError", "ConnectionResetError", "NewConnectionError",
                "MaxRetryError", "OSError"}:
        return ErrorKind.UNREACHABLE, f"cannot reach {host}: {short(text, 160)}"
    if isinstance(exc, ET.ParseError) or name in {"ParseError", "ExpatError", "StopIteration"}:
        return ErrorKind.GARBAGE, f"{host} answered something that is not WS-Management XML"
    if name == "WinRMError":
        return ErrorKind.PROTOCOL, f"WinRM error with {host}: {text}"
    return ErrorKind.PROTOCOL, f"WinRM to {host} failed: {name}: {text}"


_NO_ROUTE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN}

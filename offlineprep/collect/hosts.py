"""The host collector: one read-only PowerShell command per Windows machine, many machines at once.

How the script travels: `powershell -EncodedCommand` goes through cmd.exe, capped at 8,191
characters, and UTF-16LE + base64 inflates a script about 2.7 times, so our ~6 KB collection
script cannot be sent that way. Instead one command starts PowerShell with a short encoded
bootstrap, and the request (base64 JSON) and then the script are streamed on its stdin. The
bootstrap runs the script as a script block with the request as its only argument: values from
the site file are data, never code.

Each host gets its own pywinrm Protocol (requests sessions are not thread-safe), a deadline of
its own (pywinrm retries operation timeouts in Receive forever), and one retry after a transient
network error. Every failure becomes a `CollectionError` for that host only.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import json
import logging
import math
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from offlineprep.collect.answer import (
    HOST_SCHEMA,
    CertificateAnswer,
    HostAnswer,
    PathAnswer,
    ReplicationServerAnswer,
    read_answer,
)
from offlineprep.collect.requests import HostRequest
from offlineprep.facts import (
    Certificate,
    CollectionError,
    DfsFacts,
    ErrorKind,
    FirewallProfile,
    FirewallRule,
    HostClock,
    HostFacts,
    LocalGroup,
    NameProbe,
    NetworkProfile,
    PathFacts,
    PortProbe,
    ReplicaAuthorization,
    ReplicationServer,
    ServerNames,
    ShareFacts,
    VirtualMachine,
    VolumeFacts,
)
from offlineprep.localcheck import winrm_problems
from offlineprep.site import WinRMConfig

log = logging.getLogger(__name__)

SCRIPT_PATH = Path(__file__).with_name("scripts") / "collect.ps1"
COMMAND_LINE_LIMIT = 8191  # cmd.exe, which WinRM runs the command through
MAX_OUTPUT_BYTES = 8 * 1024 * 1024
BOOTSTRAP = (
    "$ProgressPreference='SilentlyContinue';$r=[Console]::In.ReadLine();$s=[Console]::In.ReadToEnd();"
    "& ([scriptblock]::Create($s)) $r"
)

ProtocolFactory = Callable[[str], Any]  # host name -> winrm.protocol.Protocol (or a compatible object)


def collection_script() -> str:
    return SCRIPT_PATH.read_text(encoding="utf-8")


def encoded_bootstrap() -> str:
    return base64.b64encode(BOOTSTRAP.encode("utf-16-le")).decode("ascii")


def command_line() -> tuple[str, list[str]]:
    return "powershell", ["-NoLogo", "-NoProfile", "-NonInteractive", "-EncodedCommand", encoded_bootstrap()]


def command_line_length() -> int:
    command, args = command_line()
    return len(" ".join([command, *args]))


def request_document(request: HostRequest) -> dict[str, Any]:
    return {
        "hyperv": request.hyperv,
        "probes": list(request.probes),
        "paths": [
            {"raw": ref.raw, "kind": ref.kind, "server": ref.server, "share": ref.share, "subpath": ref.subpath,
             "local_path": ref.local_path}
            for ref in request.paths
        ],
    }


def encode_request(request: HostRequest) -> str:
    text = json.dumps(request_document(request), ensure_ascii=False)
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def stdin_payload(request: HostRequest) -> bytes:
    return script_payload(request_document(request), collection_script())


def script_payload(document: dict[str, Any], script: str) -> bytes:
    """What the bootstrap reads on stdin: the request (base64 JSON, one line), then the script. Every
    script of ours travels this way (collect.ps1, the discovery scripts vmm.ps1 and cluster.ps1, apply.ps1)."""
    text = json.dumps(document, ensure_ascii=False)
    return (base64.b64encode(text.encode("utf-8")).decode("ascii") + "\n" + script).encode("utf-8")


# --------------------------------------------------------------------------- collecting


@dataclass
class CollectionStats:
    commands_sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> None:
        with self.lock:
            self.commands_sent += 1



def collect_hosts(
    config: WinRMConfig,
    requests: list[HostRequest],
    password: str | None,
    on_result: Callable[[HostFacts], None] | None = None,
    session_factory: ProtocolFactory | None = None,
) -> dict[str, HostFacts]:
    stats = CollectionStats()
    factory = session_factory or (lambda host: make_protocol(config, host, password))
    results: dict[str, HostFacts] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, config.concurrency), thread_name_prefix="winrm")
    try:
        futures = {pool.submit(collect_one, config, r, factory, password, stats): r for r in requests}
        for future in as_completed(futures):
            request = futures[future]
            try:
                facts = future.result()
            except Exception as exc:  # a bug of ours costs this host only
                log.exception("collecting %s failed", request.name)
                facts = HostFacts(name=request.name, reachable=False, error=CollectionError(
                    kind=ErrorKind.INTERNAL, message=f"collector failed: {type(exc).__name__}"))
            results[request.name] = facts
            if on_result is not None:
                on_result(facts)
    except BaseException:  # Ctrl-C: start nothing new, let the caller say what finished
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return {r.name: results[r.name] for r in requests}


def make_protocol(config: WinRMConfig, host: str, password: str | None) -> Any:
    from winrm.protocol import Protocol

    operation, read = timeouts(config.timeout_seconds)
    url = f"{config.scheme}://{host}:{config.effective_port}{config.path}"
    if not config.verify_tls and config.scheme == "https":
        log.warning("TLS certificate verification for WinRM to %s is turned off (verify_tls = false)", host)
    return Protocol(
        endpoint=url,
        transport=config.transport,
        username=config.user,
        password=password,
        server_cert_validation="validate" if config.verify_tls else "ignore",
        ca_trust_path=config.ca_file or "legacy_requests",
        cert_pem=config.cert_pem,
        cert_key_pem=config.cert_key_pem,
        read_timeout_sec=read,
        operation_timeout_sec=operation,
        message_encryption=config.message_encryption,
    )


def timeouts(total: float) -> tuple[int, int]:
    """pywinrm wants operation < read timeout; both bounded by the host's own deadline."""
    operation = max(1, min(20, math.ceil(total / 2)))
    return operation, max(operation + 1, math.ceil(total))


def collect_one(
    config: WinRMConfig, request: HostRequest, factory: ProtocolFactory, password: str | None,
    stats: CollectionStats,
) -> HostFacts:
    """One host: `reachable` only when the host answered an authenticated WS-Management request
    (its shell opened, or it sent a WS-Management fault). A failure on this machine's side (no
    Kerberos library or ticket), in DNS, in TCP or TLS, or a refused login is never reachable."""
    started = time.monotonic()
    ran = run_payload(config, request.name, stdin_payload(request), factory, password, stats, "collection script")
    if ran.error is not None:
        return HostFacts(name=request.name, reachable=ran.reachable, error=ran.error,
                         round_trip_seconds=round(time.monotonic() - started, 3))
    observed = _observed(ran.command_sent, ran.answered) if ran.answered is not None else None
    facts = parse_output(request.name, ran.stdout, ran.stderr, ran.code, observed=observed)
    facts.round_trip_seconds = round(time.monotonic() - started, 3)
    if facts.error is not None:
        facts.error = CollectionError(kind=facts.error.kind, message=_scrub(facts.error.message, password))
    return facts


@dataclass
class Ran:
    """One script's run on one machine: its streams and exit code, or why it did not run."""

    stdout: bytes = b""
    stderr: bytes = b""
    code: int = -1
    error: CollectionError | None = None
    reachable: bool = False
    command_sent: float | None = None  # this machine's clock (time.time()) just before the command went out
    answered: float | None = None  # ... and when its output had come back


def run_payload(config: WinRMConfig, machine: str, payload: bytes, factory: ProtocolFactory, password: str | None,
                stats: CollectionStats, what: str) -> Ran:
    """Run one of our scripts (`payload`, see script_payload) on `machine`: one PowerShell, one retry
    after a transient network error, the machine's own deadline; every failure becomes one error."""
    started = time.monotonic()

    def failed(kind: ErrorKind, message: str, answered: bool = False) -> Ran:
        return Ran(error=CollectionError(kind=kind, message=_scrub(message, password)), reachable=answered)

    missing = client_problem(config)
    if missing is not None:
        return failed(ErrorKind.CLIENT, missing)
    attempts = 0
    while True:
        attempts += 1
        progress = _Progress()
        try:
            stdout, stderr, code = stream_payload(factory(machine), payload, started + config.timeout_seconds, stats,
                                                  progress)
            return Ran(stdout=stdout, stderr=stderr, code=code, reachable=True, command_sent=progress.sent_at,
                       answered=time.time())
        except Exception as exc:
            kind, message = describe_winrm_error(exc, machine, config)
            if kind is ErrorKind.UNREACHABLE and _transient(exc) and attempts == 1:
                log.info("retrying %s after a transient network error", machine)
                continue
            if kind is ErrorKind.AUTH and config.transport == "kerberos":
                diagnosis = kerberos_diagnosis(machine, config)
                if diagnosis is not None:
                    kind, message = ErrorKind.CLIENT, diagnosis
            if kind is ErrorKind.TIMEOUT and progress.shell_opened:
                message = (f"{machine} answered WinRM, but the {what} did not finish within "
                           f"{config.timeout_seconds:g} s")
            return failed(kind, message, answered=progress.shell_opened or _is_wsman_fault(exc))


class _Deadline(Exception):
    pass


@dataclass
class _Progress:
    """How far one attempt got: once the Create request has an answer, the host has answered an
    authenticated WS-Management request, whatever fails after. `sent_at`: when the command went
    out, by this machine's clock (the host's clock is read against it); `command_sent`: the script
    was started (its input delivered); `output`: what it wrote to stdout so far (kept when the attempt
    fails, so a caller that streams results, as offlineprep apply does, knows which of them arrived)."""

    shell_opened: bool = False
    sent_at: float | None = None  # this machine's clock (time.time()) just before the command went out
    command_sent: bool = False
    output: bytearray = field(default_factory=bytearray)


def stream_payload(protocol: Any, payload: bytes, deadline: float, stats: CollectionStats,
                   progress: _Progress | None = None) -> tuple[bytes, bytes, int]:
    """Start the bootstrap and stream `payload` (the base64 request, a newline, the script) on its
    stdin: the one delivery of every script offlineprep runs on a Windows machine (collection,
    discovery, apply)."""
    progress = progress if progress is not None else _Progress()
    shell = protocol.open_shell(codepage=65001, noprofile=True)
    progress.shell_opened = True
    try:
        command, args = command_line()
        # pipe mode (WINRS_CONSOLEMODE_STDIN=FALSE): the input streamed below reaches PowerShell as a pipe
        # whose end is a real end of file, which [Console]::In.ReadToEnd() in the bootstrap waits for.
        # Ansible streams its module input the same way: lib/ansible/plugins/connection/winrm.py passes
        # console_mode_stdin=(stdin_iterator is None) to pywinrm's run_command.
        progress.sent_at = time.time()
        command_id = protocol.run_command(shell, command, args, console_mode_stdin=False)
        stats.count()
        try:
            protocol.send_command_input(shell, command_id, payload, end=True)
            progress.command_sent = True
            out, err = progress.output, bytearray()
            code = -1
            while True:
                if time.monotonic() > deadline:
                    raise _Deadline()
                try:
                    chunk_out, chunk_err, code, done = protocol.get_command_output_raw(shell, command_id)
                except Exception as exc:
                    if type(exc).__name__ == "WinRMOperationTimeoutError":
                        continue
                    raise
                # bytes are kept as bytes until the end: WinRM splits output anywhere, also inside a
                # UTF-8 sequence, over as many Receive responses as it likes
                out += chunk_out
                err += chunk_err
                if len(out) > MAX_OUTPUT_BYTES:
                    return bytes(out), bytes(err), -2
                if done:
                    return bytes(out), bytes(err), code
        finally:
            with contextlib.suppress(Exception):
                protocol.cleanup_command(shell, command_id)
    finally:
        with contextlib.suppress(Exception):
            protocol.close_shell(shell)


def _observed(sent: float | None, answered: float) -> tuple[datetime, float] | None:
    """When the host read its clock, on this machine's clock: the script reads it as it starts, some
    time between the command going out and its output coming back; the middle of that, give or
    take half of it."""
    if sent is None:
        return None
    return datetime.fromtimestamp((sent + answered) / 2, UTC), round(max(0.0, answered - sent) / 2, 3)


def _transient(exc: BaseException) -> bool:
    text = repr(exc)
    return any(s in text for s in ("ConnectionResetError", "RemoteDisconnected", "ChunkedEncodingError",
                                   "BrokenPipe", "IncompleteRead"))


def _is_wsman_fault(exc: BaseException) -> bool:
    """A WS-Management fault is an answer of the WinRM service to a request it authenticated."""
    return type(exc).__name__ == "WSManFaultError"


# --------------------------------------------------------------------------- causes, as an administrator says them


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
        return _short(str(exc.args[index][0]), 200)
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
    text = _short(str(exc))
    port = config.effective_port
    if isinstance(exc, _Deadline):
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
        reason = _short(str(getattr(exc, "reason", "") or text))
        code = getattr(exc, "wsman_fault_code", None)
        return ErrorKind.PROTOCOL, f"{host} answered a WS-Management fault" + (f" {code}" if code else "") + \
            f": {reason}"
    if name == "WinRMTransportError":
        status = getattr(exc, "code", None)
        if status == 401:
            return ErrorKind.AUTH, f"{host} refused the credentials (HTTP 401)"
        return ErrorKind.PROTOCOL, (f"{host} answered HTTP {status}, not WS-Management: "
                                    f"{_short(getattr(exc, 'response_text', '') or text)}")
    verify = _find(exc, ssl.SSLCertVerificationError)
    if verify is not None:
        why = _short(str(getattr(verify, "verify_message", "") or verify), 120)
        return ErrorKind.TLS, (f"the TLS certificate of {host} is not trusted from this machine ({why}): set [winrm] "
                               "ca_file to the CA that issued it, or give the host's HTTPS listener a certificate "
                               "that names it (verify_tls = false only for a lab)")
    handshake = _find(exc, ssl.SSLError)
    if handshake is not None:
        reason = getattr(handshake, "reason", None) or _short(str(handshake), 120)
        return ErrorKind.TLS, (f"TLS with {host} on port {port} failed ({reason}): what answers there is no WinRM HTTPS "
                               "listener (an HTTP listener, or another service)")
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
        return ErrorKind.UNREACHABLE, f"cannot reach {host}: {_short(text, 160)}"
    if isinstance(exc, ET.ParseError) or name in {"ParseError", "ExpatError", "StopIteration"}:
        return ErrorKind.GARBAGE, f"{host} answered something that is not WS-Management XML"
    if name == "WinRMError":
        return ErrorKind.PROTOCOL, f"WinRM error with {host}: {text}"
    return ErrorKind.PROTOCOL, f"WinRM to {host} failed: {name}: {text}"


_NO_ROUTE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN}


# --------------------------------------------------------------------------- parsing


def decode_clixml(stderr: bytes) -> str:
    """The error records of a CLIXML stream, as the lines a PowerShell user would have read."""
    text = stderr.decode("utf-8", "replace")
    if not text.startswith("#< CLIXML"):
        return _short(text.strip(), 500)
    lines = []
    for block in text.split("#< CLIXML")[1:]:  # one header per stream, but concatenated streams repeat it
        try:
            root = ET.fromstring(block.strip())
        except ET.ParseError:
            return "the host wrote an unreadable CLIXML error stream"
        for node in root.iter():
            if (node.tag.endswith("}S") or node.tag == "S") and node.get("S") == "Error" and node.text:
                lines.append(node.text)
    message = _XML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), "".join(lines))
    return _short(" ".join(message.split()), 500) or "the host reported an error without text"


def decode_answer(host: str, stdout: bytes, stderr: bytes, code: int, schema: str,
                  what: str = "collection script") -> tuple[dict[str, Any] | None, CollectionError | None]:
    """The JSON document a script of ours printed, or the one error that says why there is none."""
    def broken(kind: ErrorKind, message: str) -> tuple[None, CollectionError]:
        return None, CollectionError(kind=kind, message=message)

    if code == -2 or len(stdout) > MAX_OUTPUT_BYTES:
        return broken(ErrorKind.GARBAGE, f"{host} sent more than {MAX_OUTPUT_BYTES // 2**20} MB of output; "
                      f"the {what} never prints that much")
    if code != 0:
        return broken(ErrorKind.REMOTE, f"the {what} failed on {host} (exit code {code}): {decode_clixml(stderr)}")
    try:
        text = stdout.decode("utf-8-sig")  # a BOM, should a host's console writer add one, is no error
    except UnicodeDecodeError as exc:
        return broken(ErrorKind.GARBAGE, f"{host} sent output that is not UTF-8 (byte {exc.start})")
    if not text.strip():
        cause = decode_clixml(stderr) if stderr.strip() else "and nothing on stderr"
        return broken(ErrorKind.REMOTE, f"the {what} printed nothing on {host}: {cause}")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        start = _printable(text[:60])
        if text.strip().startswith("{"):
            return broken(ErrorKind.GARBAGE, f"{host} sent truncated JSON ({exc.msg} at {exc.pos} of {len(text)})")
        return broken(ErrorKind.GARBAGE, f"{host} sent output that is not JSON: {start!r}")
    if not isinstance(document, dict) or document.get("schema") != schema:
        return broken(ErrorKind.GARBAGE, f"{host} sent JSON that is not the {what}'s answer")
    return document, None


def parse_output(host: str, stdout: bytes, stderr: bytes, code: int,
                 observed: tuple[datetime, float] | None = None) -> HostFacts:
    document, error = decode_answer(host, stdout, stderr, code, HOST_SCHEMA)
    if document is None:
        return HostFacts(name=host, reachable=True, error=error)
    answer, problems, rejected = read_answer(document)
    return host_facts(host, answer, problems, rejected, observed=observed)


_PROFILE_OF_CATEGORY = {"domainauthenticated": "Domain", "private": "Private", "public": "Public"}


def _gpo_bool(value: str | None) -> bool | None:
    """True/False of the ActiveStore; NotConfigured (or anything else) is None: Windows' default applies."""
    return {"true": True, "false": False}.get((value or "").casefold())


def _action(value: str | None) -> str | None:
    folded = (value or "").casefold()
    return folded if folded in {"allow", "block"} else None


def host_facts(host: str, answer: HostAnswer, problems: dict[str, str] | None = None,
               rejected: dict[str, list[Any]] | None = None,
               observed: tuple[datetime, float] | None = None) -> HostFacts:
    """The facts of one host from its (validated) answer; parts of the wrong shape were left out by
    read_answer and are named in section_errors, the paths and VMs among them kept by name.
    `observed`: this machine's clock when the host read its own, and the uncertainty (seconds)."""
    problems = problems or {}
    rejected = rejected or {}
    errors = dict(answer.errors)
    groups = []
    for g in answer.local_groups or []:
        unreadable = [f"{m.name or 'a member'}: {_short(m.error or 'unreadable')}" for m in g.unreadable]
        if g.error:
            unreadable.append(f"the members of {g.name or g.sid}: {_short(g.error)}")
        groups.append(LocalGroup(sid=g.sid, name=g.name or g.sid, member_sids=[m.sid for m in g.members],
                                 member_names={m.sid: m.name for m in g.members if m.name},
                                 unreadable_members=unreadable))
    paths = [_path_facts(p, host) for p in answer.paths or []]
    for raw in rejected.get("paths", []):
        if isinstance(raw, dict) and isinstance(raw.get("path"), str):
            paths.append(PathFacts(path=raw["path"], error=CollectionError(
                kind=ErrorKind.GARBAGE, message=f"{host} answered this path in the wrong shape: {problems['paths']}")))
    group_problem = errors.get("local_groups") or problems.get("local_groups")
    if group_problem:
        for i, path in enumerate(paths):
            if path.error is None:
                paths[i] = path.model_copy(update={"error": CollectionError(
                    kind=ErrorKind.REMOTE, message=f"local groups could not be read: {_short(group_problem)}")})
    vms = None
    if answer.vms is not None:
        vms = [VirtualMachine(name=v.name, disk_bytes=v.disk_bytes) for v in answer.vms]
        vms += [VirtualMachine(name=str(raw["name"])) for raw in rejected.get("vms", [])
                if isinstance(raw, dict) and isinstance(raw.get("name"), str)]
    rs = answer.replication_server
    identity_error = errors.get("identity")
    sections = {str(k): _short(str(v)) for k, v in errors.items() if v}
    for section, text in problems.items():
        sections[section] = _short(text) if section not in sections else sections[section] + "; " + _short(text)
    return HostFacts(
        name=host,
        reachable=True,
        error=CollectionError(kind=ErrorKind.REMOTE, message=f"identity: {_short(str(identity_error))}")
        if identity_error else None,
        computer_name=answer.computer_name,
        domain=answer.domain,
        os_caption=answer.os.caption if answer.os else None,
        os_version=answer.os.version if answer.os else None,
        os_build=answer.os.build if answer.os else None,
        hyperv_installed=answer.hyperv.installed if answer.hyperv else None,
        vmms_running=(answer.hyperv.vmms == "Running") if answer.hyperv and answer.hyperv.vmms is not None else None,
        ip_addresses=list(answer.ip_addresses or []),
        local_groups=groups,
        paths=paths,
        vms=vms,
        replication_server=_replication_server(rs) if rs else None,
        firewall_rules=[
            FirewallRule(name=r.name, display_name=r.display_name or "", enabled=r.enabled.casefold() == "true",
                         direction=r.direction.casefold(), action=r.action.casefold(), protocol=r.protocol or "Any",
                         local_ports=list(r.local_ports),
                         profiles=[x.strip() for x in r.profile.split(",") if x.strip()] or ["Any"],
                         remote_addresses=list(r.remote_addresses) or ["Any"])
            for r in answer.firewall_rules
        ] if answer.firewall_rules is not None else None,
        firewall_profiles=[
            FirewallProfile(name=p.name, enabled=_gpo_bool(p.enabled), default_inbound_action=_action(
                p.default_inbound_action), allow_inbound_rules=_gpo_bool(p.allow_inbound_rules))
            for p in answer.firewall_profiles
        ] if answer.firewall_profiles is not None else None,
        network_profiles=[
            NetworkProfile(interface=n.interface, category=_PROFILE_OF_CATEGORY.get((n.category or "").casefold(),
                                                                                    n.category))
            for n in answer.network_profiles
        ] if answer.network_profiles is not None else None,
        section_errors=sections,
        vmms_status=answer.hyperv.vmms if answer.hyperv else None,
        domain_role=answer.domain_role,
        probes=[NameProbe(name=p.name, addresses=list(p.addresses), error=p.error, timed_out=p.timed_out,
                          connections=[PortProbe(address=c.address, state=c.state, error=c.error)
                                       for c in p.connections])
                for p in answer.probes.names] if answer.probes is not None else None,
        probe_seconds=answer.probes.seconds if answer.probes is not None else None,
        clock=_clock(answer, observed),
        time_source_type=answer.clock.time_source_type or None if answer.clock else None,
        certificates=[_certificate(c) for c in answer.certificates] if answer.certificates is not None else None,
        server_names=ServerNames(disable_strict_name_checking=answer.server_names.disable_strict_name_checking,
                                 optional_names=list(answer.server_names.optional_names),
                                 alternate_names=list(answer.server_names.alternate_names))
        if answer.server_names is not None else None,
    )


def utc_time(text: str | None) -> datetime | None:
    """A time the script wrote with ToString('o') ('2026-11-24T09:30:00.1234567Z', UTC): Python keeps
    six fractional digits, Windows writes seven. None for anything else."""
    if not text:
        return None
    match = _ROUND_TRIP.match(text.strip())
    if match is None:
        return None
    try:
        value = datetime.fromisoformat(match.group(1) + (match.group(2) or "")[:7])
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_ROUND_TRIP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]00:00)?$")


def _clock(answer: HostAnswer, observed: tuple[datetime, float] | None) -> HostClock | None:
    utc = utc_time(answer.clock.utc) if answer.clock is not None else None
    if utc is None or observed is None:
        return None
    return HostClock(utc=utc, observed_at=observed[0], uncertainty_seconds=observed[1])


def _certificate(c: CertificateAnswer) -> Certificate:
    return Certificate(thumbprint=c.thumbprint, subject=c.subject or "", dns_names=list(c.dns_names),
                       ekus=list(c.ekus), not_before=utc_time(c.not_before), not_after=utc_time(c.not_after),
                       has_private_key=c.has_private_key, chain_ok=c.chain_ok, chain_status=list(c.chain_status))


def _replication_server(rs: ReplicationServerAnswer) -> ReplicationServer:
    entries = None
    if rs.authorization_entries is not None:
        entries = [ReplicaAuthorization(allowed_primary_server=e.allowed_primary_server,
                                        storage_location=e.storage_location or None, trust_group=e.trust_group or None,
                                        storage_exists=e.storage_exists) for e in rs.authorization_entries]
    return ReplicationServer(
        enabled=rs.enabled, kerberos_port=rs.kerberos_port, certificate_port=rs.certificate_port,
        allowed_authentication=rs.allowed_authentication, allowed_from_any_server=rs.allowed_from_any_server,
        default_storage_location=rs.default_storage_location or None, default_storage_exists=rs.default_storage_exists,
        certificate_thumbprint=rs.certificate_thumbprint or None, authorization_entries=entries)


def _path_facts(p: PathAnswer, host: str) -> PathFacts:
    share = p.share
    volume = p.volume
    error = CollectionError(kind=ErrorKind.REMOTE, message=_short(p.error)) if p.error else None
    dfs = None
    if p.dfs is not None:
        dfs = DfsFacts(namespace=p.dfs.namespace, link=p.dfs.link, targets=list(p.dfs.targets),
                       domain_based=p.dfs.domain_based)
        where = f" (folder target: {', '.join(dfs.targets)})" if dfs.targets else ""
        error = CollectionError(kind=ErrorKind.REMOTE, message=(
            f"{p.path} is a path in the DFS namespace {dfs.namespace}{where}: its folders live on the folder "
            f"targets' servers, not on {host}; write the folder target's own path (\\\\server\\share\\folder) "
            "in the site file"))
    return PathFacts(
        path=p.path, local_path=p.local_path, exists=p.exists, is_directory=p.is_directory, ntfs_sddl=p.ntfs_sddl,
        share=ShareFacts(name=share.name, local_path=share.path, sddl=share.sddl, scope=share.scope) if share else None,
        share_found=p.share_found, share_scope=p.share_scope, share_scopes=list(p.share_scopes),
        free_bytes=volume.free_space if volume else None, total_bytes=volume.capacity if volume else None,
        volume=VolumeFacts(name=volume.name, file_system=volume.file_system, drive_type=volume.drive_type,
                           capacity_bytes=volume.capacity, free_bytes=volume.free_space) if volume else None,
        dfs=dfs, error=error,
    )


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_XML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")  # CLIXML's escape of characters XML cannot carry


def _printable(text: str) -> str:
    return _CONTROL.sub("?", text)


def _short(text: str, limit: int = 300) -> str:
    text = _printable(" ".join(str(text).split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _scrub(text: str, password: str | None) -> str:
    if password and len(password) >= 3:
        from urllib.parse import quote

        text = text.replace(password, "********").replace(quote(password, safe=""), "********")
    return text

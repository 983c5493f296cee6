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
from pathlib import Path
from typing import Any

from offlineprep.collect.requests import HostRequest
from offlineprep.facts import (
    CollectionError,
    ErrorKind,
    FirewallRule,
    HostFacts,
    LocalGroup,
    PathFacts,
    ReplicationServer,
    ShareFacts,
    VirtualMachine,
)
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
    return (encode_request(request) + "\n" + collection_script()).encode("utf-8")


# --------------------------------------------------------------------------- collecting


@dataclass
class CollectionStats:
    commands_sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> None:
        with self.lock:
            self.commands_sent += 1


LAST_STATS = CollectionStats()


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
    LAST_STATS.commands_sent = stats.commands_sent
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
    started = time.monotonic()
    attempts = 0
    while True:
        attempts += 1
        try:
            stdout, stderr, code = run_script(factory(request.name), request, started + config.timeout_seconds, stats)
            break
        except Exception as exc:
            kind, message = describe_winrm_error(exc, request.name, config)
            if kind is ErrorKind.UNREACHABLE and _transient(exc) and attempts == 1:
                log.info("retrying %s after a transient network error", request.name)
                continue
            # a WS-Management fault or HTTP 500 comes from a host that connected and authenticated
            connected = kind in {ErrorKind.PROTOCOL, ErrorKind.GARBAGE}
            return HostFacts(name=request.name, reachable=connected,
                             error=CollectionError(kind=kind, message=_scrub(message, password)),
                             round_trip_seconds=round(time.monotonic() - started, 3))
    facts = parse_output(request.name, stdout, stderr, code)
    facts.round_trip_seconds = round(time.monotonic() - started, 3)
    if facts.error is not None:
        facts.error = CollectionError(kind=facts.error.kind, message=_scrub(facts.error.message, password))
    return facts


class _Deadline(Exception):
    pass


def run_script(protocol: Any, request: HostRequest, deadline: float, stats: CollectionStats) -> tuple[bytes, bytes, int]:
    shell = protocol.open_shell(codepage=65001, noprofile=True)
    try:
        command, args = command_line()
        command_id = protocol.run_command(shell, command, args)
        stats.count()
        try:
            protocol.send_command_input(shell, command_id, stdin_payload(request), end=True)
            out, err = bytearray(), bytearray()
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


def _transient(exc: BaseException) -> bool:
    text = repr(exc)
    return any(s in text for s in ("ConnectionResetError", "RemoteDisconnected", "ChunkedEncodingError",
                                   "BrokenPipe", "IncompleteRead"))


def describe_winrm_error(exc: BaseException, host: str, config: WinRMConfig) -> tuple[ErrorKind, str]:
    """One kind and one sentence, from the exception's type and fields (never the credentials)."""
    name = type(exc).__name__
    text = _short(str(exc))
    if isinstance(exc, _Deadline):
        return ErrorKind.TIMEOUT, f"{host} did not finish within {config.timeout_seconds:g} s"
    if name in {"InvalidCredentialsError", "BasicAuthDisabledError", "AuthenticationError"}:
        return ErrorKind.AUTH, f"{host} refused the credentials (HTTP 401): {text}"
    if name == "WSManFaultError":
        reason = _short(str(getattr(exc, "reason", "") or text))
        code = getattr(exc, "wsman_fault_code", None)
        return ErrorKind.PROTOCOL, f"{host} answered a WS-Management fault" + (f" {code}" if code else "") + \
            f": {reason}"
    if name == "WinRMTransportError":
        status = getattr(exc, "code", None)
        if status == 401:
            return ErrorKind.AUTH, f"{host} refused the credentials (HTTP 401)"
        return ErrorKind.PROTOCOL, f"{host} answered HTTP {status}: {_short(getattr(exc, 'response_text', '') or text)}"
    if name in {"SSLError"} or "CERTIFICATE_VERIFY_FAILED" in repr(exc):
        return ErrorKind.TLS, (f"the TLS certificate of {host} is not trusted: set [winrm] ca_file to its CA "
                               "(or verify_tls = false for a lab)")
    if name in {"ReadTimeout", "ConnectTimeout", "Timeout", "timeout", "TimeoutError"}:
        return ErrorKind.TIMEOUT, f"{host} did not answer within {config.timeout_seconds:g} s"
    if name in {"ConnectionError", "ConnectionRefusedError", "ChunkedEncodingError", "ConnectionResetError",
                "NewConnectionError", "MaxRetryError", "OSError", "gaierror"}:
        cause = "connection refused" if "refused" in repr(exc).lower() else _short(text, 160)
        return ErrorKind.UNREACHABLE, f"cannot reach {host}: {cause}"
    if isinstance(exc, ET.ParseError) or name in {"ParseError", "ExpatError", "StopIteration"}:
        return ErrorKind.GARBAGE, f"{host} answered something that is not WS-Management XML"
    if name == "WinRMError":
        return ErrorKind.PROTOCOL, f"WinRM error with {host}: {text}"
    return ErrorKind.PROTOCOL, f"WinRM to {host} failed: {name}: {text}"


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


def parse_output(host: str, stdout: bytes, stderr: bytes, code: int) -> HostFacts:
    def broken(kind: ErrorKind, message: str) -> HostFacts:
        return HostFacts(name=host, reachable=True, error=CollectionError(kind=kind, message=message))

    if code == -2 or len(stdout) > MAX_OUTPUT_BYTES:
        return broken(ErrorKind.GARBAGE, f"{host} sent more than {MAX_OUTPUT_BYTES // 2**20} MB of output; "
                      "the collection script never prints that much")
    if code != 0:
        return broken(ErrorKind.REMOTE, f"the collection script failed on {host} (exit code {code}): "
                      f"{decode_clixml(stderr)}")
    try:
        text = stdout.decode("utf-8-sig")  # a BOM, should a host's console writer add one, is no error
    except UnicodeDecodeError as exc:
        return broken(ErrorKind.GARBAGE, f"{host} sent output that is not UTF-8 (byte {exc.start})")
    if not text.strip():
        cause = decode_clixml(stderr) if stderr.strip() else "and nothing on stderr"
        return broken(ErrorKind.REMOTE, f"the collection script printed nothing on {host}: {cause}")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        start = _printable(text[:60])
        if text.strip().startswith("{"):
            return broken(ErrorKind.GARBAGE, f"{host} sent truncated JSON ({exc.msg} at {exc.pos} of {len(text)})")
        return broken(ErrorKind.GARBAGE, f"{host} sent output that is not JSON: {start!r}")
    if not isinstance(document, dict) or document.get("schema") != "offlineprep/host/v1":
        return broken(ErrorKind.GARBAGE, f"{host} sent JSON that is not the collection script's answer")
    try:
        return host_facts(host, document)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        return broken(ErrorKind.GARBAGE, f"{host} sent an answer of the wrong shape: {type(exc).__name__}")


def _list(value: Any) -> list[Any]:
    """ConvertTo-Json writes a one-element array as the element itself, and $null as null."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _opt_int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def host_facts(host: str, doc: dict[str, Any]) -> HostFacts:
    errors = doc.get("errors") or {}
    os = doc.get("os") or {}
    hyperv = doc.get("hyperv") or {}
    groups = [
        LocalGroup(sid=str(g["sid"]), name=str(g.get("name") or g["sid"]),
                   member_sids=[str(m["sid"]) for m in _list(g.get("members")) if m and m.get("sid")],
                   member_names={str(m["sid"]): str(m.get("name")) for m in _list(g.get("members"))
                                 if m and m.get("sid") and m.get("name")})
        for g in _list(doc.get("local_groups"))
    ]
    paths = []
    for p in _list(doc.get("paths")):
        share = p.get("share")
        paths.append(PathFacts(
            path=str(p["path"]), local_path=p.get("local_path"), exists=p.get("exists"),
            is_directory=p.get("is_directory"), ntfs_sddl=p.get("ntfs_sddl"),
            share=ShareFacts(name=str(share["name"]), local_path=share.get("path"), sddl=share.get("sddl"))
            if share else None,
            share_found=p.get("share_found"), free_bytes=_opt_int(p.get("free_bytes")),
            total_bytes=_opt_int(p.get("total_bytes")),
            error=CollectionError(kind=ErrorKind.REMOTE, message=_short(str(p["error"]))) if p.get("error") else None,
        ))
    if "local_groups" in errors:
        for i, path in enumerate(paths):
            if path.error is None:
                paths[i] = path.model_copy(update={"error": CollectionError(
                    kind=ErrorKind.REMOTE, message=f"local groups could not be read: {_short(errors['local_groups'])}")})
    rs = doc.get("replication_server")
    identity_error = errors.get("identity")
    return HostFacts(
        name=host,
        reachable=True,
        error=CollectionError(kind=ErrorKind.REMOTE, message=f"identity: {_short(str(identity_error))}")
        if identity_error else None,
        computer_name=doc.get("computer_name"),
        os_caption=os.get("caption"),
        os_version=os.get("version"),
        os_build=str(os["build"]) if os.get("build") is not None else None,
        hyperv_installed=hyperv.get("installed"),
        vmms_running=(hyperv.get("vmms") == "Running") if hyperv.get("vmms") is not None else None,
        ip_addresses=[str(ip) for ip in _list(doc.get("ip_addresses"))],
        local_groups=groups,
        paths=paths,
        vms=[VirtualMachine(name=str(v["name"]), disk_bytes=_opt_int(v.get("disk_bytes")))
             for v in _list(doc.get("vms"))] if "vms" in doc else None,
        replication_server=ReplicationServer(
            enabled=rs.get("enabled"), kerberos_port=_opt_int(rs.get("kerberos_port")),
            certificate_port=_opt_int(rs.get("certificate_port")),
            allowed_authentication=rs.get("allowed_authentication")) if rs else None,
        firewall_rules=[
            FirewallRule(name=str(r["name"]), display_name=str(r.get("display_name") or ""),
                         enabled=bool(r.get("enabled", True)), direction=r.get("direction", "inbound"),
                         action=r.get("action", "allow"), protocol=str(r.get("protocol") or "Any"),
                         local_ports=[str(x) for x in _list(r.get("local_ports"))])
            for r in _list(doc.get("firewall_rules"))
        ] if "firewall_rules" in doc else None,
        section_errors={str(k): _short(str(v)) for k, v in errors.items() if v} if isinstance(errors, dict) else {},
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

"""The one way any script of ours reaches a Windows machine: collection, discovery and apply alike.

How a script travels: `powershell -EncodedCommand` goes through cmd.exe, capped at 8,191
characters, and UTF-16LE + base64 inflates a script about 2.7 times, so our collection script
cannot be sent that way. Instead one command starts PowerShell with a short encoded bootstrap,
and the request (base64 JSON) and then the script are streamed on its stdin. The bootstrap runs
the script as a script block with the request as its only argument: values from the site file
are data, never code. The scripts themselves are `offlineprep.winrm.scripts`.

Each machine gets its own pywinrm Protocol (requests sessions are not thread-safe), a deadline of
its own (pywinrm retries operation timeouts in Receive forever), and one retry after a transient
network error. Every failure becomes one `CollectionError` for that machine only; why, in plain
words, is `offlineprep.winrm.causes`.
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
from dataclasses import dataclass, field
from typing import Any

from offlineprep.facts import CollectionError, ErrorKind
from offlineprep.names import NameError_, url_host
from offlineprep.site import WinRMConfig
from offlineprep.winrm.bounds import AnswerTooLarge, guard
from offlineprep.winrm.causes import Deadline, client_problem, describe_winrm_error, kerberos_diagnosis
from offlineprep.winrm.text import printable, scrub, short

log = logging.getLogger(__name__)

COMMAND_LINE_LIMIT = 8191  # cmd.exe, which WinRM runs the command through
MAX_OUTPUT_BYTES = 8 * 1024 * 1024
BOOTSTRAP = (
    "$ProgressPreference='SilentlyContinue';$r=[Console]::In.ReadLine();$s=[Console]::In.ReadToEnd();"
    "& ([scriptblock]::Create($s)) $r"
)

ProtocolFactory = Callable[[str], Any]  # host name -> winrm.protocol.Protocol (or a compatible object)


def encoded_bootstrap() -> str:
    return base64.b64encode(BOOTSTRAP.encode("utf-16-le")).decode("ascii")


def command_line() -> tuple[str, list[str]]:
    return "powershell", ["-NoLogo", "-NoProfile", "-NonInteractive", "-EncodedCommand", encoded_bootstrap()]


def command_line_length() -> int:
    command, args = command_line()
    return len(" ".join([command, *args]))


def script_payload(document: dict[str, Any], script: str) -> bytes:
    """What the bootstrap reads on stdin: the request (base64 JSON, one line), then the script. Every
    script of ours travels this way (collect.ps1, the discovery scripts vmm.ps1 and cluster.ps1, apply.ps1)."""
    text = json.dumps(document, ensure_ascii=False)
    return (base64.b64encode(text.encode("utf-8")).decode("ascii") + "\n" + script).encode("utf-8")


# --------------------------------------------------------------------------- running


@dataclass
class CollectionStats:
    """The commands sent, counted across the threads of one run (a benchmark and the tests read it)."""

    commands_sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> None:
        with self.lock:
            self.commands_sent += 1


def make_protocol(config: WinRMConfig, host: str, password: str | None) -> Any:
    from winrm.protocol import Protocol

    operation, read = timeouts(config.timeout_seconds)
    # the last guard: whatever source a name came from, only a validated host name becomes the URL
    # (no port, path, fragment or user part: docs/security.md, "Names"); NameError_ otherwise
    url = f"{config.scheme}://{url_host(host, context='a machine to reach over WinRM')}:{config.effective_port}{config.path}"
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
        return Ran(error=CollectionError(kind=kind, message=scrub(message, password)), reachable=answered)

    missing = client_problem(config)
    if missing is not None:
        return failed(ErrorKind.CLIENT, missing)
    try:
        url_host(machine, context="a machine to reach over WinRM")
    except NameError_ as exc:  # whichever factory builds the connection, none is made to such a name
        return failed(ErrorKind.CLIENT, f"{exc}: nothing was sent to it")
    attempts = 0
    while True:
        attempts += 1
        progress = Progress()
        try:
            stdout, stderr, code = stream_payload(factory(machine), payload, started + config.timeout_seconds, stats,
                                                  progress)
            return Ran(stdout=stdout, stderr=stderr, code=code, reachable=True, command_sent=progress.sent_at,
                       answered=time.time())
        except AnswerTooLarge as exc:
            return failed(ErrorKind.GARBAGE, str(exc), answered=True)
        except Exception as exc:
            kind, message = describe_winrm_error(exc, machine, config)
            if kind is ErrorKind.UNREACHABLE and transient(exc) and attempts == 1:
                log.info("retrying %s after a transient network error", machine)
                continue
            if kind is ErrorKind.AUTH and config.transport == "kerberos":
                diagnosis = kerberos_diagnosis(machine, config)
                if diagnosis is not None:
                    kind, message = ErrorKind.CLIENT, diagnosis
            if kind is ErrorKind.TIMEOUT and progress.shell_opened:
                message = (f"{machine} answered WinRM, but the {what} did not finish within "
                           f"{config.timeout_seconds:g} s")
            return failed(kind, message, answered=progress.shell_opened or is_wsman_fault(exc))


@dataclass
class Progress:
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
                   progress: Progress | None = None) -> tuple[bytes, bytes, int]:
    """Start the bootstrap and stream `payload` (the base64 request, a newline, the script) on its
    stdin: the one delivery of every script offlineprep runs on a Windows machine (collection,
    discovery, apply)."""
    progress = progress if progress is not None else Progress()
    # one total deadline across every message (a host dripping its answer cannot restart the read
    # timeout byte by byte) and bounded answers: offlineprep.winrm.bounds
    guard(protocol, deadline)
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
                    raise Deadline()
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


def transient(exc: BaseException) -> bool:
    text = repr(exc)
    return any(s in text for s in ("ConnectionResetError", "RemoteDisconnected", "ChunkedEncodingError",
                                   "BrokenPipe", "IncompleteRead"))


def is_wsman_fault(exc: BaseException) -> bool:
    """A WS-Management fault is an answer of the WinRM service to a request it authenticated."""
    return type(exc).__name__ == "WSManFaultError"


# --------------------------------------------------------------------------- what came back


def decode_clixml(stderr: bytes) -> str:
    """The error records of a CLIXML stream, as the lines a PowerShell user would have read."""
    text = stderr.decode("utf-8", "replace")
    if not text.startswith("#< CLIXML"):
        return short(text.strip(), 500)
    lines = []
    for block in text.split("#< CLIXML")[1:]:  # one header per stream, but concatenated streams repeat it
        try:
            root = ET.fromstring(block.strip())
        except ET.ParseError:
            return "the host wrote an unreadable CLIXML error stream"
        for node in root.iter():
            if (node.tag.endswith("}S") or node.tag == "S") and node.get("S") == "Error" and node.text:
                lines.append(node.text)
    message = XML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), "".join(lines))
    return short(" ".join(message.split()), 500) or "the host reported an error without text"


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
        start = printable(text[:60])
        if text.strip().startswith("{"):
            return broken(ErrorKind.GARBAGE, f"{host} sent truncated JSON ({exc.msg} at {exc.pos} of {len(text)})")
        return broken(ErrorKind.GARBAGE, f"{host} sent output that is not JSON: {start!r}")
    except RecursionError:  # hostile nesting beyond the interpreter's recursion limit
        return broken(ErrorKind.GARBAGE, f"{host} sent JSON nested too deeply to be read")
    if not isinstance(document, dict) or document.get("schema") != schema:
        return broken(ErrorKind.GARBAGE, f"{host} sent JSON that is not the {what}'s answer")
    return document, None


XML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")  # CLIXML's escape of characters XML cannot carry

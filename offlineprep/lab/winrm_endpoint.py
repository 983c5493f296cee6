"""A WS-Management endpoint on loopback that answers as the simulated Windows hosts would.

A simulator for tests, the demo and benchmarks, not a WinRM server: it speaks the shell protocol as
pywinrm uses it (Create shell, Command, Send stdin, Receive, Signal, Delete; Basic auth; every
response carrying RelatesTo = the request's MessageID), serves many hosts on one port (the host is
the last part of the URL path: /wsman/<host>), counts commands per host, records the request each
host received (so injection tests can see values arrive as data), checks that the script is our
collection script or our apply script byte for byte (by digest; `offlineprep.lab.apply_twin.HostState`
carries out the apply script's actions on the simulated host's own state), and misbehaves on demand
(`Fault`). The hosts share one lab network (`LabNetwork`: the DNS names and TCP 445 their probes
meet), and a command takes as long as its probes would on the host (`model_time`). It runs the
discovery scripts too (scripts/vmm.ps1 on a simulated VMM server, scripts/cluster.ps1 on a simulated
cluster's name or one of its nodes): each script is known by its digest, the machine answers as that
kind of machine would (offlineprep/lab/vmm.py, offlineprep/lab/cluster.py), and a cluster's name
answers collect.ps1 through the node that owns the cluster (the first one up). A request to the
plain `/wsman` path is routed by its Host header, so the CLI can reach simulated hosts by name when
those names resolve to loopback.

What it does as WinRM does:
- A 401 offers Negotiate beside Basic (WWW-Authenticate), as a WinRM listener with Basic enabled
  does, so a Kerberos client really tries its GSSAPI exchange.
- Output arrives over several Receive responses: each carries what the command wrote so far
  (CommandState Running) until the last one (CommandState Done with the exit code, streams marked
  End="true"); [MS-WSMV] 2.2.4.27 ReceiveResponse allows any number of Stream elements per response
  and 3.1.4.14 has the client Receive until Done. A response may end inside a UTF-8 sequence.
- Stdin streamed with WINRS_CONSOLEMODE_STDIN=TRUE (console mode) does not reach the process as
  an end of file: the script would wait for the rest of its input for ever, so Receive answers
  the WS-Management TimedOut fault (2150858793) as WinRM does when a command has no output within
  the operation timeout. Clients that stream input use pipe mode (Ansible's winrm connection
  plugin passes console_mode_stdin=False when it sends stdin; MetricsHub/winrm-java PR #144: "pipe-mode
  stdin also makes the local end-of-input a real EOF").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import socket
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from offlineprep.actions.acl_grant import with_restore_function
from offlineprep.lab.apply_twin import HostState
from offlineprep.lab.cluster import SimulatedCluster, plain_host_answer
from offlineprep.lab.collect_twin import answer as collect_answer
from offlineprep.lab.vmm import SimulatedVmm
from offlineprep.lab.windows import Fault, LabNetwork, SimulatedHost
from offlineprep.winrm.scripts import script

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
}
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
DONE = f"{SHELL}/CommandState/Done"
RUNNING = f"{SHELL}/CommandState/Running"
TIMED_OUT_CODE = "2150858793"  # WSMAN_ERROR_OPERATION_TIMEDOUT: pywinrm raises WinRMOperationTimeoutError on it


class _OperationTimeout(Exception):
    """The command produced nothing within the operation timeout (the w:TimedOut fault)."""


@dataclass
class _Command:
    host: str
    command_line: str
    console_mode_stdin: bool = True  # WinRM's default when the option is absent
    stdin: bytearray = field(default_factory=bytearray)
    stdin_ended: bool = False
    output: tuple[bytes, bytes, int] | None = None
    sent_out: int = 0  # bytes of stdout already returned by earlier Receive responses


class WinRMEndpoint:
    """Start with `with WinRMEndpoint(hosts, user, password) as endpoint:`; hosts keyed by the name
    the collector uses (as written in the site file), compared case-insensitively."""

    def __init__(self, hosts: dict[str, SimulatedHost], username: str = "lab\\preflight",
                 password: str = "lab-password", latency: float = 0.0, slow_seconds: float = 30.0,
                 receive_chunk_bytes: int = 0, model_time: bool = True, vmm: dict[str, SimulatedVmm] | None = None,
                 clusters: dict[str, SimulatedCluster] | None = None,
                 other_accounts: dict[str, str] | None = None) -> None:
        self.hosts = {_key(k): v for k, v in hosts.items()}
        self.vmm = {_key(k): v for k, v in (vmm or {}).items()}
        self.clusters = {_key(k): v for k, v in (clusters or {}).items()}
        self.username = username
        self.password = password
        # further accounts the listener accepts (an account for changes beside the read-only one)
        self.accounts = {username: password, **(other_accounts or {})}
        self.command_users: list[tuple[str, str]] = []  # (host, account) of each command, in order
        self.apply_requests: dict[str, list[dict[str, Any]]] = {}  # the requests apply.ps1 received, per host
        self.latency = latency
        self.slow_seconds = slow_seconds
        self.receive_chunk_bytes = max(0, receive_chunk_bytes)  # 0: as much as the envelope allows
        self.model_time = model_time  # take as long as the script would on the host (its probes)
        self.commands: Counter[str] = Counter()
        self.receives: Counter[str] = Counter()  # Receive responses that carried output, per host
        self.console_mode_commands = 0
        self.requests: dict[str, list[dict[str, Any]]] = {}
        self.command_lines: list[str] = []
        self.unknown_scripts = 0
        self.run_seconds: dict[str, float] = {}  # per host: how long its last command ran (the script's own time)
        self._commands: dict[str, _Command] = {}
        # faults on demand, per host (as the collector names it), on its Receive answers: `dripping` sends
        # the whole HTTP answer one byte at a time, this many seconds apart; `huge` answers this many
        # bytes (streamed, never held), with Content-Length declared when `huge_declared`, else to the
        # close of the connection. A client that gives up ends either (the write fails).
        self.dripping: dict[str, float] = {}
        self.huge: dict[str, int] = {}
        self.huge_declared = False
        self._lock = threading.Lock()
        self._network_cache: tuple[tuple[Any, ...], LabNetwork] | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._closed_port = _closed_port()
        # the scripts it runs, by digest: any other script is refused (apply's as apply.hosts sends it,
        # with the grant module's Restore-AccountAces put in)
        self._scripts = {script(name).digest: name for name in ("collect", "vmm", "cluster")}
        self._scripts[_digest(with_restore_function(script("apply").text))] = "apply"

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> WinRMEndpoint:
        endpoint = self

        class Handler(_Handler):
            owner = endpoint

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="winrm-lab", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> WinRMEndpoint:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "the endpoint is not started"
        return int(self._server.server_address[1])

    def url_for(self, host: str) -> str:
        sim = self.host_for(host)
        known = sim is not None or _key(host) in self.vmm or _key(host) in self.clusters
        refused = not known or (sim is not None and sim.fault is Fault.REFUSE)
        return f"http://127.0.0.1:{self._closed_port if refused else self.port}/wsman/{host}"

    def host_for(self, name: str) -> SimulatedHost | None:
        """The simulated Windows machine that answers `name`: the host itself, or, for a cluster's
        name, the node owning the cluster (its first node up)."""
        sim = self.hosts.get(_key(name))
        if sim is not None:
            return sim
        cluster = self.clusters.get(_key(name)) or next(  # a Replica Broker's name answers through the owner too
            (c for c in self.clusters.values() if _key(name) in {_key(b) for b in c.broker_fqdns()}), None)
        owner = cluster.owner() if cluster is not None else None
        return self.hosts.get(_key(cluster.node_fqdn(owner))) if cluster is not None and owner is not None else None

    def _cluster_of_node(self, name: str) -> tuple[SimulatedCluster, Any] | None:
        for cluster in self.clusters.values():
            for node in cluster.nodes:
                if _key(cluster.node_fqdn(node)) == _key(name):
                    return cluster, node
        return None

    @property
    def total_commands(self) -> int:
        return sum(self.commands.values())

    def protocol_factory(self, timeout_seconds: float = 10.0, password: str | None = None,
                         transport: str = "basic", username: str | None = None) -> Any:
        """host -> a real pywinrm Protocol pointed at this endpoint (Basic over HTTP on loopback; another
        transport to see what pywinrm does against a listener that refuses it)."""
        from winrm.protocol import Protocol

        from offlineprep.winrm.delivery import timeouts

        operation, read = timeouts(timeout_seconds)

        def factory(host: str) -> Protocol:
            return Protocol(endpoint=self.url_for(host), transport=transport,  # type: ignore[arg-type]
                            username=username or self.username,
                            password=password if password is not None else self.password,
                            read_timeout_sec=read, operation_timeout_sec=operation, message_encryption="never")

        return factory

    # ------------------------------------------------------------------ behaviour

    def _network(self) -> LabNetwork:
        """The lab network of the hosts, built again only when a host's names or addresses changed:
        building it for every command costs O(hosts) each, which at 2,000 hosts made the simulator
        (not the collector) the slowest part of a benchmark."""
        signature = tuple((key, sim.computer_name, tuple(sim.ip_addresses)) for key, sim in self.hosts.items())
        with self._lock:
            if self._network_cache is None or self._network_cache[0] != signature:
                self._network_cache = (signature, LabNetwork(self.hosts))
            return self._network_cache[1]

    def _run(self, cmd: _Command) -> tuple[bytes, bytes, int]:
        text = bytes(cmd.stdin).decode("utf-8", "replace")
        request_b64, _, script = text.partition("\n")
        kind = self._scripts.get(_digest(script))
        if kind is None:
            with self._lock:
                self.unknown_scripts += 1
            return b"", _clixml("the simulator only runs offlineprep's own scripts"), 1
        try:
            request = json.loads(base64.b64decode(request_b64, validate=True).decode("utf-8"))
        except (binascii.Error, ValueError):
            return b"", _clixml("the request argument is not base64 JSON"), 1
        if kind != "apply":
            with self._lock:
                self.requests.setdefault(_key(cmd.host), []).append(request)
        if kind == "vmm":
            vmm = self.vmm.get(_key(cmd.host))
            if vmm is None:
                return b"", _clixml("Import-Module : The specified module 'VirtualMachineManager' was not loaded "
                                    "because no valid module file was found in any module directory."), 1
            return json.dumps(vmm.answer(request)).encode("utf-8"), b"", 0
        if kind == "cluster":
            cluster = self.clusters.get(_key(cmd.host))
            if cluster is not None:
                return json.dumps(cluster.answer(request)).encode("utf-8"), b"", 0
            membership = self._cluster_of_node(cmd.host)
            if membership is not None:
                return json.dumps(membership[0].answer(request, node=membership[1])).encode("utf-8"), b"", 0
            plain = self.hosts.get(_key(cmd.host))
            if plain is None:
                return b"", _clixml(f"no simulated machine named {cmd.host}"), 1
            return json.dumps(plain_host_answer(plain.computer_name)).encode("utf-8"), b"", 0
        sim = self.host_for(cmd.host)
        if sim is None:
            return b"", _clixml(f"no simulated host named {cmd.host}"), 1
        if kind == "apply":
            with self._lock:
                self.apply_requests.setdefault(_key(cmd.host), []).append(request)
            # apply.ps1 writes one JSON line per action as it finishes
            document = b"".join(json.dumps(line).encode("utf-8") + b"\n" for line in HostState(sim).run(request))
            return self._faulty(sim, kind, document)
        answer = collect_answer(sim, request, self._network())
        probes = answer.get("probes") or {}
        if self.model_time and probes.get("seconds"):
            # the script's own run time on the host: its probes wait for DNS and TCP 445 (the timing model
            # of collect_twin._probes, bounded by the script's waits); the rest of it takes no time here
            time.sleep(float(probes["seconds"]))
        document = json.dumps(answer).encode("utf-8")
        return self._faulty(sim, kind, document)

    @staticmethod
    def _faulty(sim: SimulatedHost, kind: str, document: bytes) -> tuple[bytes, bytes, int]:
        """The answer as the host's fault (if any) spoils it."""
        fault = sim.fault
        if fault is Fault.TRUNCATED and kind == "apply":
            # the stream stops in the middle of the last answer: the answers before it arrived whole
            lines = document.splitlines(keepends=True)[:-1]  # without the final {"done": true}
            return b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2], b"", 0
        if fault is Fault.TRUNCATED:
            return document[: len(document) // 2], b"", 0
        if fault is Fault.NON_UTF8:
            return b"\xff\xfe{\x00\"\x00" + document[:40] + b"\x80\x81", b"", 0
        if fault is Fault.HUGE:
            return b"{" + b" " * (10 * 2**20) + b"}", b"", 0
        if fault is Fault.GARBAGE:
            return b"<html><body>Service Unavailable</body></html>", b"", 0
        if fault is Fault.CLIXML_ERROR:
            return b"", _clixml("Get-SmbShare : Access is denied.\r\nAt line:1 char:1"), 1
        return document, b"", 0


class _Handler(BaseHTTPRequestHandler):
    owner: WinRMEndpoint
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, body: bytes, content_type: str = "application/soap+xml;charset=UTF-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if status == 401:
            self.send_header("WWW-Authenticate", "Negotiate")
            self.send_header("WWW-Authenticate", 'Basic realm="WSMAN"')
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        owner = self.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        host = unquote(self.path.rstrip("/").rsplit("/", 1)[-1])
        if host.casefold() == "wsman":  # the real URL (http://name:port/wsman): route by the Host header
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
        sim = owner.host_for(host)
        delay = owner.latency + (sim.delay_seconds if sim else 0.0)
        if delay:
            time.sleep(delay)
        account = _basic_account(self.headers.get("Authorization") or "", owner.accounts)
        if account is None or (sim is not None and sim.fault is Fault.HTTP_401):
            self._send(401, b"", "text/plain")
            return
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            self._send(400, b"bad request", "text/plain")
            return
        action = _text(root, "s:Header/a:Action")
        message_id = _text(root, "s:Header/a:MessageID")
        verb = action.rsplit("/", 1)[-1]
        fault = sim.fault if sim is not None else None
        if fault is Fault.HTTP_500 and verb == "Create":
            self._send(500, b"Internal Server Error", "text/plain")
            return
        if fault is Fault.SOAP_FAULT and verb == "Create":
            self._send(500, _fault(message_id, "The WS-Management service cannot process the request because "
                                               "the WMI provider returned an error."))
            return
        handler = getattr(self, f"_on_{verb.lower()}", None)
        if handler is None:
            self._send(500, _fault(message_id, f"action {action} is not supported by the simulator"))
            return
        try:
            body = handler(root, host, sim)
        except _OperationTimeout:
            self._send(500, _fault(message_id, "The WS-Management service cannot complete the operation within the "
                                               "time specified in OperationTimeout.", code=TIMED_OUT_CODE,
                                   subcode="w:TimedOut"))
            return
        reply = _envelope(action + "Response", message_id, body)
        if verb == "Receive" and _key(host) in owner.dripping:
            self._drip(reply, owner.dripping[_key(host)])
            return
        if verb == "Receive" and _key(host) in owner.huge:
            self._flood(owner.huge[_key(host)], owner.huge_declared)
            return
        self._send(200, reply)

    def _drip(self, body: bytes, seconds: float) -> None:
        """The answer, status line and headers included, one byte at a time (a host that would restart
        a client's read timeout with every byte)."""
        head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml;charset=UTF-8\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode("ascii")
        self.close_connection = True
        try:
            for byte in head + body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(seconds)
        except OSError:
            return  # the client gave up

    def _flood(self, size: int, declared: bool) -> None:
        """An answer of `size` bytes of XML white space, streamed 64 KB at a time."""
        self.close_connection = True
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/soap+xml;charset=UTF-8")
            if declared:
                self.send_header("Content-Length", str(size))
            else:
                self.send_header("Connection", "close")
            self.end_headers()
            block = b" " * 65536
            sent = 0
            while sent < size:
                self.wfile.write(block[: size - sent])
                sent += min(len(block), size - sent)
        except OSError:
            return  # the client gave up

    # -------------------------------------------------------------- verbs

    def _on_create(self, root: ET.Element, host: str, sim: SimulatedHost | None) -> str:
        shell_id = str(uuid.uuid4()).upper()
        return (f'<x:ResourceCreated xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer">'
                f"<a:Address>http://127.0.0.1/wsman</a:Address><a:ReferenceParameters>"
                f"<w:ResourceURI>{SHELL}/cmd</w:ResourceURI><w:SelectorSet>"
                f'<w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet>'
                f"</a:ReferenceParameters></x:ResourceCreated>")

    def _on_command(self, root: ET.Element, host: str, sim: SimulatedHost | None) -> str:
        command = _text(root, "s:Body/rsp:CommandLine/rsp:Command")
        arguments = _text(root, "s:Body/rsp:CommandLine/rsp:Arguments")
        command_id = str(uuid.uuid4()).upper()
        line = f"{command} {arguments}".strip()
        options = {o.get("Name", ""): (o.text or "").strip().upper()
                   for o in root.findall("s:Header/w:OptionSet/w:Option", NS)}
        console = options.get("WINRS_CONSOLEMODE_STDIN", "TRUE") != "FALSE"
        account = _basic_account(self.headers.get("Authorization") or "", self.owner.accounts)
        with self.owner._lock:
            self.owner.command_users.append((_key(host), account or ""))
            self.owner._commands[command_id] = _Command(host=host, command_line=line, console_mode_stdin=console)
            self.owner.commands[_key(host)] += 1
            self.owner.command_lines.append(line)
            self.owner.console_mode_commands += int(console)
        return f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>"

    def _on_send(self, root: ET.Element, host: str, sim: SimulatedHost | None) -> str:
        stream = root.find("s:Body/rsp:Send/rsp:Stream", NS)
        if stream is not None:
            cmd = self.owner._commands.get(stream.get("CommandId", ""))
            if cmd is not None and stream.text:
                cmd.stdin += base64.b64decode(stream.text)
            if cmd is not None and stream.get("End", "").lower() == "true":
                cmd.stdin_ended = True
        return "<rsp:SendResponse/>"

    def _on_receive(self, root: ET.Element, host: str, sim: SimulatedHost | None) -> str:
        desired = root.find("s:Body/rsp:Receive/rsp:DesiredStream", NS)
        command_id = desired.get("CommandId", "") if desired is not None else ""
        cmd = self.owner._commands.get(command_id)
        if cmd is None:
            return "<rsp:ReceiveResponse/>"
        if sim is not None and sim.fault is Fault.SLOW:
            time.sleep(self.owner.slow_seconds)
        if cmd.console_mode_stdin or not cmd.stdin_ended:
            # the script is still reading its input: nothing to say before the operation timeout
            time.sleep(0.2)
            raise _OperationTimeout()
        if cmd.output is None:
            started = time.monotonic()
            cmd.output = self.owner._run(cmd)
            with self.owner._lock:
                self.owner.run_seconds[_key(cmd.host)] = time.monotonic() - started
        stdout, stderr, code = cmd.output
        # at most what fits the client's MaxEnvelopeSize once base64 encoded, and never all at once
        envelope = int(_text(root, "s:Header/w:MaxEnvelopeSize") or 153600)
        fits = max(1, (envelope - 2048) * 3 // 4)
        chunk = min(fits, self.owner.receive_chunk_bytes or fits, max(1, (len(stdout) + 1) // 2))
        part = stdout[cmd.sent_out:cmd.sent_out + chunk]
        cmd.sent_out += len(part)
        last = cmd.sent_out >= len(stdout)
        with self.owner._lock:
            self.owner.receives[_key(cmd.host)] += 1
        end = ' End="true"' if last else ""
        parts = [f'<rsp:Stream Name="stdout" CommandId="{command_id}"{end}>{base64.b64encode(part).decode()}'
                 "</rsp:Stream>"]
        if last:
            parts.append(f'<rsp:Stream Name="stderr" CommandId="{command_id}" End="true">'
                         f"{base64.b64encode(stderr).decode()}</rsp:Stream>")
            parts.append(f'<rsp:CommandState CommandId="{command_id}" State="{DONE}">'
                         f"<rsp:ExitCode>{code}</rsp:ExitCode></rsp:CommandState>")
        else:
            parts.append(f'<rsp:CommandState CommandId="{command_id}" State="{RUNNING}"/>')
        return "<rsp:ReceiveResponse>" + "".join(parts) + "</rsp:ReceiveResponse>"

    def _on_signal(self, root: ET.Element, host: str, sim: SimulatedHost | None) -> str:
        signal = root.find("s:Body/rsp:Signal", NS)
        if signal is not None:
            self.owner._commands.pop(signal.get("CommandId", ""), None)
        return "<rsp:SignalResponse/>"

    def _on_delete(self, root: ET.Element, host: str, sim: SimulatedHost | None) -> str:
        return ""


def _digest(script: str) -> str:
    return hashlib.sha256(script.encode("utf-8")).hexdigest()


def _basic_account(header: str, accounts: dict[str, str]) -> str | None:
    """The account a Basic Authorization header names, if its password is that account's."""
    for user, password in accounts.items():
        if header == "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode():
            return user
    return None


def _key(name: str) -> str:
    """Simulated machines are found by name as Windows finds them: case and the root dot do not count."""
    return name.strip().rstrip(".").casefold()


def _text(root: ET.Element, path: str) -> str:
    node = root.find(path, NS)
    return (node.text or "") if node is not None else ""


def _envelope(action: str, relates_to: str, body: str) -> bytes:
    return (
        f'<s:Envelope xmlns:s="{NS["s"]}" xmlns:a="{NS["a"]}" xmlns:w="{NS["w"]}" xmlns:rsp="{NS["rsp"]}">'
        f"<s:Header><a:Action>{action}</a:Action><a:MessageID>uuid:{uuid.uuid4()}</a:MessageID>"
        f"<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
        f"<a:RelatesTo>{relates_to}</a:RelatesTo></s:Header><s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def _fault(relates_to: str, reason: str, code: str = "2150858770", subcode: str = "w:InternalError") -> bytes:
    body = (
        f"<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>{subcode}</s:Value>"
        f'</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">{reason}</s:Text></s:Reason><s:Detail>'
        f'<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="{code}" '
        f'Machine="lab"><f:Message>{reason}</f:Message></f:WSManFault></s:Detail></s:Fault>'
    )
    return _envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relates_to, body)


def _clixml(message: str) -> bytes:
    escaped = (message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
               .replace("\r\n", "_x000D__x000A_"))
    return ('#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
            f'<S S="Error">{escaped}_x000D__x000A_</S></Objs>').encode()


def _closed_port() -> int:
    """A port nothing listens on: bound, then closed, so connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(hosts: dict[str, SimulatedHost], **kwargs: Any) -> Iterator[WinRMEndpoint]:
    endpoint = WinRMEndpoint(hosts, **kwargs).start()
    try:
        yield endpoint
    finally:
        endpoint.stop()

"""One host can neither hang a run nor exhaust its memory (docs/security.md, "Bounded hosts").

pywinrm sends each WS-Management message with requests' `session.send(..., timeout=read_timeout_sec)`
(winrm/transport.py, `_send_message_request`) and reads the whole answer into memory
(`response.content`). A requests/urllib3 read timeout is the longest wait for *one* socket read
("the number of seconds the client will wait for the server to send a response", requests'
"Timeouts"), so a host that drips its answer one byte at a time restarts it with every byte and
never times out; and `content` reads a 300 MB answer whole.

So every message of a host's run goes through an adapter of ours (mounted on pywinrm's session):
- one total deadline per host: each request's timeouts are capped by the time left, and a watchdog
  timer shuts the host's sockets down when the deadline passes, which ends a read in progress however
  slowly the bytes come (status line, headers, TLS handshake and body alike: every socket is
  registered as urllib3 creates it);
- a bounded answer size: an answer is read in chunks, at most `MAX_RESPONSE_BYTES` (a declared
  Content-Length above it is refused unread), and at most `MAX_HOST_BYTES` across one host's run.
A WinRM service never sends a message larger than the MaxEnvelopeSize the client asks for (pywinrm
asks for 153,600 bytes; MS-WSMV 2.2.4.19, the WS-Management `MaxEnvelopeSize` header), so the caps
leave ample room for any real answer and its encryption.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import weakref
from typing import Any
from urllib.parse import urlsplit

from offlineprep.winrm.causes import Deadline

MAX_RESPONSE_BYTES = 4 * 2**20  # one HTTP answer
MAX_HOST_BYTES = 64 * 2**20  # every answer of one host's run (8 MB of output, base64 in XML, encrypted)
CHUNK = 64 * 1024


class AnswerTooLarge(Exception):
    """A host sent more than an answer of ours can be; the message says how much and which bound."""


class HostBounds:
    """The deadline (time.monotonic()) and byte budget of one host's run, and its sockets."""

    def __init__(self, host: str, deadline: float) -> None:
        self.host = host
        self.deadline = deadline
        self.received = 0
        self.expired = False
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)
            late = self.expired
        if late:
            self._shut(sock)

    def expire(self) -> None:
        """The deadline passed: every socket of this host is shut down, which ends any read in progress."""
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            # the plain socket's shutdown: on a TLS socket, SSLSocket.shutdown would also drop its TLS
            # object under a read another thread is doing; the file descriptor is the same
            socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def count(self, size: int) -> None:
        self.received += size
        if self.received > MAX_HOST_BYTES:
            raise AnswerTooLarge(f"{self.host} sent more than {MAX_HOST_BYTES // 2**20} MB of WinRM answers in one run; "
                                 "no answer of offlineprep's scripts is that large")


def _capped(timeout: Any, remaining: float) -> Any:
    """requests' timeout (a number, or a (connect, read) pair) capped by the time left."""
    left = max(0.001, remaining)
    if isinstance(timeout, tuple):
        return tuple(left if t is None else min(float(t), left) for t in timeout)
    return left if timeout is None else min(float(timeout), left)


def bounded_adapter(bounds: HostBounds) -> Any:
    """A requests HTTPAdapter enforcing `bounds` (imports requests and urllib3 only when used)."""
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class _Plain(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            bounds.track(sock)
            return sock

    class _Tls(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            bounds.track(sock)
            return sock

    pools = {"http": type("BoundedPool", (HTTPConnectionPool,), {"ConnectionCls": _Plain}),
             "https": type("BoundedTlsPool", (HTTPSConnectionPool,), {"ConnectionCls": _Tls})}

    class BoundedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

        def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
            manager = super().proxy_manager_for(proxy, **proxy_kwargs)
            if type(manager).__name__ != "SOCKSProxyManager":  # SOCKS has pools of its own
                manager.pool_classes_by_scheme = pools
            return manager

        def send(self, request: Any, stream: bool = False, timeout: Any = None, verify: Any = True,
                 cert: Any = None, proxies: Any = None) -> Any:
            remaining = bounds.remaining()
            if bounds.expired or remaining <= 0:
                raise Deadline()
            watchdog = threading.Timer(remaining, bounds.expire)
            watchdog.daemon = True
            watchdog.start()
            try:
                response = super().send(request, stream=True, timeout=_capped(timeout, remaining), verify=verify,
                                        cert=cert, proxies=proxies)
                if not stream:
                    read_bounded(response, bounds)
                if bounds.expired:  # an answer cut short by the watchdog may look whole (read to close)
                    raise Deadline()
                return response
            except (AnswerTooLarge, Deadline):
                raise
            except Exception as exc:
                if bounds.expired or bounds.remaining() <= 0:
                    raise Deadline() from exc
                raise
            finally:
                watchdog.cancel()

    return BoundedAdapter()


def read_bounded(response: Any, bounds: HostBounds) -> None:
    """The body of `response`, read in chunks within the bounds, stored where requests keeps it."""
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.strip().isdigit() and int(declared) > MAX_RESPONSE_BYTES:
        response.close()
        raise AnswerTooLarge(f"{bounds.host} announced an answer of {int(declared):,} bytes; one WinRM answer is at "
                             f"most {MAX_RESPONSE_BYTES // 2**20} MB")
    body = bytearray()
    try:
        for chunk in response.iter_content(CHUNK):
            body += chunk
            if len(body) > MAX_RESPONSE_BYTES:
                raise AnswerTooLarge(f"{bounds.host} sent more than {MAX_RESPONSE_BYTES // 2**20} MB in one WinRM "
                                     "answer")
            bounds.count(len(chunk))
            if bounds.remaining() <= 0:
                raise Deadline()
    except BaseException:
        response.close()
        raise
    response._content = bytes(body)
    response._content_consumed = True


def guard(protocol: Any, deadline: float) -> None:
    """Put `protocol`'s messages (a pywinrm Protocol) under the deadline and size bounds of `host`'s run;
    anything else (a test double) is left as it is."""
    try:
        from winrm.transport import Transport
    except ImportError:  # pragma: no cover - pywinrm is a dependency
        return
    transport = getattr(protocol, "transport", None)
    if not isinstance(transport, Transport):
        return
    if not isinstance(transport, _bounded_transport()):
        transport.__class__ = _bounded_transport()
    host = urlsplit(str(transport.endpoint)).hostname or "the host"
    setattr(transport, "offlineprep_bounds", HostBounds(host, deadline))  # noqa: B010 - the subclass's own field


_TRANSPORT: list[type] = []


def _bounded_transport() -> type:
    """pywinrm's Transport, each message sent through a bounded adapter (made once, on first use)."""
    if _TRANSPORT:
        return _TRANSPORT[0]
    from winrm.transport import Transport

    class BoundedTransport(Transport):
        offlineprep_bounds: HostBounds

        def _send_message_request(self, session: Any, prepared_request: Any) -> Any:
            # every message, the encryption's first one and the authentication's rounds included, goes
            # through here (pywinrm 0.5 winrm/transport.py) and the adapter (requests_ntlm and the
            # Kerberos handler resend through response.connection: the adapter itself)
            bounds = self.offlineprep_bounds
            mounted = getattr(session, "offlineprep_bounds", None)
            if mounted is not bounds:
                adapter = bounded_adapter(bounds)
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                session.offlineprep_bounds = bounds
            return super()._send_message_request(session, prepared_request)

    _TRANSPORT.append(BoundedTransport)
    return BoundedTransport

"""The remote runner the discovery sources use: one of our scripts on each machine asked, all at once.

The one delivery of offlineprep.winrm (the request as base64 JSON on stdin, then the script; one
PowerShell per machine; a deadline of its own; one retry after a transient network error), for the
discovery scripts of its registry (`vmm`, `cluster`: offlineprep/winrm/scripts/). Every failure is
that machine's `RemoteResult.error`, never an exception.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from offlineprep.collect.sources import RemoteCall, RemoteResult, RemoteRunner
from offlineprep.facts import CollectionError, ErrorKind
from offlineprep.site import WinRMConfig
from offlineprep.winrm.delivery import (
    CollectionStats,
    ProtocolFactory,
    decode_answer,
    make_protocol,
    run_payload,
    script_payload,
)
from offlineprep.winrm.scripts import script

log = logging.getLogger(__name__)

DISCOVERY_SCRIPTS = ("vmm", "cluster")


def run_remote(config: WinRMConfig, calls: Sequence[RemoteCall], password: str | None,
               session_factory: ProtocolFactory | None = None, stats: CollectionStats | None = None
               ) -> dict[str, RemoteResult]:
    stats = stats or CollectionStats()
    factory = session_factory or (lambda host: make_protocol(config, host, password))

    def one(call: RemoteCall) -> RemoteResult:
        started = time.monotonic()
        try:
            if call.script not in DISCOVERY_SCRIPTS:
                raise ValueError(f"no discovery script named {call.script!r}")
            sent = script(call.script)
            assert sent.schema is not None
            payload = script_payload(call.request, sent.text)
            ran = run_payload(config, call.machine, payload, factory, password, stats, sent.label)
            result = RemoteResult(call.machine, reachable=ran.reachable, error=ran.error)
            if ran.error is None:
                result.document, result.error = decode_answer(call.machine, ran.stdout, ran.stderr, ran.code,
                                                              sent.schema, sent.label)
        except Exception as exc:  # a bug of ours costs this machine only
            log.exception("running %s on %s failed", call.script, call.machine)
            result = RemoteResult(call.machine, error=CollectionError(kind=ErrorKind.INTERNAL,
                                                                      message=f"runner failed: {type(exc).__name__}"))
        result.round_trip_seconds = round(time.monotonic() - started, 3)
        return result

    if not calls:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(config.concurrency, len(calls))),
                            thread_name_prefix="winrm-discovery") as pool:
        results = list(pool.map(one, calls))
    return {r.machine: r for r in results}


def remote_runner(config: WinRMConfig, password: str | None, session_factory: ProtocolFactory | None = None,
                  stats: CollectionStats | None = None) -> RemoteRunner:
    """A RemoteRunner bound to the site's WinRM settings (what DiscoveryContext.run takes)."""
    def run(calls: Sequence[RemoteCall]) -> dict[str, RemoteResult]:
        return run_remote(config, calls, password, session_factory, stats)

    return run

"""The remote runner the discovery sources use: one of our scripts on each machine asked, all at once.

The same delivery as host collection (offlineprep.collect.hosts: the request as base64 JSON on
stdin, then the script; one PowerShell per machine; a deadline of its own; one retry after a
transient network error), for the discovery scripts (scripts/vmm.ps1, scripts/cluster.ps1). Every
failure is that machine's `RemoteResult.error`, never an exception.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from offlineprep.collect.hosts import (
    CollectionStats,
    ProtocolFactory,
    decode_answer,
    make_protocol,
    run_payload,
    script_payload,
)
from offlineprep.collect.sources import RemoteCall, RemoteResult, RemoteRunner
from offlineprep.collect.sources.scripts import script_text
from offlineprep.facts import CollectionError, ErrorKind
from offlineprep.site import WinRMConfig

log = logging.getLogger(__name__)

SCHEMAS = {"vmm": "offlineprep/vmm/v1", "cluster": "offlineprep/cluster/v1"}
WHAT = {"vmm": "VMM discovery script", "cluster": "cluster discovery script"}


def run_remote(config: WinRMConfig, calls: Sequence[RemoteCall], password: str | None,
               session_factory: ProtocolFactory | None = None, stats: CollectionStats | None = None
               ) -> dict[str, RemoteResult]:
    stats = stats or CollectionStats()
    factory = session_factory or (lambda host: make_protocol(config, host, password))

    def one(call: RemoteCall) -> RemoteResult:
        started = time.monotonic()
        try:
            payload = script_payload(call.request, script_text(call.script))
            ran = run_payload(config, call.machine, payload, factory, password, stats, WHAT[call.script])
            result = RemoteResult(call.machine, reachable=ran.reachable, error=ran.error)
            if ran.error is None:
                result.document, result.error = decode_answer(call.machine, ran.stdout, ran.stderr, ran.code,
                                                              SCHEMAS[call.script], WHAT[call.script])
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

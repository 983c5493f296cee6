"""The host collector: one read-only PowerShell command per Windows machine, many machines at once,
and its answer (offlineprep/host/v1) read into `HostFacts`.

What it asks (`request_document`: the request as data) and what it makes of the answer
(`parse_output`, `host_facts`) are here; how the script reaches the machine, and why a connection
failed, are `offlineprep.winrm` (the same delivery discovery and apply use). Every failure becomes a
`CollectionError` for that host only.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from typing import Any

from offlineprep.collect.answer import HOST_SCHEMA, AnswerBase, read_answer
from offlineprep.collect.requests import HostRequest
from offlineprep.collect.sections import SECTIONS, Reading
from offlineprep.facts import CollectionError, ErrorKind, HostFacts
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
from offlineprep.winrm.text import scrub, short

log = logging.getLogger(__name__)

COLLECT = script("collect")


def collection_script() -> str:
    return COLLECT.text


def request_document(request: HostRequest) -> dict[str, Any]:
    return {
        "hyperv": request.hyperv,
        "probes": list(request.probes),
        "replica_connections": [{"server": c.server, "port": c.port, "authentication": c.authentication}
                                for c in request.replica_connections],
        "replica_connection_seconds": request.replica_connection_seconds,
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


def collect_one(
    config: WinRMConfig, request: HostRequest, factory: ProtocolFactory, password: str | None,
    stats: CollectionStats,
) -> HostFacts:
    """One host: `reachable` only when the host answered an authenticated WS-Management request
    (its shell opened, or it sent a WS-Management fault). A failure on this machine's side (no
    Kerberos library or ticket), in DNS, in TCP or TLS, or a refused login is never reachable."""
    started = time.monotonic()
    ran = run_payload(config, request.name, stdin_payload(request), factory, password, stats, COLLECT.label)
    if ran.error is not None:
        return HostFacts(name=request.name, reachable=ran.reachable, error=ran.error,
                         round_trip_seconds=round(time.monotonic() - started, 3))
    observed = _observed(ran.command_sent, ran.answered) if ran.answered is not None else None
    facts = parse_output(request.name, ran.stdout, ran.stderr, ran.code, observed=observed)
    facts.round_trip_seconds = round(time.monotonic() - started, 3)
    if facts.error is not None:
        facts.error = CollectionError(kind=facts.error.kind, message=scrub(facts.error.message, password))
    return facts


def _observed(sent: float | None, answered: float) -> tuple[datetime, float] | None:
    """When the host read its clock, on this machine's clock: the script reads it as it starts, some
    time between the command going out and its output coming back; the middle of that, give or
    take half of it."""
    if sent is None:
        return None
    return datetime.fromtimestamp((sent + answered) / 2, UTC), round(max(0.0, answered - sent) / 2, 3)


def parse_output(host: str, stdout: bytes, stderr: bytes, code: int,
                 observed: tuple[datetime, float] | None = None) -> HostFacts:
    document, error = decode_answer(host, stdout, stderr, code, HOST_SCHEMA, COLLECT.label)
    if document is None:
        return HostFacts(name=host, reachable=True, error=error)
    answer, problems, rejected = read_answer(document)
    return host_facts(host, answer, problems, rejected, observed=observed)


def host_facts(host: str, answer: AnswerBase, problems: dict[str, str] | None = None,
               rejected: dict[str, list[Any]] | None = None,
               observed: tuple[datetime, float] | None = None) -> HostFacts:
    """The facts of one host from its (validated) answer, each section's fields from its own module
    (offlineprep.collect.sections); parts of the wrong shape were left out by read_answer and are
    named in section_errors, the paths and VMs among them kept by name. `observed`: this machine's
    clock when the host read its own, and the uncertainty (seconds)."""
    reading = Reading(host=host, answer=answer, errors=dict(answer.errors), problems=problems or {},
                      rejected=rejected or {}, observed=observed)
    fields: dict[str, Any] = {}
    for section in SECTIONS:
        fields.update(section.facts(reading))
    sections = {str(k): short(str(v)) for k, v in reading.errors.items() if v}
    for section_name, text in reading.problems.items():
        sections[section_name] = short(text) if section_name not in sections else \
            sections[section_name] + "; " + short(text)
    return HostFacts(name=host, reachable=True, section_errors=sections, **fields)

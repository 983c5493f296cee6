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
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
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
        unreadable = [f"{m.name or 'a member'}: {short(m.error or 'unreadable')}" for m in g.unreadable]
        if g.error:
            unreadable.append(f"the members of {g.name or g.sid}: {short(g.error)}")
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
                    kind=ErrorKind.REMOTE, message=f"local groups could not be read: {short(group_problem)}")})
    vms = None
    if answer.vms is not None:
        vms = [VirtualMachine(name=v.name, disk_bytes=v.disk_bytes) for v in answer.vms]
        vms += [VirtualMachine(name=str(raw["name"])) for raw in rejected.get("vms", [])
                if isinstance(raw, dict) and isinstance(raw.get("name"), str)]
    rs = answer.replication_server
    identity_error = errors.get("identity")
    sections = {str(k): short(str(v)) for k, v in errors.items() if v}
    for section, text in problems.items():
        sections[section] = short(text) if section not in sections else sections[section] + "; " + short(text)
    return HostFacts(
        name=host,
        reachable=True,
        error=CollectionError(kind=ErrorKind.REMOTE, message=f"identity: {short(str(identity_error))}")
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
    error = CollectionError(kind=ErrorKind.REMOTE, message=short(p.error)) if p.error else None
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

"""One run: plan what to collect, collect only that, evaluate, apply waivers, build the results.

Only the facts the selected checks need are collected: with `--only 'ad.*'` the WinRM collector
is never imported, let alone called. A collector that raises does not end the run: its failure
becomes a `CollectionError` in the facts, and every check that needed those facts reports `error`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from offlineprep import __version__
from offlineprep.collect.requests import DirectoryRequest, HostRequest
from offlineprep.engine import CheckContext, CheckSpec, Need, evaluate, needs_of
from offlineprep.errors import UsageError
from offlineprep.facts import CollectionError, DirectoryFacts, ErrorKind, Facts, HostFacts, ToolStamp
from offlineprep.model import (
    FAIL_ON_RANK,
    STATUS_RANK,
    Cause,
    CheckInfo,
    Finding,
    Results,
    Selection,
    Status,
    ToolInfo,
    Topology,
    Verdict,
    at_threshold,
    blocks,
)
from offlineprep.names import PathRef
from offlineprep.remediation import bind_directory
from offlineprep.site import DirectoryConfig, Site, WinRMConfig
from offlineprep.waivers import Waiver, apply_waivers

log = logging.getLogger(__name__)

__all__ = ["FAIL_ON_RANK", "STATUS_RANK", "build_results", "collect", "exit_code", "plan_collection"]

HostCallback = Callable[[HostFacts], None]


class DirectoryCollector(Protocol):
    def __call__(self, config: DirectoryConfig, request: DirectoryRequest, password: str | None) -> DirectoryFacts: ...


class HostCollector(Protocol):
    def __call__(
        self,
        config: WinRMConfig,
        requests: list[HostRequest],
        password: str | None,
        on_result: HostCallback | None = None,
    ) -> dict[str, HostFacts]: ...


def _real_directory(config: DirectoryConfig, request: DirectoryRequest, password: str | None) -> DirectoryFacts:
    from offlineprep.collect.directory import collect_directory  # ldap3 only when needed

    return collect_directory(config, request, password)


def _real_hosts(
    config: WinRMConfig, requests: list[HostRequest], password: str | None, on_result: HostCallback | None = None
) -> dict[str, HostFacts]:
    from offlineprep.collect.hosts import collect_hosts  # pywinrm only when needed

    return collect_hosts(config, requests, password, on_result=on_result)


@dataclass
class Collectors:
    """The seam tests and the demo use to point collection at a lab; defaults are the real ones."""

    directory: DirectoryCollector = _real_directory
    hosts: HostCollector = _real_hosts


PasswordSource = Callable[[str, str], str | None]  # (env variable, purpose) -> password


@dataclass(frozen=True)
class SecretRequest:
    env: str  # the environment variable the site file names
    purpose: str  # "LDAP" or "WinRM", as the prompt says it


def secrets_needed(site: Site, needs: frozenset[Need]) -> list[SecretRequest]:
    """Every password this run will ask for, in the order collection uses them, so that the CLI
    can ask for all of them before a progress bar takes the terminal."""
    plan = plan_collection(site, needs)
    wanted = []
    if plan.directory is not None and site.directory is not None and site.directory.auth != "kerberos":
        wanted.append(SecretRequest(site.directory.password_env, "LDAP"))
    if plan.hosts and site.winrm is not None and site.winrm.transport not in {"kerberos", "certificate"}:
        wanted.append(SecretRequest(site.winrm.password_env, "WinRM"))
    return wanted


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class CollectionPlan:
    directory: DirectoryRequest | None
    hosts: list[HostRequest]


def plan_collection(site: Site, needs: frozenset[Need]) -> CollectionPlan:
    """What to collect for `needs`; a table the selected checks need but the site file lacks is a
    usage error here, before any password is asked for."""
    if Need.DIRECTORY in needs and site.directory is None:
        raise UsageError("the selected checks need Active Directory, but the site file has no [directory] table")
    if needs & {Need.HYPERV_HOSTS, Need.PATH_COMPUTERS} and site.winrm is None:
        raise UsageError("the selected checks need WinRM to the hosts, but the site file has no [winrm] table")
    return _plan(site, needs)


def _plan(site: Site, needs: frozenset[Need]) -> CollectionPlan:
    directory = None
    if Need.DIRECTORY in needs:
        directory = DirectoryRequest(
            computers=_unique([*site.all_hosts, *site.path_computers]),
            principals=_unique(site.accounts_to_check),
            spn_names=_unique([p.server for p in site.paths]),
        )
    machines: dict[str, HostRequest] = {}
    if Need.HYPERV_HOSTS in needs:
        for name in site.all_hosts:
            machines[name.casefold()] = HostRequest(name=name, hyperv=True, probes=_probes(site, name))
    if Need.PATH_COMPUTERS in needs:
        by_server: dict[str, list[PathRef]] = {}
        for ref in site.paths:
            by_server.setdefault(ref.server.casefold(), []).append(ref)
        for key, refs in by_server.items():
            existing = machines.get(key)
            machines[key] = HostRequest(
                name=existing.name if existing else refs[0].server,
                hyperv=existing.hyperv if existing else False,
                paths=refs,
                probes=existing.probes if existing else [],
            )
    return CollectionPlan(directory=directory, hosts=list(machines.values()))


def _probes(site: Site, host: str) -> list[str]:
    """The path computers `host` must reach itself (host.path-reachable): the export path's server
    from a source host, the import path's from a target host."""
    names = []
    if site.export_path is not None and any(h.casefold() == host.casefold() for h in site.source_hosts):
        names.append(site.export_path.server)
    if site.import_path is not None and any(h.casefold() == host.casefold() for h in site.target_hosts):
        names.append(site.import_path.server)
    return _unique([n for n in names if n])


def _unique(names: Sequence[str]) -> list[str]:
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(name.casefold(), name)
    return list(seen.values())


# --------------------------------------------------------------------------- collecting


def collect(
    site: Site,
    needs: frozenset[Need],
    collectors: Collectors,
    password_for: PasswordSource,
    on_host_done: HostCallback | None = None,
) -> Facts:
    plan = plan_collection(site, needs)
    facts = Facts(tool=ToolStamp(version=__version__))
    stats: dict[str, Any] = {}

    if plan.directory is not None:
        assert site.directory is not None  # plan_collection refused a site without it
        password = None
        if site.directory.auth != "kerberos":
            password = password_for(site.directory.password_env, "LDAP")
        started = time.monotonic()
        try:
            facts.directory = collectors.directory(site.directory, plan.directory, password)
        except Exception as exc:  # a collector bug must cost only its own findings
            log.exception("directory collector failed")
            facts.directory = DirectoryFacts(
                server=site.directory.server,
                error=CollectionError(kind=ErrorKind.INTERNAL, message=f"directory collector failed: {type(exc).__name__}"),
            )
        stats["ldap_seconds"] = round(time.monotonic() - started, 3)
        stats["ldap_searches"] = facts.directory.searches

    if plan.hosts:
        assert site.winrm is not None
        password = None
        if site.winrm.transport not in {"kerberos", "certificate"}:
            password = password_for(site.winrm.password_env, "WinRM")
        started = time.monotonic()
        try:
            hosts = collectors.hosts(site.winrm, plan.hosts, password, on_result=on_host_done)
        except Exception as exc:
            log.exception("host collector failed")
            error = CollectionError(kind=ErrorKind.INTERNAL, message=f"host collector failed: {type(exc).__name__}")
            hosts = {r.name: HostFacts(name=r.name, reachable=False, error=error) for r in plan.hosts}
        for request in plan.hosts:  # a host the collector forgot is an error, not a silent gap
            if not any(k.casefold() == request.name.casefold() for k in hosts):
                hosts[request.name] = HostFacts(
                    name=request.name,
                    reachable=False,
                    error=CollectionError(kind=ErrorKind.INTERNAL, message="the host collector returned nothing for this host"),
                )
        facts.hosts = hosts
        stats["winrm_seconds"] = round(time.monotonic() - started, 3)
        stats["hosts_queried"] = len(plan.hosts)
        stats["powershell_commands"] = len(plan.hosts)  # one invocation per host, by design
    facts.statistics = stats
    return facts


# --------------------------------------------------------------------------- judging


@dataclass
class RunOptions:
    fail_on: str = "fail"
    waivers: list[Waiver] = field(default_factory=list)
    today: date | None = None
    problems: list[str] = field(default_factory=list)
    known_checks: list[str] | None = None  # every check discovered; None: those that ran
    only: list[str] = field(default_factory=list)
    skip: list[str] = field(default_factory=list)
    facts_file: str | None = None  # the saved facts evaluated (`--facts`), for "not in the facts file"


def build_results(site: Site | None, checks: Sequence[CheckSpec], facts: Facts, options: RunOptions) -> Results:
    findings: list[Finding] = []
    catalogue = [c.info() for c in checks]
    if site is not None:
        context = CheckContext(site=site, facts=facts, facts_file=options.facts_file)
        findings = send_fixes_to(directory_server(site), evaluate(checks, context))
        if options.facts_file:
            gaps = facts_file_gaps(site, checks, facts, options.facts_file)
            findings = sorted([*findings, *gaps], key=lambda f: f.sort_key)
            catalogue += [FACTS_FILE_CHECK] if gaps else []
    today = options.today or date.today()
    findings, waiver_report = apply_waivers(findings, options.waivers, today)
    statistics = dict(facts.statistics)
    statistics["checks_run"] = len(checks)
    run = [c.id for c in checks]
    return Results(
        tool=ToolInfo(version=__version__),
        generated_at=datetime.now(UTC),
        verdict=verdict_of(findings),
        summary=summarise(findings),
        findings=findings,
        topology=topology_of(site) if site is not None else Topology(),
        statistics=statistics,
        waivers=waiver_report,
        problems=list(options.problems),
        selection=Selection(checks_run=run, checks_known=list(options.known_checks or run),
                            only=list(options.only), skip=list(options.skip)),
        catalogue=catalogue,
        fail_on=options.fail_on,
    )


def directory_server(site: Site) -> str | None:
    """The domain controller AD fixes go to: the host of the site's [directory] server URL (the AD
    cmdlets' -Server takes the DC's name; their port is AD Web Services', not LDAP's)."""
    if site.directory is None:
        return None
    return urlsplit(site.directory.server).hostname or None


def send_fixes_to(server: str | None, findings: list[Finding]) -> list[Finding]:
    """Every AD action names `server`, so each AD line of a fix carries -Server (docs/fixes.md)."""
    out = []
    for finding in findings:
        fix = finding.remediation
        bound = bind_directory(fix, server) if fix is not None else None
        out.append(finding if bound is fix else finding.model_copy(update={"remediation": bound}))
    return out


FACTS_FILE_CHECK = CheckInfo(
    id="facts", title="The facts file holds every machine the site file names", severity="high",
    why="A saved facts file is evaluated as it is: a host or file server that was not collected into it cannot be "
        "judged, and is reported here rather than left out of the report.")


def facts_file_gaps(site: Site, checks: Sequence[CheckSpec], facts: Facts, facts_file: str) -> list[Finding]:
    """An `error` for each machine the selected checks need that the facts file lacks. Checks that
    read a machine report it themselves; this makes sure no machine is a silent gap even where a
    check only walks the machines the facts hold."""
    gaps = []
    for request in _plan(site, needs_of(checks)).hosts:  # the tables that say how to connect do not matter here
        if facts.find_host(request.name) is None:
            cause = Cause.not_in_facts_file(request.name, request.name, facts_file)
            gaps.append(Finding(check=FACTS_FILE_CHECK.id, status=Status.ERROR, severity="high", subject=request.name,
                                message=cause.text, cause=cause))
    return gaps


def summarise(findings: Sequence[Finding]) -> dict[str, int]:
    summary = {s.value: 0 for s in Status}
    for f in findings:
        summary[f.status.value] += 1
    summary["waived"] = sum(1 for f in findings if f.waived)
    return summary


def verdict_of(findings: Sequence[Finding]) -> Verdict:
    counted = [f for f in findings if not f.waived]
    if any(f.status is Status.FAIL for f in counted):
        return Verdict.NOT_READY
    if any(f.status is Status.ERROR for f in counted):
        return Verdict.INCOMPLETE
    return Verdict.READY


def exit_code(results: Results, fail_on: str | None = None) -> int:
    """0 ready; 1 a non-waived finding at or above --fail-on (warn < error < fail); 3 errors but
    nothing at the threshold. `never` keeps findings from causing 1, not errors from causing 3.
    Without `fail_on`, the one the results were judged by. The findings that make it non-zero are
    exactly those `model.blocks` names, which every output lists as blocking."""
    fail_on = fail_on or results.fail_on
    if any(at_threshold(f, fail_on) for f in results.findings):
        return 1
    if any(blocks(f, fail_on) for f in results.findings):
        return 3
    return 0


def topology_of(site: Site) -> Topology:
    return Topology(
        source_hosts=site.source_hosts,
        export_path=site.source.export_path,
        import_path=site.target.import_path,
        target_hosts=site.target_hosts,
    )

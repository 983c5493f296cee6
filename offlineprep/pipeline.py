"""One run: discover the inventory, route what to collect, collect only that, evaluate, apply
waivers, build the results (docs/inventory.md, "Order of a run").

Before anything: `collection_scope` says what the site file lets a run ask for (a table the
selected checks need but the site lacks is a usage error then, before any password). Discovery
first: the registered sources that apply to the site (`collect.sources.sources_for`), in
dependency order: the site file's lists, then VMM (one PowerShell on the VMM server, when [vmm] is
set), then the failover clusters (one PowerShell on each cluster's name). The inventory they build
decides the routes (`collect.routing`): one PowerShell per machine, and every object read from its
own domain's directory. Only the facts the selected checks need are collected: with `--only 'ad.*'` no
host is asked over WinRM (VMM still is, when the site names it: it says which hosts there are). A
collector that raises does not end the run: its failure becomes a `CollectionError` in the facts,
and every check that needed those facts reports `error`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from offlineprep import __version__
from offlineprep.collect.requests import DirectoryRequest, HostRequest
from offlineprep.collect.routing import DomainDirectory, DomainRouter, ReplicaTest, route_collection
from offlineprep.collect.sources import DiscoveryContext, RemoteCall, RemoteResult, sources_for
from offlineprep.collect.sources.cluster import apply_cluster_view, read_cluster_answer
from offlineprep.engine import CheckContext, CheckSpec, Need, evaluate, needs_of
from offlineprep.errors import UsageError
from offlineprep.facts import CollectionError, DirectoryFacts, ErrorKind, Facts, HostFacts, ToolStamp, directory_key
from offlineprep.inventory import Inventory, InventoryBuilder, Origin, site_inventory
from offlineprep.model import (
    FAIL_ON_RANK,
    STATUS_RANK,
    Cause,
    CauseKind,
    CauseOrigin,
    CheckInfo,
    FactsSource,
    Finding,
    Results,
    Selection,
    Status,
    ToolInfo,
    Topology,
    Unreached,
    Verdict,
)
from offlineprep.names import DomainName, HostIndex, HostName
from offlineprep.rbcd import groups_needed, named_sids
from offlineprep.remediation import bind_directory
from offlineprep.site import DirectoryConfig, Site, WinRMConfig
from offlineprep.verdict import judge, summary, with_verdict
from offlineprep.waivers import Waiver, apply_waivers

log = logging.getLogger(__name__)

__all__ = ["FAIL_ON_RANK", "STATUS_RANK", "build_results", "collect", "collection_scope"]

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


class RemoteCollector(Protocol):
    def __call__(self, config: WinRMConfig, calls: Sequence[RemoteCall], password: str | None
                 ) -> dict[str, RemoteResult]: ...


def _real_directory(config: DirectoryConfig, request: DirectoryRequest, password: str | None) -> DirectoryFacts:
    from offlineprep.collect.directory import collect_directory  # ldap3 only when needed

    return collect_directory(config, request, password)


def _real_hosts(
    config: WinRMConfig, requests: list[HostRequest], password: str | None, on_result: HostCallback | None = None
) -> dict[str, HostFacts]:
    from offlineprep.collect.hosts import collect_hosts  # pywinrm only when needed

    return collect_hosts(config, requests, password, on_result=on_result)


def _real_remote(config: WinRMConfig, calls: Sequence[RemoteCall], password: str | None) -> dict[str, RemoteResult]:
    from offlineprep.collect.remote import run_remote  # pywinrm only when needed

    return run_remote(config, calls, password)


@dataclass
class Collectors:
    """The seam tests and the demo use to point collection at a lab; defaults are the real ones."""

    directory: DirectoryCollector = _real_directory
    hosts: HostCollector = _real_hosts
    remote: RemoteCollector = _real_remote  # the discovery scripts (VMM, clusters)


PasswordSource = Callable[[str, str], str | None]  # (env variable, purpose) -> password


@dataclass(frozen=True)
class SecretRequest:
    env: str  # the environment variable the site file names
    purpose: str  # "LDAP" or "WinRM", as the prompt says it


def secrets_needed(site: Site, needs: frozenset[Need]) -> list[SecretRequest]:
    """Every password this run will ask for (each directory's, then WinRM's), so that the CLI can ask
    for all of them before a progress bar takes the terminal."""
    scope = collection_scope(site, needs)
    wanted: list[SecretRequest] = []
    if scope.directory is not None:
        for config in site.directories:
            request = SecretRequest(config.password_env, "LDAP")
            if config.auth != "kerberos" and request not in wanted:
                wanted.append(request)
    if scope.winrm and site.winrm is not None and site.winrm.transport not in {"kerberos", "certificate"}:
        wanted.append(SecretRequest(site.winrm.password_env, "WinRM"))
    return wanted


# --------------------------------------------------------------------------- scope


@dataclass(frozen=True)
class CollectionScope:
    """What a run will ask for, as far as the site file tells before discovery (the tables it
    needs; the machines VMM and the clusters add are known only once they answered)."""

    directory: DirectoryRequest | None
    hosts: list[HostRequest]
    vmm: str | None = None  # the VMM server discovery asks, when [vmm] is set

    @property
    def winrm(self) -> bool:
        """Whether this run opens WinRM at all: to hosts, or to VMM for discovery."""
        return bool(self.hosts) or self.vmm is not None


def collection_scope(site: Site, needs: frozenset[Need]) -> CollectionScope:
    """What to collect for `needs`; a table the selected checks need but the site file lacks is a
    usage error here, before any password is asked for."""
    if Need.DIRECTORY in needs and not site.directories:
        raise UsageError("the selected checks need Active Directory, but the site file has no [directory] table")
    winrm_for_hosts = bool(needs & {Need.HYPERV_HOSTS, Need.PATH_COMPUTERS})
    if (winrm_for_hosts or site.vmm is not None) and site.winrm is None:
        what = "WinRM to the hosts" if winrm_for_hosts else f"WinRM to the VMM server {site.vmm.server}" \
            if site.vmm is not None else "WinRM"
        raise UsageError(f"the selected checks need {what}, but the site file has no [winrm] table")
    return _scope(site, needs)


def _scope(site: Site, needs: frozenset[Need], inventory: Inventory | None = None) -> CollectionScope:
    routes = route_collection(inventory or site_inventory(site), domain_directories(site) or [DomainDirectory("")],
                              directory=Need.DIRECTORY in needs, hyperv_hosts=Need.HYPERV_HOSTS in needs,
                              path_computers=Need.PATH_COMPUTERS in needs,
                              replica=replica_test(site),
                              host_accounts=site.manager == "hyperv-replica")
    directory = None
    if routes.directories:
        requests = list(routes.directories.values())
        directory = DirectoryRequest(computers=[c for r in requests for c in r.computers],
                                     principals=[c for r in requests for c in r.principals],
                                     spn_names=[c for r in requests for c in r.spn_names])
    return CollectionScope(directory=directory, hosts=list(routes.hosts), vmm=site.vmm.server if site.vmm else None)


def replica_test(site: Site) -> ReplicaTest | None:
    """How source hosts test their Replica servers (replica.connection): the policy's authentication and
    `port`, else the port Site Recovery's walkthrough names for it (8083 Kerberos, 8084 certificate, as
    policy.replication-port assumes); None without a [policy] table (the authentication is not known)."""
    policy = site.policy
    if policy is None:
        return None
    kerberos = policy.authentication == "kerberos"
    return ReplicaTest("Kerberos" if kerberos else "Certificate", policy.port or (8083 if kerberos else 8084))


def domain_directories(site: Site) -> list[DomainDirectory]:
    """The configured directories by domain: [[directory]] names its domain; a single [directory]
    may not, and then its base_dn, if any, tells (else the collector finds out)."""
    out = []
    for config in site.directories:
        domain = config.domain or (str(DomainName.from_dn(config.base_dn)) if DomainName.from_dn(config.base_dn) else "")
        out.append(DomainDirectory(domain))
    return out


# --------------------------------------------------------------------------- collecting


def collect(
    site: Site,
    needs: frozenset[Need],
    collectors: Collectors,
    password_for: PasswordSource,
    on_host_done: HostCallback | None = None,
) -> Facts:
    collection_scope(site, needs)  # usage errors first
    facts = Facts(tool=ToolStamp(version=__version__))
    stats: dict[str, Any] = {}
    winrm = site.winrm
    host_needs = bool(needs & {Need.HYPERV_HOSTS, Need.PATH_COMPUTERS})
    passwords: dict[str, str | None] = {}

    def winrm_password() -> str | None:
        if winrm is None or winrm.transport in {"kerberos", "certificate"}:
            return None
        if "winrm" not in passwords:
            passwords["winrm"] = password_for(winrm.password_env, "WinRM")
        return passwords["winrm"]

    commands = 0

    def run(calls: Sequence[RemoteCall]) -> dict[str, RemoteResult]:
        nonlocal commands
        assert winrm is not None  # collection_scope refused a site without [winrm] that needs it
        commands += len(calls)
        try:
            return collectors.remote(winrm, calls, winrm_password())
        except Exception as exc:  # a collector bug must cost only the machines it was asked about
            log.exception("remote runner failed")
            error = CollectionError(kind=ErrorKind.INTERNAL, message=f"remote runner failed: {type(exc).__name__}")
            return {c.machine: RemoteResult(c.machine, error=error) for c in calls}

    # 1. discovery: the registered sources that apply (the site file, VMM, the clusters), in dependency order
    started = time.monotonic()
    builder = InventoryBuilder()
    context = DiscoveryContext(site=site, inventory=builder, run=run if winrm is not None else None)
    for source in sources_for(site, collects_hosts=host_needs):
        source.discover(context)
    stats["discovery_seconds"] = round(time.monotonic() - started, 3)
    stats["discovery_powershell_commands"] = commands

    # 2. hosts: one PowerShell per machine, those a cluster reports down excepted
    if host_needs:
        assert winrm is not None
        started = time.monotonic()
        replica = replica_test(site)  # what source hosts test to their Replica servers
        hosts = _collect_hosts(collectors, winrm, builder.build(), needs, winrm_password, on_host_done, replica=replica)
        # a name the site file lists that answered as another machine may be a cluster's name: ask it
        hosts = _expand_cluster_names(site, builder, hosts, run)
        extra = [r for r in _host_requests(builder.build(), needs, replica) if r.name not in hosts]
        if extra:  # the nodes of a cluster named in the site file
            hosts.update(_collect_hosts(collectors, winrm, builder.build(), needs, winrm_password, on_host_done,
                                        only=extra, replica=replica))
        facts.hosts = hosts
        for answered in hosts.values():  # nodes listed one by one: each says its cluster and broker
            if answered.cluster is not None:
                builder.node_reports_cluster(answered.name, answered.cluster.name, answered.cluster.domain,
                                             answered.cluster.brokers[0] if answered.cluster.brokers else None)
        stats["winrm_seconds"] = round(time.monotonic() - started, 3)
        stats["hosts_queried"] = sum(1 for h in hosts.values() if not _down(h))
    inventory = builder.build()
    facts.inventory = inventory

    # 3. directories: every object from its own domain's directory
    if Need.DIRECTORY in needs:
        started = time.monotonic()
        _collect_directories(site, inventory, collectors, password_for, facts)
        stats["ldap_seconds"] = round(time.monotonic() - started, 3)
        stats["ldap_searches"] = sum(d.searches for d in (facts.directories or {}).values())
        stats["ldap_searches_per_domain"] = {k: d.searches for k, d in (facts.directories or {}).items()}
        # the other writable DCs of each domain, read for ad.replicated (each DC's own count is in its facts);
        # only where there are others, so one DC's statistics stay what they were
        others = sum(dc.searches for d in (facts.directories or {}).values()
                     for dc in d.domain_controllers or [] if not dc.named)
        if others:
            stats["ldap_searches_other_dcs"] = others
    stats["powershell_commands"] = commands + (stats.get("hosts_queried") or 0)
    facts.statistics = stats
    return facts


def _down(host: HostFacts) -> bool:
    """Not asked: its cluster reports it down."""
    return host.error is not None and host.error.down_in_cluster is not None


def _host_requests(inventory: Inventory, needs: frozenset[Need], replica: ReplicaTest | None = None) -> list[HostRequest]:
    return route_collection(inventory, [DomainDirectory("")], directory=False,
                            hyperv_hosts=Need.HYPERV_HOSTS in needs,
                            path_computers=Need.PATH_COMPUTERS in needs, replica=replica).hosts


def _collect_hosts(collectors: Collectors, winrm: WinRMConfig, inventory: Inventory, needs: frozenset[Need],
                   password: Callable[[], str | None], on_host_done: HostCallback | None,
                   only: list[HostRequest] | None = None, replica: ReplicaTest | None = None) -> dict[str, HostFacts]:
    routes = route_collection(inventory, [DomainDirectory("")], directory=False,
                              hyperv_hosts=Need.HYPERV_HOSTS in needs, path_computers=Need.PATH_COMPUTERS in needs,
                              replica=replica)
    requests = only if only is not None else routes.hosts
    try:
        hosts = collectors.hosts(winrm, requests, password(), on_result=on_host_done) if requests else {}
    except Exception as exc:
        log.exception("host collector failed")
        error = CollectionError(kind=ErrorKind.INTERNAL, message=f"host collector failed: {type(exc).__name__}")
        hosts = {r.name: HostFacts(name=r.name, reachable=False, error=error) for r in requests}
    index = HostIndex((name, name) for name in hosts)
    for request in requests:  # a host the collector forgot is an error, not a silent gap
        if request.name not in index:
            hosts[request.name] = HostFacts(name=request.name, reachable=False, error=CollectionError(
                kind=ErrorKind.INTERNAL, message="the host collector returned nothing for this host"))
    if only is None:
        for node, cluster in routes.down_nodes.items():
            hosts[node] = HostFacts(name=node, reachable=False, error=CollectionError.down_node(node, cluster))
    return hosts


def _expand_cluster_names(site: Site, builder: InventoryBuilder, hosts: dict[str, HostFacts],
                          run: Callable[[Sequence[RemoteCall]], dict[str, RemoteResult]]) -> dict[str, HostFacts]:
    """A name the site file lists as a host whose machine calls itself otherwise is an alias or a
    cluster's name (its client access point answers through a node): ask it once, with the cluster
    script; a cluster's name becomes the cluster, and its own host facts (the owner node's) go."""
    suspects = []
    for host in builder.hosts:
        facts = hosts.get(host.name)
        if host.origins != [Origin.SITE_FILE] or host.cluster or facts is None or not facts.computer_name:
            continue
        if not HostName(host.name).same_machine(facts.computer_name, HostName(facts.computer_name).suffix):
            suspects.append(host.name)
    if not suspects:
        return hosts
    results = run([RemoteCall(machine=name, script="cluster", request={"name": name}) for name in suspects])
    for name in suspects:
        result = results.get(name)
        if result is None or result.document is None:
            continue
        answer = read_cluster_answer(name, result.document)
        if answer.view is None:
            continue
        cluster, _ = apply_cluster_view(builder, name, answer.view)
        if builder.find_host(name) is None:  # it was the cluster's name, not a node's
            hosts.pop(name, None)
            log.info("%s is the name of cluster %s", name, cluster.name)
    return hosts


def collect_directories(site: Site, inventory: Inventory, collectors: Collectors, password_for: PasswordSource
                        ) -> Facts:
    """The directories alone, for an inventory already built (apply --wait-replication reads them again
    and again, without discovering the hosts each time)."""
    facts = Facts(tool=ToolStamp(version=__version__), inventory=inventory)
    _collect_directories(site, inventory, collectors, password_for, facts)
    return facts


def _collect_directories(site: Site, inventory: Inventory, collectors: Collectors, password_for: PasswordSource,
                         facts: Facts) -> None:
    """Every domain's objects from its own directory. A domain that holds no Hyper-V host is read
    first: the resource-based delegation descriptors of its path computers may name a group of the
    hosts' domain, and the hosts' groups are read (in the same pass) only when some descriptor
    names one. A domain read before a descriptor naming one of its groups turned up is read again
    (only when two domains each hold hosts and path computers that name the other's groups)."""
    configured = list(zip(domain_directories(site), site.directories, strict=True))
    routes = route_collection(inventory, [d for d, _ in configured], hyperv_hosts=False, path_computers=False,
                              host_accounts=site.manager == "hyperv-replica")
    by_domain = {DomainName(d.dns_name).key: config for d, config in configured}
    host_domains = {DomainRouter([d for d, _ in configured]).for_computer(h.name, h.domain)
                    for h in inventory.hyperv_hosts()}
    results: dict[str, DirectoryFacts] = {}

    def read(domain: str, request: DirectoryRequest) -> DirectoryFacts:
        config = by_domain.get(domain) or configured[0][1]
        password = None if config.auth == "kerberos" else password_for(config.password_env, "LDAP")
        try:
            result = collectors.directory(config, request, password)
        except Exception as exc:  # a collector bug must cost only its own findings
            log.exception("directory collector failed")
            result = DirectoryFacts(server=config.server, error=CollectionError(
                kind=ErrorKind.INTERNAL, message=f"directory collector failed: {type(exc).__name__}"))
        if not result.domain_dns_name and (config.domain or domain):
            result.domain_dns_name = config.domain or domain  # so that a failed domain still has its own entry
        return result

    for domain in sorted(routes.directories, key=lambda d: d in host_domains):  # stable: hosts' domains last
        request = replace(routes.directories[domain], named_sids=_named_sids(results.values()))
        results[domain] = read(domain, request)
    for domain, result in list(results.items()):
        named = _named_sids(r for d, r in results.items() if d != domain)
        if result.error is None and not result.groups_read and groups_needed(result, named):
            again = read(domain, replace(routes.directories[domain], named_sids=named))
            again.searches += result.searches
            results[domain] = again
    for domain in routes.directories:  # in the site file's order: the first is the primary directory
        facts.add_directory(results[domain])


def _named_sids(directories: Iterable[DirectoryFacts]) -> list[str]:
    """Every SID the delegation descriptors of these directories' computers name."""
    return sorted({sid for d in directories for c in d.computers.values() if c.rbcd_sddl
                   for sid in named_sids(c.rbcd_sddl)})


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
    unreached = unreached_from_here(facts, options.facts_file)
    if site is not None:
        context = CheckContext(site=site, facts=facts, facts_file=options.facts_file)
        findings = send_fixes_to(directory_servers(site, facts), evaluate(checks, context))
        findings = not_judged_from_here(findings, facts, unreached)
        if options.facts_file:
            gaps = facts_file_gaps(site, checks, facts, options.facts_file)
            findings = sorted([*findings, *gaps], key=lambda f: f.sort_key)
            catalogue += [FACTS_FILE_CHECK] if gaps else []
    today = options.today or date.today()
    findings, waiver_report = apply_waivers(findings, options.waivers, today)
    statistics = dict(facts.statistics)
    statistics["checks_run"] = len(checks)
    run = [c.id for c in checks]
    results = Results(
        tool=ToolInfo(version=__version__),
        generated_at=datetime.now(UTC),
        verdict=Verdict.INCOMPLETE,  # judged below, with everything else in place
        summary={},
        findings=findings,
        topology=topology_of(site, facts.inventory) if site is not None else Topology(),
        statistics=statistics,
        waivers=waiver_report,
        problems=list(options.problems),
        selection=Selection(checks_run=run, checks_known=list(options.known_checks or run),
                            only=list(options.only), skip=list(options.skip)),
        catalogue=catalogue,
        fail_on=options.fail_on,
        unreached=unreached,
        facts_from=FactsSource(file=options.facts_file, collected_at=facts.collected_at, version=facts.tool.version)
        if options.facts_file else None,
    )
    return with_verdict(results)


# error kinds that say more about this machine than about the one it asked: its DNS, its routes or
# proxy, a refusal or a silence (when every machine answers so), a library or ticket it lacks
LOCAL_KINDS = {ErrorKind.NAME_RESOLUTION, ErrorKind.UNREACHABLE, ErrorKind.TIMEOUT, ErrorKind.CLIENT}
_LOCAL_WORDS = {  # (one, several)
    ErrorKind.NAME_RESOLUTION: ("does not resolve in DNS", "do not resolve in DNS"),
    ErrorKind.UNREACHABLE: ("refused the connection or has no route from here",
                            "refused the connection or have no route from here"),
    ErrorKind.TIMEOUT: ("accepted no connection in time", "accepted no connection in time"),
    ErrorKind.CLIENT: ("could not be asked for want of something on this machine",
                       "could not be asked for want of something on this machine"),
}
_LOCAL_HINT = {
    ErrorKind.NAME_RESOLUTION: "this machine's DNS servers, or the names in the site file",
    ErrorKind.UNREACHABLE: "a firewall or proxy of this machine or its network",
    ErrorKind.TIMEOUT: "a firewall that drops the packets, or this machine's routes",
    ErrorKind.CLIENT: "see the example",
}


def unreached_from_here(facts: Facts, facts_file: str | None = None) -> Unreached | None:
    """This machine reached none of the machines it asked over WinRM, each for a reason of this side
    (SPEC §10, issue 21.4): the run then evaluated nothing of theirs, which is one cause, not one
    blocking finding per machine and check. Nodes a cluster reports down were not asked and do not
    count. Domain controllers that failed the same way are counted with them."""
    asked = [h for h in (facts.hosts or {}).values() if not _down(h)]
    if not asked or any(h.reachable or h.error is None or h.error.kind not in LOCAL_KINDS for h in asked):
        return None
    failed = [(h.name, h.error) for h in asked if h.error is not None]
    directories = [d for d in (facts.directories or {}).values() if d.error is not None and d.error.kind in LOCAL_KINDS]
    if directories and len(directories) == len(facts.directories or {}):
        failed += [(_server_name(d.server), d.error) for d in directories if d.error is not None]
    kinds: dict[ErrorKind, list[str]] = {}
    for name, error in failed:
        kinds.setdefault(error.kind, []).append(name)
    who = "the machine that collected these facts" if facts_file else "this machine"
    what = "machines of the site" if len(failed) > len(asked) else "hosts and file servers it asked over WinRM"
    why = "; ".join(f"{len(names)} {_LOCAL_WORDS[kind][len(names) > 1]} ({_LOCAL_HINT[kind]})"
                    for kind, names in kinds.items())
    example = failed[0][1].message if failed[0][1] is not None else ""
    text = f"{who} reached none of the {len(failed)} {what}: {why} (e.g. {example})"
    return Unreached(machines=[name for name, _ in failed], text=text)


def _server_name(url: str) -> str:
    """The machine of a directory's server URL, as checkkit names it in a cause."""
    return url.split("://", 1)[-1].split("/", 1)[0]


def not_judged_from_here(findings: list[Finding], facts: Facts, unreached: Unreached | None) -> list[Finding]:
    """With nothing reached from here, host.reachable's failure of a machine says nothing of that
    machine: it becomes what it is, an `error` with the machine's collection error as its cause, like
    every other finding of that machine (and no listener fix, which would answer the wrong question)."""
    if unreached is None:
        return findings
    out = []
    for f in findings:
        host = facts.find_host(f.subject) if f.check == "host.reachable" and f.status is Status.FAIL else None
        if host is not None and host.error is not None:
            cause = Cause(origin=CauseOrigin.HOST, machine=host.name, kind=CauseKind(host.error.kind.value),
                          text=host.error.message)
            f = f.model_copy(update={"status": Status.ERROR, "cause": cause, "remediation": None})
        out.append(f)
    return out


def directory_server(site: Site) -> str | None:
    """The domain controller AD fixes go to: the host of the site's [directory] server URL (the AD
    cmdlets' -Server takes the DC's name; their port is AD Web Services', not LDAP's)."""
    if site.primary_directory is None:
        return None
    return urlsplit(site.primary_directory.server).hostname or None


def directory_servers(site: Site, facts: Facts) -> Callable[[Finding], str | None]:
    """The domain controller each finding's AD fix goes to: that of the domain whose directory read
    the finding's subject (a host of the second [[directory]] is fixed through that domain's DC),
    else the first directory's."""
    primary = directory_server(site)
    servers: dict[str, str] = {}
    read = {directory_key(d): d for d in (facts.directories or {}).values()}
    for config, domain in zip(site.directories, domain_directories(site), strict=True):
        host = urlsplit(config.server).hostname
        if not host:
            continue
        key = DomainName(domain.dns_name).key if domain.dns_name else ""
        if not key:  # a single [directory] naming no domain: the domain its DC said it serves
            key = next(iter(read), "")
        servers.setdefault(key, host)
    view = facts.directory_view()

    def server_for(finding: Finding) -> str | None:
        domain = view.domain_of_read(finding.subject) if view is not None and len(read) > 1 else None
        return servers.get(domain or "", primary) if domain else primary

    return server_for


def send_fixes_to(server: str | Callable[[Finding], str | None] | None, findings: list[Finding]) -> list[Finding]:
    """Every AD action names a domain controller (`server`, or the one `server(finding)` names), so
    each AD line of a fix carries -Server (docs/fixes.md)."""
    out = []
    for finding in findings:
        fix = finding.remediation
        dc = server(finding) if callable(server) else server
        bound = bind_directory(fix, dc) if fix is not None else None
        out.append(finding if bound is fix else finding.model_copy(update={"remediation": bound}))
    return out


FACTS_FILE_CHECK = CheckInfo(
    id="facts", title="The facts file holds every machine the site file names", severity="high",
    why="A saved facts file is evaluated as it is: a host or file server that was not collected into it cannot be "
        "judged, and is reported here rather than left out of the report.")


def site_not_in_facts(site: Site, facts: Facts) -> list[str]:
    """What the site file names that saved facts do not hold (its hosts, a cluster's name among them, and
    its paths), then the hosts the facts' own site file named that this one does not: each a line of the
    refusal of `preflight --facts`. Facts judge the subjects they were collected for (their inventory), so
    evaluated with another site file they would silently judge other hosts, beside this file's paths.

    Facts without an inventory (offlineprep/facts/v1, or built by hand) say nothing of what they were
    collected for: the site file's own lists are judged, and what they lack is an `error` finding
    (`facts_file_gaps`, the checks' "not in the facts file")."""
    held = facts.inventory
    if held is None:
        return []
    named = site_inventory(site)
    lines = [f"host {name}" for name in site.all_hosts
             if held.host(name) is None and held.cluster(name) is None]
    for path in named.paths:
        if not any(p.role == path.role and p.raw.casefold() == path.raw.casefold() for p in held.paths):
            lines.append(f"{path.role} path {path.raw}")
    for host in held.hosts:  # listed by the facts' site file alone, and not by this one
        if host.origins == [Origin.SITE_FILE] and named.host(host.name) is None:
            lines.append(f"host {host.name} (in the facts, not in the site file)")
    return lines


def facts_file_gaps(site: Site, checks: Sequence[CheckSpec], facts: Facts, facts_file: str) -> list[Finding]:
    """An `error` for each machine the selected checks need that the facts file lacks. Checks that
    read a machine report it themselves; this makes sure no machine is a silent gap even where a
    check only walks the machines the facts hold."""
    gaps = []
    for request in _scope(site, needs_of(checks), facts.inventory).hosts:  # how to connect does not matter here
        if facts.find_host(request.name) is None:
            cause = Cause.not_in_facts_file(request.name, request.name, facts_file)
            gaps.append(Finding(check=FACTS_FILE_CHECK.id, status=Status.ERROR, severity="high", subject=request.name,
                                message=cause.text, cause=cause))
    return gaps


def summarise(findings: Sequence[Finding]) -> dict[str, int]:
    """The JSON summary (offlineprep.verdict.summary)."""
    return summary(findings)


def verdict_of(findings: Sequence[Finding], fail_on: str = "fail") -> Verdict:
    """The verdict of bare findings under `fail_on` (offlineprep.verdict.judge decides)."""
    results = Results(tool=ToolInfo(version=__version__), generated_at=datetime.now(UTC), verdict=Verdict.READY,
                      summary={}, findings=list(findings), fail_on=fail_on)
    return judge(results).verdict


def topology_of(site: Site, inventory: Inventory | None = None) -> Topology:
    """The picture of the site: the hosts the run judged (the inventory's), the paths as written."""
    judged = inventory or site_inventory(site)
    return Topology(
        source_hosts=judged.source_hosts,
        export_path=site.source.export_path,
        import_path=site.target.import_path,
        target_hosts=[h for h in judged.target_hosts if h not in judged.source_hosts],
    )

"""VMM as a source: one PowerShell on the VMM server reads the clouds' hosts and host clusters, the
Run As accounts the site names, and the account the VMM service runs as.

The script (scripts/vmm.ps1) uses only VMM's documented cmdlets (Get-SCVMMServer, Get-SCCloud,
Get-SCVMHostGroup, Get-SCVMHost -VMHostGroup / -VMHostCluster, Get-SCVMHostCluster -VMHostGroup,
Get-SCRunAsAccount) and the SCVMMService's Win32_Service StartName. What VMM does not tell through a
documented member is not guessed: VMM's reference documents no host property naming the Run As
account a host was added with, so the site names those Run As accounts (`[vmm] run_as`, VMM's own
names for them) and VMM resolves each to its domain account.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from offlineprep.collect.sources import DiscoveryContext, RemoteCall, register
from offlineprep.facts import CollectionError, ErrorKind
from offlineprep.inventory import AccountKind, Origin, Role, SourceReport
from offlineprep.names import Account, HostName, NameError_, same_account_text
from offlineprep.site import Site, VmmConfig

SCHEMA = "offlineprep/vmm/v1"
# ErrorRecord.CategoryInfo.Category values that mean "not allowed" (System.Management.Automation.ErrorCategory)
_DENIED = {"PermissionDenied", "SecurityError"}
# Win32_Service StartName values under which a service acts on the network as its computer's account
_MACHINE_IDENTITIES = {"localsystem", ".\\localsystem", "nt authority\\system", "nt authority\\networkservice",
                       "nt authority\\network service"}


@dataclass(frozen=True)
class VmmSettings:
    """What the site file's [vmm] table asks for (offlineprep.site maps the table onto this)."""

    server: str
    source_cloud: str | None = None
    target_cloud: str | None = None
    source_host_groups: tuple[str, ...] = ()
    target_host_groups: tuple[str, ...] = ()
    run_as: tuple[str, ...] = ()  # VMM's names of the Run As accounts the hosts were added with

    @classmethod
    def of(cls, vmm: VmmConfig) -> VmmSettings:
        return cls(server=vmm.server, source_cloud=vmm.source_cloud, target_cloud=vmm.target_cloud,
                   source_host_groups=tuple(vmm.source_host_groups),
                   target_host_groups=tuple(vmm.target_host_groups), run_as=tuple(vmm.run_as))


def vmm_request(settings: VmmSettings) -> dict[str, Any]:
    sides = []
    for role, cloud, groups in ((Role.SOURCE, settings.source_cloud, settings.source_host_groups),
                                (Role.TARGET, settings.target_cloud, settings.target_host_groups)):
        if cloud or groups:
            sides.append({"role": role.value, "cloud": cloud, "host_groups": list(groups)})
    return {"sides": sides, "run_as": list(settings.run_as)}


# --------------------------------------------------------------------------- the answer


@dataclass
class VmmHost:
    name: str
    host_group: str | None = None
    cluster: str | None = None


@dataclass
class VmmCluster:
    name: str
    nodes: list[str] = field(default_factory=list)
    host_group: str | None = None


@dataclass
class VmmSide:
    role: Role
    scope: str  # "cloud Gold" or "host groups A, B": for messages
    hosts: list[VmmHost] = field(default_factory=list)
    clusters: list[VmmCluster] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class VmmRunAs:
    name: str  # VMM's name for it
    account: str | None = None  # DOMAIN\user (or the UPN) VMM holds its credential for
    problem: str | None = None


@dataclass
class VmmView:
    """The VMM answer, read: or why there is none (`error`)."""

    server: str
    computer_name: str | None = None
    domain: str | None = None
    service_start_name: str | None = None
    sides: list[VmmSide] = field(default_factory=list)
    run_as: list[VmmRunAs] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    error: CollectionError | None = None
    # names VMM answered that are no host name (a port, path, user part...): never reached, an error
    invalid: list[str] = field(default_factory=list)


def _list(value: Any) -> list[Any]:
    """ConvertTo-Json writes a one-element array as the element itself, and $null as null."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _host_name(entry: dict[str, Any], invalid: list[str] | None = None) -> str | None:
    """VMM's name for a host: the FQDN among Name and ComputerName (VMM names hosts by FQDN). When
    neither is a host name, `invalid` notes why: such a name would become a WinRM URL."""
    names = [str(entry.get(k) or "").strip() for k in ("computer_name", "name")]
    names = [n for n in names if n]
    why = []
    for name in sorted(names, key=lambda n: not HostName(n).is_fqdn):
        try:
            return HostName.parse(name, context="a host VMM returned").text
        except NameError_ as exc:
            why.append(str(exc))
    if why and invalid is not None:
        invalid.append(why[0])
    return None


def read_vmm_answer(server: str, document: dict[str, Any]) -> VmmView:
    view = VmmView(server=server)
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        view.error = CollectionError(kind=ErrorKind.GARBAGE, message=f"{server} sent JSON that is not the VMM "
                                     "script's answer")
        return view
    view.computer_name = document.get("computer_name") or None
    view.domain = document.get("domain") or None
    service = document.get("service") or {}
    view.service_start_name = service.get("start_name") or None
    errors = document.get("errors") or {}
    if errors.get("service"):
        view.problems.append(f"the VMM service account could not be read: {errors['service']}")
    failure = document.get("connect_error")
    if failure:
        category = str(failure.get("category") or "")
        kind = ErrorKind.ACCESS_DENIED if category in _DENIED else ErrorKind.REMOTE
        view.error = CollectionError(kind=kind, message=f"VMM on {server} refused the connection: "
                                     f"{failure.get('message') or category or 'no reason given'}")
        return view
    for side in _list(document.get("sides")):
        try:
            role = Role(side.get("role"))
        except ValueError:
            continue
        groups = [str(g.get("path") or g.get("name")) for g in _list(side.get("host_groups")) if g]
        scope = f"cloud {side['cloud']}" if side.get("cloud") else "host groups " + ", ".join(groups)
        entry = VmmSide(role=role, scope=scope, problems=[str(p) for p in _list(side.get("errors"))])
        node_of: dict[HostName, str] = {}
        for cluster in _list(side.get("clusters")):
            name = str(cluster.get("name") or "").strip()
            try:
                HostName.parse(name, context="a host cluster VMM returned")
            except NameError_ as exc:
                view.invalid.append(str(exc))
                continue
            nodes = [n for n in (_host_name(node, view.invalid) for node in _list(cluster.get("nodes"))) if n]
            entry.clusters.append(VmmCluster(name=name, nodes=nodes, host_group=cluster.get("host_group")))
            for node in nodes:
                node_of[HostName(node)] = name
        seen: set[HostName] = set()
        for host in _list(side.get("hosts")):
            platform = str(host.get("platform") or "HyperV")
            host_name = _host_name(host, view.invalid)
            if host_name is None:
                entry.problems.append(f"VMM returned a host with no usable name ({host.get('name')!r})")
                continue
            if platform.replace("-", "").casefold() != "hyperv":
                entry.problems.append(f"{host_name} is a {platform} host in VMM: only Hyper-V hosts replicate this way")
                continue
            if HostName(host_name) in seen:
                continue
            seen.add(HostName(host_name))
            entry.hosts.append(VmmHost(name=host_name, host_group=host.get("host_group"),
                                       cluster=node_of.get(HostName(host_name))))
        for cluster in entry.clusters:  # a node VMM lists only under its cluster is a host all the same
            for node in cluster.nodes:
                if HostName(node) not in seen:
                    seen.add(HostName(node))
                    entry.hosts.append(VmmHost(name=node, host_group=cluster.host_group, cluster=cluster.name))
        view.sides.append(entry)
    for account in _list(document.get("run_as")):
        name = str(account.get("name") or "")
        if account.get("error"):
            view.run_as.append(VmmRunAs(name=name, problem=str(account["error"])))
            continue
        user, domain = str(account.get("user_name") or ""), str(account.get("domain") or "")
        if not user:
            view.run_as.append(VmmRunAs(name=name, problem=f"VMM's Run As account {name} holds no user name"))
            continue
        written = user if "@" in user or "\\" in user else Account.down_level(user, domain).text
        view.run_as.append(VmmRunAs(name=name, account=written))
    return view


def service_account(view: VmmView) -> tuple[str | None, str | None]:
    """The account the VMM service acts as on the network, and a note on how it was derived.

    LocalSystem and NetworkService act as the computer's own account (its SID is what file servers
    and the KDC see); LocalService acts anonymously and is kept as written, so the checks say so.
    """
    start = (view.service_start_name or "").strip()
    if not start:
        return None, None
    if start.casefold() in _MACHINE_IDENTITIES:
        if not view.computer_name:
            return None, f"SCVMMService runs as {start}, but the VMM server's own name could not be read"
        machine = HostName(view.computer_name)
        domain = view.domain or machine.suffix
        account = machine.logon_name(domain)
        return account, f"SCVMMService runs as {start}: on the network it acts as the VMM server's computer account"
    return start, None


# --------------------------------------------------------------------------- the source


@register
class VmmSource:
    """Hosts, host clusters and accounts from VMM (origin `vmm`); one PowerShell on the VMM server."""

    name: ClassVar[str] = "vmm"
    after: ClassVar[tuple[str, ...]] = ("site-file",)

    def __init__(self, settings: VmmSettings) -> None:
        self.settings = settings

    @classmethod
    def applies(cls, site: Site, *, collects_hosts: bool) -> bool:
        # asked even when no host is: VMM says which hosts there are, and the directory reads them
        return site.vmm is not None

    @classmethod
    def for_site(cls, site: Site) -> VmmSource:
        if site.vmm is None:
            raise ValueError("the VMM source needs a [vmm] table")
        return cls(VmmSettings.of(site.vmm))

    def calls(self) -> Sequence[RemoteCall]:
        return [RemoteCall(machine=self.settings.server, script="vmm", request=vmm_request(self.settings))]

    def discover(self, context: DiscoveryContext) -> None:
        server = self.settings.server
        inventory = context.inventory
        inventory.vmm_server = server
        report = SourceReport(source=self.name, machine=server)
        if context.run is None:
            report.status, report.kind = "error", "client"
            report.message = f"VMM on {server} needs WinRM: add a [winrm] table to the site file"
            inventory.report(report)
            return
        result = context.run(self.calls())[server]
        report.powershell_commands = 1
        if result.error is not None or result.document is None:
            error = result.error or CollectionError(kind=ErrorKind.REMOTE, message=f"{server} returned nothing")
            report.status, report.kind, report.message = "error", error.kind.value, error.message
            inventory.report(report)
            return
        view = read_vmm_answer(server, result.document)
        context.results[self.name] = view
        if view.error is not None:
            report.status, report.kind, report.message = "error", view.error.kind.value, view.error.message
            inventory.report(report)
            return
        self.apply(view, context, report)
        inventory.report(report)

    def apply(self, view: VmmView, context: DiscoveryContext, report: SourceReport) -> None:
        inventory = context.inventory
        notes = list(view.problems)
        for side in view.sides:
            notes += [f"{side.scope} ({side.role.value}): {p}" for p in side.problems]
            for cluster in side.clusters:
                domain = HostName(cluster.name).suffix
                found = inventory.add_cluster(cluster.name, side.role, Origin.VMM, domain=domain)
                for node in cluster.nodes:
                    if not any(HostName(node).same_machine(n, domain) for n in found.nodes):
                        found.nodes.append(node)
            for host in side.hosts:
                inventory.add_host(host.name, side.role, Origin.VMM, domain=HostName(host.name).suffix,
                                   cluster=host.cluster, vmm_host_group=host.host_group)
            if not side.hosts and not side.problems:
                notes.append(f"{side.scope} ({side.role.value}) holds no Hyper-V host")
        # a host the site file lists that VMM does not manage in the side's cloud: still judged, but named
        for listed in inventory.hosts:
            if Origin.VMM not in listed.origins and Origin.SITE_FILE in listed.origins:
                scopes = [s.scope for s in view.sides if s.role in listed.roles]
                if scopes:
                    notes.append(f"{listed.name} is listed in the site file but VMM does not manage it in "
                                 f"{' or '.join(scopes)}")
        account, note = service_account(view)
        if account:
            written = next((a for a in inventory.accounts if a.kind is AccountKind.VMM_SERVICE), None)
            if written is not None and not same_account_text(written.name, account):
                notes.append(f"the site file names {written.name} as the VMM service account, but SCVMMService "
                             f"runs as {view.service_start_name}: {account} is judged")
            inventory.replace_vmm_service(account, Origin.VMM, note=note)
        elif note:
            notes.append(note)
        for run_as in view.run_as:
            if run_as.account:
                inventory.add_account(run_as.account, AccountKind.RUN_AS, Origin.VMM, vmm_run_as=run_as.name)
            elif run_as.problem:
                notes.append(f"Run As account {run_as.name}: {run_as.problem}")
        if view.domain:
            inventory.add_domain(view.domain)
        report.hosts = sum(len(s.hosts) for s in view.sides)
        report.clusters = sum(len(s.clusters) for s in view.sides)
        report.accounts = (1 if account else 0) + sum(1 for r in view.run_as if r.account)
        report.notes = notes
        if any(s.problems for s in view.sides) or any(r.problem for r in view.run_as):
            report.status = "partial"
        if view.invalid:  # an error finding of inventory.sources, naming the source and the names
            report.status, report.kind = "error", ErrorKind.GARBAGE.value
            report.message = (f"VMM on {view.server} answered names that are no host names, never reached: "
                              + "; ".join(view.invalid))

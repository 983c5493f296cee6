"""Small helpers for check authors: lookups that turn missing facts into `error` outcomes.

A check must say *why* it could not judge a subject (the host was unreachable, the directory
refused the bind), never raise and never stay silent. These helpers make that the easy path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from offlineprep.acl import AccessExplanation, SddlError, explain_access
from offlineprep.engine import CheckContext
from offlineprep.facts import CollectionError, DirectoryFacts, HostFacts, PathFacts, Principal
from offlineprep.model import Cause, CauseKind, CauseOrigin, Outcome, Status
from offlineprep.names import DomainName, HostName, NameError_, PathRef, dns_suffix, domain_key, same_domain, validate_host_name
from offlineprep.tokens import Token, token_for

# userAccountControl bits (KB 305144)
UAC_ACCOUNTDISABLE = 0x2
UAC_NORMAL_ACCOUNT = 0x200
UAC_WORKSTATION_TRUST_ACCOUNT = 0x1000
UAC_SERVER_TRUST_ACCOUNT = 0x2000
UAC_TRUSTED_FOR_DELEGATION = 0x80000
UAC_NOT_DELEGATED = 0x100000
UAC_TRUSTED_TO_AUTH_FOR_DELEGATION = 0x1000000
UAC_PARTIAL_SECRETS_ACCOUNT = 0x4000000

_UAC_NAMES = {
    0x1: "SCRIPT", UAC_ACCOUNTDISABLE: "ACCOUNTDISABLE", 0x8: "HOMEDIR_REQUIRED", 0x10: "LOCKOUT",
    0x20: "PASSWD_NOTREQD", 0x40: "PASSWD_CANT_CHANGE", 0x80: "ENCRYPTED_TEXT_PWD_ALLOWED",
    0x100: "TEMP_DUPLICATE_ACCOUNT", UAC_NORMAL_ACCOUNT: "NORMAL_ACCOUNT", 0x800: "INTERDOMAIN_TRUST_ACCOUNT",
    UAC_WORKSTATION_TRUST_ACCOUNT: "WORKSTATION_TRUST_ACCOUNT", UAC_SERVER_TRUST_ACCOUNT: "SERVER_TRUST_ACCOUNT",
    0x10000: "DONT_EXPIRE_PASSWORD", 0x20000: "MNS_LOGON_ACCOUNT", 0x40000: "SMARTCARD_REQUIRED",
    UAC_TRUSTED_FOR_DELEGATION: "TRUSTED_FOR_DELEGATION", UAC_NOT_DELEGATED: "NOT_DELEGATED",
    0x200000: "USE_DES_KEY_ONLY", 0x400000: "DONT_REQ_PREAUTH", 0x800000: "PASSWORD_EXPIRED",
    UAC_TRUSTED_TO_AUTH_FOR_DELEGATION: "TRUSTED_TO_AUTH_FOR_DELEGATION",
    UAC_PARTIAL_SECRETS_ACCOUNT: "PARTIAL_SECRETS_ACCOUNT",
}


def uac_flags(uac: int | None) -> list[str]:
    if uac is None:
        return []
    names = [name for bit, name in sorted(_UAC_NAMES.items()) if uac & bit]
    unknown = uac & ~sum(_UAC_NAMES)
    if unknown:
        names.append(f"0x{unknown:X}")
    return names


def uac_evidence(uac: int | None) -> dict[str, Any]:
    return {"userAccountControl": uac, "userAccountControl_flags": uac_flags(uac)}


def error(subject: str, message: str, **fields: Any) -> Outcome:
    return Outcome(status=Status.ERROR, subject=subject, message=message, **fields)


def skip(subject: str, message: str, **fields: Any) -> Outcome:
    return Outcome(status=Status.SKIP, subject=subject, message=message, **fields)


def describe_error(source: str, problem: CollectionError) -> str:
    return f"{source}: {problem.kind.value}: {problem.message}"


# The cause of an `error` as data (model.Cause): the outputs show each cause once, with the number of
# findings it left unevaluated, instead of one line per finding.


def collection_cause(origin: CauseOrigin | str, machine: str, problem: CollectionError) -> Cause:
    return Cause(origin=CauseOrigin(origin), machine=machine, kind=CauseKind(problem.kind.value), text=problem.message)


def missing_cause(ctx: CheckContext, machine: str, what: str) -> Cause:
    """`what` (a host, a path, Active Directory) was not collected: absent from the facts file
    evaluated, or not queried in this run."""
    if ctx.facts_file:
        return Cause.not_in_facts_file(machine, what, ctx.facts_file)
    return Cause(origin=CauseOrigin.RUN, machine=machine, kind=CauseKind.MISSING, text=f"{what} was not queried in this run")


def _server_of(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


def directory(ctx: CheckContext, subject: str, **fields: Any) -> tuple[DirectoryFacts | None, Outcome | None]:
    """The directory facts, or an `error` outcome saying why they are not there."""
    facts = ctx.directory
    if facts is None:
        config = ctx.site.primary_directory
        server = config.server if config is not None else "Active Directory"
        cause = missing_cause(ctx, _server_of(server), "Active Directory")
        return None, error(subject, cause.text, cause=cause, **fields)
    return facts, None


def directory_missing(facts: DirectoryFacts, subject: str, what: str, **fields: Any) -> Outcome:
    """An object the collector should have read is absent: say why (the directory error) if known."""
    if facts.error is not None:
        return error(subject, f"cannot read {what}: {describe_error('Active Directory', facts.error)}",
                     cause=collection_cause(CauseOrigin.DIRECTORY, _server_of(facts.server), facts.error), **fields)
    return error(subject, f"{what} was not read from Active Directory", **fields)


# account "domains" that name the machine itself, never a directory ("." is the local machine)
LOCAL_AUTHORITIES = frozenset({"NT AUTHORITY", "NT SERVICE", "BUILTIN", "."})


def principal_elsewhere(facts: DirectoryFacts, principal: Principal, subject: str, **fields: Any) -> Outcome | None:
    """`error` for an account written OTHER\\name of another domain than the one read (it was not
    looked up: a same-named account of this domain is somebody else); None for any other account."""
    if not principal.other_domain:
        return None
    account = principal.query
    if principal.other_domain.upper() in LOCAL_AUTHORITIES:
        # the VMM service may run as Local System: on the network it is the VMM server's computer account
        return error(subject, f"{account} is an identity local to the machine it runs on: on the network (file "
                     "servers, delegation) it acts as that machine's computer account; write that account "
                     "(DOMAIN\\VMM01$ for a VMM service running as Local System) in [accounts]",
                     evidence={"account_domain": principal.other_domain}, **fields)
    read = facts.all_domains()
    here = " or ".join(f"{netbios} ({dns})" if netbios else dns for dns, netbios in read.items()) or "the domain read"
    if not read and facts.netbios_name:
        here = facts.netbios_name
    where = ("no [[directory]] reads it: add one for" if len(read) > 1 else
             "point [directory] at a domain controller of")
    return error(subject, f"the account {account} belongs to the domain {principal.other_domain}, not to {here} "
                 f"that [directory] reads, so it was not judged: {where} "
                 f"{principal.other_domain} (server, and base_dn if set) and run again for this account",
                 evidence={"account_domain": principal.other_domain, "directory_domain": here}, **fields)


def down_node(ctx: CheckContext, machine: str) -> Cause | None:
    """Why a cluster node was not read: its cluster reports it down (Get-ClusterNode). An `error` for
    that node only, never for the cluster: any node may own a VM, so it is judged when it is up."""
    node = ctx.inventory.host(machine)
    if node is None or not node.is_down:
        return None
    return Cause(origin=CauseOrigin.HOST, machine=node.name, kind=CauseKind.DOWN,
                 text=f"{node.name} is down in cluster {node.cluster} (Get-ClusterNode): any node may own a "
                      "replicated VM, so bring it up (or evict it from the cluster) and run again")


def host(ctx: CheckContext, machine: str, subject: str, **fields: Any) -> tuple[HostFacts | None, Outcome | None]:
    """The facts of one machine, or an `error` outcome naming why it could not be read."""
    down = down_node(ctx, machine)
    if down is not None:
        return None, error(subject, down.text, cause=down, **fields)
    facts = ctx.facts.find_host(machine) if ctx.facts.hosts is not None else None
    if facts is None:
        cause = missing_cause(ctx, machine, machine)
        return None, error(subject, cause.text, cause=cause, **fields)
    if not facts.reachable or (facts.error is not None and not facts.paths and facts.os_caption is None):
        if facts.error is not None:
            return None, error(subject, describe_error(f"{machine} (WinRM)", facts.error),
                               cause=collection_cause(CauseOrigin.HOST, machine, facts.error), **fields)
        text = f"{machine} could not be reached"
        cause = Cause(origin=CauseOrigin.HOST, machine=machine, kind=CauseKind.UNREACHABLE, text=text)
        return None, error(subject, text, cause=cause, **fields)
    return facts, None


def path_facts(
    ctx: CheckContext, ref: PathRef, subject: str, **fields: Any
) -> tuple[HostFacts | None, PathFacts | None, Outcome | None]:
    server, problem = host(ctx, ref.server, subject, **fields)
    if server is None:
        return None, None, problem
    facts = server.find_path(ref.raw)
    if facts is None:
        if server.error is not None:
            return server, None, error(subject, describe_error(f"{ref.server} (WinRM)", server.error),
                                       cause=collection_cause(CauseOrigin.HOST, ref.server, server.error), **fields)
        if ctx.facts_file:
            cause = missing_cause(ctx, ref.server, f"the path {ref.raw}")
            return server, None, error(subject, cause.text, cause=cause, **fields)
        return server, None, error(subject, f"{ref.server} returned no facts for {ref.raw}", **fields)
    if facts.error is not None:
        return server, facts, error(subject, describe_error(f"{ref.server}: {ref.raw}", facts.error),
                                    cause=collection_cause(CauseOrigin.PATH, ref.server, facts.error), **fields)
    return server, facts, None


@dataclass(frozen=True)
class HostRole:
    name: str  # as written in the site file
    side: str  # "source" | "target"


def hyperv_hosts(ctx: CheckContext) -> list[HostRole]:
    """Every Hyper-V host to judge (cluster nodes included), with the side it is judged on."""
    return [HostRole(h.name, h.role.value) for h in ctx.inventory.hyperv_hosts()]


# the account subject of a permission check when neither VMM nor the site file named the VMM service account
UNKNOWN_SERVICE_ACCOUNT = "(VMM service account)"


def vmm_service_account(ctx: CheckContext) -> str:
    """The account the VMM service runs as: VMM's answer, else the site file's [accounts] vmm_service."""
    return ctx.inventory.vmm_service_account or UNKNOWN_SERVICE_ACCOUNT


@dataclass(frozen=True)
class AccessContext:
    """What a permission check needs: who (principal and token), where (server), what (path)."""

    principal: Any  # facts.Principal
    server: HostFacts
    path: PathFacts
    sid_names: dict[str, str]
    domain_sid: str | None = None  # the server's domain: resolves DU, DA … in the SDDL it wrote
    domain_controller: bool = False  # the server is a DC: its local groups are AD's builtin groups

    @property
    def token(self) -> Token:
        """The account's network token on the server that holds the path."""
        return token_for(self.principal, self.server, self.sid_names, domain_controller=self.domain_controller)


# Groups of the builtin domain that exist only on domain controllers (Account/Server/Print Operators)
_DC_ONLY_ALIASES = {"S-1-5-32-548", "S-1-5-32-549", "S-1-5-32-550"}


def server_domain(facts: DirectoryFacts, server: HostFacts, name: str) -> tuple[str | None, bool]:
    """The domain SID of the computer `name` and whether it is a domain controller.

    The domain is its computer account's SID without the RID (the directory's own domain when the
    account was not read); a DC has SERVER_TRUST_ACCOUNT, or local groups only DCs have.
    """
    account = facts.find_computer(name)
    domain_sid = facts.domain_sid
    dc = any(g.sid.upper() in _DC_ONLY_ALIASES for g in server.local_groups)
    if account is not None and account.found:
        if account.object_sid and account.object_sid.count("-") > 3:
            domain_sid = account.object_sid.rsplit("-", 1)[0]
        dc = dc or bool((account.user_account_control or 0) & UAC_SERVER_TRUST_ACCOUNT)
    return domain_sid, dc


def access_context(ctx: CheckContext, ref: PathRef, account: str) -> AccessContext | Outcome:
    """Resolve the account in AD and the path on its server, or say why not as an `error`."""
    fields = {"account": account}
    if account == UNKNOWN_SERVICE_ACCOUNT:
        return error(ref.raw, "the VMM service account is not known: VMM did not tell it (see inventory.sources) "
                     "and the site file names none ([accounts] vmm_service)", **fields)
    facts, problem = directory(ctx, ref.raw, **fields)
    if facts is None:
        assert problem is not None
        return problem
    principal = facts.find_principal(account)
    if principal is None:
        return directory_missing(facts, ref.raw, f"the account {account}", **fields)
    elsewhere = principal_elsewhere(facts, principal, ref.raw, **fields)
    if elsewhere is not None:
        return elsewhere
    if not principal.found or not principal.object_sid:
        return error(ref.raw, f"the account {account} was not found in the directory, so its access cannot be "
                     "computed (see ad.account-delegable)", **fields)
    server, path, problem = path_facts(ctx, ref, ref.raw, **fields)
    if server is None or path is None:
        assert problem is not None
        return problem
    if problem is not None:
        return problem
    domain_sid, dc = server_domain(facts, server, ref.server)
    return AccessContext(principal=principal, server=server, path=path, sid_names=facts.sid_names,
                         domain_sid=domain_sid, domain_controller=dc)


# --------------------------------------------------------------------------- domains of AD objects


def dn_domain(dn: str | None) -> str | None:
    """The DNS name of the domain an object lives in, from its DN: `CN=HV01,CN=Computers,DC=contoso,
    DC=com` -> `contoso.com`; None without DC= parts."""
    if not dn:
        return None
    domain = DomainName.from_dn(dn)
    return domain_key(domain) if domain is not None else None


@dataclass(frozen=True)
class ServingRole:
    """The clustered file server role that serves the shares a name reaches: the name is the client
    access point (CAP) its shares are scoped to (MSFT_SmbShare.ScopeName), so the machine that
    serves them is the role, with a computer object of its own (a virtual computer object, VCO),
    not the node that answered WinRM ("Prestage cluster computer objects in Active Directory Domain
    Services"; "File share scoping in Windows Server 2008 failover clusters"). `known` is False when
    only the share's scope told (the cluster itself could not be read)."""

    scope: str  # the share's ScopeName: the CAP's NetBIOS name
    fqdn: str  # the CAP's DNS name in the cluster's domain
    computer_account: str  # the CAP's computer object, FS01$
    answered_by: str | None  # the node that answered WinRM
    known: bool = False
    cluster: str | None = None
    group: str | None = None
    state: str | None = None  # the network name resource's state (Online, Offline, Failed)
    distributed: bool = False  # a Scale-Out File Server's Distributed Network Name
    # what the name must resolve to: the role's IP Address resources, or every node's cluster
    # addresses for a distributed network name
    addresses: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()

    @property
    def online(self) -> bool:
        return not self.known or (self.state or "").casefold() == "online"

    @property
    def kind(self) -> str:
        return "Scale-Out File Server" if self.distributed else "clustered file server"


def _scope_of(host: HostFacts, name: str) -> str | None:
    """The client access point scope a path to `name` reached on this machine, if any."""
    wanted = {HostName(name), HostName(HostName(name).short)}
    for path in host.paths:
        scope = path.share_scope
        if scope and scope != "*" and HostName(scope) in wanted:
            return scope
    return None


def serving_role(ctx: CheckContext, name: str) -> ServingRole | None:
    """The clustered role behind `name` when the machine that answered for it reached a share scoped
    to `name` (a client access point); None for any other machine, or when it did not answer."""
    host = _answered(ctx, name)
    if host is None:
        return None
    scope = _scope_of(host, name)
    if scope is None:
        return None
    cluster = host.file_server_cluster
    found = cluster.role_of(scope) if cluster is not None else None
    domain = (cluster.domain if cluster is not None else None) or host.domain or dns_suffix(name)
    if found is None:
        short = HostName(scope).short
        return ServingRole(scope=scope, fqdn=f"{short}.{domain}" if domain else short,
                           computer_account=HostName(short).computer_account, answered_by=host.computer_name)
    assert cluster is not None
    role, network_name = found
    label = network_name.dns_name or network_name.name or scope
    fqdn = label if "." in label or not domain else f"{label}.{domain}"
    # a distributed network name is bound to every node's addresses; a network name to its role's own
    addresses = tuple(a for node in cluster.nodes for a in node.addresses) if network_name.distributed \
        else tuple(role.addresses)
    return ServingRole(scope=scope, fqdn=HostName(fqdn).bare,
                       computer_account=HostName(network_name.name or label).computer_account,
                       answered_by=host.computer_name, known=True, cluster=cluster.name, group=role.group,
                       state=network_name.state, distributed=network_name.distributed, addresses=addresses,
                       nodes=tuple(n.name for n in cluster.nodes))


def client_access_point_accounts(ctx: CheckContext) -> set[str]:
    """The computer objects (sAMAccountName, case folded) of every client access point a file server
    of this run reported: SPNs are never taken off them (a node cannot serve the role's name)."""
    out: set[str] = set()
    for host in (ctx.facts.hosts or {}).values():
        cluster = host.file_server_cluster
        for role in cluster.roles if cluster is not None else []:
            for network_name in role.network_names:
                label = network_name.name or network_name.dns_name
                if label:
                    out.add(HostName(label).computer_account.casefold())
    return out


def serving_machine(ctx: CheckContext, name: str) -> str | None:
    """The name the machine behind `name` gives itself over WinRM (HostFacts.computer_name: its
    DNSHostName and, when joined, its domain's DNS name, from Win32_ComputerSystem), e.g.
    `FS01.contoso.com`; for a client access point (a share scoped to `name`), the role's own DNS
    name (`serving_role`); None when host facts were not collected in this run (`--only 'ad.*'`
    collects none: the ad.* checks need only the directory) or the machine did not answer."""
    role = serving_role(ctx, name)
    if role is not None:
        return role.fqdn
    host = _answered(ctx, name)
    if host is None or not host.computer_name:
        return None
    try:  # Windows names a computer with DNS labels; anything else is no name to judge by
        validate_host_name(host.computer_name)
    except NameError_:
        return None
    return HostName(host.computer_name).bare


def _answered(ctx: CheckContext, name: str) -> HostFacts | None:
    """The host facts of the machine behind `name`, when it answered in this run."""
    if ctx.facts.hosts is None:
        return None
    host = ctx.facts.find_host(name)  # case and the root dot do not count (facts._find)
    return host if host is not None and host.reachable else None


def _own_domain(ctx: CheckContext, name: str, served: str) -> str | None:
    """The domain the machine reports as its own (HostFacts.domain, Win32_ComputerSystem.Domain: the
    AD domain it is joined to), else the DNS suffix of its own name (facts files written before the
    collector read the domain)."""
    host = _answered(ctx, name)
    if host is not None and host.domain:
        try:
            validate_host_name(host.domain)
        except NameError_:
            return dns_suffix(served)
        return domain_key(host.domain)
    return dns_suffix(served)


@dataclass(frozen=True)
class PathComputerDomain:
    """The domain of the computer a path names, and what told us (for messages and evidence)."""

    domain: str | None  # DNS name, lower case; None when nothing tells
    source: str  # "its computer account", "as FS11.fabrikam.com reports itself over WinRM", ...
    serving_machine: str | None = None  # HostFacts.computer_name when it was collected


def path_computer_domain(ctx: CheckContext, facts: DirectoryFacts, name: str) -> PathComputerDomain:
    """Which domain the computer serving `name` belongs to, from the best evidence at hand:

    1. the machine's own name over WinRM, when collected: the domain of the account in the directory
       whose dNSHostName it is, else the domain it reports itself joined to (HostFacts.domain,
       Win32_ComputerSystem.Domain), else its own DNS suffix;
    2. the computer account the directory collector matched to `name` (it lives in the domain read);
    3. the DNS suffix of `name` itself (a name in another zone is, as far as this run can tell, a
       computer of another domain: its account was not found in the domain read).
    """
    served = serving_machine(ctx, name)
    if served is not None:
        for known in facts.computers.values():
            if known.found and known.dns_host_name and HostName(known.dns_host_name) == served:
                return PathComputerDomain(dn_domain(known.distinguished_name) or _read(facts, served),
                                          f"its computer account {known.sam_account_name}", served)
        own = _own_domain(ctx, name, served)
        if own:
            return PathComputerDomain(own, f"as {served} reports itself over WinRM", served)
    account = facts.find_computer(name)
    if account is not None and account.found:
        return PathComputerDomain(dn_domain(account.distinguished_name) or _read(facts, name),
                                  f"its computer account {account.sam_account_name}", served)
    if dns_suffix(name):
        return PathComputerDomain(dns_suffix(name), "the DNS suffix of the name the path uses", served)
    return PathComputerDomain(None, "unknown", served)


def _read(facts: DirectoryFacts, name: str) -> str | None:
    """The domain whose directory was asked about `name`."""
    return facts.domain_of_read(name)


def other_domain(a: str | None, b: str | None) -> bool:
    """Both domains known and different (a child domain is another domain)."""
    return bool(a and b and not same_domain(a, b))


@dataclass(frozen=True)
class ReplicaBrokerOf:
    """The Hyper-V Replica Broker of the cluster a host is a node of: its FQDN, or why it is not
    known. Replication to or from a cluster goes through its broker's client access point: the
    other site authorizes the broker's name and a node's certificates name it ("Why is the Hyper-V
    Replica Broker required", Microsoft's virtualization team blog; Set-VMReplicationServer
    -CertificateThumbprint)."""

    cluster: str
    fqdn: str | None = None
    not_known: str | None = None  # why its FQDN is not known
    no_role: bool = False  # the cluster was read and has no Replica Broker role
    state: str | None = None  # the broker resource's State (Online, Offline, Failed, ...)
    group: str | None = None  # its role
    account: str | None = None  # its computer object's sAMAccountName, NAME$

    def problems(self, ctx: CheckContext) -> list[str]:
        """Why this broker cannot serve replication (empty: it can, as far as read): its resource not
        Online, its computer object absent from Active Directory."""
        out: list[str] = []
        if self.fqdn is None:
            return out
        if self.state and self.state.casefold() != "online":
            out.append(f"the Replica Broker {self.fqdn} of cluster {self.cluster} is {self.state}, not Online")
        directory = ctx.directory
        if directory is not None and directory.error is None:
            account = directory.find_computer(self.fqdn)
            if account is not None and not account.found:
                out.append(f"the Replica Broker {self.fqdn} of cluster {self.cluster} has no computer object in Active "
                           f"Directory ({self.account or self.fqdn}): its network name cannot come online nor "
                           "Kerberos reach it")
        return out


def replica_broker(ctx: CheckContext, host: str) -> ReplicaBrokerOf | None:
    """The Replica Broker of the cluster `host` is a node of; None for a standalone host. The cluster
    is the inventory's (VMM, a cluster name, or a node that said so), else the host's own answer
    (section `cluster`): nodes listed one by one are cluster nodes all the same."""
    node = ctx.inventory.host(host)
    if node is None or not node.cluster:
        return _broker_from_answer(ctx, host)
    cluster = ctx.inventory.cluster(node.cluster)
    if cluster is None:
        return _broker_from_answer(ctx, host) or ReplicaBrokerOf(node.cluster,
                                                                 not_known=f"cluster {node.cluster} was not read")
    if cluster.broker is None:
        if cluster.problem:
            return _broker_from_answer(ctx, host) or ReplicaBrokerOf(
                cluster.name, not_known=f"cluster {cluster.name} could not be read: {cluster.problem}")
        return ReplicaBrokerOf(cluster.name, not_known=f"no Replica Broker role found on cluster {cluster.name}",
                               no_role=True)
    return _broker(cluster.name, cluster.broker)


def _broker(cluster: str, broker: Any) -> ReplicaBrokerOf:
    if not broker.fqdn:
        role = broker.group or broker.resource
        return ReplicaBrokerOf(cluster, not_known=f"the Replica Broker role {role} of cluster {cluster} "
                                                  "publishes no DNS name", state=broker.state, group=broker.group)
    return ReplicaBrokerOf(cluster, fqdn=broker.fqdn, state=broker.state, group=broker.group,
                           account=broker.computer_account)


def _broker_from_answer(ctx: CheckContext, host: str) -> ReplicaBrokerOf | None:
    facts = ctx.facts.find_host(host) if ctx.facts.hosts is not None else None
    if facts is None or facts.cluster is None:
        return None
    cluster = facts.cluster
    name = f"{cluster.name}.{cluster.domain}" if cluster.domain and "." not in cluster.name else cluster.name
    if not cluster.brokers:
        return ReplicaBrokerOf(name, not_known=f"no Replica Broker role found on cluster {name}", no_role=True)
    return _broker(name, cluster.brokers[0])


@dataclass
class PathAccess:
    """What a token gets on a path: NTFS, the share for a UNC path, and the two combined."""

    ntfs: AccessExplanation
    share: AccessExplanation | None
    granted: int  # NTFS and share together: Windows grants only what both allow


def path_access(ref: PathRef, found: AccessContext, account: str) -> PathAccess | Outcome:
    """The access of `found.token` on the path, or an `error` outcome naming the descriptor that is
    missing or cannot be parsed. Over SMB the effective access is the intersection of the share's and
    the folder's grants, as `acl.share_and_ntfs` computes it (docs/checks.md, the path.* rows)."""
    if not found.path.ntfs_sddl:
        return error(ref.raw, f"{ref.server} returned no NTFS security descriptor", account=account)
    sids = found.token.sids
    try:
        ntfs = explain_access(found.path.ntfs_sddl, sids, found.domain_sid)
        share = None
        if ref.is_unc:
            if found.path.share is None or not found.path.share.sddl:
                return error(ref.raw, f"{ref.server} returned no share security descriptor for {ref.share}",
                             account=account)
            share = explain_access(found.path.share.sddl, sids, found.domain_sid)
    except SddlError as exc:
        return error(ref.raw, f"a security descriptor of {ref.raw} cannot be parsed: {exc}", account=account)
    return PathAccess(ntfs=ntfs, share=share, granted=ntfs.granted & (share.granted if share else 0xFFFFFFFF))

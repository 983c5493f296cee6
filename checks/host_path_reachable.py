"""host.path-reachable: each Hyper-V host reaches, itself, the file server of the path it writes or reads.

The export runs on the source hosts and the import on the target hosts: their own SMB client opens
`\\\\server\\share`, through their own DNS client and their own network, not offlineprep's. So the
facts come from each host (collect.ps1, the probes section): the path's server name resolved by the
host (Dns.GetHostAddressesAsync), then TCP 445, the port SMB uses over TCP (SMB 2 and later
"requires TCP/IP over port 445", Microsoft KB 204279 "Direct host SMB over TCP/IP"), to each
address it found (TcpClient.ConnectAsync), all at once and bounded (names 2 s, connections 4 s in
all).

Subjects: each source host × the export path's server, each target host × the import path's.
Passes when the name resolves, every address it resolves to belongs to the machine that serves the
share (its own addresses, as it reports them over WinRM: a stale DNS record sends the host to
another machine, where Kerberos or the share fails), and TCP 445 opens to one of them. When the
share is scoped to a clustered role's client access point (checkkit.serving_role), the machine is
the role: a clustered file server's network name resolves to its IP Address resources ("DNS
Registration with the Network Name Resource", Microsoft's failover clustering blog), a Scale-Out
File Server's distributed network name to every node's addresses ("the cluster binds the DNN DNS
name to all the nodes in the cluster", Microsoft's "Configure a distributed network name"): each
address must then be one of the role's, or of a node of the file server's cluster (Get-Cluster
NetworkInterface). docs/clusters.md. Fails naming
the step: no answer from the DNS server, no such name, an address of another machine, 445 refused
(nothing listens: the Server service) or no answer within the wait (a firewall drops it).
`error` when the serving machine's own addresses are unknown (it did not answer WinRM), since the
comparison cannot be made.

Fixes: DNS is a manual step (the record, or the host's DNS servers); a port that does not answer gets
an inbound rule of ours for TCP 445 on the file server, limited to the host's addresses (one rule per host,
`offlineprep-SMB-445-<host>`: `host.firewall-open`, reverted by removing it), with a note that a network firewall between them
is beyond what offlineprep can change; a refused port gets `host.start-service` LanmanServer.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from offlineprep import checkkit
from offlineprep.actions import ActionBase
from offlineprep.actions.types import file_server, hyperv_host
from offlineprep.engine import CheckContext, Need, check
from offlineprep.facts import HostFacts, NameProbe
from offlineprep.model import Cause, Outcome, Remediation, Status
from offlineprep.names import PathRef
from offlineprep.remediation import manual, open_smb_port, remediation, start_service


@check(
    "host.path-reachable",
    title="Each Hyper-V host resolves and reaches the file server of its path on TCP 445",
    severity="high",
    needs=[Need.HYPERV_HOSTS, Need.PATH_COMPUTERS],
    walkthrough_step="Not a walkthrough step: the hosts write the export and read the import over SMB themselves",
    why=(
        "The source hosts write the initial copy to the export share and the target hosts read it from the import "
        "share, each with its own SMB client. If a host cannot resolve the file server's name, resolves it to "
        "another machine, or cannot open TCP 445 to it, the export or import fails whatever the permissions and "
        "delegation say."
    ),
    docs={
        "Direct host SMB over TCP/IP (SMB 2 and later need TCP port 445)":
            "https://learn.microsoft.com/troubleshoot/windows-server/networking/direct-hosting-of-smb-over-tcpip",
        "Dns.GetHostAddressesAsync":
            "https://learn.microsoft.com/dotnet/api/system.net.dns.gethostaddressesasync",
        "Scale-Out File Server for application data overview":
            "https://learn.microsoft.com/windows-server/failover-clustering/sofs-overview",
    },
)
def path_reachable(ctx: CheckContext) -> Iterator[Outcome]:
    pairs: list[tuple[str, PathRef]] = []
    if ctx.inventory.export_path is not None:
        pairs += [(h, ctx.inventory.export_path) for h in ctx.inventory.source_hosts]
    if ctx.inventory.import_path is not None:
        pairs += [(h, ctx.inventory.import_path) for h in ctx.inventory.target_hosts]
    for host, ref in pairs:
        if not ref.is_unc:
            yield checkkit.skip(host, f"{ref.raw} is a local path of {ref.server}: the hosts reach it only through the "
                                      "share VMM makes of it", target=ref.server)
            continue
        yield judge(ctx, host, ref)


def canonical(address: str) -> str:
    try:
        return ipaddress.ip_address(address.strip().strip("[]").split("%", 1)[0]).compressed
    except ValueError:
        return address


def judge(ctx: CheckContext, host: str, ref: PathRef) -> Outcome:
    server = ref.server
    facts, problem = checkkit.host(ctx, host, host, target=server)
    if facts is None:
        assert problem is not None
        return problem
    if facts.probes is None:
        return checkkit.error(host, f"{host} did not try to reach {server}{facts.why_unread('probes', ctx.facts_file)}",
                              target=server)
    probe = facts.find_probe(server)
    if probe is None:
        return checkkit.error(host, f"{host} returned no answer about {server}", target=server)
    evidence: dict[str, object] = {"name": server, "addresses": probe.addresses,
                                   "connections": {c.address: c.state for c in probe.connections},
                                   "probe_seconds": facts.probe_seconds}
    if probe.timed_out:
        return _fail(host, server, evidence, f"{host} got no answer from its DNS server for {server} within 2 s",
                     _dns_fix(host, server))
    if probe.error or not probe.addresses:
        return _fail(host, server, evidence, f"{server} does not resolve from {host}: {probe.error or 'no address'}",
                     _dns_fix(host, server))
    serving = _serving(ctx, server)
    resolved = [canonical(a) for a in probe.addresses]
    if serving is None:
        cause = _why_unknown(ctx, server)
        return checkkit.error(host, f"{server} resolves from {host} to {', '.join(resolved)}, but whether that is the "
                              f"machine that serves the share is unknown: {cause.text}", target=server,
                              evidence=evidence, cause=cause)
    own = serving.routable_addresses()
    machine = serving.computer_name or server
    role = checkkit.serving_role(ctx, server)
    if role is not None and role.known and role.addresses:
        # the share is scoped to a clustered role's name: a Scale-Out File Server's distributed network name
        # is bound to every node's addresses, a clustered file server's network name to its IP Address resources
        own = {canonical(a) for a in role.addresses}
        machine = (f"the nodes of cluster {role.cluster} (Scale-Out File Server {role.fqdn})" if role.distributed
                   else f"clustered file server role {role.group} ({role.fqdn})")
        evidence.update({"cluster": role.cluster, "cluster_role": role.group, "distributed": role.distributed})
    evidence["serving_machine"] = role.fqdn if role is not None and role.known else serving.computer_name
    evidence["serving_addresses"] = sorted(own)
    stray = [a for a in resolved if a not in own]
    if stray:
        where = (f"{', '.join(stray)} {'is' if len(stray) == 1 else 'are'} not an address of "
                 f"{machine} (its addresses: {', '.join(sorted(own)) or 'none reported'})")
        return _fail(host, server, evidence, f"{server} resolves from {host} to {', '.join(resolved)}: {where}; the "
                     "host's SMB client may go to another machine", _dns_fix(host, server, stale=stray))
    return _connections(ctx, host, server, facts, probe, evidence)


def _connections(ctx: CheckContext, host: str, server: str, facts: HostFacts, probe: NameProbe,
                 evidence: dict[str, object]) -> Outcome:
    opened = [c for c in probe.connections if c.state == "open"]
    if opened:
        return Outcome(status=Status.PASS, subject=host, target=server, evidence=evidence,
                       message=f"{server} resolves from {host} to {', '.join(canonical(a) for a in probe.addresses)} "
                               f"and TCP 445 opens to {canonical(opened[0].address)}")
    states = "; ".join(f"{canonical(c.address)}: {_said(c.state, c.error)}" for c in probe.connections)
    message = f"TCP 445 to {server} does not open from {host} ({states or 'no address tried'})"
    refused = any(c.state == "refused" for c in probe.connections)
    hyperv = ctx.inventory.may_be_hyperv_host(server)
    if refused:
        fix = remediation(f"Start the Server service (LanmanServer) on {server}",
                          [start_service(server, "LanmanServer", before=None, hyperv=hyperv)])
    else:
        addresses = sorted(facts.routable_addresses())
        actions: list[ActionBase] = [open_smb_port(server, host, addresses or ["Any"]), manual(
            f"If a network firewall lies between {host} and {server}, open TCP 445 from {host} "
            f"({', '.join(addresses) or 'its addresses'}) to {server} there", file_server(server))]
        fix = remediation(f"Let {host} in on TCP 445 on {server}", actions)
    return _fail(host, server, evidence, message, fix)


def _said(state: str, error: str | None) -> str:
    return {"refused": "refused (nothing listens on 445)",
            "timeout": "no answer within the wait (a firewall drops it, or the machine is down)"}.get(
        state, f"failed ({error or state})")


def _serving(ctx: CheckContext, server: str) -> HostFacts | None:
    facts = ctx.facts.find_host(server) if ctx.facts.hosts is not None else None
    if facts is None or not facts.reachable or not facts.routable_addresses():
        return None
    return facts


def _why_unknown(ctx: CheckContext, server: str) -> Cause:
    """Why the serving machine's own addresses are not known, as a cause the outputs show once."""
    facts = ctx.facts.find_host(server) if ctx.facts.hosts is not None else None
    if facts is None:
        return checkkit.missing_cause(ctx, server, server)
    if facts.error is not None:
        return checkkit.collection_cause("host", server, facts.error)
    text = f"{server} reported no address of its own" if facts.reachable else f"{server} could not be reached"
    return Cause(origin="host", machine=server, kind="missing" if facts.reachable else "unreachable", text=text)


def _dns_fix(host: str, server: str, stale: list[str] | None = None) -> Remediation:
    if stale:
        text = (f"Remove the DNS records that point {server} at {', '.join(stale)}, or correct the DNS servers {host} "
                "uses (Get-DnsClientServerAddress); then ipconfig /flushdns on the host")
    else:
        text = (f"Make {server} resolve from {host}: register its A record in the DNS zone, or correct the DNS servers "
                f"{host} uses (Get-DnsClientServerAddress); then ipconfig /flushdns on the host")
    return remediation(f"Make {server} resolve from {host} to the machine that serves the share",
                       [manual(text, hyperv_host(host))])


def _fail(host: str, server: str, evidence: dict[str, object], message: str, fix: Remediation) -> Outcome:
    return Outcome(status=Status.FAIL, subject=host, target=server, evidence=evidence, message=message, remediation=fix)

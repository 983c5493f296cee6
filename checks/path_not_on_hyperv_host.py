"""path.not-on-hyperv-host: no export/import share lives on a Hyper-V host.

Walkthrough: "The import and export shares should not be located on any computer used as a Hyper-V
host server, because loopback configuration is not supported by Hyper-V." The share's server fails
this when it is one of the configured hosts (by name, short or FQDN, or by its own computer name,
which catches a DNS alias), has the Hyper-V role, or shares an IP address with a configured host.

Also loopback: a path written by IP address that is an address of a configured host (judged even
when the share's server could not be read); a share server whose own computer name is the own
computer name of a configured host (the host written in the site file by another DNS alias); a
running vmms service where the role state could not be read (Get-WindowsFeature is missing on
some systems; vmms only exists with the Hyper-V role).

Addresses are compared across machines only where they name one machine: IPv6 link-local (fe80::/10)
and IPv4 link-local (APIPA, 169.254.0.0/16, RFC 3927) addresses are only meaningful on their own
link and repeat between machines, loopback addresses name every machine; Windows reports them all
beside the real ones (Win32_NetworkAdapterConfiguration.IPAddress), so they are left out.
"""

from __future__ import annotations

from collections.abc import Iterator

from offlineprep import checkkit
from offlineprep.actions.types import file_server
from offlineprep.engine import CheckContext, Need, check
from offlineprep.facts import HostFacts
from offlineprep.model import Outcome, Status
from offlineprep.names import HostName, PathRef
from offlineprep.remediation import manual, remediation


@check(
    "path.not-on-hyperv-host",
    title="Export and import shares are not on a Hyper-V host",
    severity="high",
    needs=[Need.PATH_COMPUTERS, Need.HYPERV_HOSTS],
    walkthrough_step="Prepare for offline initial replication: shares not on a Hyper-V host (no loopback)",
    why=(
        "Microsoft's walkthrough says the import and export shares must not be on any computer used as a "
        "Hyper-V host, because Hyper-V does not support that loopback configuration. A DNS alias that "
        "points at a host, or a shared IP address, is the same machine."
    ),
    docs={
        "Set up disaster recovery for Hyper-V VMs to a secondary on-premises site: replication policy":
            "https://learn.microsoft.com/azure/site-recovery/hyper-v-vmm-disaster-recovery#set-up-a-replication-policy",
    },
)
def not_on_hyperv_host(ctx: CheckContext) -> Iterator[Outcome]:
    for ref in ctx.inventory.path_refs:
        if not ref.is_unc:
            yield checkkit.skip(ref.raw, f"{ref.raw} is a local path: the loopback rule is about shares")
            continue
        yield judge(ctx, ref)


def judge(ctx: CheckContext, ref: PathRef) -> Outcome:
    server, problem = checkkit.host(ctx, ref.server, ref.raw)
    reasons: list[str] = []
    written = HostName(ref.server)
    hosts = [(h.name, h.domain) for h in ctx.inventory.hosts]  # a host's domain: what a source said of it
    for host, domain in hosts:
        if written.same_machine(host, domain):
            reasons.append(f"{ref.server} is the configured Hyper-V host {host}")
        elif ref.server_is_ip:
            facts = ctx.facts.find_host(host)
            if facts is not None and HostFacts(name=ref.server, reachable=False, ip_addresses=[ref.server]
                                               ).routable_addresses() & facts.routable_addresses():
                reasons.append(f"{ref.server} is an address of the Hyper-V host {host}")
    if server is None:
        if reasons:
            return _fail(ref, reasons, {"server": ref.server})
        assert problem is not None
        return problem
    evidence: dict[str, object] = {"server": ref.server, "computer_name": server.computer_name,
                                   "hyperv_installed": server.hyperv_installed, "vmms_running": server.vmms_running,
                                   "ip_addresses": server.ip_addresses}
    if server.computer_name:
        own = HostName(server.computer_name)
        for host, domain in hosts:
            if written.same_machine(host, domain):
                continue
            host_facts = ctx.facts.find_host(host)
            own_name = host_facts.computer_name if host_facts is not None else None
            if own.same_machine(host, domain) or (own_name and own.same_machine(own_name, server.domain)):
                reasons.append(f"{ref.server} is a DNS alias of the Hyper-V host {host} ({server.computer_name})")
    if server.hyperv_installed or (server.hyperv_installed is None and server.vmms_running):
        reasons.append(f"{ref.server} has the Hyper-V role installed"
                       + ("" if server.hyperv_installed else " (its vmms service is running)"))
    server_ips = server.routable_addresses()
    for host, domain in hosts:
        if written.same_machine(host, domain):
            continue
        facts = ctx.facts.find_host(host)
        if facts is None:
            continue
        shared = server_ips & facts.routable_addresses()
        if shared:
            reasons.append(f"{ref.server} shares the address {sorted(shared)[0]} with the Hyper-V host {host}")
    if reasons:
        return _fail(ref, sorted(set(reasons)), evidence)
    if server.hyperv_installed is None:
        return checkkit.error(ref.raw, f"{ref.server} did not say whether the Hyper-V role is installed"
                              f"{server.why_missing('hyperv')}", evidence=evidence)
    return Outcome(status=Status.PASS, subject=ref.raw, evidence=evidence,
                   message=f"{ref.server} is not a Hyper-V host")


def _fail(ref: PathRef, reasons: list[str], evidence: dict[str, object]) -> Outcome:
    return Outcome(
        status=Status.FAIL, subject=ref.raw, evidence={**evidence, "reasons": reasons},
        message="the share is on a Hyper-V host (loopback is not supported by Hyper-V): " + "; ".join(reasons),
        remediation=remediation(f"Move {ref.raw} to a file server that is not a Hyper-V host", [manual(
            f"Move {ref.raw}: create the share on a file server without the Hyper-V role, grant it the same "
            "permissions, then change the path in the site file and run offlineprep again",
            file_server(ref.server))]),
    )

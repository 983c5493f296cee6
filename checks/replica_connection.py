"""replica.connection: each source host connects to its Replica servers, as Hyper-V itself tests it.

Hyper-V answers this directly: Test-VMReplicationConnection "tests the connection between a primary
server and a Replica server to determine whether replication can be enabled for virtual machines on the
primary server to the specified Replica server"
(https://learn.microsoft.com/powershell/module/hyper-v/test-vmreplicationconnection; its WMI method,
Msvm_ReplicationService.TestReplicationConnection, "Verifies if the replication can be enabled from the
current host system to the specified recovery system" and takes, "For a recovery cluster, ... the broker
CAP name": https://learn.microsoft.com/windows/win32/hyperv_v2/testreplicationconnection-msvm-replicationservice).
Every other replica.* and policy.* check reads settings; this one asks Hyper-V whether they add up: the
listener answering on the port, the firewall between, the certificates of both sides, the Replica server's
authorization of this primary.

Subjects: each source host (a node of a primary cluster too: any node may own a VM, and each presents the
cluster's certificate, which names the broker) × each Replica server it replicates to, named as the primary
reaches it: a target host, or for a node of a Replica cluster its Hyper-V Replica Broker's FQDN (tested
once per broker; with more than 8 Replica servers each source tests 8 of them in turn, so that each is
tested from some source, and the pairs left out skip naming who tested it). The test runs in the host's
one PowerShell command (section `replica_connection`), with
the policy's authentication (`[policy] authentication`: Kerberos or Certificate, the certificate being the
host's configured CertificateThumbprint) and port (`[policy] port`, else 8083 / 8084 as Site Recovery's
walkthrough sets them: the same default as policy.replication-port), all of a host's tests at once and
bounded in time (10 s together by default): a server that does not answer is "timed out after N s".

Pass when the cmdlet returns without an error. Fail (blocking) with Hyper-V's own message (the exception's
Message and, where there is one, its FullyQualifiedErrorId), and a hint chosen by what failed, from the error
code in the message (WinHTTP's codes, https://learn.microsoft.com/windows/win32/winhttp/error-messages, the
form Hyper-V reports them in: "... terminated abnormally (0x00002EFE)", Microsoft's Hyper-V Replica
troubleshooting guide):
- cannot connect, connection error, timeout (0x00002EFD, 0x00002EFE, 0x00002EE2, or no answer in time): the
  Replica server's listener and its firewall: the inbound rule "Hyper-V Replica HTTP Listener (TCP-In)"
  (Kerberos) or "Hyper-V Replica HTTPS Listener (TCP-In)" (certificate) for the port, the Replica server
  enabled for this authentication on this port, its Virtual Machine Management service running
  (policy.replication-port, replica.server);
- a TLS or certificate failure (0x00002F8F, 0x00002F0C, or the word certificate): replica.certificate (the
  certificate each side presents, and each side's trust of the other's root);
- not authorized (Access is denied, 0x80070005, or "authoriz"): the Replica server's authorization entries
  (New-VMReplicationAuthorizationEntry for this primary's FQDN, its broker's for a cluster node; or
  Set-VMReplicationServer -ReplicationAllowedFromAnyServer);
- the name not resolved (0x00002EE7): DNS.
What Windows prints for each failure is not fully documented: docs/host-unverified.md says what is assumed.

Under Site Recovery (`manager = "asr"`, the default) Site Recovery enables the Replica servers itself when it
protects the cloud, so while a Replica server is not yet enabled (Get-VMReplicationServer ReplicationEnabled
False on it) its connection skips, saying so; once it is enabled the test is judged as above. Without a
[policy] table the authentication is not known: skip. It only tests; the hints are steps by hand on the
Replica server (or the primary, for its certificate), but where the Replica server's host reports its
Virtual Machine Management service stopped (the listener is vmms's): then the fix is host.hyperv-ready's
own start of vmms, one step in the plan for both.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from offlineprep import checkkit
from offlineprep.actions.types import hyperv_host
from offlineprep.engine import CheckContext, Need, check
from offlineprep.facts import HostFacts, ReplicaConnection
from offlineprep.inventory import REPLICA_TESTS_PER_HOST
from offlineprep.model import Outcome, Remediation, Status
from offlineprep.names import HostName, host_key, is_fqdn
from offlineprep.remediation import manual, remediation, start_service

# WinHTTP's error codes as Hyper-V writes them in its messages: "(0x00002EFE)"
_CODE = re.compile(r"\(0x([0-9A-Fa-f]{8})\)")
CANNOT_CONNECT = {0x2EFD, 0x2EFE}  # ERROR_WINHTTP_CANNOT_CONNECT 12029, ERROR_WINHTTP_CONNECTION_ERROR 12030
TIMED_OUT = {0x2EE2}  # ERROR_WINHTTP_TIMEOUT 12002
NOT_RESOLVED = {0x2EE7}  # ERROR_WINHTTP_NAME_NOT_RESOLVED 12007
# ERROR_WINHTTP_SECURE_FAILURE 12175, ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED 12044, ..._SECURE_CERT_* 12037-12057
CERTIFICATE = {0x2F8F, 0x2F0C, 0x2F05, 0x2F06, 0x2F0D, 0x2F17, 0x2F19, 0x2F7D}
ACCESS_DENIED = {0x80070005}
LISTENER_RULES = {"Kerberos": "Hyper-V Replica HTTP Listener (TCP-In)",
                  "Certificate": "Hyper-V Replica HTTPS Listener (TCP-In)"}


@check(
    "replica.connection",
    title="Each source host connects to its Replica servers (Test-VMReplicationConnection)",
    severity="high",
    needs=[Need.HYPERV_HOSTS],
    walkthrough_step="Not a walkthrough step: Hyper-V's own test of what enabling replication will need",
    why=(
        "Enabling replication connects each primary to its Replica server on the policy's port and authenticates "
        "both sides. Hyper-V tests exactly that with Test-VMReplicationConnection: a refused port, a firewall, a "
        "certificate either side rejects or a primary the Replica server does not authorize each stop replication "
        "before the initial copy, whatever the settings read elsewhere say."
    ),
    docs={
        "Test-VMReplicationConnection":
            "https://learn.microsoft.com/powershell/module/hyper-v/test-vmreplicationconnection",
        "Msvm_ReplicationService.TestReplicationConnection (a recovery cluster: the broker CAP name)":
            "https://learn.microsoft.com/windows/win32/hyperv_v2/testreplicationconnection-msvm-replicationservice",
        "WinHTTP error messages (the codes Hyper-V reports)":
            "https://learn.microsoft.com/windows/win32/winhttp/error-messages",
        "Hyper-V Replica troubleshooting guide":
            "https://learn.microsoft.com/troubleshoot/windows-server/virtualization/hyper-v-replica-troubleshooting-guide",
        "New-VMReplicationAuthorizationEntry":
            "https://learn.microsoft.com/powershell/module/hyper-v/new-vmreplicationauthorizationentry",
    },
)
def replica_connection(ctx: CheckContext) -> Iterator[Outcome]:
    servers = replica_servers(ctx)
    for host in ctx.inventory.source_hosts:
        mine = {s: t for s, t in servers.items() if host_key(s) != host_key(connection_point(ctx, host))}
        if ctx.site.policy is None:
            for server in mine:
                yield checkkit.skip(host, "no [policy] table: the authentication type (and so the port) to test with "
                                          "is not known", target=server)
            continue
        facts, problem = checkkit.host(ctx, host, host)
        if facts is None:
            assert problem is not None
            for server in mine:
                yield problem.model_copy(update={"target": server})
            continue
        for server, targets in mine.items():
            yield judge(ctx, host, facts, server, targets, spread=len(mine) > REPLICA_TESTS_PER_HOST)


def connection_point(ctx: CheckContext, host: str) -> str:
    """The name a primary connects to for the Replica server `host`: its cluster's broker, else itself."""
    broker = checkkit.replica_broker(ctx, host)
    if broker is not None and broker.fqdn:
        return broker.fqdn
    return host


def replica_servers(ctx: CheckContext) -> dict[str, list[str]]:
    """Each Replica server by the name primaries reach it by, with the target hosts behind it."""
    out: dict[str, list[str]] = {}
    keys: dict[str, str] = {}
    for target in ctx.inventory.target_hosts:
        name = connection_point(ctx, target)
        out.setdefault(keys.setdefault(host_key(name), name), []).append(target)
    return out


def not_yet_enabled(ctx: CheckContext, targets: list[str]) -> bool:
    """Every target host behind the server that answered reports its Replica server not enabled (a
    cluster node answers with its broker's settings)."""
    answered = [f for t in targets if (f := ctx.facts.find_host(t) if ctx.facts.hosts is not None else None)
                is not None and f.reachable and f.replication_server is not None]
    return bool(answered) and all(f.replication_server.enabled is False for f in answered  # type: ignore[union-attr]
                                  if f.replication_server is not None)


def judge(ctx: CheckContext, host: str, facts: HostFacts, server: str, targets: list[str],
          spread: bool = False) -> Outcome:
    if ctx.site.manager == "asr" and not_yet_enabled(ctx, targets):
        return checkkit.skip(host, f"the Replica server {server} is not enabled yet: Site Recovery enables it when it "
                                   "protects the cloud ([policy] manager = \"asr\"), so there is nothing to connect to "
                                   "before then", target=server)
    if facts.replica_connections is None:
        return checkkit.error(host, f"{host} did not test its connection to the Replica servers"
                              f"{facts.why_unread('replica_connection', ctx.facts_file)}", target=server)
    tested = next((c for c in facts.replica_connections if host_key(c.server) == host_key(server)), None)
    if tested is None and spread:
        by = [s for s in ctx.inventory.source_hosts if (f := _facts(ctx, s)) is not None
              and any(host_key(c.server) == host_key(server) for c in f.replica_connections or [])]
        return checkkit.skip(host, f"not tested from {host}: with more than {REPLICA_TESTS_PER_HOST} Replica servers each "
                                   f"source host tests {REPLICA_TESTS_PER_HOST} of them in turn; {server} was tested "
                                   f"from {', '.join(by) or 'no source host that answered'}", target=server)
    if tested is None:
        told = ", ".join(c.server for c in facts.replica_connections) or "none"
        return checkkit.error(host, f"{host} did not test {server}: when its request was made the Replica server was "
                              f"known by another name (tested: {told}); the broker of a Replica cluster whose nodes are "
                              "listed one by one is known only from their answers: name the cluster in the site file "
                              "and run again", target=server)
    evidence = {"replica_server": server, "target_hosts": targets, "port": tested.port,
                "authentication": tested.authentication, "certificate_thumbprint": tested.thumbprint,
                "state": tested.state, "message": tested.message, "error_id": tested.error_id}
    how = f"on port {tested.port} with {tested.authentication} authentication"
    if tested.state == "connected":
        return Outcome(status=Status.PASS, subject=host, target=server, evidence=evidence,
                       message=f"{host} connects to the Replica server {server} {how} (Test-VMReplicationConnection)")
    kind = failure_kind(tested)
    evidence["failure"] = kind
    if tested.state == "timeout":
        said = f"timed out after {tested.seconds:g} s" if tested.seconds else "timed out"
    elif tested.state == "not_tested":
        said = f"was not run: {tested.message}"
    else:
        said = f"failed: {tested.message or '(no message)'}" + (f" [{tested.error_id}]" if tested.error_id else "")
    message = f"Test-VMReplicationConnection from {host} to the Replica server {server} {how} {said}"
    listening = listener_port(ctx, targets, tested)
    if listening is not None and kind in ("listener", "timeout"):
        message += (f"; the Replica server listens for {tested.authentication} on port {listening} "
                    "(Get-VMReplicationServer), not the port tested: set [policy] port")
        evidence["replica_server_port"] = listening
    stopped = [t for t in targets if (f := _facts(ctx, t)) is not None and f.vmms_status
               and f.vmms_status.casefold() != "running"]
    if stopped and kind in ("listener", "timeout"):
        message += (f"; the Virtual Machine Management service (vmms) on {', '.join(stopped)} is not running, and "
                    "with it the Replica listener (see host.hyperv-ready)")
        evidence["vmms_not_running"] = stopped
        # the listener is vmms's: the fix is host.hyperv-ready's, the same start of the service
        fix = remediation(f"Start the Virtual Machine Management service (vmms) on {', '.join(stopped)}",
                          [start_service(t, "vmms", before=_facts(ctx, t).vmms_status,  # type: ignore[union-attr]
                                         hyperv=True) for t in stopped])
    else:
        fix = hint(ctx, host, facts, server, tested, kind)
    return Outcome(status=Status.FAIL, subject=host, target=server, evidence=evidence, message=message,
                   remediation=fix)


def _facts(ctx: CheckContext, name: str) -> HostFacts | None:
    found = ctx.facts.find_host(name) if ctx.facts.hosts is not None else None
    return found if found is not None and found.reachable else None


def failure_kind(tested: ReplicaConnection) -> str:
    """listener | timeout | certificate | authorization | name | other, from the error code Hyper-V's
    message carries (WinHTTP's, or an HRESULT) and, failing that, its words."""
    if tested.state == "timeout":
        return "timeout"
    if tested.state == "not_tested":
        return "certificate" if tested.authentication == "Certificate" else "other"
    text = tested.message or ""
    codes = {int(c, 16) for c in _CODE.findall(text)}
    codes |= {c & 0xFFFF for c in codes if c & 0xFFFF0000 == 0x80070000 and 12000 <= c & 0xFFFF < 13000}
    folded = text.casefold()
    if codes & CERTIFICATE or "certificate" in folded:
        return "certificate"
    if codes & ACCESS_DENIED or "authoriz" in folded or "access is denied" in folded:
        return "authorization"
    if codes & CANNOT_CONNECT:
        return "listener"
    if codes & TIMED_OUT:
        return "timeout"
    if codes & NOT_RESOLVED:
        return "name"
    return "other"


def listener_port(ctx: CheckContext, targets: list[str], tested: ReplicaConnection) -> int | None:
    """The port the Replica server itself listens on for the authentication tested, when it reports one
    and it is not the port tested."""
    for target in targets:
        found = ctx.facts.find_host(target) if ctx.facts.hosts is not None else None
        rs = found.replication_server if found is not None and found.reachable else None
        if rs is None or rs.enabled is not True:
            continue
        own = rs.kerberos_port if tested.authentication == "Kerberos" else rs.certificate_port
        if own and own != tested.port:
            return own
    return None


def primary_name(ctx: CheckContext, host: str, facts: HostFacts) -> str:
    """The name the Replica server must authorize: a cluster node's broker, else the host's FQDN."""
    broker = checkkit.replica_broker(ctx, host)
    if broker is not None and broker.fqdn:
        return broker.fqdn
    if facts.computer_name and is_fqdn(facts.computer_name):
        return HostName(facts.computer_name).bare
    return host


def hint(ctx: CheckContext, host: str, facts: HostFacts, server: str, tested: ReplicaConnection,
         kind: str) -> Remediation:
    """By hand, on the Replica server (or the primary, for its certificate): the test changes nothing."""
    port, auth = tested.port, tested.authentication or "Certificate"
    owner = hyperv_host(server)
    if kind in ("listener", "timeout"):
        rule = LISTENER_RULES.get(auth, LISTENER_RULES["Certificate"])
        text = (f"On the Replica server {server}: let TCP {port} in from {host} (the inbound rule '{rule}', or a rule "
                f"of your own for port {port}; and any network firewall between them: see policy.replication-port), "
                f"and check that it is enabled as a Replica server allowing {auth} authentication on port {port} "
                "with its Virtual Machine Management service running (Get-VMReplicationServer; see replica.server)")
        return remediation(f"Let {host} reach the Replica listener of {server} on port {port}", [manual(text, owner)])
    if kind == "certificate":
        text = (f"Make the certificates of {host} and {server} acceptable to each other (see replica.certificate): "
                f"{host} presents its configured CertificateThumbprint"
                + (f" {tested.thumbprint}" if tested.thumbprint else " (none is configured: Set-VMReplicationServer "
                   "-CertificateThumbprint)")
                + ", which must name it (or its Replica Broker), carry Client and Server Authentication and end at a "
                  f"root {server} trusts; {server}'s must meet the same and its root be trusted by {host}")
        return remediation(f"Fix the replication certificates between {host} and {server}",
                           [manual(text, hyperv_host(host))])
    if kind == "authorization":
        primary = primary_name(ctx, host, facts)
        text = (f"On the Replica server {server}: authorize the primary {primary} (New-VMReplicationAuthorizationEntry "
                f"-AllowedPrimaryServer {primary} -ReplicaStorageLocation <folder> -TrustGroup DEFAULT, or a *.domain "
                "entry), or accept any authenticated server (Set-VMReplicationServer -ReplicationAllowedFromAnyServer "
                "$true -DefaultStorageLocation <folder>); see replica.server")
        return remediation(f"Authorize {primary} on the Replica server {server}", [manual(text, owner)])
    if kind == "name":
        text = f"Make {server} resolve from {host} (its DNS record, or the DNS servers {host} uses)"
        return remediation(f"Make {server} resolvable from {host}", [manual(text, hyperv_host(host))])
    text = (f"Read Hyper-V's message above and the Microsoft-Windows-Hyper-V-VMMS Admin log on {host} and {server}; "
            f"run Test-VMReplicationConnection {server} {port} {auth} on {host} again once fixed")
    return remediation(f"Find why {host} cannot connect to {server}", [manual(text, hyperv_host(host))])

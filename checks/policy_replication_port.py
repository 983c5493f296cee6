"""policy.replication-port: each target host's firewall lets the replication listener in.

The port is the one the policy will use: `[policy] port` when given, else the host's own listener
(Get-VMReplicationServer KerbAuthPort / CertAuthPort), else the walkthrough's 8083 (Kerberos) /
8084 (certificate). A host whose Replica server is not enabled still reports Hyper-V's defaults
(80 / 443), but nothing listens there yet and ASR configures the listener with its own port when it
protects the cloud, so such a host's ports are not taken as its listener (SPEC silent).
Hyper-V's built-in rules only cover 80/443 and are disabled by default. An
enabled inbound allow rule for TCP (or any protocol) whose local ports cover it passes; a missing
one is a warning, because ASR normally opens the port itself when it configures the cloud.
A port list may come as one comma-separated string. An enabled inbound block rule covering the
port wins over any allow rule (Windows Firewall precedence), so its fix disables the block rule.
"""

from __future__ import annotations

from collections.abc import Iterator

from offlineprep import checkkit
from offlineprep.engine import CheckContext, Need, check
from offlineprep.facts import FirewallRule, HostFacts
from offlineprep.model import Outcome, Phase, Remediation, Status
from offlineprep.remediation import on_server

DEFAULT_PORTS = {"kerberos": 8083, "certificate": 8084}


def covers(spec: str, port: int) -> bool:
    """"Any", "8084", "8080-8090", or a comma list of those ("80, 443, 8080-8090")."""
    if "," in spec:
        return any(covers(part, port) for part in spec.split(","))
    spec = spec.strip()
    if spec.lower() == "any":
        return True
    if "-" in spec:
        low, _, high = spec.partition("-")
        return low.strip().isdigit() and high.strip().isdigit() and int(low) <= port <= int(high)
    return spec.isdigit() and int(spec) == port


def allowing_rules(rules: list[FirewallRule], port: int) -> list[FirewallRule]:
    return [
        r for r in rules
        if r.enabled and r.direction == "inbound" and r.action == "allow"
        and r.protocol.upper() in {"TCP", "ANY", "6"}
        and (not r.local_ports or any(covers(p, port) for p in r.local_ports))
    ]


def blocking_rules(rules: list[FirewallRule], port: int) -> list[FirewallRule]:
    return [r for r in rules if r.enabled and r.direction == "inbound" and r.action == "block"
            and r.protocol.upper() in {"TCP", "ANY", "6"} and any(covers(p, port) for p in r.local_ports or ["Any"])]


def listener_port(auth: str, configured: int | None, host: HostFacts) -> tuple[int, str]:
    if configured:
        return configured, "[policy] port"
    server = host.replication_server
    if server is not None and server.enabled is not False:
        own = server.kerberos_port if auth == "kerberos" else server.certificate_port
        if own:
            return own, "the host's replication server setting"
    return DEFAULT_PORTS[auth], "the walkthrough's default"


@check(
    "policy.replication-port",
    title="Target hosts' firewalls allow the replication listener port",
    severity="medium",
    needs=[Need.HYPERV_HOSTS],
    walkthrough_step="Configure replication settings, step 4: authentication type and port",
    why=(
        "Replication traffic arrives at the target hosts on the replication listener port (by default "
        "8083 for Kerberos, 8084 for certificates in Site Recovery). An enabled inbound Windows Firewall "
        "rule must let it in; Site Recovery usually opens it when it configures the cloud, so a missing "
        "rule is a warning, but a blocking rule stops replication."
    ),
    docs={
        "Set up disaster recovery for Hyper-V VMs to a secondary on-premises site: replication policy":
            "https://learn.microsoft.com/azure/site-recovery/hyper-v-vmm-disaster-recovery#set-up-a-replication-policy",
        "Get-VMReplicationServer":
            "https://learn.microsoft.com/powershell/module/hyper-v/get-vmreplicationserver",
        "New-NetFirewallRule":
            "https://learn.microsoft.com/powershell/module/netsecurity/new-netfirewallrule",
    },
)
def replication_port(ctx: CheckContext) -> Iterator[Outcome]:
    policy = ctx.site.policy
    for host in ctx.site.target_hosts:
        if policy is None:
            yield checkkit.skip(host, "no [policy] table: the authentication type (and so the port) is unknown")
            continue
        facts, problem = checkkit.host(ctx, host, host)
        if facts is None:
            assert problem is not None
            yield problem
            continue
        port, source = listener_port(policy.authentication, policy.port, facts)
        if facts.firewall_rules is None:
            yield checkkit.error(host, f"{host} returned no firewall rules{facts.why_missing('firewall_rules')}")
            continue
        allow = allowing_rules(facts.firewall_rules, port)
        block = blocking_rules(facts.firewall_rules, port)
        evidence = {"port": port, "port_source": source, "authentication": policy.authentication,
                    "allowing_rules": [r.name for r in allow], "blocking_rules": [r.name for r in block]}
        if allow and not block:
            yield Outcome(status=Status.PASS, subject=host, evidence=evidence,
                          message=f"inbound TCP {port} ({source}) is allowed by {allow[0].name}")
            continue
        why = (f"a block rule ({block[0].name}) covers it" if block
               else "no enabled inbound allow rule covers it")
        yield Outcome(
            status=Status.WARN, subject=host, evidence=evidence,
            message=f"replication listener port TCP {port} ({source}) on {host}: {why}",
            remediation=unblock(host, port, [r.name for r in block], bool(allow)) if block else Remediation(
                summary=f"Allow inbound TCP {port} for Hyper-V Replica on {host}",
                powershell=on_server(host, "New-NetFirewallRule -Name $args[0] -DisplayName $args[0] -Direction "
                                     "Inbound -Protocol TCP -LocalPort $args[1] -Action Allow",
                                     ["offlineprep-HVR-" + str(port), str(port)]),
                revert=on_server(host, "Remove-NetFirewallRule -Name $args[0]", ["offlineprep-HVR-" + str(port)]),
                phase=Phase.HOST,
            ),
        )


def unblock(host: str, port: int, block_names: list[str], allowed: bool) -> Remediation:
    """A block rule wins over every allow rule, so adding one more allow rule would change nothing:
    disable the blocking rules (and add the allow rule when none exists)."""
    names = "$args[2..($args.Count - 1)]"  # the block rules' Names, each passed as data
    script = f"Disable-NetFirewallRule -Name {names}"
    revert = f"Enable-NetFirewallRule -Name {names}"
    if not allowed:
        script += ("; New-NetFirewallRule -Name $args[0] -DisplayName $args[0] -Direction Inbound -Protocol TCP "
                   "-LocalPort $args[1] -Action Allow")
        revert += "; Remove-NetFirewallRule -Name $args[0]"
    args = ["offlineprep-HVR-" + str(port), str(port), *block_names]
    return Remediation(
        summary=f"Stop blocking inbound TCP {port} on {host} (block rules: {', '.join(block_names)})",
        powershell=on_server(host, script, args),
        revert=on_server(host, revert, args),
        phase=Phase.HOST,
    )

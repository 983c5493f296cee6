"""host.reachable: every machine the selected checks need answered an authenticated WS-Management request.

Pass means the host itself answered: its WinRM service accepted the credentials and opened a shell,
or answered a WS-Management fault. A machine that answered but whose answer was unusable (a fault,
garbage, a failing script) passes here; the checks that needed its facts report `error` with the
cause, so the run is "incomplete" rather than "not ready".

Everything short of that fails, with the cause said as an administrator says it: the name does not
resolve in DNS from this machine, the connection is refused or times out, TLS fails (an untrusted
certificate, or no HTTPS listener on the port), the credentials are refused (HTTP 401), or this
machine lacks something (the Kerberos library, a Kerberos ticket). A cause on this machine's side
gets no remediation for the host: the message says what to do here.

When the port does not answer WinRM, the fix makes the listener the site uses. `Enable-PSRemoting`
makes only an HTTP listener (5985); a site with scheme "https" needs an HTTPS listener bound to a
Server Authentication certificate that names the host (Microsoft, "How to configure WINRM for HTTPS",
KB 2019527: default HTTPS port 5986 from Windows 7 on), created on the host itself by a local
administrator (WinRM cannot carry the fix there, it is what is missing), with an inbound firewall
rule for the port; `Test-WSMan -UseSSL` from another machine verifies it. The fix is a typed action
(host.winrm-listener, docs/fixes.md): its revert removes the listener it made and its firewall rule.
"""

from __future__ import annotations

from collections.abc import Iterator

from offlineprep import checkkit
from offlineprep.engine import CheckContext, Need, check
from offlineprep.facts import ErrorKind, HostFacts
from offlineprep.model import Outcome, Remediation, Status
from offlineprep.names import domain_key, is_ip_address, short_name
from offlineprep.remediation import winrm_listener
from offlineprep.site import WinRMConfig

# causes a change on the host itself repairs: nothing answers WinRM on the port the site uses
LISTENER_CAUSES = {ErrorKind.UNREACHABLE, ErrorKind.TIMEOUT, ErrorKind.TLS}


@check(
    "host.reachable",
    title="WinRM reaches and authenticates to each host and path computer",
    severity="high",
    needs=[Need.HYPERV_HOSTS, Need.PATH_COMPUTERS],
    walkthrough_step="Not a walkthrough step: every check of a host or file server reads its facts over WinRM",
    why=(
        "offlineprep reads each host and file server with one read-only PowerShell command over WinRM "
        "(Windows Remote Management). A machine it cannot reach or log on to cannot be judged, so every "
        "check that needs it reports 'could not be evaluated' for it. VMM manages the hosts over WinRM "
        "too, so a refusal here often matters beyond this run."
    ),
    docs={
        "Installation and configuration for Windows Remote Management":
            "https://learn.microsoft.com/windows/win32/winrm/installation-and-configuration-for-windows-remote-management",
    },
)
def reachable(ctx: CheckContext) -> Iterator[Outcome]:
    for name, host in (ctx.facts.hosts or {}).items():
        down = checkkit.down_node(ctx, name)
        if down is not None:  # not asked: its cluster says it is down; an error of this node only
            node = ctx.inventory.host(name)
            yield Outcome(status=Status.ERROR, subject=name, message=down.text, cause=down,
                          evidence={"cluster": node.cluster if node is not None else None})
            continue
        if host.reachable:
            message = f"WinRM answered ({host.computer_name or name}, {host.os_caption or 'OS unknown'})"
            if host.error is not None:  # connected and authenticated, but the answer was unusable
                message = f"WinRM connected and authenticated, but collection failed: {host.error.message}"
            yield Outcome(status=Status.PASS, subject=name, message=message,
                          evidence={"computer_name": host.computer_name, "round_trip_seconds": host.round_trip_seconds,
                                    "collection_error": host.error.message if host.error else None})
            continue
        hyperv = ctx.inventory.may_be_hyperv_host(name)
        yield unreachable(name, host, ctx.site.winrm, _domain_names(ctx), hyperv=hyperv)


def _domain_names(ctx: CheckContext) -> set[str]:
    directory = ctx.directory
    if directory is None:
        return set()
    return {key for dns, netbios in directory.all_domains().items() for key in (domain_key(dns), domain_key(netbios)) if key}


def unreachable(name: str, host: HostFacts, winrm: WinRMConfig | None, domain_names: set[str], *,
                hyperv: bool) -> Outcome:
    cause = host.error.message if host.error else "no answer"
    kind = host.error.kind if host.error else ErrorKind.UNREACHABLE
    message = f"WinRM to {name} failed ({kind.value}): {cause}"
    if domain_key(name) in domain_names:
        message += (f"; {name} is the domain's own name: a path \\\\{name}\\... is a domain-based DFS namespace, "
                    "served by the folder targets' servers: write the folder target's own path in the site file")
    remediation = None
    if kind in LISTENER_CAUSES and winrm is not None and not is_ip_address(name):
        remediation = listener_fix(name, winrm, kind, hyperv)
    return Outcome(status=Status.FAIL, subject=name, message=message,
                   evidence={"kind": kind.value, "cause": cause}, remediation=remediation)


def listener_fix(host: str, winrm: WinRMConfig, kind: ErrorKind, hyperv: bool) -> Remediation:
    """The WinRM listener the site's [winrm] scheme and port need, made on the host itself."""
    return winrm_listener(host, short_name(host).upper(), winrm.scheme, winrm.effective_port, hyperv=hyperv,
                          before=kind.value)

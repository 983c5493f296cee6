"""host.reachable: WinRM connects and authenticates to every machine the selected checks need.

A machine that connected and authenticated but then answered something unusable (a WS-Management
fault, garbage, a failing script) passes here; the checks that needed its facts report `error`
with the cause, so the run is "incomplete" rather than "not ready".

Every other host check reads facts gathered over WinRM; when a machine cannot be reached this
check fails for it and names the cause (refused, timeout, 401, TLS, garbage), and the checks that
needed it report `error` for that subject only.
"""

from __future__ import annotations

from collections.abc import Iterator

from offlineprep.engine import CheckContext, Need, check
from offlineprep.model import Outcome, Phase, Remediation, Status
from offlineprep.pwsh import quote


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
        if host.reachable:
            message = f"WinRM answered ({host.computer_name or name}, {host.os_caption or 'OS unknown'})"
            if host.error is not None:  # connected and authenticated, but the answer was unusable
                message = f"WinRM connected and authenticated, but collection failed: {host.error.message}"
            yield Outcome(status=Status.PASS, subject=name, message=message,
                          evidence={"computer_name": host.computer_name, "round_trip_seconds": host.round_trip_seconds,
                                    "collection_error": host.error.message if host.error else None})
            continue
        cause = host.error.message if host.error else "no answer"
        kind = host.error.kind.value if host.error else "unreachable"
        status = Status.FAIL
        yield Outcome(
            status=status,
            subject=name,
            message=f"WinRM to {name} failed ({kind}): {cause}",
            evidence={"kind": kind, "cause": cause},
            remediation=Remediation(
                summary=f"Make WinRM reachable on {name}",
                powershell=(f"# on {name}, as an administrator:\nEnable-PSRemoting -Force\n"
                            f"Test-WSMan -ComputerName {quote(name)}   # from the machine running offlineprep"),
                phase=Phase.HOST,
            ),
        )

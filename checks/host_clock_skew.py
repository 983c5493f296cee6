"""host.clock-skew: each host's and path computer's clock is within 5 minutes of the domain controller's.

Kerberos rejects an authenticator whose time stamp is further from the KDC's clock than the
"Maximum tolerance for computer clock synchronization" (Kerberos policy, 5 minutes by default in
the Default Domain Policy; Microsoft: "the maximum time difference ... that Kerberos V5 tolerates
between the time on the client clock and the time on the domain controller"). Everything offline
initial replication does goes through Kerberos: WinRM from VMM, protocol transition and S4U2Proxy
to cifs on the file server, the Replica listener with Kerberos authentication.

Facts: the DC's clock is the rootDSE's currentTime of the site's [directory] DC, read in the
collector's rootDSE search; each machine's UTC clock is read first thing by the collection script.
Each was noted against this machine's own clock at the moment it was read, so the skew is
(host - this machine) - (DC - this machine), whatever this machine's clock says and however long
the run took between the two. The host's reading happens somewhere in its command's round trip:
half of it is the uncertainty, and currentTime has one-second resolution. Fails when the skew is
surely over 5 minutes, warns over 1 minute (W32Time keeps members well within seconds of the domain
hierarchy, so a minute means it is not working), passes otherwise.

Fix (docs/fixes.md `host.time-sync`): on the machine, as a local administrator, take the time from
the domain hierarchy (w32tm /config /syncfromflags:DOMHIER /update, when W32Time's Type is not
NT5DS) and resynchronise now (w32tm /resync /rediscover); the revert puts the time source back as
read. When the skew is over 5 minutes Kerberos refuses Invoke-Command to the machine too, so the
fix also says to run the same on the machine itself. The site's domain controller itself (a path on
it) is the reference, and skips. The PDC emulator (DomainRole 5) is the root of the hierarchy and
takes its time from outside: a manual step.

Group Policy wins: the "Configure Windows NTP Client" and "Global Configuration Settings" policies
keep Type and NtpServer under HKLM\\SOFTWARE\\Policies\\Microsoft\\W32Time\\Parameters, and "the values
defined by Group Policy overwrite any pre-existing values in the Windows Time service section of the
registry" (Microsoft, "Windows Time service tools and settings", Group Policy section; MS-W32T
W32TIME_NTPCLIENT_PROVIDER_CONFIG_DATA records for Type and NtpServer whether policy or the local
configuration set them). The collection reads both keys; when policy sets Type, the time source in
force is the policy's, and a w32tm /config of the local value would be overwritten at the next
policy refresh: the fix is a by-hand step naming the policy instead of host.time-sync.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from offlineprep import checkkit
from offlineprep.actions import ActionBase
from offlineprep.actions.types import file_server, hyperv_host
from offlineprep.engine import CheckContext, Need, check
from offlineprep.facts import DirectoryFacts, HostFacts
from offlineprep.model import Outcome, Remediation, Status
from offlineprep.names import HostName
from offlineprep.remediation import manual, remediation, sync_time

KERBEROS_MAX_SKEW = 300.0  # seconds: the Kerberos policy's default "Maximum tolerance" (5 minutes)
WARN_SKEW = 60.0
CURRENT_TIME_RESOLUTION = 1.0  # rootDSE currentTime has whole seconds
STANDALONE_ROLES = {0, 2}  # Win32_ComputerSystem.DomainRole: standalone workstation, standalone server


@check(
    "host.clock-skew",
    title="Each host's clock is within 5 minutes of the domain controller's",
    severity="high",
    needs=[Need.DIRECTORY, Need.HYPERV_HOSTS, Need.PATH_COMPUTERS],
    walkthrough_step="Not a walkthrough step: every step of it authenticates with Kerberos",
    why=(
        "Kerberos refuses tickets and authenticators from a machine whose clock is more than 5 minutes away from "
        "the domain controller's (the default Kerberos policy). A host or file server that far off fails every "
        "Kerberos step of offline replication: WinRM from VMM, delegation to the file server, the Replica listener."
    ),
    docs={
        "Maximum tolerance for computer clock synchronization":
            "https://learn.microsoft.com/previous-versions/windows/it-pro/windows-10/security/threat-protection/"
            "security-policy-settings/maximum-tolerance-for-computer-clock-synchronization",
        "Windows Time service tools and settings":
            "https://learn.microsoft.com/windows-server/networking/windows-time-service/windows-time-service-tools-and-settings",
        "Policy CSP ADMX_W32Time: Configure Windows NTP Client (NtpServer, Type)":
            "https://learn.microsoft.com/windows/client-management/mdm/policy-csp-admx-w32time",
    },
)
def clock_skew(ctx: CheckContext) -> Iterator[Outcome]:
    machines: list[tuple[str, bool]] = [(r.name, True) for r in checkkit.hyperv_hosts(ctx)]
    machines += [(m, False) for m in ctx.inventory.path_computers if not ctx.inventory.may_be_hyperv_host(m)]
    for name, hyperv in machines:
        yield judge(ctx, name, hyperv)


def judge(ctx: CheckContext, name: str, hyperv: bool) -> Outcome:
    facts, problem = checkkit.host(ctx, name, name)
    if facts is None:
        assert problem is not None
        return problem
    directory, problem = checkkit.directory(ctx, name)
    if directory is None:
        assert problem is not None
        return problem
    dc = _dc(directory)
    if any(HostName(dc).same_machine(n, directory.domain_dns_name) for n in (name, facts.computer_name or name)):
        return checkkit.skip(name, f"{name} is the domain controller {dc} whose clock is the reference")
    if directory.current_time is None or directory.current_time_observed_at is None:
        if directory.error is not None:
            return checkkit.directory_missing(directory, name, "the domain controller's time (rootDSE currentTime)")
        return checkkit.error(name, f"the domain controller {directory.server} did not return its time (rootDSE "
                              "currentTime)")
    if facts.clock is None:
        return checkkit.error(name, f"{name} did not report its clock{facts.why_unread('clock', ctx.facts_file)}")
    host_offset = (facts.clock.utc - facts.clock.observed_at).total_seconds()
    dc_offset = (directory.current_time - directory.current_time_observed_at).total_seconds()
    skew = host_offset - dc_offset
    uncertainty = facts.clock.uncertainty_seconds + CURRENT_TIME_RESOLUTION
    surely = max(0.0, abs(skew) - uncertainty)
    evidence = {"skew_seconds": round(skew, 1), "uncertainty_seconds": round(uncertainty, 1),
                "host_utc": _iso(facts.clock.utc), "dc_utc": _iso(directory.current_time),
                "domain_controller": directory.server, "time_source_type": facts.time_source_type,
                "domain_role": facts.domain_role}
    if facts.time_policy_type is not None or facts.time_policy_ntp_server is not None:  # Group Policy's, which win
        evidence.update({"time_source_type_policy": facts.time_policy_type,
                         "ntp_server_policy": facts.time_policy_ntp_server})
    said = f"{name}'s clock is {_span(abs(skew))} {'ahead of' if skew > 0 else 'behind'} the domain controller's"
    if surely > KERBEROS_MAX_SKEW:
        return Outcome(status=Status.FAIL, subject=name, evidence=evidence,
                       remediation=_fix(name, facts, hyperv, kerberos_refused=True),
                       message=f"{said}: more than Kerberos' 5 minutes, so Kerberos authentication with it fails")
    if surely > WARN_SKEW:
        return Outcome(status=Status.WARN, subject=name, evidence=evidence, remediation=_fix(name, facts, hyperv),
                       message=f"{said} (Kerberos tolerates 5 minutes; a synchronised member stays within seconds)")
    return Outcome(status=Status.PASS, subject=name, evidence=evidence,
                   message=f"{name}'s clock is within {_span(abs(skew) + uncertainty)} of the domain controller's "
                           f"({_dc(directory)})")


def _fix(name: str, facts: HostFacts, hyperv: bool, kerberos_refused: bool = False) -> Remediation:
    owner = hyperv_host(name) if hyperv else file_server(name)
    if facts.domain_role == 5:
        return remediation(f"Correct the time source of {name}, the PDC emulator", [manual(
            f"{name} is the PDC emulator, the root of the domain's time hierarchy: configure it to take its time from "
            "a reliable external source (w32tm /config /manualpeerlist:<servers> /syncfromflags:MANUAL /reliable:yes "
            "/update), then w32tm /resync", owner)])
    if facts.domain_role in STANDALONE_ROLES:
        return remediation(f"Correct the time source of {name}", [manual(
            f"{name} is in no domain: point its time source at a domain controller (w32tm /config "
            "/manualpeerlist:<dc> /syncfromflags:MANUAL /update), then w32tm /resync", owner)])
    if facts.time_policy_type is not None:
        return remediation(f"Correct the time source Group Policy gives {name}", [manual(
            f"Group Policy sets {name}'s time source (W32Time Type {facts.time_policy_type}"
            + (f", NtpServer {facts.time_policy_ntp_server}" if facts.time_policy_ntp_server else "")
            + ", under HKLM\\SOFTWARE\\Policies\\Microsoft\\W32Time\\Parameters), which overwrites the local "
            "setting, so w32tm /config would not last: in the GPO that applies to it, set Computer Configuration > "
            "Administrative Templates > System > Windows Time Service > Time Providers > 'Configure Windows NTP "
            "Client' to Type NT5DS (or make its NtpServer reachable and right), then on the machine gpupdate "
            "/target:computer /force and w32tm /resync /rediscover", owner)])
    actions: list[ActionBase] = [sync_time(name, before_type=facts.time_source_type, hyperv=hyperv)]
    if kerberos_refused:  # Invoke-Command with Kerberos meets the same skew
        actions.append(manual(f"If Invoke-Command to {name} fails (Kerberos refuses a clock more than 5 minutes off), "
                              "run the same on the machine itself as a local administrator: w32tm /config "
                              "/syncfromflags:DOMHIER /update, then w32tm /resync /rediscover", owner))
    return remediation(f"Synchronise {name}'s clock with the domain hierarchy", actions)


def _span(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def _dc(directory: DirectoryFacts) -> str:
    return directory.server.split("://", 1)[-1].split("/", 1)[0]

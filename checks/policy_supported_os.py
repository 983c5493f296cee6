"""policy.supported-os: each Hyper-V host runs a Windows Server version the scenario supports.

Azure Site Recovery to a secondary VMM site (`[policy] manager = "asr"`): Microsoft's support matrix
("Support matrix for disaster recovery of Hyper-V VMs to a secondary site", Host servers) lists
Windows Server 2012 R2 and Windows Server 2016, and no other host operating system. Plain Hyper-V
Replica (`manager = "hyperv-replica"`): any host with Hyper-V Replica, which came with Windows
Server 2012 (its Hyper-V module is the first with the Replica cmdlets: Set-VMReplicationServer,
New-VMReplicationAuthorizationEntry in the Windows Server 2012 docset), so 2012 and later.

The version is the release the host reports (Win32_OperatingSystem caption and build, placed by
offlineprep.winver: editions and the free Hyper-V Server count as their release), falling back to
the computer account's operatingSystem when the host did not answer.

A warning, not a failure: an unsupported host may replicate, but Microsoft will not support it.
The fix is a manual step (move the virtual machines to a supported host, or upgrade it). The
matrix's other note, "VMM 2016 clouds with a mixture of Windows Server 2016 and 2012 R2 hosts aren't
currently supported" (Host servers, Windows Server 2016), is judged here per VMM cloud: under Site
Recovery, each side's cloud the site names in [vmm] is one more subject (`cloud <name>`), a warning
when the hosts VMM reported in it run both Windows Server 2016 and 2012 R2. policy.same-host-os
judges the replication policy as a whole (one version for every host using it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from offlineprep import checkkit
from offlineprep.actions.types import hyperv_host
from offlineprep.engine import CheckContext, Need, check
from offlineprep.inventory import Origin, Role
from offlineprep.model import Outcome, Status
from offlineprep.remediation import manual, remediation
from offlineprep.winver import release

ASR_MATRIX = ("Windows Server 2012 R2", "Windows Server 2016")
HYPERV_REPLICA_SINCE = 2012


@check(
    "policy.supported-os",
    title="Each Hyper-V host runs a Windows Server version the scenario supports",
    severity="medium",
    needs=[Need.HYPERV_HOSTS],
    walkthrough_step="Prerequisites: the support matrix for Hyper-V replication to a secondary site",
    why=(
        "Site Recovery's replication to a secondary VMM site supports Windows Server 2012 R2 and 2016 hosts only; "
        "plain Hyper-V Replica needs Windows Server 2012 or later. A host outside that list may still replicate, but "
        "Microsoft does not support it, and new releases change what the Replica service and VMM expect."
    ),
    docs={
        "Support matrix for disaster recovery of Hyper-V VMs to a secondary site":
            "https://learn.microsoft.com/azure/site-recovery/hyper-v-vmm-secondary-support-matrix",
        "Set-VMReplicationServer (Windows Server 2012)":
            "https://learn.microsoft.com/powershell/module/hyper-v/set-vmreplicationserver?view=windowsserver2012-ps",
    },
)
def supported_os(ctx: CheckContext) -> Iterator[Outcome]:
    asr = ctx.site.manager == "asr"
    for role in checkkit.hyperv_hosts(ctx):
        found, source = host_release(ctx, role.name)
        evidence = {"release": found, "source": source, "manager": ctx.site.manager,
                    "supported": list(ASR_MATRIX) if asr else f"Windows Server {HYPERV_REPLICA_SINCE} and later"}
        if found is None:
            _, problem = checkkit.host(ctx, role.name, role.name, evidence=evidence)
            yield problem or checkkit.error(role.name, f"the Windows Server version of {role.name} is unknown",
                                            evidence=evidence)
            continue
        if supported(found, asr):
            scenario = "Site Recovery's support matrix" if asr else "Hyper-V Replica"
            yield Outcome(status=Status.PASS, subject=role.name, evidence=evidence,
                          message=f"{role.name} runs {found} ({source}), supported by {scenario}")
            continue
        wanted = " or ".join(ASR_MATRIX) if asr else f"Windows Server {HYPERV_REPLICA_SINCE} or later"
        scenario = "Site Recovery to a secondary VMM site" if asr else "Hyper-V Replica"
        yield Outcome(status=Status.WARN, subject=role.name, evidence=evidence,
                      message=f"{role.name} runs {found} ({source}); {scenario} supports {wanted}",
                      remediation=remediation(f"Run the replicated virtual machines on a supported host ({wanted})", [
                          manual(f"Move the virtual machines of {role.name} to a host running {wanted}, or upgrade "
                                 f"{role.name}", hyperv_host(role.name))]))


    if asr and ctx.site.vmm is not None:
        yield from mixed_clouds(ctx)


def host_release(ctx: CheckContext, name: str) -> tuple[str | None, str]:
    """The release a host runs, as it reports it, else as its computer account says; and which."""
    facts = ctx.facts.find_host(name) if ctx.facts.hosts is not None else None
    found = release(facts.os_caption, facts.os_build, facts.os_version) if facts and facts.reachable else None
    if found is None and ctx.directory is not None:
        account = ctx.directory.find_computer(name)
        if account is not None and account.found:
            return release(account.operating_system, account.operating_system_version), "from its computer account"
    return found, "as the host reports it"


MIXED = ("Windows Server 2016", "Windows Server 2012 R2")


def mixed_clouds(ctx: CheckContext) -> Iterator[Outcome]:
    """Each side's VMM cloud: a warning when its hosts (as VMM reported them) mix Windows Server 2016 and
    2012 R2, which the support matrix says is not supported."""
    vmm = ctx.site.vmm
    assert vmm is not None
    for side, cloud in ((Role.SOURCE, vmm.source_cloud), (Role.TARGET, vmm.target_cloud)):
        if not cloud:
            continue
        subject = f"cloud {cloud}"
        members = [h.name for h in ctx.inventory.hosts if side in h.roles and Origin.VMM in h.origins]
        releases = {name: host_release(ctx, name)[0] for name in members}
        evidence = {"cloud": cloud, "side": side.value, "releases": releases}
        if not members:
            yield checkkit.skip(subject, f"VMM reported no host in the {side.value} cloud {cloud}", evidence=evidence)
            continue
        by_release = {r: sorted(n for n, found in releases.items() if found == r) for r in MIXED}
        if all(by_release.values()):
            yield Outcome(
                status=Status.WARN, subject=subject, evidence=evidence,
                message=f"the {side.value} cloud {cloud} mixes Windows Server 2016 hosts ("
                        f"{', '.join(by_release[MIXED[0]])}) and Windows Server 2012 R2 hosts ("
                        f"{', '.join(by_release[MIXED[1]])}): Site Recovery's support matrix does not support a "
                        "VMM 2016 cloud with such a mixture",
                remediation=remediation(f"Keep one Windows Server version in cloud {cloud}", [manual(
                    f"In VMM, move the hosts of one version out of the cloud {cloud} (into a cloud of their own, with "
                    "its own replication policy), or upgrade the Windows Server 2012 R2 hosts")]))
            continue
        known = sorted({r for r in releases.values() if r})
        yield Outcome(status=Status.PASS, subject=subject, evidence=evidence,
                      message=f"the {side.value} cloud {cloud} does not mix Windows Server 2016 and 2012 R2 hosts"
                              + (f" ({', '.join(known)})" if known else ""))


def supported(found: str, asr: bool) -> bool:
    if asr:
        return found in ASR_MATRIX
    match = re.search(r"\b(20\d\d)\b", found)
    return bool(match) and int(match.group(1)) >= HYPERV_REPLICA_SINCE

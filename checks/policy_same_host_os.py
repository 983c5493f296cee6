"""policy.same-host-os: all hosts under the policy run the same Windows Server version.

Walkthrough: "When you create a replication policy, all host using the policy must have the same
operating system", and the policy's "Hyper-V host version" must match it. Versions come from the
hosts themselves (Win32_OperatingSystem), falling back to AD's operatingSystem attributes when a
host's facts are missing, so one unreachable host does not hide a mismatch.

Versions are compared as releases (offlineprep.winver): the caption's year and R2, else the build
number (9600 = 2012 R2, 14393 = 2016, 17763 = 2019, 20348 = 2022), so the edition (Standard,
Datacenter) and the free Microsoft Hyper-V Server count as the same release.
"""

from __future__ import annotations

from collections.abc import Iterator

from offlineprep import checkkit
from offlineprep.engine import CheckContext, Need, check
from offlineprep.model import Outcome, Status
from offlineprep.winver import release


@check(
    "policy.same-host-os",
    title="All hosts under the policy run the same Windows Server version",
    severity="high",
    needs=[Need.HYPERV_HOSTS],
    walkthrough_step="Set up a replication policy: all hosts using the policy must have the same operating system",
    why=(
        "A replication policy names one Hyper-V host version, and every host that uses it must run that "
        "Windows Server version. Hosts of different versions need separate policies (and mixed clouds are "
        "not supported), so replication cannot be enabled as planned."
    ),
    docs={
        "Set up disaster recovery for Hyper-V VMs to a secondary on-premises site: replication policy":
            "https://learn.microsoft.com/azure/site-recovery/hyper-v-vmm-disaster-recovery#set-up-a-replication-policy",
        "Support matrix for Hyper-V replication to a secondary site":
            "https://learn.microsoft.com/azure/site-recovery/hyper-v-vmm-secondary-support-matrix",
    },
)
def same_host_os(ctx: CheckContext) -> Iterator[Outcome]:
    policy = ctx.site.policy
    subject = (policy.name if policy and policy.name else None) or "policy"
    versions: dict[str, str] = {}
    unknown: list[str] = []
    for role in checkkit.hyperv_hosts(ctx):
        facts = ctx.facts.find_host(role.name)
        found = release(facts.os_caption, facts.os_build, facts.os_version) if facts and facts.reachable else None
        if found is None and ctx.directory is not None:
            account = ctx.directory.find_computer(role.name)
            if account is not None and account.found:
                found = release(account.operating_system, account.operating_system_version)
        if found is None:
            unknown.append(role.name)
        else:
            versions[role.name] = found
    evidence: dict[str, object] = {"versions": versions, "unknown": unknown,
                                   "policy_host_os": policy.host_os if policy else None}
    distinct = sorted(set(versions.values()))
    if len(distinct) > 1:
        yield Outcome(status=Status.FAIL, subject=subject, evidence=evidence,
                      message="hosts under one policy run different versions: "
                              + "; ".join(f"{h}: {v}" for h, v in versions.items())
                              + " (create one policy per version)")
        return
    if policy and policy.host_os and distinct and release(policy.host_os) != distinct[0]:
        yield Outcome(status=Status.FAIL, subject=subject, evidence=evidence,
                      message=f"the policy's host version is {policy.host_os} but the hosts run {distinct[0]}")
        return
    if unknown:
        yield checkkit.error(subject, "the OS version of " + ", ".join(unknown) + " is unknown (unreachable, and "
                             "not in AD)", evidence=evidence)
        return
    yield Outcome(status=Status.PASS, subject=subject, evidence=evidence,
                  message=f"all {len(versions)} hosts run {distinct[0] if distinct else 'the same version'}")

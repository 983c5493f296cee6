"""policy.settings: the replication policy's values are ones ASR and Hyper-V accept.

From the walkthrough's "Configure replication settings": copy frequency 30 seconds, 5 or 15
minutes; app-consistent snapshot frequency 1-12 hours and less than the number of additional
recovery points (retention hours); Kerberos authentication only with hosts running Windows
Server 2012 R2 or later; offline initial replication needs both the export and the import path.
Also, because Hyper-V refuses more: retention (RecoveryHistory) of 0-24 hours. One finding per
broken rule.

Kerberos: Microsoft's current text (Azure Site Recovery, "Set up disaster recovery for Hyper-V
VMs to a secondary on-premises site", hyper-v-vmm-disaster-recovery.md) says "Kerberos is only
relevant for Hyper-V host servers running on Windows Server 2012 R2 or later"; the walkthrough's
older wording named 2012 R2 alone. So a 2016 or 2019 host passes and a 2012 (or older) host
fails; a host whose release cannot be named (no year, unknown build) is not judged here
(policy.same-host-os and policy.supported-os name it).

Host versions are releases as offlineprep.winver names them (the caption's year, else the
build), so "Microsoft Hyper-V Server 2012 R2" and build 9600 are 2012 R2, while "Windows
Server 2012" without R2 is not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from offlineprep import checkkit
from offlineprep.engine import CheckContext, check
from offlineprep.model import Outcome, Status
from offlineprep.remediation import manual, remediation
from offlineprep.site import PolicyConfig
from offlineprep.winver import release

COPY_FREQUENCIES = {"30s": 30, "5m": 300, "15m": 900}
_FREQ = re.compile(r"^\s*(\d+)\s*(s|sec|secs|seconds?|m|min|mins|minutes?)?\s*$", re.I)


def copy_frequency_seconds(value: str) -> int | None:
    match = _FREQ.match(value)
    if not match:
        return None
    number, unit = int(match.group(1)), (match.group(2) or "s").lower()
    return number * 60 if unit.startswith("m") else number


_RELEASE = re.compile(r"\b(20\d\d)(\s*R2)?\b", re.I)
KERBEROS_MINIMUM = (2012, 1)  # Windows Server 2012 R2


def before_2012_r2(name: str) -> bool:
    """A release as offlineprep.winver names it ("Windows Server 2016") older than 2012 R2; False
    for a name without a year, which cannot be placed."""
    match = _RELEASE.search(name)
    if not match:
        return False
    return (int(match.group(1)), 1 if match.group(2) else 0) < KERBEROS_MINIMUM


def broken_rules(policy: PolicyConfig, has_export: bool, has_import: bool, host_versions: list[str]) -> list[str]:
    problems = []
    if policy.copy_frequency is not None:
        seconds = copy_frequency_seconds(policy.copy_frequency)
        if seconds not in COPY_FREQUENCIES.values():
            problems.append(f"copy frequency {policy.copy_frequency!r} is not one of 30s, 5m, 15m")
    retention = policy.recovery_point_retention_hours
    if retention is not None and not 0 <= retention <= 24:
        problems.append(f"recovery point retention {retention} h is outside 0-24 hours")
    app = policy.app_consistent_snapshot_frequency_hours
    if app is not None:
        if not 1 <= app <= 12:
            problems.append(f"app-consistent snapshot frequency {app} h is outside 1-12 hours")
        elif retention is not None and app >= retention:
            problems.append(f"app-consistent snapshot frequency {app} h must be less than the number of additional "
                            f"recovery points ({retention})")
    if policy.authentication == "kerberos":
        named = [v for v in [release(policy.host_os), *host_versions] if v]
        older = sorted({v for v in named if before_2012_r2(v)})
        if older:
            problems.append("Kerberos authentication needs hosts running Windows Server 2012 R2 or later, not "
                            + ", ".join(older) + " (use certificate)")
    if policy.initial_replication == "offline":
        missing = [n for n, present in (("export_path", has_export), ("import_path", has_import)) if not present]
        if missing:
            problems.append("offline initial replication needs both paths; missing " + " and ".join(missing))
    return problems


@check(
    "policy.settings",
    title="Replication policy settings are valid",
    severity="medium",
    needs=[],
    walkthrough_step="Configure replication settings, steps 3-10",
    why=(
        "Site Recovery accepts only some values: a copy frequency of 30 seconds, 5 or 15 minutes; "
        "app-consistent snapshots every 1 to 12 hours and less often than the recovery points kept; "
        "Kerberos only with Windows Server 2012 R2 or later hosts; and offline initial replication needs "
        "both an export and an import path. A policy outside these cannot be created."
    ),
    docs={
        "Set up disaster recovery for Hyper-V VMs to a secondary on-premises site: replication policy":
            "https://learn.microsoft.com/azure/site-recovery/hyper-v-vmm-disaster-recovery#set-up-a-replication-policy",
        "New-AzRecoveryServicesAsrPolicy":
            "https://learn.microsoft.com/powershell/module/az.recoveryservices/new-azrecoveryservicesasrpolicy",
        "Set up Hyper-V Replica":
            "https://learn.microsoft.com/windows-server/virtualization/hyper-v/manage/set-up-hyper-v-replica",
    },
)
def settings(ctx: CheckContext) -> Iterator[Outcome]:
    policy = ctx.site.policy
    if policy is None:
        yield checkkit.skip("policy", "no [policy] table in the site file")
        return
    subject = policy.name or "policy"
    versions = []
    for host in ctx.inventory.all_hosts:
        facts = ctx.facts.find_host(host)
        found = release(facts.os_caption, facts.os_build, facts.os_version) if facts is not None else None
        if found:
            versions.append(found)
    evidence = policy.model_dump(exclude_none=True)
    problems = broken_rules(policy, ctx.inventory.export_path is not None, ctx.inventory.import_path is not None, versions)
    if not problems:
        yield Outcome(status=Status.PASS, subject=subject, message="policy settings are valid", evidence=evidence)
    for problem in problems:
        yield Outcome(status=Status.FAIL, subject=subject, message=problem, evidence=evidence,
                      remediation=remediation(f"Change the policy {subject}", [manual(
                          f"Replication policy {subject}: {problem}; change it in the site file and where the policy "
                          "is created (VMM / Azure Site Recovery)")]))

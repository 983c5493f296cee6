"""host.hyperv-ready: each Hyper-V host has the Hyper-V role and its Virtual Machine Management service runs.

Everything offline initial replication does on a host goes through the Hyper-V Virtual Machine
Management service (vmms): exporting the initial copy on the primary, importing it on the Replica
server, the Replica listener itself. Microsoft's Best Practices Analyzer rule "The Hyper-V Virtual
Machine Management service must be running" says so for every management operation; VMM and Site
Recovery reach the host through it. A host named in the site file without the role is no Hyper-V
host at all (a wrong name, or a machine that was never set up).

Facts: the role from Get-WindowsFeature Hyper-V (InstallState Installed), or Win32_OptionalFeature
where that cmdlet is missing; the service from Get-Service vmms (Status). A running vmms with the
role state unread passes: the service exists only with the role. InstallState InstallPending is a
role installed and waiting for the restart that finishes it ("additional processes are pending and
must be completed", DISM's DismStateInstallPending): "restart needed", whose fix is the restart, not
a second install. The Hyper-V PowerShell module (feature Hyper-V-PowerShell, Get-Module -ListAvailable
Hyper-V) holds Get-VM and Get-VMReplicationServer: without it the host's virtual machines and Replica
settings cannot be read, and this check names it as the cause.

Fixes (docs/fixes.md): `host.install-role` (Install-WindowsFeature Hyper-V -IncludeManagementTools,
then a restart the administrator chooses the time of) or `host.start-service` (Start-Service vmms),
on the host as a local administrator. Neither is reverted: removing the role or stopping vmms stops
replication, which is never what undoing a preflight fix means.
"""

from __future__ import annotations

from collections.abc import Iterator

from offlineprep import checkkit
from offlineprep.actions.types import hyperv_host
from offlineprep.engine import CheckContext, Need, check
from offlineprep.model import Outcome, Status
from offlineprep.remediation import install_hyperv, manual, remediation, start_service


@check(
    "host.hyperv-ready",
    title="Each Hyper-V host has the Hyper-V role and a running Virtual Machine Management service",
    severity="high",
    needs=[Need.HYPERV_HOSTS],
    walkthrough_step="Not a walkthrough step: the walkthrough assumes working Hyper-V hosts in the VMM clouds",
    why=(
        "The export of the initial copy on the source hosts and its import on the target hosts are done by the "
        "Hyper-V Virtual Machine Management service (vmms). A host without the Hyper-V role, or with vmms stopped, "
        "cannot export, import or receive replication, and VMM reports it as not responding."
    ),
    docs={
        "DismPackageFeatureState (InstallPending: pending processes must complete)":
            "https://learn.microsoft.com/windows-hardware/manufacture/desktop/dism/dismpackagefeaturestate-enumeration",
        "Install the Hyper-V role on Windows Server":
            "https://learn.microsoft.com/windows-server/virtualization/hyper-v/get-started/install-the-hyper-v-role-on-windows-server",
        "The Hyper-V Virtual Machine Management service must be running":
            "https://learn.microsoft.com/windows-server/virtualization/hyper-v/best-practices-analyzer/the-hyper-v-virtual-machine-management-service-must-be-running",
    },
)
def hyperv_ready(ctx: CheckContext) -> Iterator[Outcome]:
    for role in checkkit.hyperv_hosts(ctx):
        facts, problem = checkkit.host(ctx, role.name, role.name)
        if facts is None:
            assert problem is not None
            yield problem
            continue
        evidence = {"hyperv_installed": facts.hyperv_installed, "vmms_status": facts.vmms_status,
                    "os": facts.os_caption}
        name = role.name
        if (facts.hyperv_install_state or "").casefold() == "installpending":
            yield Outcome(status=Status.FAIL, subject=name, evidence={**evidence, "install_state": "InstallPending"},
                          message=f"the Hyper-V role on {name} is installed and waiting for a restart (InstallState "
                                  "InstallPending): restart needed before vmms can run",
                          remediation=remediation(f"Restart {name} to finish installing the Hyper-V role", [manual(
                              f"Restart {name} to finish installing the Hyper-V role (Restart-Computer -ComputerName "
                              f"{name}), at a time its workloads allow; nothing is to be installed again", hyperv_host(name))]))
        elif facts.hyperv_installed is False:
            yield Outcome(status=Status.FAIL, subject=name, evidence=evidence,
                          message=f"the Hyper-V role is not installed on {name} ({facts.os_caption or 'OS unknown'})",
                          remediation=remediation(f"Install the Hyper-V role on {name} (a restart follows)",
                                                  [install_hyperv(name)]))
        elif facts.vmms_running and facts.hyperv_module is False:
            yield Outcome(status=Status.FAIL, subject=name, evidence={**evidence, "hyperv_module": False},
                          message=f"the Hyper-V PowerShell module is not installed on {name}: the Hyper-V cmdlets (Get-VM, "
                                  "Get-VMReplicationServer) are missing, so its virtual machines and Replica settings "
                                  "cannot be read or set",
                          remediation=remediation(f"Install the Hyper-V PowerShell module on {name}", [manual(
                              f"Install the Hyper-V PowerShell module on {name}: Install-WindowsFeature -Name "
                              "Hyper-V-PowerShell, as a local administrator", hyperv_host(name))]))
        elif facts.vmms_running:
            yield Outcome(status=Status.PASS, subject=name, evidence=evidence,
                          message="the Hyper-V role is installed and the Virtual Machine Management service (vmms) "
                                  "is running")
        elif facts.hyperv_installed is None and facts.vmms_status is None:
            yield checkkit.error(name, f"{name} did not say whether the Hyper-V role is installed"
                                 f"{facts.why_missing('hyperv')}", evidence=evidence)
        else:
            status = facts.vmms_status or "not present"
            yield Outcome(status=Status.FAIL, subject=name, evidence=evidence,
                          message=f"the Virtual Machine Management service (vmms) on {name} is {status}: nothing can "
                                  "be exported, imported or replicated through it",
                          remediation=remediation(f"Start the Virtual Machine Management service (vmms) on {name}",
                                                  [start_service(name, "vmms", before=facts.vmms_status,
                                                                 hyperv=True)]))

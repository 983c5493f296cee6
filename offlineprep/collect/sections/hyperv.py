"""Section `hyperv`: whether the Hyper-V role is installed and how the VMMS service runs."""

from __future__ import annotations

from typing import Any

from offlineprep.collect.sections.base import Part, Reading, Section


class HypervAnswer(Part):
    installed: bool | None = None  # Get-WindowsFeature Hyper-V InstallState, else Win32_OptionalFeature
    vmms: str | None = None  # Get-Service vmms .Status (Running, Stopped, ...); null: no such service
    install_state: str | None = None  # Get-WindowsFeature Hyper-V InstallState: Installed, InstallPending, Available
    module: bool | None = None  # Get-Module -ListAvailable -Name Hyper-V found the Hyper-V PowerShell module


def facts(reading: Reading) -> dict[str, Any]:
    hyperv: HypervAnswer | None = reading.answer.hyperv
    return {
        "hyperv_installed": hyperv.installed if hyperv else None,
        "vmms_running": (hyperv.vmms == "Running") if hyperv and hyperv.vmms is not None else None,
        "vmms_status": hyperv.vmms if hyperv else None,
        "hyperv_install_state": hyperv.install_state if hyperv else None,
        "hyperv_module": hyperv.module if hyperv else None,
    }


SECTION = Section("hyperv", {"hyperv": HypervAnswer | None}, facts)

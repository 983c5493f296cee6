"""host.install-role: a Windows Server role installed (Install-WindowsFeature), Hyper-V for a host
that lacks it; not reverted. apply leaves it to a person: the role needs a restart."""

from __future__ import annotations

from typing import ClassVar, Literal

from offlineprep.actions.base import ActionBase, Phase, machine_name, remote


class InstallRole(ActionBase):
    """Install a Windows Server role (Install-WindowsFeature), Hyper-V for a host that lacks it. Not
    reverted: removing Hyper-V from a host that holds replicas stops them, and needs a restart."""

    kind: Literal["host.install-role"] = "host.install-role"
    rights: str = "Administrators on the host"
    feature: str = "Hyper-V"  # Install-WindowsFeature -Name
    before: str = "not installed"

    phase: ClassVar[Phase] = Phase.HOST
    modules: ClassVar[tuple[str, ...]] = ("ServerManager",)
    revertible: ClassVar[bool] = False

    def describe(self) -> tuple[str, str]:
        return f"{machine_name(self.owner)}: {self.feature}", f"Install {self.feature} (a restart follows)"

    def fix_lines(self) -> list[str]:
        return _install_role(self)

    def by_hand(self) -> str | None:
        machine = self.owner.name if self.owner is not None and self.owner.name else "the host"
        return INSTALL_ROLE_BY_HAND.format(feature=self.feature, machine=machine)


# Installing a role is left to the administrator: Hyper-V is installed only by a restart (Microsoft, "Install the
# Hyper-V role on Windows Server": Install-WindowsFeature ... -Restart), which takes the host's running VMs down
# with it and ends apply's own WinRM command; the re-check could not see the role before that restart either.
INSTALL_ROLE_BY_HAND = ("installing {feature} finishes only with a restart of {machine} (Microsoft: \"Install the "
                        "Hyper-V role on Windows Server\"), which stops its virtual machines: apply restarts no machine. "
                        "Run the fix script's step, restart the host when it suits, then run offlineprep again")


def _install_role(a: InstallRole) -> list[str]:
    # Get-WindowsFeature / Install-WindowsFeature (ServerManager, Windows Server 2012 and later); the
    # role needs a restart, which is left to the administrator (no -Restart)
    return remote(a.owner, "[string]$Feature", [
        "if (-not (Get-WindowsFeature -Name $Feature).Installed) {",
        "    Install-WindowsFeature -Name $Feature -IncludeManagementTools | Out-Null",
        "    Write-Warning \"$Feature is installed on $env:COMPUTERNAME: restart it to finish (Restart-Computer)\"",
        "}",
    ], [a.feature])

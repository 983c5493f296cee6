"""host.winrm-listener: the WinRM listener the site's [winrm] scheme and port need, made on the
machine itself (WinRM cannot carry this change: it is what is missing). apply never does it: the
fix script's step runs there.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from offlineprep.actions.base import INDENT, ActionBase, Phase, here
from offlineprep.pwsh import quote

WINRM_HTTPS_RULE = "offlineprep-WinRM-HTTPS-In"


class ConfigureWinRMListener(ActionBase):
    """The WinRM listener the site's [winrm] scheme and port need, made on the machine itself.

    WinRM cannot carry this change to the machine: it is what is missing. So the rendering acts
    only where $env:COMPUTERNAME is the machine's own name; anywhere else it asks the listener
    (Test-WSMan, which is the check from another machine) and says where to run it when it does not
    answer. `Enable-PSRemoting` makes only an HTTP listener (5985); for scheme https an HTTPS
    listener bound to a Server Authentication certificate naming the machine is added (Microsoft:
    New-WSManInstance, example 1 "Create a HTTPS listener"; KB 2019527: 5986 by default), with an
    inbound firewall rule of our own for its port in the Domain profile.

    The revert removes what the fix added: its firewall rule, and the HTTPS listener when the fix
    made it (a listener carries no name of ours, so the fix records that in the rule's description).
    Enable-PSRemoting is not undone: remoting is on by default on Windows Server 2012 and later
    (Microsoft: Enable-PSRemoting), so it restores the default, and Disable-PSRemoting would only
    block the session configurations (Microsoft: Disable-PSRemoting)."""

    kind: Literal["host.winrm-listener"] = "host.winrm-listener"
    rights: str = "Administrators on the machine, in an elevated Windows PowerShell on the machine itself"
    computer_name: str  # $env:COMPUTERNAME there: the first label of its name, as Windows spells it (upper case)
    dns_name: str  # the name the site connects to, which the certificate must hold
    scheme: Literal["http", "https"]
    port: int
    rule_name: str = WINRM_HTTPS_RULE
    before: str  # what offlineprep met on the port: the failure's kind (unreachable, timeout, tls)

    phase: ClassVar[Phase] = Phase.HOST
    modules: ClassVar[tuple[str, ...]] = ("Microsoft.WSMan.Management", "Microsoft.PowerShell.Security", "NetSecurity")
    on_the_machine: ClassVar[bool] = True

    def describe(self) -> tuple[str, str]:
        if self.scheme == "https":
            return self.dns_name, f"Add a WinRM HTTPS listener on port {self.port} and its firewall rule"
        return self.dns_name, "Enable WinRM over HTTP (Enable-PSRemoting)"

    def fix_lines(self) -> list[str]:
        return _listener(self)

    def revert_lines(self) -> list[str]:
        return _remove_listener(self)

    def by_hand(self) -> str | None:
        return (f"it runs on {self.dns_name} itself: WinRM cannot reach the machine to make the change "
                "(the fix script's step does it there)")


# The firewall rule's description when the fix made the HTTPS listener: a listener carries no name
# of ours, so this is how the revert knows the listener is its to remove.
LISTENER_MADE = "offlineprep made the WinRM HTTPS listener (Address *) with this rule: its revert removes both"
LISTENER_NOT_MADE = "offlineprep: inbound WinRM over HTTPS (the HTTPS listener was there before)"


_CANNOT_REACH = "WinRM cannot reach it to make the change"


def _listener_test(a: ConfigureWinRMListener) -> str:
    default = 5986 if a.scheme == "https" else 5985
    return (f"Test-WSMan -ComputerName {quote(a.dns_name)}" + (" -UseSSL" if a.scheme == "https" else "")
            + ("" if a.port == default else f" -Port {quote(str(a.port))}"))


def _on_the_machine(a: ConfigureWinRMListener, body: list[str], elsewhere: list[str]) -> list[str]:
    """`body` where $env:COMPUTERNAME is the machine's own name, `elsewhere` anywhere else."""
    return [f"if ($env:COMPUTERNAME -ieq {quote(a.computer_name)}) {{", *[INDENT + line for line in body], "}",
            "else {", *[INDENT + line for line in elsewhere], "}"]


def _run_there(a: ConfigureWinRMListener, what: str, why: str) -> str:
    return f"{what} on {a.dns_name} itself, as a local administrator in an elevated Windows PowerShell: {why}"


def _listener(a: ConfigureWinRMListener) -> list[str]:
    if a.scheme == "https":
        body = here("[string]$DnsName, [string]$Port, [string]$Rule, [string]$Made, [string]$NotMade", [
            "Enable-PSRemoting -Force",
            "$cert = Get-ChildItem -Path Cert:\\LocalMachine\\My -SSLServerAuthentication -DnsName $DnsName |",
            "    Where-Object { $_.HasPrivateKey -and $_.NotAfter -gt (Get-Date) } | Select-Object -First 1",
            "if (-not $cert) { throw \"No valid Server Authentication certificate for $DnsName in LocalMachine\\My: "
            "enrol one first\" }",
            "$https = @(Get-WSManInstance -ResourceURI 'winrm/config/Listener' -Enumerate | "
            "Where-Object { $_.Transport -eq 'HTTPS' })",
            "$description = $NotMade",
            "if ($https.Count -eq 0) {",
            "    New-WSManInstance -ResourceURI 'winrm/config/Listener' -SelectorSet @{Transport = 'HTTPS'; Address = '*'} "
            "-ValueSet @{Hostname = $DnsName; CertificateThumbprint = $cert.Thumbprint; Port = $Port} | Out-Null",
            "    $description = $Made",
            "}",
            "if (-not (Get-NetFirewallRule -Name $Rule -ErrorAction SilentlyContinue)) {",
            "    New-NetFirewallRule -Name $Rule -DisplayName 'Windows Remote Management (HTTPS-In)' -Description "
            "$description -Direction Inbound -Protocol TCP -LocalPort $Port -Action Allow -Profile Domain | Out-Null",
            "}",
            "elseif ($description -eq $Made) { Set-NetFirewallRule -Name $Rule -Description $description }",
        ], [a.dns_name, str(a.port), a.rule_name, LISTENER_MADE, LISTENER_NOT_MADE])
        answers = f"{a.dns_name} answers WinRM over HTTPS on port {a.port}"
    else:
        body = ["Enable-PSRemoting -Force"]
        answers = f"{a.dns_name} answers WinRM over HTTP on port {a.port}"
    # anywhere else this is the check from another machine: the listener answers (with a certificate
    # this machine trusts), or it is still to be made on the machine itself
    elsewhere = ["try {", f"{INDENT}{_listener_test(a)} -ErrorAction Stop | Out-Null", f"{INDENT}Write-Host {quote(answers)}",
                 "}", f"catch {{ Write-Warning {quote(_run_there(a, 'Run this', _CANNOT_REACH))} }}"]
    return _on_the_machine(a, body, elsewhere)


def _remove_listener(a: ConfigureWinRMListener) -> list[str]:
    if a.scheme != "https":
        return []  # Enable-PSRemoting restores Windows Server's default: see ConfigureWinRMListener
    body = here("[string]$Rule, [string]$Made", [
        "$ours = Get-NetFirewallRule -Name $Rule -ErrorAction SilentlyContinue",
        "if ($ours -and $ours.Description -eq $Made) {",
        "    Remove-WSManInstance -ResourceURI 'winrm/config/Listener' -SelectorSet @{Transport = 'HTTPS'; Address = '*'}",
        "}",
        "if ($ours) { Remove-NetFirewallRule -Name $Rule }",
    ], [a.rule_name, LISTENER_MADE])
    why = "the listener it removes may be the one WinRM would reach it through"
    return _on_the_machine(a, body, [f"Write-Warning {quote(_run_there(a, 'Undo this', why))}"])

"""The PowerShell that fixes a finding, filled with real names and quoted as data.

Every builder returns a `Remediation` with the change, the command that undoes it after initial
replication, and the phase that orders it in the fix script. Commands that must run on a file
server are wrapped in `Invoke-Command -ComputerName … -ArgumentList …` so values stay data there too.
"""

from __future__ import annotations

from offlineprep.model import Phase, Remediation
from offlineprep.pwsh import quote, quote_list

TICKET_REMINDER = (
    "# After any delegation change: let AD replicate, then refresh the host's Kerberos tickets\n"
    "repadmin /syncall /AdeP\n"
    "Invoke-Command -ComputerName {host} -ScriptBlock {{ klist purge -li 0x3e7 }}   # or reboot the host"
)


def on_server(server: str, script: str, args: list[str]) -> str:
    """Run `script` on `server` with `args` passed as data ($args[0], $args[1], …)."""
    return (
        f"Invoke-Command -ComputerName {quote(server)} -ArgumentList {quote_list(args)} -ScriptBlock {{\n"
        f"    {script}\n}}"
    )


def ad_identity(sam_account_name: str | None, fallback: str) -> str:
    """Get-ADComputer's -Identity: the sAMAccountName without the trailing $ reads best."""
    return (sam_account_name or fallback).rstrip("$")


def delegation_values(host_identity: str, verb: str, spns: list[str]) -> str:
    """`Set-ADComputer -Add` (or `-Remove`) of msDS-AllowedToDelegateTo values: the one shape the fix
    script rewrites into its re-runnable form (render.fixscript)."""
    return f"Set-ADComputer -Identity {quote(host_identity)} -{verb} @{{'msDS-AllowedToDelegateTo' = {quote_list(spns)}}}"


def add_delegation(host_identity: str, spns: list[str], protocol_transition: bool, host_name: str) -> Remediation:
    lines = [delegation_values(host_identity, "Add", spns)]
    revert = [delegation_values(host_identity, "Remove", spns)]
    if protocol_transition:
        lines.append(f"Get-ADComputer -Identity {quote(host_identity)} | Set-ADAccountControl -TrustedToAuthForDelegation $true")
        revert.append(
            f"Get-ADComputer -Identity {quote(host_identity)} | Set-ADAccountControl -TrustedToAuthForDelegation $false"
        )
    lines.append(TICKET_REMINDER.format(host=quote(host_name)))
    return Remediation(
        summary=f"Trust {host_identity} for delegation to {', '.join(spns)} with any authentication protocol",
        powershell="\n".join(lines),
        revert="\n".join(revert),
        phase=Phase.DIRECTORY,
    )


def enable_protocol_transition(host_identity: str, host_name: str) -> Remediation:
    return Remediation(
        summary=f"Turn on 'Use any authentication protocol' (protocol transition) for {host_identity}",
        powershell=(
            f"Get-ADComputer -Identity {quote(host_identity)} | Set-ADAccountControl -TrustedToAuthForDelegation $true\n"
            + TICKET_REMINDER.format(host=quote(host_name))
        ),
        revert=f"Get-ADComputer -Identity {quote(host_identity)} | Set-ADAccountControl -TrustedToAuthForDelegation $false",
        phase=Phase.DIRECTORY,
    )


def replace_unconstrained(host_identity: str, spns: list[str], host_name: str) -> Remediation:
    """`spns`: only those still missing (an empty list when the constrained entries are already there)."""
    lines = [f"Get-ADComputer -Identity {quote(host_identity)} | Set-ADAccountControl -TrustedForDelegation $false "
             "-TrustedToAuthForDelegation $true"]
    if spns:
        lines.append(delegation_values(host_identity, "Add", spns))
    lines.append(TICKET_REMINDER.format(host=quote(host_name)))
    target = f"constrained delegation to {', '.join(spns)}" if spns else "its constrained delegation entries"
    return Remediation(
        summary=f"Replace unconstrained delegation on {host_identity} by {target}",
        powershell="\n".join(lines),
        revert=delegation_values(host_identity, "Remove", spns) if spns else None,
        phase=Phase.DIRECTORY,
    )


def grant_ntfs(server: str, local_path: str, account: str, rights: str, what: str) -> Remediation:
    grant = f"{account}:(OI)(CI){rights}"
    script = "icacls $args[0] /grant $args[1]"
    return Remediation(
        summary=f"Grant {account} {what} (NTFS) on {local_path} on {server}",
        powershell=on_server(server, script, [local_path, grant]),
        revert=on_server(server, "icacls $args[0] /remove:g $args[1]", [local_path, account]),
        phase=Phase.NTFS,
    )


def grant_share(server: str, share: str, account: str, access_right: str) -> Remediation:
    script = "Grant-SmbShareAccess -Name $args[0] -AccountName $args[1] -AccessRight $args[2] -Force"
    return Remediation(
        summary=f"Grant {account} {access_right} on share {share} on {server}",
        powershell=on_server(server, script, [share, account, access_right]),
        revert=on_server(server, "Revoke-SmbShareAccess -Name $args[0] -AccountName $args[1] -Force", [share, account]),
        phase=Phase.SHARE,
    )


def add_local_group_member(server: str, group_sid: str, group_name: str, account: str) -> Remediation:
    """Safe to run twice, yet loud when it matters: only "already a member" (and, in the revert, "not
    a member") is passed over; a missing group, an unknown account or access denied still stops."""
    script = ("try { Add-LocalGroupMember -SID $args[0] -Member $args[1] -ErrorAction Stop } "
              "catch [Microsoft.PowerShell.Commands.MemberExistsException] { }")
    revert = ("try { Remove-LocalGroupMember -SID $args[0] -Member $args[1] -ErrorAction Stop } "
              "catch [Microsoft.PowerShell.Commands.MemberNotFoundException] { }")
    return Remediation(
        summary=f"Add {account} to {group_name} on {server}",
        powershell=on_server(server, script, [group_sid, account]),
        revert=on_server(server, revert, [group_sid, account]),
        phase=Phase.LOCAL_GROUPS,
    )


# --------------------------------------------------------------------------- resource-based delegation, SPN moves


def allow_resource_based_delegation(
    file_server: str, file_server_domain: str, host_identity: str, host_domain: str, host_name: str
) -> Remediation:
    """Let `host_identity` (of `host_domain`) delegate to the computer account `file_server` (of
    `file_server_domain`) by resource-based constrained delegation, the kind that crosses domains.

    Set-ADComputer -PrincipalsAllowedToDelegateToAccount writes msDS-AllowedToActOnBehalfOfOtherIdentity
    and replaces the list ("Running Set-ADComputer without specifying the first principal will cause
    it to get overridden", Set-ADComputer docs), so the principals allowed already are kept and the
    host is added once; the host's account is read from its own domain and the file server's
    written in its own (-Server takes a domain name), as Microsoft's cross-domain example does
    (Application Proxy "SSO using KCD", delegation in a different domain). The revert removes only
    this host.
    """
    fs, fs_dom, hv, hv_dom = quote(file_server), quote(file_server_domain), quote(host_identity), quote(host_domain)
    read = (f"$fileServer = Get-ADComputer -Identity {fs} -Server {fs_dom} -Properties PrincipalsAllowedToDelegateToAccount\n"
            f"$hyperVHost = Get-ADComputer -Identity {hv} -Server {hv_dom}\n"
            "$others = @($fileServer.PrincipalsAllowedToDelegateToAccount | "
            "Where-Object { $_ -ne $hyperVHost.DistinguishedName })\n")
    fix = (read + f"Set-ADComputer -Identity $fileServer -Server {fs_dom} "
           "-PrincipalsAllowedToDelegateToAccount (@($others) + $hyperVHost)\n"
           + TICKET_REMINDER.format(host=quote(host_name)))
    revert = (read + "if ($others.Count -gt 0) {\n"
              f"    Set-ADComputer -Identity $fileServer -Server {fs_dom} -PrincipalsAllowedToDelegateToAccount $others\n"
              "} else {\n"
              f"    Set-ADComputer -Identity $fileServer -Server {fs_dom} -Clear 'msDS-AllowedToActOnBehalfOfOtherIdentity'\n"
              "}")
    return Remediation(
        summary=(f"Allow {host_identity} ({host_domain}) to delegate to {file_server} ({file_server_domain}) by "
                 "resource-based constrained delegation, set on the file server's account in its own domain"),
        powershell=fix,
        revert=revert,
        phase=Phase.DIRECTORY,
    )


def move_spns(spns: list[str], from_account: str, to_account: str) -> Remediation:
    """Move SPNs from the account that wrongly holds them (a retired server behind a DNS alias) to the
    account of the machine that serves the share.

    `setspn -D` from the old holder first: `setspn -S` refuses to add an SPN another account holds.
    Nothing is ever removed from `to_account`. No revert: this corrects the directory (tickets for
    the name were encrypted with the wrong key); putting the SPNs back would break the share again.
    """
    fix = [f"setspn -D {quote(spn)} {quote(from_account)}" for spn in spns]
    fix += [f"setspn -S {quote(spn)} {quote(to_account)}" for spn in spns]
    return Remediation(
        summary=f"Move {', '.join(spns)} from {from_account} to {to_account}, the account of the machine that serves the share",
        powershell="\n".join(fix),
        phase=Phase.DIRECTORY,
    )

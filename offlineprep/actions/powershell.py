"""PowerShell renderings of fix actions: the lines that make a change and the lines that undo it.

One rendering per action type, used by the report's snippet and by the fix script alike. Every
value (names, paths, SIDs, SPNs, the domain controller) is a single-quoted literal (`pwsh.quote`);
on a file server or host the script block takes its values as parameters (`Invoke-Command
-ArgumentList`), so they stay data there too. Every rendering can run twice: it reads the current
state first and changes only what is still to change. Sources for each command are in
docs/fixes.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from offlineprep.actions import types as t
from offlineprep.pwsh import comment, quote, quote_list

INDENT = "    "

# Win32 errors as ADSI reports them (HRESULT 0x8007xxxx, Microsoft: ADSI "Common Errors"), as the
# signed 32-bit numbers COMException.ErrorCode holds: ERROR_MEMBER_IN_ALIAS (1378) and
# ERROR_MEMBER_NOT_IN_ALIAS (1377), "already a member" / "not a member of the local group".
ALREADY_A_MEMBER = -2147023518  # 0x80070562
NOT_A_MEMBER = -2147023519  # 0x80070561

# icacls' specific rights (Microsoft: icacls, "A comma-separated list in parenthesis of specific
# rights") by access-mask bit, in the order the documentation lists them
ICACLS_SPECIFIC = [
    (0x10000, "D"), (0x20000, "RC"), (0x40000, "WDAC"), (0x80000, "WO"), (0x100000, "S"),
    (0x1000000, "AS"), (0x2000000, "MA"), (0x80000000, "GR"), (0x40000000, "GW"), (0x20000000, "GE"),
    (0x10000000, "GA"), (0x1, "RD"), (0x2, "WD"), (0x4, "AD"), (0x8, "REA"), (0x10, "WEA"), (0x20, "X"),
    (0x40, "DC"), (0x80, "RA"), (0x100, "WA"),
]
FULL_CONTROL = 0x1F01FF

# The revert of a grant: the account's explicit entries go back as the saved descriptor holds them,
# each at its index there; every other entry stays as it is now (one added since is kept). Only
# documented .NET types: RawSecurityDescriptor(String), RawAcl.RemoveAce / InsertAce / Count,
# KnownAce.SecurityIdentifier, GenericAce.IsInherited / Copy, GetSddlForm. offlineprep.lab.descriptors
# models the same steps for the tests.
RESTORE_FUNCTION = [
    "function Restore-AccountAces([string]$Current, [string]$Saved, [string]$Sid) {",
    "    $now = New-Object -TypeName System.Security.AccessControl.RawSecurityDescriptor -ArgumentList $Current",
    "    $was = New-Object -TypeName System.Security.AccessControl.RawSecurityDescriptor -ArgumentList $Saved",
    "    $account = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $Sid",
    "    $acl = $now.DiscretionaryAcl",
    "    if ($null -eq $acl -or $null -eq $was.DiscretionaryAcl) { throw 'a null DACL: restore it by hand' }",
    "    for ($i = $acl.Count - 1; $i -ge 0; $i--) {",
    "        $ace = $acl[$i]",
    "        if ($ace -is [System.Security.AccessControl.KnownAce] -and -not $ace.IsInherited -and "
    "$ace.SecurityIdentifier -eq $account) { $acl.RemoveAce($i) }",
    "    }",
    "    for ($i = 0; $i -lt $was.DiscretionaryAcl.Count; $i++) {",
    "        $ace = $was.DiscretionaryAcl[$i]",
    "        if ($ace -is [System.Security.AccessControl.KnownAce] -and -not $ace.IsInherited -and "
    "$ace.SecurityIdentifier -eq $account) {",
    "            $acl.InsertAce([Math]::Min($i, $acl.Count), $ace.Copy())",
    "        }",
    "    }",
    "    $now.DiscretionaryAcl = $acl",
    "    $now.GetSddlForm([System.Security.AccessControl.AccessControlSections]::All)",
    "}",
]


def icacls_rights(mask: int) -> str:
    """`F` for Full Control, else the specific rights list, e.g. `(RD,WD,AD,REA,WEA,RA,WA,RC,S)`."""
    if mask & FULL_CONTROL == FULL_CONTROL and not mask & ~FULL_CONTROL:
        return "F"
    names = [name for bit, name in ICACLS_SPECIFIC if mask & bit]
    return "(" + ",".join(names) + ")"


def ntfs_grant_argument(action: t.GrantNtfsRights) -> str:
    """What icacls gets after /grant: `*SID:(OI)(CI)F` (a SID with the documented `*`), else the name."""
    who = f"*{action.account_sid}" if action.account_sid else action.account
    return f"{who}:{action.inheritance}{icacls_rights(action.mask)}"


def _server(owner: t.Owner | None) -> str:
    return f" -Server {quote(owner.name)}" if owner is not None and owner.kind == "directory" and owner.name else ""


def _remote(owner: t.Owner | None, params: str, body: list[str], args: Sequence[str | list[str]]) -> list[str]:
    """`body` run on the owner machine, its values passed as data to `param(...)`."""
    machine = owner.name if owner is not None and owner.name else "localhost"
    return _script_block(f"-ComputerName {quote(machine)} ", params, body, args)


def _here(params: str, body: list[str], args: Sequence[str | list[str]]) -> list[str]:
    """`body` run in this session (Invoke-Command without -ComputerName needs no WinRM), its values
    passed as data to `param(...)` as on a remote machine."""
    return _script_block("", params, body, args)


def _script_block(where: str, params: str, body: list[str], args: Sequence[str | list[str]]) -> list[str]:
    values = ", ".join(quote_list(a) if isinstance(a, list) else quote(a) for a in args)
    # one array argument needs the unary comma: @(@('a', 'b')) is flattened into two arguments
    argument_list = f"(, {values})" if len(args) == 1 and isinstance(args[0], list) else f"@({values})"
    return ([f"Invoke-Command {where}-ArgumentList {argument_list} -ScriptBlock {{",
             f"{INDENT}param({params})", f"{INDENT}$ErrorActionPreference = 'Stop'"]
            + [INDENT + line for line in body] + ["}"])


# --------------------------------------------------------------------------- Active Directory


def _delegation_values(a: t.AddDelegationValues, add: bool) -> list[str]:
    server = _server(a.owner)
    who = quote(a.computer)
    keep, verb = ("-notcontains", "Add") if add else ("-contains", "Remove")
    return [
        f"$current = @((Get-ADComputer -Identity {who} -Properties 'msDS-AllowedToDelegateTo'{server})"
        ".'msDS-AllowedToDelegateTo')",
        f"$values = @({quote_list(a.values)} | Where-Object {{ $current {keep} $_ }})",
        f"if ($values.Count -gt 0) {{ Set-ADComputer -Identity {who} -{verb} "
        f"@{{'msDS-AllowedToDelegateTo' = [string[]]$values}}{server} }}",
    ]


def _account_control(a: t.AccountControlChange, flags: dict[int, bool]) -> list[str]:
    server = _server(a.owner)
    lines = []
    disabled = flags.pop(t.UAC_ACCOUNTDISABLE, None)
    target = (f"Get-ADComputer -Identity {quote(a.account)}{server} | " if a.computer else "")
    identity = "" if a.computer else f" -Identity {quote(a.account)}"
    if disabled is not None:
        verb = "Disable-ADAccount" if disabled else "Enable-ADAccount"
        lines.append(f"{target}{verb}{identity}{server}")
    if flags:
        params = " ".join(f"-{t.UAC_PARAMETERS[bit]} ${'true' if on else 'false'}" for bit, on in sorted(flags.items()))
        lines.append(f"{target}Set-ADAccountControl{identity} {params}{server}")
    return lines


def _direct_membership(a: t.GroupMembershipChange) -> list[str]:
    server = _server(a.owner)
    return [f"$group = Get-ADGroup -Identity {quote(a.group_sid)}{server}",
            f"$memberOf = @((Get-ADObject -Identity {quote(a.member_dn or '')} -Properties 'memberOf'{server}).memberOf)"]


def _leave_protected_users(a: t.LeaveProtectedUsers) -> list[str]:
    server = _server(a.owner)
    remove = f"Remove-ADGroupMember -Identity {quote(a.group_sid)} -Members {quote(a.member)} -Confirm:$false{server}"
    if not a.member_dn:
        return [remove]
    nested = (f"{a.member_label or a.member} is in Protected Users through a nested group: take that group out of "
              "Protected Users, or the account out of that group (tokenGroups does not say which group)")
    return [*_direct_membership(a),
            f"if ($memberOf -contains $group.DistinguishedName) {{ {remove} }}",
            f"else {{ Write-Warning {quote(nested)} }}"]


def _rejoin_protected_users(a: t.LeaveProtectedUsers) -> list[str]:
    server = _server(a.owner)
    add = f"Add-ADGroupMember -Identity {quote(a.group_sid)} -Members {quote(a.member)}{server}"
    if not a.member_dn:
        return [add]
    return [*_direct_membership(a), f"if ($memberOf -notcontains $group.DistinguishedName) {{ {add} }}"]


def _group_member(a: t.AddDirectoryGroupMember, add: bool) -> list[str]:
    server = _server(a.owner)
    if add:
        change = f"Add-ADGroupMember -Identity {quote(a.group_sid)} -Members {quote(a.member)}{server}"
    else:
        change = (f"Remove-ADGroupMember -Identity {quote(a.group_sid)} -Members {quote(a.member)} "
                  f"-Confirm:$false{server}")
    if not a.member_dn:
        return [change]
    test = "-notcontains" if add else "-contains"
    return [*_direct_membership(a), f"if ($memberOf {test} $group.DistinguishedName) {{ {change} }}"]


def _spn_of_object(dn: str, server: str) -> str:
    return f"@((Get-ADObject -Identity {quote(dn)} -Properties 'servicePrincipalName'{server}).servicePrincipalName)"


def _spn_of_computer(identity: str, server: str) -> str:
    return (f"@((Get-ADComputer -Identity {quote(identity)} -Properties 'servicePrincipalName'{server})"
            ".servicePrincipalName)")


def _move_spn(a: t.MoveSpn) -> list[str]:
    server = _server(a.owner)
    lines = [f"if ({_spn_of_object(h.distinguished_name, server)} -contains {quote(h.spn)}) {{ Set-ADObject -Identity "
             f"{quote(h.distinguished_name)} -Remove @{{servicePrincipalName = {quote(h.spn)}}}{server} }}"
             for h in a.remove_from]
    if a.add_to:
        lines.append(f"if ({_spn_of_computer(a.add_to, server)} -notcontains {quote(a.spn)}) {{ Set-ADComputer -Identity "
                     f"{quote(a.add_to)} -ServicePrincipalNames @{{Add = {quote(a.spn)}}}{server} }}")
    return lines


def _unregister_spn(a: t.MoveSpn) -> list[str]:
    """A registration is undone; a move is not: it corrects the directory (tickets for the name were
    encrypted with another account's key), and neither putting the SPN back on the wrong holder nor
    taking it off the serving machine's account would leave the name working."""
    if not a.add_to or a.remove_from:
        return []
    server = _server(a.owner)
    return [f"if ({_spn_of_computer(a.add_to, server)} -contains {quote(a.spn)}) {{ Set-ADComputer -Identity "
            f"{quote(a.add_to)} -ServicePrincipalNames @{{Remove = {quote(a.spn)}}}{server} }}"]


def _rbcd(a: t.AllowDelegationFrom, add: bool) -> list[str]:
    # -PrincipalsAllowedToDelegateToAccount replaces the whole list (Set-ADComputer docs): the
    # principals allowed already are kept, and the revert removes only these hosts. The hosts are
    # read through the site's DC (their domain) and passed as those objects, so a file server of
    # another domain (`computer_domain`, read and written there) is given principals it can resolve.
    server = _server(a.owner)
    there = f" -Server {quote(a.computer_domain)}" if a.computer_domain else server
    who = quote(a.computer)
    lines = [
        f"$allowed = @((Get-ADComputer -Identity {who} -Properties 'PrincipalsAllowedToDelegateToAccount'{there})"
        ".PrincipalsAllowedToDelegateToAccount)",
        f"$hosts = @({quote_list(a.principals)} | ForEach-Object {{ Get-ADComputer -Identity $_{server} }})",
    ]
    if add:
        lines += ["$missing = @($hosts | Where-Object { $allowed -notcontains $_.DistinguishedName })",
                  f"if ($missing.Count -gt 0) {{ Set-ADComputer -Identity {who} -PrincipalsAllowedToDelegateToAccount "
                  f"(@($allowed) + @($missing)){there} }}"]
    else:
        lines += ["$names = @($hosts | ForEach-Object { $_.DistinguishedName })",
                  "$remaining = @($allowed | Where-Object { $names -notcontains $_ })",
                  # only when one of these hosts is still allowed; the last one out clears the list
                  f"if ($remaining.Count -lt $allowed.Count -and $remaining.Count -gt 0) {{ Set-ADComputer -Identity "
                  f"{who} -PrincipalsAllowedToDelegateToAccount $remaining{there} }}",
                  f"elseif ($remaining.Count -lt $allowed.Count) {{ Set-ADComputer -Identity {who} "
                  f"-PrincipalsAllowedToDelegateToAccount $null{there} }}"]
    return lines


# --------------------------------------------------------------------------- file servers and hosts


def _create_share(a: t.CreateShare) -> list[str]:
    return _remote(a.owner, "[string]$Name, [string]$Path", [
        "if (-not (Test-Path -LiteralPath $Path)) { New-Item -ItemType Directory -Path $Path | Out-Null }",
        "if (-not (Get-SmbShare -Name $Name -ErrorAction SilentlyContinue)) { New-SmbShare -Name $Name -Path $Path | Out-Null }",
    ], [a.share, a.local_path])


def _remove_share(a: t.CreateShare) -> list[str]:
    return _remote(a.owner, "[string]$Name", [
        "if (Get-SmbShare -Name $Name -ErrorAction SilentlyContinue) { Remove-SmbShare -Name $Name -Force }",
    ], [a.share])


def _create_folder(a: t.CreateFolder) -> list[str]:
    return _remote(a.owner, "[string]$Path", [
        "if (-not (Test-Path -LiteralPath $Path)) { New-Item -ItemType Directory -Path $Path | Out-Null }",
    ], [a.local_path])


def _grant_share(a: t.GrantShareRights) -> list[str]:
    return _remote(a.owner, "[string]$Name, [string]$Account, [string]$Right", [
        "Grant-SmbShareAccess -Name $Name -AccountName $Account -AccessRight $Right -Force | Out-Null",
    ], [a.share, a.account, a.access_right])


def _restore_share(a: t.GrantShareRights) -> list[str]:
    if not (a.account_sid and a.before_sddl):
        return [f"Write-Warning {quote(_unknown(a, f'share access to {a.share}'))}"]
    return _remote(a.owner, "[string]$Name, [string]$Sid, [string]$Saved", [
        *RESTORE_FUNCTION,
        "$share = Get-SmbShare -Name $Name",
        "Set-SmbShare -Name $Name -SecurityDescriptor (Restore-AccountAces $share.SecurityDescriptor $Saved $Sid) -Force",
    ], [a.share, a.account_sid, a.before_sddl])


def _unknown(a: t.AclGrant, what: str) -> str:
    machine = a.owner.name if a.owner is not None and a.owner.name else "the file server"
    return (f"{a.account}'s {what} on {machine} before the fix was not read: offlineprep cannot put it back; "
            "review it by hand")


def _grant_ntfs(a: t.GrantNtfsRights) -> list[str]:
    return _remote(a.owner, "[string]$Path, [string]$Grant", [
        "icacls $Path /grant $Grant",
        "if ($LASTEXITCODE -ne 0) { throw \"icacls /grant failed on $Path (exit code $LASTEXITCODE)\" }",
    ], [a.local_path, ntfs_grant_argument(a)])


def _restore_ntfs(a: t.GrantNtfsRights) -> list[str]:
    if not (a.account_sid and a.before_sddl):
        return [f"Write-Warning {quote(_unknown(a, f'NTFS access to {a.local_path}'))}"]
    return _remote(a.owner, "[string]$Path, [string]$Sid, [string]$Saved", [
        *RESTORE_FUNCTION,
        # the access section only: Set-Acl of a full descriptor would also try to write the owner
        "$acl = (Get-Item -LiteralPath $Path).GetAccessControl('Access')",
        "$acl.SetSecurityDescriptorSddlForm((Restore-AccountAces $acl.Sddl $Saved $Sid), 'Access')",
        "Set-Acl -LiteralPath $Path -AclObject $acl",
    ], [a.local_path, a.account_sid, a.before_sddl])


def _local_group(a: t.AddLocalGroupMember, add: bool) -> list[str]:
    # the group by SID (its name is localised), the member by SID where known: IADsGroup::Add and
    # ::Remove take "WinNT://<SID>" (Microsoft: IADsGroup::Add)
    member = a.member_sid or a.member.replace("\\", "/")
    verb, tolerated = ("Add", ALREADY_A_MEMBER) if add else ("Remove", NOT_A_MEMBER)
    why = "already a member" if add else "not a member"
    return _remote(a.owner, "[string]$GroupSid, [string]$Member", [
        "$sid = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $GroupSid",
        "$name = $sid.Translate([System.Security.Principal.NTAccount]).Value.Split('\\')[-1]",
        "$group = [ADSI]\"WinNT://$env:COMPUTERNAME/$name,group\"",
        f"try {{ $group.{verb}(\"WinNT://$Member\") }}",
        "catch {",
        "    $e = $_.Exception",
        "    while ($e -and -not ($e -is [System.Runtime.InteropServices.COMException])) { $e = $e.InnerException }",
        f"    if (-not $e -or $e.ErrorCode -ne {tolerated}) {{ throw }}   # {why}: nothing to do",
        "}",
    ], [a.group_sid, member])


def _open_port(a: t.OpenFirewallPort) -> list[str]:
    return _remote(a.owner, "[string]$Name, [string]$DisplayName, [string]$Port, [string]$FirewallProfile, "
                            "[string[]]$RemoteAddress", [
        "if (-not (Get-NetFirewallRule -Name $Name -ErrorAction SilentlyContinue)) {",
        "    New-NetFirewallRule -Name $Name -DisplayName $DisplayName -Direction Inbound -Protocol TCP -LocalPort $Port "
        "-Action Allow -Profile $FirewallProfile -RemoteAddress $RemoteAddress | Out-Null",
        "}",
        "else { Enable-NetFirewallRule -Name $Name }",
    ], [a.rule_name, a.display_name, str(a.port), a.profile, list(a.remote_address)])


def _close_port(a: t.OpenFirewallPort) -> list[str]:
    return _remote(a.owner, "[string]$Name", [
        "if (Get-NetFirewallRule -Name $Name -ErrorAction SilentlyContinue) { Remove-NetFirewallRule -Name $Name }",
    ], [a.rule_name])


def _toggle_rules(a: t.DisableFirewallRules, enable: bool) -> list[str]:
    verb = "Enable-NetFirewallRule" if enable else "Disable-NetFirewallRule"
    return _remote(a.owner, "[string[]]$Names", [f"{verb} -Name $Names"], [list(a.names)])


# The firewall rule's description when the fix made the HTTPS listener: a listener carries no name
# of ours, so this is how the revert knows the listener is its to remove.
LISTENER_MADE = "offlineprep made the WinRM HTTPS listener (Address *) with this rule: its revert removes both"
LISTENER_NOT_MADE = "offlineprep: inbound WinRM over HTTPS (the HTTPS listener was there before)"


_CANNOT_REACH = "WinRM cannot reach it to make the change"


def _listener_test(a: t.ConfigureWinRMListener) -> str:
    default = 5986 if a.scheme == "https" else 5985
    return (f"Test-WSMan -ComputerName {quote(a.dns_name)}" + (" -UseSSL" if a.scheme == "https" else "")
            + ("" if a.port == default else f" -Port {quote(str(a.port))}"))


def _on_the_machine(a: t.ConfigureWinRMListener, body: list[str], elsewhere: list[str]) -> list[str]:
    """`body` where $env:COMPUTERNAME is the machine's own name, `elsewhere` anywhere else."""
    return [f"if ($env:COMPUTERNAME -ieq {quote(a.computer_name)}) {{", *[INDENT + line for line in body], "}",
            "else {", *[INDENT + line for line in elsewhere], "}"]


def _run_there(a: t.ConfigureWinRMListener, what: str, why: str) -> str:
    return f"{what} on {a.dns_name} itself, as a local administrator in an elevated Windows PowerShell: {why}"


def _listener(a: t.ConfigureWinRMListener) -> list[str]:
    if a.scheme == "https":
        body = _here("[string]$DnsName, [string]$Port, [string]$Rule, [string]$Made, [string]$NotMade", [
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


def _remove_listener(a: t.ConfigureWinRMListener) -> list[str]:
    if a.scheme != "https":
        return []  # Enable-PSRemoting restores Windows Server's default: see ConfigureWinRMListener
    body = _here("[string]$Rule, [string]$Made", [
        "$ours = Get-NetFirewallRule -Name $Rule -ErrorAction SilentlyContinue",
        "if ($ours -and $ours.Description -eq $Made) {",
        "    Remove-WSManInstance -ResourceURI 'winrm/config/Listener' -SelectorSet @{Transport = 'HTTPS'; Address = '*'}",
        "}",
        "if ($ours) { Remove-NetFirewallRule -Name $Rule }",
    ], [a.rule_name, LISTENER_MADE])
    why = "the listener it removes may be the one WinRM would reach it through"
    return _on_the_machine(a, body, [f"Write-Warning {quote(_run_there(a, 'Undo this', why))}"])


def _install_role(a: t.InstallRole) -> list[str]:
    # Get-WindowsFeature / Install-WindowsFeature (ServerManager, Windows Server 2012 and later); the
    # role needs a restart, which is left to the administrator (no -Restart)
    return _remote(a.owner, "[string]$Feature", [
        "if (-not (Get-WindowsFeature -Name $Feature).Installed) {",
        "    Install-WindowsFeature -Name $Feature -IncludeManagementTools | Out-Null",
        "    Write-Warning \"$Feature is installed on $env:COMPUTERNAME: restart it to finish (Restart-Computer)\"",
        "}",
    ], [a.feature])


def _start_service(a: t.StartService) -> list[str]:
    return _remote(a.owner, "[string]$Name", [
        "if ((Get-Service -Name $Name).Status -ne 'Running') { Start-Service -Name $Name }",
    ], [a.service])


W32TIME_KEY = "HKLM:\\SYSTEM\\CurrentControlSet\\Services\\W32Time\\Parameters"


def _w32time_type() -> str:
    return f"$type = [string](Get-ItemProperty -LiteralPath '{W32TIME_KEY}' -Name 'Type').Type"


def _sync_time(a: t.SyncTime) -> list[str]:
    # w32tm /config /syncfromflags:DOMHIER /update takes the time from the domain hierarchy, /resync
    # /rediscover asks for it now (Microsoft, "Windows Time service tools and settings")
    return _remote(a.owner, "[string]$Flags", [
        _w32time_type(),
        f"if ($type -ne '{a.after_type}') {{",
        "    w32tm /config /syncfromflags:$Flags /update | Out-Null",
        "    if ($LASTEXITCODE -ne 0) { throw \"w32tm /config failed (exit code $LASTEXITCODE)\" }",
        "}",
        "w32tm /resync /rediscover | Out-Null",
        "if ($LASTEXITCODE -ne 0) { Write-Warning \"w32tm /resync failed (exit code $LASTEXITCODE): see w32tm /query /status\" }",
    ], [t.SYNC_FROM_FLAGS[a.after_type]])


def _not_read(a: t.ActionBase, what: str, how: str) -> list[str]:
    machine = a.owner.name if a.owner is not None and a.owner.name else "the machine"
    return [f"Write-Warning {quote(f'{what} of {machine} before the fix was not read: review it by hand ({how})')}"]


def _restore_time_source(a: t.SyncTime) -> list[str]:
    if a.before_type == a.after_type:
        return []  # the fix changed only the clock, which is not set back
    if a.before_type not in t.SYNC_FROM_FLAGS:
        return _not_read(a, "the time source", "w32tm /query /configuration")
    return _remote(a.owner, "[string]$Flags", [
        _w32time_type(),
        f"if ($type -eq '{a.after_type}') {{",
        "    w32tm /config /syncfromflags:$Flags /update | Out-Null",
        "    if ($LASTEXITCODE -ne 0) { throw \"w32tm /config failed (exit code $LASTEXITCODE)\" }",
        "}",
    ], [t.SYNC_FROM_FLAGS[a.before_type]])


# Set-VMReplicationServer's parameters, in the order one call needs them, and their type
_REPLICA_SETTINGS = [("ReplicationEnabled", bool), ("AllowedAuthenticationType", str),
                     ("ReplicationAllowedFromAnyServer", bool), ("DefaultStorageLocation", str),
                     ("CertificateThumbprint", str)]


def _replica_settings(owner: t.Owner | None, want: dict[str, str | bool | None],
                      only_if: dict[str, str | bool | None] | None) -> list[str]:
    """One Set-VMReplicationServer with each setting of `want` that differs on the host now; with
    `only_if`, only when the host still holds those values (what the fix left, for the revert).
    Values travel as strings ('' for none, 'True'/'False' for a boolean) and are turned back into
    the parameter's type on the host."""
    names = [n for n, _ in _REPLICA_SETTINGS if n in want]
    params = ", ".join([f"[string]${n}" for n in names] + [f"[string]$Was{n}" for n in names if only_if is not None])
    body = ["$rs = Get-VMReplicationServer", "$change = @{}"]
    if only_if is not None:
        body.append("$still = $true")
    for name, kind in _REPLICA_SETTINGS:
        if name not in want:
            continue
        if kind is bool:
            value, current = f"[bool]::Parse(${name})", f"[bool]$rs.{name}"
            was = f"([bool]::Parse($Was{name}) -eq {current})"
        else:
            value, current = f"${name}", f"[string]$rs.{name}"
            was = f"($Was{name} -eq {current})"
        if only_if is not None:
            body.append(f"if (-not {was}) {{ $still = $false }}")
        body.append(f"if ({value} -ne {current}) {{ $change['{name}'] = {value} }}")
    condition = "$change.Count -gt 0" + (" -and $still" if only_if is not None else "")
    body.append(f"if ({condition}) {{ Set-VMReplicationServer @change -Force }}")
    if only_if is not None:
        body.append("elseif (-not $still) { Write-Warning 'the Replica server settings changed since the fix: "
                    "not put back' }")
    args = [_setting_text(want.get(n)) for n in names]
    if only_if is not None:
        args += [_setting_text(only_if.get(n)) for n in names]
    return _remote(owner, params, body, args)


def _setting_text(value: str | bool | None) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return value or ""


def _replica_server(a: t.ReplicaServerSettings) -> list[str]:
    return _replica_settings(a.owner, dict(a.after), None)


def _restore_replica_server(a: t.ReplicaServerSettings) -> list[str]:
    """Each setting the fix wrote goes back as read; a storage location or certificate thumbprint
    that was not set before stays (Set-VMReplicationServer sets them, it does not clear them, and
    neither has an effect once the settings that use them are back)."""
    kinds = dict(_REPLICA_SETTINGS)
    before = {k: a.before.get(k) for k in a.after if kinds.get(k) is bool or a.before.get(k)}
    if any(v is None for v in before.values()):
        return _not_read(a, "the Replica server settings", "Get-VMReplicationServer")
    if not before:
        return []
    return _replica_settings(a.owner, before, {k: a.after[k] for k in before})


def _authorize_primary(a: t.ReplicaAuthorization, add: bool) -> list[str]:
    if add:
        return _remote(a.owner, "[string]$Server, [string]$Storage, [string]$Group", [
            "if (-not (Get-VMReplicationAuthorizationEntry -AllowedPrimaryServer $Server -ErrorAction SilentlyContinue)) {",
            "    New-VMReplicationAuthorizationEntry -AllowedPrimaryServer $Server -ReplicaStorageLocation $Storage "
            "-TrustGroup $Group | Out-Null",
            "}",
        ], [a.allowed_primary_server, a.storage_location, a.trust_group])
    return _remote(a.owner, "[string]$Server", [
        "if (Get-VMReplicationAuthorizationEntry -AllowedPrimaryServer $Server -ErrorAction SilentlyContinue) {",
        "    Remove-VMReplicationAuthorizationEntry -AllowedPrimaryServer $Server",
        "}",
    ], [a.allowed_primary_server])


LANMAN_KEY = "HKLM:\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters"
_RESTART_LANMAN = ("the Server service reads DisableStrictNameChecking when it starts: Restart-Service LanmanServer "
                   "-Force (it drops the open SMB sessions) or restart the file server")


def _strict_names(a: t.AcceptAnyServerName) -> list[str]:
    return _remote(a.owner, "[string]$Value", [
        f"$now = (Get-ItemProperty -LiteralPath '{LANMAN_KEY}').DisableStrictNameChecking",
        "if ($now -ne [int]$Value) {",
        f"    Set-ItemProperty -LiteralPath '{LANMAN_KEY}' -Name 'DisableStrictNameChecking' -Value ([int]$Value) -Type DWord",
        f"    Write-Warning {quote(_RESTART_LANMAN)}",
        "}",
    ], [str(a.after)])


def _restore_strict_names(a: t.AcceptAnyServerName) -> list[str]:
    if a.before == a.after:
        return []
    if a.before is None:
        change = f"Remove-ItemProperty -LiteralPath '{LANMAN_KEY}' -Name 'DisableStrictNameChecking'"
    else:
        change = (f"Set-ItemProperty -LiteralPath '{LANMAN_KEY}' -Name 'DisableStrictNameChecking' -Value {int(a.before)} "
                  "-Type DWord")
    return _remote(a.owner, "[string]$Value", [
        f"$now = (Get-ItemProperty -LiteralPath '{LANMAN_KEY}').DisableStrictNameChecking",
        "if ($now -eq [int]$Value) {",
        f"    {change}",
        f"    Write-Warning {quote(_RESTART_LANMAN)}",
        "}",
    ], [str(a.after)])


def replicate_lines(directory: t.Owner | None) -> list[str]:
    """AD replication pushed from the domain controller written to; a missing repadmin is a warning,
    never a stop: the ticket purges after it must still run (Microsoft: repadmin /syncall)."""
    dc = quote(directory.name) + " " if directory is not None and directory.name else ""
    return ["if (Get-Command -Name 'repadmin.exe' -ErrorAction SilentlyContinue) { "
            f"repadmin /syncall {dc}/A /d /e /P }}",
            "else { Write-Warning 'repadmin.exe was not found (RSAT AD DS tools): let AD replication reach the domain "
            "controllers the hosts use before the tickets are purged' }"]


def purge_lines(host: str) -> list[str]:
    """The computer's own logon session (LUID 0x3e7) as a quoted argument: bare, 0x3e7 is a number literal
    in argument mode (Microsoft: about_Parsing, "Argument mode"), so quoted the text reaches klist as written
    in every PowerShell version, as apply.ps1 passes it."""
    return [f"Invoke-Command -ComputerName {quote(host)} -ScriptBlock {{ klist purge -li '0x3e7' }}   # or reboot the host"]


def _refresh(a: t.RefreshTickets) -> list[str]:
    host = a.owner.name if a.owner is not None and a.owner.name else "localhost"
    return [comment("After a delegation change: AD replication, then fresh Kerberos tickets on the host"),
            *replicate_lines(a.directory), *purge_lines(host)]


# --------------------------------------------------------------------------- dispatch


def fix_lines(action: t.ActionBase) -> list[str]:
    """The lines that make the change, runnable as they stand (a manual step is a warning)."""
    match action:
        case t.AddDelegationValues():
            return _delegation_values(action, add=True)
        case t.AccountControlChange():
            return _account_control(action, action.changes())
        case t.LeaveProtectedUsers():
            return _leave_protected_users(action)
        case t.AddDirectoryGroupMember():
            return _group_member(action, add=True)
        case t.MoveSpn():
            return _move_spn(action)
        case t.AllowDelegationFrom():
            return _rbcd(action, add=True)
        case t.CreateShare():
            return _create_share(action)
        case t.CreateFolder():
            return _create_folder(action)
        case t.GrantShareRights():
            return _grant_share(action)
        case t.GrantNtfsRights():
            return _grant_ntfs(action)
        case t.AddLocalGroupMember():
            return _local_group(action, add=True)
        case t.OpenFirewallPort():
            return _open_port(action)
        case t.DisableFirewallRules():
            return _toggle_rules(action, enable=False)
        case t.ConfigureWinRMListener():
            return _listener(action)
        case t.InstallRole():
            return _install_role(action)
        case t.StartService():
            return _start_service(action)
        case t.SyncTime():
            return _sync_time(action)
        case t.ReplicaServerSettings():
            return _replica_server(action)
        case t.ReplicaAuthorization():
            return _authorize_primary(action, add=True)
        case t.AcceptAnyServerName():
            return _strict_names(action)
        case t.RefreshTickets():
            return _refresh(action)
        case t.ManualStep():
            return [f"Write-Warning {quote(action.text)}"]
    raise TypeError(f"no PowerShell rendering for {type(action).__name__}")


def revert_lines(action: t.ActionBase) -> list[str]:
    """The lines that put back the state seen before; [] where nothing is to be undone."""
    if not action.revertible:
        return []
    match action:
        case t.AddDelegationValues():
            return _delegation_values(action, add=False)
        case t.AccountControlChange():
            return _account_control(action, action.restores())
        case t.LeaveProtectedUsers():
            return _rejoin_protected_users(action)
        case t.AddDirectoryGroupMember():
            return _group_member(action, add=False)
        case t.MoveSpn():
            return _unregister_spn(action)
        case t.AllowDelegationFrom():
            return _rbcd(action, add=False)
        case t.CreateShare():
            return _remove_share(action)
        case t.GrantShareRights():
            return _restore_share(action)
        case t.GrantNtfsRights():
            return _restore_ntfs(action)
        case t.AddLocalGroupMember():
            return _local_group(action, add=False)
        case t.OpenFirewallPort():
            return _close_port(action)
        case t.DisableFirewallRules():
            return _toggle_rules(action, enable=True)
        case t.ConfigureWinRMListener():
            return _remove_listener(action)
        case t.SyncTime():
            return _restore_time_source(action)
        case t.ReplicaServerSettings():
            return _restore_replica_server(action)
        case t.ReplicaAuthorization():
            return _authorize_primary(action, add=False)
        case t.AcceptAnyServerName():
            return _restore_strict_names(action)
        case t.RefreshTickets():
            return _refresh(action)
    return []


def snippet(actions: Sequence[t.ActionBase]) -> tuple[str, str | None]:
    """The report's fix and revert for one finding: every action's lines, the revert in reverse order."""
    forward = [line for a in actions for line in fix_lines(a)]
    backward = [line for a in reversed(actions) if not isinstance(a, t.RefreshTickets) for line in revert_lines(a)]
    if backward and any(isinstance(a, t.RefreshTickets) for a in actions):
        backward += [line for a in actions if isinstance(a, t.RefreshTickets) for line in _refresh(a)]
    return "\n".join(forward), ("\n".join(backward) if backward else None)

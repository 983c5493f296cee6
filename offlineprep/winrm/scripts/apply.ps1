# offlineprep apply script: carries out the host steps of a plan on this machine, or puts them back (revert).
# Windows PowerShell 4.0 and later (Windows Server 2012 R2 to 2022). Run by `offlineprep apply --yes` and
# `offlineprep revert --yes` as the one command they send to each machine, the way collect.ps1 is sent.
# Input: one argument, the request as base64-encoded UTF-8 JSON, {mode: apply|revert|preview, actions: [...]}: every value
# (paths, share, account and rule names, SIDs, descriptors) arrives as data, never as code.
# Output: one JSON line per action as soon as it is done, {id, outcome, message, before, after}, then {"done":true}:
# a run cut short still tells which actions finished. docs/apply.md describes the outcomes.
# Each action first reads the state it is about to change and compares it with the state the plan holds (apply) or
# the record holds (revert): it changes only from that state; a state that is already the one it leaves is left
# as it is ('already', 'as-before'); any other state is reported ('changed') and left alone. 'preview' is revert's
# reading and judging, stopped before each write ('reverted' then means "would put back"): revert's dry run and its
# re-check of what it put back.
# Every member this script reads is one Windows documents for that object: each variable's type is declared in a
# "# types:" comment (tests/hosts/test_windows_members.py, offlineprep/lab/windows_members.json).
param([string]$RequestB64)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
# types: $request ApplyRequest; $item ApplyItem; $a ApplyAction; $recorded ApplyState; $rule ApplyState; $result Answer
# types: $_ ErrorRecord; $failure ErrorRecord; $e Exception; $utf8 UTF8Encoding; $stdout Stream; $payload ByteArray
# types: $state ApplyState; $after ApplyState; $left ApplyState; $said String; $enabled Array; $again Array; $gone Array
$request = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($RequestB64)) | ConvertFrom-Json
$utf8 = New-Object Text.UTF8Encoding $false
$stdout = [Console]::OpenStandardOutput()
$previewing = ([string]$request.mode -eq 'preview')
$reverting = ([string]$request.mode -eq 'revert') -or $previewing

function Write-Answer($answer) {
    # UTF-8 bytes straight to stdout, one line each, flushed: independent of the console code page
    $payload = $utf8.GetBytes(($answer | ConvertTo-Json -Depth 8 -Compress) + "`n")
    $stdout.Write($payload, 0, $payload.Length)
    $stdout.Flush()
}

function Get-Reason($failure) {
    # the innermost exception says what went wrong (DirectoryEntry.Invoke wraps the COM error of ADSI)
    $e = $failure.Exception
    while ($e.InnerException) { $e = $e.InnerException }
    return [string]$e.Message
}

function Set-Result($result, [string]$Outcome, [string]$Message) {
    $result.outcome = $Outcome
    $result.message = $Message
}

# The revert of a grant (docs/fixes.md, "Reverting a grant"): the same function the fix script uses.
# types: $now RawSecurityDescriptor; $was RawSecurityDescriptor; $account SecurityIdentifier; $acl RawAcl; $ace CommonAce
# @RESTORE-ACCOUNT-ACES@

function Test-Granted([string]$Sddl, [string]$Sid, [int64]$Mask, [int]$Flags) {
    # An explicit allow entry of the SID, not inherit-only, with at least these inheritance flags, holding every right
    # of the mask: what a grant leaves, wherever it was put.
    # types: $raw RawSecurityDescriptor; $entry CommonAce; $who SecurityIdentifier
    $raw = New-Object -TypeName System.Security.AccessControl.RawSecurityDescriptor -ArgumentList $Sddl
    $who = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $Sid
    if ($null -eq $raw.DiscretionaryAcl) { return $false }
    foreach ($entry in $raw.DiscretionaryAcl) {
        if (-not ($entry -is [System.Security.AccessControl.CommonAce])) { continue }
        if ($entry.IsInherited -or [string]$entry.AceQualifier -ne 'AccessAllowed' -or $entry.SecurityIdentifier -ne $who) { continue }
        $aceFlags = [int]$entry.AceFlags
        if (($aceFlags -band 8) -or (($aceFlags -band $Flags) -ne $Flags)) { continue }
        if ((([int64]$entry.AccessMask) -band $Mask) -eq $Mask) { return $true }
    }
    return $false
}

function Get-SddlWithout([string]$Sddl, $Sids) {
    # The descriptor without the explicit entries of these SIDs: the accounts other steps of the same run grant on
    # the same object. A step compares the rest, so the grant of one step does not make the next look changed.
    # types: $rest RawSecurityDescriptor; $restAcl RawAcl; $restAce CommonAce; $skip SecurityIdentifier
    $rest = New-Object -TypeName System.Security.AccessControl.RawSecurityDescriptor -ArgumentList $Sddl
    $restAcl = $rest.DiscretionaryAcl
    if ($null -eq $restAcl) { return $Sddl }
    foreach ($other in @($Sids)) {
        $skip = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList ([string]$other)
        for ($index = $restAcl.Count - 1; $index -ge 0; $index--) {
            $restAce = $restAcl[$index]
            if ($restAce -is [System.Security.AccessControl.KnownAce] -and -not $restAce.IsInherited -and
                $restAce.SecurityIdentifier -eq $skip) { $restAcl.RemoveAce($index) }
        }
    }
    $rest.DiscretionaryAcl = $restAcl
    return $rest.GetSddlForm([System.Security.AccessControl.AccessControlSections]::All)
}

function Test-Same([string]$Current, [string]$Expected, $item) {
    if (@($item.others).Count -eq 0) { return ($Current -eq $Expected) }
    return ((Get-SddlWithout $Current $item.others) -eq (Get-SddlWithout $Expected $item.others))
}

function Test-Applied([string]$Sddl, $item) {
    if (-not $item.sid) { return $false }
    return (Test-Granted $Sddl ([string]$item.sid) ([int64]$item.mask) ([int]$item.flags))
}

function Invoke-ShareRights($item, $result) {
    # types: $share MSFT_SmbShare
    $a = $item.action
    $name = [string]$a.share
    # a share of a clustered file server role is addressed in its scope (-ScopeName): by -Name alone every share of
    # that name, one per scope, would match
    $scoped = @{}
    if ($a.scope) { $scoped['ScopeName'] = [string]$a.scope }
    $share = Get-SmbShare -Name $name @scoped
    $current = [string]$share.SecurityDescriptor
    $result.before = [ordered]@{ sddl = $current }
    $saved = [string]$a.before_sddl
    if (-not $reverting) {
        if (Test-Applied $current $item) { Set-Result $result 'already' ('the share ' + $name + ' already grants it'); return }
        if (-not (Test-Same $current $saved $item)) { Set-Result $result 'changed' ('the descriptor of the share ' + $name + ' is not the one read when planned'); return }
        $null = Grant-SmbShareAccess -Name $name @scoped -AccountName ([string]$a.account) -AccessRight ([string]$a.access_right) -Force
        $share = Get-SmbShare -Name $name @scoped
        $result.after = [ordered]@{ sddl = [string]$share.SecurityDescriptor }
        Set-Result $result 'applied' ('granted ' + [string]$a.access_right + ' on the share ' + $name)
        return
    }
    $recorded = $item.recorded
    if (Test-Same $current $saved $item) { Set-Result $result 'as-before' ('the share ' + $name + ' is already as before apply'); return }
    if ($recorded.after) {
        if (-not (Test-Same $current ([string]$recorded.after.sddl) $item)) { Set-Result $result 'changed' ('the descriptor of the share ' + $name + ' is not the one apply left'); return }
    } elseif (-not (Test-Applied $current $item)) {
        Set-Result $result 'changed' ('the share ' + $name + ' does not hold the grant apply makes'); return
    }
    if ($previewing) { Set-Result $result 'reverted' ('would put back the account''s entries on the share ' + $name); return }
    $null = Set-SmbShare -Name $name @scoped -SecurityDescriptor (Restore-AccountAces $current $saved ([string]$a.account_sid)) -Force
    $share = Get-SmbShare -Name $name @scoped
    $result.after = [ordered]@{ sddl = [string]$share.SecurityDescriptor }
    Set-Result $result 'reverted' ('the account''s entries on the share ' + $name + ' are back as before apply')
}

function Invoke-NtfsRights($item, $result) {
    # types: $security FileSystemSecurity; $folder DirectoryInfo
    $a = $item.action
    $path = [string]$a.local_path
    $security = Get-Acl -LiteralPath $path
    $current = [string]$security.Sddl
    $result.before = [ordered]@{ sddl = $current }
    $saved = [string]$a.before_sddl
    if (-not $reverting) {
        # icacls.exe gets the path and the grant as two arguments. Windows PowerShell 5.1 wraps an argument in double
        # quotes only when it holds whitespace and escapes no quote inside it (about_Parsing, "Passing arguments that
        # contain quote characters"; the Legacy style PowerShell 7.3 replaced), so a quote, or a backslash before the
        # closing quote, would end a value early and make the rest more switches. Only the shapes the action type
        # allows reach icacls (LOCAL_PATH and ICACLS_GRANT, offlineprep/actions/acl_grant.py): the account as its SID.
        if ($path -cnotmatch '^[A-Za-z]:\\(?:[^\x00-\x1f"*?<>|/]*[^\x00-\x1f"*?<>|/\\])?$') {
            throw ('icacls is not given the path ''' + $path + ''': not a local folder path it reads as one argument; nothing was changed')
        }
        if ([string]$item.grant -cnotmatch '^\*S-1-[0-9]+(?:-[0-9]+)+:(?:\((?:OI|CI|NP|IO)\))*(?:F|\([A-Z]+(?:,[A-Z]+)*\))$') {
            throw ('icacls is not given the grant ''' + [string]$item.grant + ''': not an account SID with rights; nothing was changed')
        }
        if (Test-Applied $current $item) { Set-Result $result 'already' ($path + ' already grants it'); return }
        if (-not (Test-Same $current $saved $item)) { Set-Result $result 'changed' ('the descriptor of ' + $path + ' is not the one read when planned'); return }
        # a native command writes to stderr and sets $LASTEXITCODE: read both, without -ErrorAction Stop turning the
        # first stderr line into an exception of Windows PowerShell 5.1
        $ErrorActionPreference = 'Continue'
        $said = & icacls.exe $path /grant ([string]$item.grant) 2>&1 | Out-String
        $code = $LASTEXITCODE
        $ErrorActionPreference = 'Stop'
        if ($code -ne 0) { throw ('icacls /grant failed on ' + $path + ' (exit code ' + $code + '): ' + $said.Trim()) }
        $security = Get-Acl -LiteralPath $path
        $result.after = [ordered]@{ sddl = [string]$security.Sddl }
        Set-Result $result 'applied' ('icacls /grant ' + [string]$item.grant + ' on ' + $path)
        return
    }
    $recorded = $item.recorded
    if (Test-Same $current $saved $item) { Set-Result $result 'as-before' ($path + ' is already as before apply'); return }
    if ($recorded.after) {
        if (-not (Test-Same $current ([string]$recorded.after.sddl) $item)) { Set-Result $result 'changed' ('the descriptor of ' + $path + ' is not the one apply left'); return }
    } elseif (-not (Test-Applied $current $item)) {
        Set-Result $result 'changed' ($path + ' does not hold the grant apply makes'); return
    }
    if ($previewing) { Set-Result $result 'reverted' ('would put back the account''s entries on ' + $path); return }
    # the access section only: Set-Acl of a whole descriptor would also try to write the owner
    $folder = Get-Item -LiteralPath $path
    $security = $folder.GetAccessControl('Access')
    $security.SetSecurityDescriptorSddlForm((Restore-AccountAces $security.Sddl $saved ([string]$a.account_sid)), 'Access')
    $null = Set-Acl -LiteralPath $path -AclObject $security
    $security = Get-Acl -LiteralPath $path
    $result.after = [ordered]@{ sddl = [string]$security.Sddl }
    Set-Result $result 'reverted' ('the account''s entries on ' + $path + ' are back as before apply')
}

function Test-LocalMember($group, [string]$Sid) {
    # ADSI (WinNT) reads member SIDs where Get-LocalGroupMember fails on an orphaned SID (see collect.ps1)
    # types: $group DirectoryEntry; $member WinNTGroupMember; $memberSid SecurityIdentifier
    foreach ($member in @($group.Invoke('Members'))) {
        $found = $null
        try {
            $sidBytes = $member.GetType().InvokeMember('objectSid', 'GetProperty', $null, $member, $null)
            $memberSid = New-Object Security.Principal.SecurityIdentifier($sidBytes, 0)
            $found = [string]$memberSid.Value
        } catch {
            $path = [string]$member.GetType().InvokeMember('ADsPath', 'GetProperty', $null, $member, $null)
            if ($path -match '^WinNT://(S-1-[0-9-]+)$') { $found = $Matches[1] }
        }
        if ($found -eq $Sid) { return $true }
    }
    return $false
}

function Invoke-LocalGroupMember($item, $result) {
    # The group by its SID, translated to its local (localised) name; the member by the SID read from AD: IADsGroup::Add
    # and ::Remove take "WinNT://<SID>" (Microsoft: IADsGroup::Add), called through DirectoryEntry.Invoke.
    # types: $groupSid SecurityIdentifier; $group DirectoryEntry
    $a = $item.action
    $sid = [string]$a.member_sid
    if (-not $sid) { throw ('the SID of ' + [string]$a.member + ' was not read from AD: apply cannot tell whether it is a member') }
    $groupSid = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList ([string]$a.group_sid)
    $groupName = $groupSid.Translate([System.Security.Principal.NTAccount]).Value.Split('\')[-1]
    $group = [ADSI]('WinNT://' + $env:COMPUTERNAME + '/' + $groupName + ',group')
    $isMember = Test-LocalMember $group $sid
    $result.before = [ordered]@{ member = $isMember }
    if (-not $reverting) {
        if ($isMember) { Set-Result $result 'already' ([string]$a.member + ' is already in ' + $groupName); return }
        $null = $group.Invoke('Add', ('WinNT://' + $sid))
        $result.after = [ordered]@{ member = (Test-LocalMember $group $sid) }
        Set-Result $result 'applied' ('added ' + [string]$a.member + ' to ' + $groupName)
        return
    }
    if (-not $isMember) { Set-Result $result 'as-before' ([string]$a.member + ' is not in ' + $groupName + ', as before apply'); return }
    if ($previewing) { Set-Result $result 'reverted' ('would remove ' + [string]$a.member + ' from ' + $groupName); return }
    $null = $group.Invoke('Remove', ('WinNT://' + $sid))
    $result.after = [ordered]@{ member = (Test-LocalMember $group $sid) }
    Set-Result $result 'reverted' ('removed ' + [string]$a.member + ' from ' + $groupName)
}

function Get-RuleState([string]$Name) {
    # types: $foundRule NetFirewallRule
    # the local store only (PersistentStore): a Group Policy rule is not there, and apply never changes one
    $foundRule = Get-NetFirewallRule -Name $Name -PolicyStore PersistentStore -ErrorAction SilentlyContinue
    if (-not $foundRule) { return 'absent' }
    if ([string]$foundRule.Enabled -eq 'True') { return 'enabled' }
    return 'disabled'
}

function Invoke-FirewallOpen($item, $result) {
    $a = $item.action
    $name = [string]$a.rule_name
    $state = Get-RuleState $name
    $result.before = [ordered]@{ rule = $state }
    if (-not $reverting) {
        if ($state -eq 'enabled') { Set-Result $result 'already' ('the rule ' + $name + ' is already there and enabled'); return }
        if ($state -eq 'absent') {
            $addresses = [string[]]@($a.remote_address)
            $null = New-NetFirewallRule -Name $name -DisplayName ([string]$a.display_name) -Direction Inbound -Protocol TCP -LocalPort ([string]$a.port) -Action Allow -Profile ([string]$a.profile) -RemoteAddress $addresses -PolicyStore PersistentStore
        } else {
            $null = Enable-NetFirewallRule -Name $name -PolicyStore PersistentStore
        }
        $result.after = [ordered]@{ rule = (Get-RuleState $name) }
        Set-Result $result 'applied' ('inbound TCP ' + [string]$a.port + ' allowed by the rule ' + $name)
        return
    }
    $recorded = $item.recorded
    $was = [string]$recorded.before.rule
    if ($state -eq $was) { Set-Result $result 'as-before' ('the rule ' + $name + ' is ' + $state + ', as before apply'); return }
    if ($state -ne [string]$recorded.after.rule) { Set-Result $result 'changed' ('the rule ' + $name + ' is ' + $state + ' now, not as apply left it'); return }
    if ($previewing) { Set-Result $result 'reverted' ('would make the rule ' + $name + ' ' + $was + ' again'); return }
    if ($was -eq 'absent') { $null = Remove-NetFirewallRule -Name $name -PolicyStore PersistentStore }
    elseif ($was -eq 'disabled') { $null = Disable-NetFirewallRule -Name $name -PolicyStore PersistentStore }
    $result.after = [ordered]@{ rule = (Get-RuleState $name) }
    Set-Result $result 'reverted' ('the rule ' + $name + ' is ' + $was + ' again')
}

function Get-RuleStates($names) {
    $states = @()
    foreach ($name in @($names)) { $states += , ([ordered]@{ name = [string]$name; state = (Get-RuleState ([string]$name)) }) }
    return , $states
}

function Invoke-FirewallDisable($item, $result) {
    $a = $item.action
    $states = Get-RuleStates $a.names
    $result.before = [ordered]@{ rules = $states }
    if (-not $reverting) {
        $enabled = @()
        $gone = @()
        foreach ($rule in $states) {
            if ([string]$rule.state -eq 'enabled') { $enabled += [string]$rule.name }
            elseif ([string]$rule.state -eq 'absent') { $gone += [string]$rule.name }
        }
        if ($gone.Count -gt 0) { Set-Result $result 'changed' ('not there any more: ' + ($gone -join ', ')); return }
        if ($enabled.Count -eq 0) { Set-Result $result 'already' 'the rules are already disabled'; return }
        $null = Disable-NetFirewallRule -Name $enabled -PolicyStore PersistentStore
        $result.after = [ordered]@{ rules = (Get-RuleStates $a.names) }
        Set-Result $result 'applied' ('disabled ' + ($enabled -join ', '))
        return
    }
    $recorded = $item.recorded
    $again = @()
    $gone = @()
    foreach ($rule in @($recorded.before.rules)) {
        if ([string]$rule.state -ne 'enabled') { continue }
        $ruleNow = Get-RuleState ([string]$rule.name)
        if ($ruleNow -eq 'disabled') { $again += [string]$rule.name } elseif ($ruleNow -ne 'enabled') { $gone += [string]$rule.name }
    }
    if ($previewing) {
        if ($gone.Count -gt 0) { Set-Result $result 'changed' ('not there any more, left alone: ' + ($gone -join ', ')); return }
        if ($again.Count -eq 0) { Set-Result $result 'as-before' 'the rules are enabled, as before apply'; return }
        Set-Result $result 'reverted' ('would enable again: ' + ($again -join ', ')); return
    }
    if ($again.Count -gt 0) { $null = Enable-NetFirewallRule -Name $again -PolicyStore PersistentStore }
    $result.after = [ordered]@{ rules = (Get-RuleStates $a.names) }
    if ($gone.Count -gt 0) { Set-Result $result 'changed' ('not there any more, left alone: ' + ($gone -join ', ')); return }
    if ($again.Count -eq 0) { Set-Result $result 'as-before' 'the rules are enabled, as before apply'; return }
    Set-Result $result 'reverted' ('enabled again: ' + ($again -join ', '))
}

function Get-ShareState([string]$Name, [hashtable]$Scoped = @{}) {
    # types: $foundShare MSFT_SmbShare
    $foundShare = Get-SmbShare -Name $Name @Scoped -ErrorAction SilentlyContinue
    if (-not $foundShare) { return [ordered]@{ share = 'absent' } }
    return [ordered]@{ share = 'present'; path = [string]$foundShare.Path; sddl = [string]$foundShare.SecurityDescriptor }
}

function Invoke-CreateShare($item, $result) {
    $a = $item.action
    $name = [string]$a.share
    $path = [string]$a.local_path
    $scoped = @{}
    if ($a.scope) { $scoped['ScopeName'] = [string]$a.scope }
    $state = Get-ShareState $name $scoped
    $result.before = $state
    if (-not $reverting) {
        if ($state.share -eq 'present') {
            if ($state.path -eq $path) { Set-Result $result 'already' ('the share ' + $name + ' is already there'); return }
            Set-Result $result 'changed' ('a share ' + $name + ' is there now, for ' + $state.path); return
        }
        $created = $false
        if (-not (Test-Path -LiteralPath $path)) { $null = New-Item -ItemType Directory -Path $path; $created = $true }
        $null = New-SmbShare -Name $name -Path $path @scoped
        $after = Get-ShareState $name $scoped
        $after.folder_created = $created
        $result.after = $after
        Set-Result $result 'applied' ('shared ' + $path + ' as ' + $name)
        return
    }
    $recorded = $item.recorded
    if ($state.share -eq 'absent') { Set-Result $result 'as-before' ('the share ' + $name + ' is not there, as before apply'); return }
    $left = $recorded.after
    if ($state.path -ne $path -or ($left.sddl -and $state.sddl -ne [string]$left.sddl)) {
        Set-Result $result 'changed' ('the share ' + $name + ' is not as apply left it'); return
    }
    if ($previewing) { Set-Result $result 'reverted' ('would remove the share ' + $name + '; the folder stays'); return }
    $null = Remove-SmbShare -Name $name @scoped -Force
    $result.after = Get-ShareState $name $scoped
    Set-Result $result 'reverted' ('removed the share ' + $name + '; the folder stays (it may hold data)')
}

function Invoke-CreateFolder($item, $result) {
    $a = $item.action
    $path = [string]$a.local_path
    $present = [bool](Test-Path -LiteralPath $path)
    $result.before = [ordered]@{ folder = $present }
    if ($present) { Set-Result $result 'already' ($path + ' is already there'); return }
    $null = New-Item -ItemType Directory -Path $path
    $result.after = [ordered]@{ folder = [bool](Test-Path -LiteralPath $path) }
    Set-Result $result 'applied' ('created ' + $path)
}

function Invoke-KerberosRefresh($item, $result) {
    if ($previewing) { Set-Result $result 'reverted' 'would purge the computer''s own Kerberos tickets again'; return }
    # the computer's own logon session (LUID 0x3e7, SYSTEM), as a quoted argument: the text reaches klist as written
    $ErrorActionPreference = 'Continue'
    $said = & klist.exe purge -li '0x3e7' 2>&1 | Out-String
    $code = $LASTEXITCODE
    $ErrorActionPreference = 'Stop'
    if ($code -ne 0) { throw ('klist purge -li 0x3e7 failed (exit code ' + $code + '): ' + $said.Trim()) }
    Set-Result $result 'applied' 'purged the computer''s own Kerberos tickets (klist purge -li 0x3e7)'
}

function Invoke-StartService($item, $result) {
    # By the service's Name (locale-independent); Start-Service returns once the service runs, and throws when it
    # cannot start it (Microsoft: Start-Service). Not undone (docs/fixes.md): revert never sends this step.
    # types: $service ServiceController
    $a = $item.action
    $name = [string]$a.service
    if ($reverting) { throw ('revert does not stop the service ' + $name + ' again (docs/fixes.md)') }
    $service = Get-Service -Name $name
    $status = [string]$service.Status
    $result.before = [ordered]@{ status = $status }
    if ($status -eq 'Running') { Set-Result $result 'already' ('the service ' + $name + ' is already running'); return }
    if ($a.before -and $status -ne [string]$a.before) {
        Set-Result $result 'changed' ('the service ' + $name + ' is ' + $status + ' now, not ' + [string]$a.before + ' as read when planned'); return
    }
    $null = Start-Service -Name $name
    $service = Get-Service -Name $name
    $result.after = [ordered]@{ status = [string]$service.Status }
    Set-Result $result 'applied' ('started the service ' + $name)
}

function Get-TimeSourceType {
    # W32Time\Parameters Type: NT5DS (the domain hierarchy), NTP, NoSync, AllSync (Microsoft: "Windows Time service
    # tools and settings")
    # types: $w32time W32TimeParameters
    $w32time = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Services\W32Time\Parameters' -Name 'Type'
    return [string]$w32time.Type
}

function Invoke-W32tm([string[]]$Arguments) {
    # a native command: its stderr and exit code read as icacls' are (see Invoke-NtfsRights)
    $ErrorActionPreference = 'Continue'
    $said = & w32tm.exe @Arguments 2>&1 | Out-String
    $code = $LASTEXITCODE
    $ErrorActionPreference = 'Stop'
    if ($code -ne 0) { throw ('w32tm ' + ($Arguments -join ' ') + ' failed (exit code ' + $code + '): ' + $said.Trim()) }
}

function Invoke-TimeSync($item, $result) {
    # The time from the domain hierarchy (w32tm /config /syncfromflags:DOMHIER /update, when the Type is another), then
    # a resynchronisation now (w32tm /resync /rediscover): an offset over MaxAllowedPhaseOffset (300 s on a domain
    # member) is set at once, a smaller one corrected gradually. The revert gives back the Type read before; the
    # clock is not set back.
    $a = $item.action
    $type = Get-TimeSourceType
    $result.before = [ordered]@{ type = $type }
    if (-not $reverting) {
        if ($type -ne [string]$a.after_type) {
            if ($a.before_type -and $type -ne [string]$a.before_type) {
                Set-Result $result 'changed' ('the time source type is ' + $type + ' now, not ' + [string]$a.before_type + ' as read when planned'); return
            }
            Invoke-W32tm @('/config', ('/syncfromflags:' + [string]$item.sync_flags), '/update')
        }
        $result.after = [ordered]@{ type = (Get-TimeSourceType) }
        Invoke-W32tm @('/resync', '/rediscover')
        $source = 'the time source type was already ' + $type
        if ($type -ne [string]$result.after.type) { $source = 'the time source type is ' + [string]$result.after.type + ' (was ' + $type + ')' }
        Set-Result $result 'applied' ($source + '; resynchronised with the domain hierarchy (w32tm /resync /rediscover)')
        return
    }
    $recorded = $item.recorded
    $was = [string]$recorded.before.type
    if ($type -eq $was) { Set-Result $result 'as-before' ('the time source type is ' + $type + ', as before apply (the clock is not set back)'); return }
    if ($type -ne [string]$recorded.after.type) { Set-Result $result 'changed' ('the time source type is ' + $type + ' now, not as apply left it'); return }
    if (-not $item.restore_flags) { throw ('the time source type before apply, ' + $was + ', is not one w32tm /config /syncfromflags sets: put it back by hand') }
    if ($previewing) { Set-Result $result 'reverted' ('would make the time source type ' + $was + ' again'); return }
    Invoke-W32tm @('/config', ('/syncfromflags:' + [string]$item.restore_flags), '/update')
    $result.after = [ordered]@{ type = (Get-TimeSourceType) }
    Set-Result $result 'reverted' ('the time source type is ' + [string]$result.after.type + ' again; the clock is not set back')
}

function Get-ReplicaSettings {
    # The settings a fix may write with Set-VMReplicationServer, as text: 'True'/'False', '' for none
    # types: $replicaServer VMReplicationServer
    $replicaServer = Get-VMReplicationServer
    return [ordered]@{
        ReplicationEnabled = [string][bool]$replicaServer.ReplicationEnabled
        AllowedAuthenticationType = [string]$replicaServer.AllowedAuthenticationType
        ReplicationAllowedFromAnyServer = [string][bool]$replicaServer.ReplicationAllowedFromAnyServer
        DefaultStorageLocation = [string]$replicaServer.DefaultStorageLocation
        CertificateThumbprint = [string]$replicaServer.CertificateThumbprint
    }
}

function Test-ReplicaSetting([string]$Name, [string]$Value) {
    # The Set-VMReplicationServer parameters a host.replica-server step may write, each with the shape of its values:
    # the action type's whitelist (REPLICA_WRITABLE in offlineprep/actions/replica_server.py), checked here again
    # whatever the request says. ReplicationAllowedFromAnyServer and DefaultStorageLocation are never written.
    switch -CaseSensitive ($Name) {
        'ReplicationEnabled' { return ($Value -cmatch '^(True|False)$') }
        'AllowedAuthenticationType' { return ($Value -cmatch '^(Kerberos|Certificate|CertificateAndKerberos)$') }
        'CertificateThumbprint' { return ($Value -cmatch '^[0-9A-Fa-f]{40}$') }
    }
    return $false
}

function Assert-ReplicaSettings($item) {
    # every value the step may write (apply: after; revert: restore), before anything is read or written
    # types: $setting ApplyState
    foreach ($setting in @($item.settings)) {
        $name = [string]$setting.name
        $value = [string]$setting.after
        if ($reverting) {
            if ($null -eq $setting.restore) { continue }
            $value = [string]$setting.restore
        }
        if (-not (Test-ReplicaSetting $name $value)) {
            throw ('a host.replica-server step does not write ' + $name + ' = ''' + $value + ''': nothing was changed')
        }
    }
}

function ConvertTo-Setting([string]$Name, [string]$Text) {
    # a value travels as text; Set-VMReplicationServer takes a boolean for ReplicationEnabled (known by the name the
    # whitelist checked, never by what the request calls it)
    if ($Name -ceq 'ReplicationEnabled') { return [bool]::Parse($Text) }
    return $Text
}

function Invoke-ReplicaServer($item, $result) {
    # One Set-VMReplicationServer with the settings that differ (Microsoft: Set-VMReplicationServer; -Force: no
    # prompt). The revert writes back the settings read before apply, only while every one is as apply left it.
    # types: $setting ApplyState; $change Hashtable
    Assert-ReplicaSettings $item
    $now = Get-ReplicaSettings
    $result.before = $now
    $change = @{}
    if (-not $reverting) {
        foreach ($setting in @($item.settings)) {
            $name = [string]$setting.name
            $current = [string]$now[$name]
            if ($current -eq [string]$setting.after) { continue }
            if ($null -ne $setting.before -and $current -ne [string]$setting.before) {
                Set-Result $result 'changed' ($name + ' of the Replica server is ''' + $current + ''' now, not ''' + [string]$setting.before + ''' as read when planned'); return
            }
            $change[$name] = ConvertTo-Setting $name ([string]$setting.after)
        }
        if ($change.Count -eq 0) { Set-Result $result 'already' 'the Replica server settings are already the ones planned'; return }
        $null = Set-VMReplicationServer @change -Force
        $result.after = Get-ReplicaSettings
        Set-Result $result 'applied' ('Set-VMReplicationServer ' + ((@($change.Keys) | Sort-Object) -join ', '))
        return
    }
    foreach ($setting in @($item.settings)) {
        if ($null -eq $setting.restore) { continue }
        $name = [string]$setting.name
        $current = [string]$now[$name]
        if ($current -eq [string]$setting.restore) { continue }
        if ($current -ne [string]$setting.left) {
            Set-Result $result 'changed' ($name + ' of the Replica server is ''' + $current + ''' now, not as apply left it'); return
        }
        $change[$name] = ConvertTo-Setting $name ([string]$setting.restore)
    }
    if ($change.Count -eq 0) { Set-Result $result 'as-before' 'the Replica server settings are as before apply'; return }
    if ($previewing) { Set-Result $result 'reverted' ('would put back the Replica server''s ' + ((@($change.Keys) | Sort-Object) -join ', ')); return }
    $null = Set-VMReplicationServer @change -Force
    $result.after = Get-ReplicaSettings
    Set-Result $result 'reverted' ('the Replica server''s ' + ((@($change.Keys) | Sort-Object) -join ', ') + ' are back as before apply')
}

function Get-AuthorizationState([string]$Server) {
    # types: $authorization VMReplicationAuthorizationEntry
    $authorization = @(Get-VMReplicationAuthorizationEntry -AllowedPrimaryServer $Server -ErrorAction SilentlyContinue)[0]
    if (-not $authorization) { return [ordered]@{ entry = 'absent' } }
    return [ordered]@{ entry = 'present'; storage_location = [string]$authorization.ReplicaStorageLocation; trust_group = [string]$authorization.TrustGroup }
}

function Invoke-ReplicaAuthorization($item, $result) {
    # New-VMReplicationAuthorizationEntry for one primary server; the revert removes it while it is as apply made it
    # (Microsoft: Remove-VMReplicationAuthorizationEntry; the Replica server then refuses that primary's replication)
    $a = $item.action
    $server = [string]$a.allowed_primary_server
    $state = Get-AuthorizationState $server
    $result.before = $state
    if (-not $reverting) {
        if ($state.entry -eq 'present') {
            if ([string]$state.storage_location -eq [string]$a.storage_location) { Set-Result $result 'already' ('an entry for ' + $server + ' is already there'); return }
            Set-Result $result 'changed' ('an entry for ' + $server + ' is there now, with the storage location ' + [string]$state.storage_location); return
        }
        $null = New-VMReplicationAuthorizationEntry -AllowedPrimaryServer $server -ReplicaStorageLocation ([string]$a.storage_location) -TrustGroup ([string]$a.trust_group)
        $result.after = Get-AuthorizationState $server
        Set-Result $result 'applied' ('authorized ' + $server + ' (storage ' + [string]$a.storage_location + ', trust group ' + [string]$a.trust_group + ')')
        return
    }
    if ($state.entry -eq 'absent') { Set-Result $result 'as-before' ('no entry for ' + $server + ', as before apply'); return }
    $left = $item.recorded.after
    if ([string]$state.storage_location -ne [string]$left.storage_location -or [string]$state.trust_group -ne [string]$left.trust_group) {
        Set-Result $result 'changed' ('the entry for ' + $server + ' is not as apply made it'); return
    }
    if ($previewing) { Set-Result $result 'reverted' ('would remove the entry for ' + $server); return }
    $null = Remove-VMReplicationAuthorizationEntry -AllowedPrimaryServer $server -Confirm:$false
    $result.after = Get-AuthorizationState $server
    Set-Result $result 'reverted' ('removed the entry for ' + $server + ': this Replica server no longer accepts its replication')
}

function Get-StrictNameChecking {
    # LanmanServer\Parameters DisableStrictNameChecking (Microsoft KB 3181029); $null when it is not set
    # types: $lanman LanmanServerParameters
    $lanman = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters'
    if ($null -eq $lanman.DisableStrictNameChecking) { return $null }
    return [int]$lanman.DisableStrictNameChecking
}

function Test-SameValue($Left, $Right) {
    if ($null -eq $Left) { return ($null -eq $Right) }
    if ($null -eq $Right) { return $false }
    return ([int]$Left -eq [int]$Right)
}

function Invoke-SmbNameChecking($item, $result) {
    # The Server service reads the value when it starts: the step says so and restarts nothing (a restart drops the
    # open SMB sessions), as the fix script does.
    $a = $item.action
    $key = 'HKLM:\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters'
    $restart = 'the Server service reads it when it starts: Restart-Service LanmanServer -Force (it drops the open SMB sessions) or restart the server'
    $value = Get-StrictNameChecking
    $result.before = [ordered]@{ value = $value }
    if (-not $reverting) {
        if (Test-SameValue $value $a.after) { Set-Result $result 'already' 'DisableStrictNameChecking is already 1'; return }
        if (-not (Test-SameValue $value $a.before)) { Set-Result $result 'changed' ('DisableStrictNameChecking is ' + [string]$value + ' now, not as read when planned'); return }
        $null = Set-ItemProperty -LiteralPath $key -Name 'DisableStrictNameChecking' -Value ([int]$a.after) -Type DWord
        $result.after = [ordered]@{ value = (Get-StrictNameChecking) }
        Set-Result $result 'applied' ('DisableStrictNameChecking = 1, so the server answers ' + [string]$a.alias + '; ' + $restart)
        return
    }
    $recorded = $item.recorded
    $was = $recorded.before.value
    if (Test-SameValue $value $was) { Set-Result $result 'as-before' 'DisableStrictNameChecking is as before apply'; return }
    if (-not (Test-SameValue $value $recorded.after.value)) { Set-Result $result 'changed' ('DisableStrictNameChecking is ' + [string]$value + ' now, not as apply left it'); return }
    if ($previewing) { Set-Result $result 'reverted' 'would put DisableStrictNameChecking back as before apply'; return }
    if ($null -eq $was) { $null = Remove-ItemProperty -LiteralPath $key -Name 'DisableStrictNameChecking' }
    else { $null = Set-ItemProperty -LiteralPath $key -Name 'DisableStrictNameChecking' -Value ([int]$was) -Type DWord }
    $result.after = [ordered]@{ value = (Get-StrictNameChecking) }
    Set-Result $result 'reverted' ('DisableStrictNameChecking is back as before apply; ' + $restart)
}

foreach ($item in @($request.actions)) {
    $result = [ordered]@{ id = [string]$item.id; outcome = 'failed'; message = ''; before = $null; after = $null }
    try {
        switch ([string]$item.kind) {
            'host.share-rights' { $null = Invoke-ShareRights $item $result }
            'host.ntfs-rights' { $null = Invoke-NtfsRights $item $result }
            'host.local-group-member' { $null = Invoke-LocalGroupMember $item $result }
            'host.firewall-open' { $null = Invoke-FirewallOpen $item $result }
            'host.firewall-disable' { $null = Invoke-FirewallDisable $item $result }
            'host.create-share' { $null = Invoke-CreateShare $item $result }
            'host.create-folder' { $null = Invoke-CreateFolder $item $result }
            'host.kerberos-refresh' { $null = Invoke-KerberosRefresh $item $result }
            'host.start-service' { $null = Invoke-StartService $item $result }
            'host.time-sync' { $null = Invoke-TimeSync $item $result }
            'host.replica-server' { $null = Invoke-ReplicaServer $item $result }
            'host.replica-authorization' { $null = Invoke-ReplicaAuthorization $item $result }
            'host.smb-name-checking' { $null = Invoke-SmbNameChecking $item $result }
            default { throw ('this script does not carry out ' + [string]$item.kind + ' actions') }
        }
    } catch {
        $result.outcome = 'failed'
        $result.message = Get-Reason $_
    }
    Write-Answer $result
}
Write-Answer ([ordered]@{ done = $true })

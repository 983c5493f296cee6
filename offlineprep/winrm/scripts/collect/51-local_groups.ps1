if (@($request.paths).Count -gt 0) {
    Try-Section 'local_groups' {
        # ADSI (WinNT provider) reads member SIDs where Get-LocalGroupMember fails on an orphaned or unresolvable
        # SID (PowerShell issue #2996). Each group and each member is read on its own: one unreadable member costs
        # only itself, and is kept as its SID when its ADsPath is WinNT://S-1-... (how WinNT names a SID that no
        # longer resolves).
        # types: $group Win32_Group; $adsi DirectoryEntry; $member WinNTGroupMember; $sidObject SecurityIdentifier; $entry Answer
        $groups = @()
        foreach ($group in @(Get-CimInstance Win32_Group -Filter 'LocalAccount=True')) {
            $entry = [ordered]@{ sid = [string]$group.SID; name = [string]$group.Name; members = @(); unreadable = @() }
            try {
                $adsi = [ADSI]('WinNT://' + $env:COMPUTERNAME + '/' + [string]$group.Name + ',group')
                foreach ($member in @($adsi.Invoke('Members'))) {
                    $path = $null
                    $sid = $null
                    $why = $null
                    try { $path = [string]$member.GetType().InvokeMember('ADsPath', 'GetProperty', $null, $member, $null) }
                    catch { $why = $_.Exception.Message }
                    try {
                        $sidBytes = $member.GetType().InvokeMember('objectSid', 'GetProperty', $null, $member, $null)
                        $sidObject = New-Object Security.Principal.SecurityIdentifier($sidBytes, 0)
                        $sid = [string]$sidObject.Value
                    } catch { $why = $_.Exception.Message }
                    if (-not $sid -and $path -match '^WinNT://(S-1-[0-9-]+)$') { $sid = $Matches[1] }
                    if ($sid) { $entry.members += , ([ordered]@{ sid = $sid; name = $path }) }
                    else { $entry.unreadable += , ([ordered]@{ name = $path; error = [string]$why }) }
                }
            } catch { $entry.error = $_.Exception.Message }
            $groups += , $entry
        }
        $out.local_groups = $groups
    }
}

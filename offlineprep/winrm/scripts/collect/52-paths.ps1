if (@($request.paths).Count -gt 0) {
    $allShares = $null
    $volumes = $null
    $dfsNodes = $null
    $dfsTargets = $null
    $paths = @()
    # types: $p RequestPath; $r Answer; $share MSFT_SmbShare; $match MSFT_SmbShare; $vol Win32_Volume; $best Win32_Volume
    # types: $item FileSystemInfo; $step FileSystemInfo; $acl FileSystemSecurity; $first ErrorRecord; $itemErrors ErrorList
    # types: $node Win32_DFSNode; $target Win32_DFSTarget; $found Win32_DFSNode
    # types: $server String; $machineDomain String; $local String; $full String; $volName String
    # types: $parts Array; $segments Array; $link Array
    $machineDomain = [string]$out.domain
    foreach ($p in @($request.paths)) {
        $r = [ordered]@{ path = [string]$p.raw }
        try {
            $local = [string]$p.local_path
            $server = [string]$p.server
            $short = $server.Split('.')[0]
            if ($p.kind -eq 'unc') {
                # DFS namespace paths: \\<domain>\<namespace>\... (a domain-based namespace: the UNC server is the
                # domain's own name, DFS_INFO_2 EntryPath) and a folder under a DFS link of a namespace root served
                # here (its data lives on the folder targets' servers; Win32_DFSNode and Win32_DFSTarget list the roots
                # and links this namespace server holds). Never a verdict on this server's folder.
                $domainBased = ($machineDomain -and ($server -eq $machineDomain -or
                        ($server -notmatch '\.' -and $short -eq $machineDomain.Split('.')[0] -and $short -ne $env:COMPUTERNAME)))
                if ($null -eq $dfsNodes) {
                    try { $dfsNodes = @(Get-CimInstance Win32_DFSNode) } catch { $dfsNodes = @() }
                }
                $found = $null
                $root = $null
                $parts = @(([string]$p.subpath).Split('\') | Where-Object { $_ })
                foreach ($node in $dfsNodes) {
                    $segments = @(([string]$node.Name).TrimStart('\').Split('\'))
                    if ($segments.Count -lt 2 -or $segments[1] -ne [string]$p.share) { continue }
                    if ($node.Root) { $root = '\\' + $segments[0] + '\' + $segments[1]; continue }
                    $link = @($segments | Select-Object -Skip 2)
                    $inside = $link.Count -le $parts.Count
                    for ($i = 0; $inside -and $i -lt $link.Count; $i++) { if ($link[$i] -ne $parts[$i]) { $inside = $false } }
                    if ($inside) { $found = $node }
                }
                if ($domainBased -or $root -or $found) {
                    $targets = @()
                    if ($found) {
                        if ($null -eq $dfsTargets) {
                            try { $dfsTargets = @(Get-CimInstance Win32_DFSTarget) } catch { $dfsTargets = @() }
                        }
                        foreach ($target in $dfsTargets) {
                            if ([string]$target.LinkName -eq [string]$found.Name) {
                                $targets += '\\' + [string]$target.ServerName + '\' + [string]$target.ShareName
                            }
                        }
                    }
                    $namespace = '\\' + $server + '\' + [string]$p.share
                    if ($root) { $namespace = $root }
                    $linkName = $null
                    if ($found) { $linkName = [string]$found.Name }
                    $r.dfs = [ordered]@{ namespace = $namespace; link = $linkName; targets = $targets; domain_based = [bool]$domainBased }
                    $paths += , $r
                    continue
                }
                # Scoped shares: on a clustered file server a share is scoped to a client access point and served only
                # under that name (MSFT_SmbShare ScopeName); a name that is no scope of this server reaches the default
                # scope '*'. A share of the same name in another scope is not this path's share.
                if ($null -eq $allShares) { $allShares = @(Get-SmbShare) }
                $scope = '*'
                $scopes = @()
                $match = $null
                foreach ($share in $allShares) {
                    $scopeName = [string]$share.ScopeName
                    if ($scopeName -ne '*' -and ($scopeName -eq $short -or $scopeName -eq $server)) { $scope = $scopeName }
                    if ([string]$share.Name -eq [string]$p.share) { $scopes += $scopeName }
                }
                foreach ($share in $allShares) {
                    if ([string]$share.Name -eq [string]$p.share -and [string]$share.ScopeName -eq $scope) { $match = $share }
                }
                $r.share_scope = $scope
                $r.share_scopes = $scopes
                $r.share_found = [bool]$match
                if ($match) {
                    $r.share = [ordered]@{ name = [string]$match.Name; path = [string]$match.Path
                        sddl = [string]$match.SecurityDescriptor; scope = [string]$match.ScopeName }
                    # plain concatenation: Join-Path wants the drive to exist as a PowerShell drive
                    $local = [string]$match.Path
                    if ($p.subpath) { $local = ([string]$match.Path).TrimEnd('\') + '\' + [string]$p.subpath }
                }
            }
            $r.local_path = $null
            if ($local) { $r.local_path = $local }
            if ($local) {
                # The volume holding the path: the longest Win32_Volume.Name that prefixes it, so a mount point or a CSV
                # (C:\ClusterStorage\Volume1\) counts, not the drive letter's volume. Win32_Volume also lists volumes
                # that are offline or not mounted; one without a file system (offline, locked by BitLocker, not
                # formatted) cannot be read, and Get-Item would call every path on it "not found".
                if ($null -eq $volumes) { $volumes = @(Get-CimInstance Win32_Volume) }
                $full = $local.TrimEnd('\') + '\'
                $best = $null
                foreach ($vol in $volumes) {
                    $volName = [string]$vol.Name
                    if ($volName -and $full.StartsWith($volName, [StringComparison]::OrdinalIgnoreCase) -and
                        (-not $best -or $volName.Length -gt ([string]$best.Name).Length)) { $best = $vol }
                }
                if (-not $best) { throw ('no volume of this server holds ' + $local + ' (a drive letter not assigned, or its disk offline)') }
                $r.volume = [ordered]@{ name = [string]$best.Name; file_system = [string]$best.FileSystem
                    drive_type = $best.DriveType; capacity = $best.Capacity; free_space = $best.FreeSpace }
                if (-not $best.FileSystem) {
                    throw ('the volume ' + [string]$best.Name + ' that holds ' + $local + ' is not ready: no file system is mounted (offline, locked by BitLocker, or not formatted)')
                }
                # Get-Item reports "not found" for every failure of GetFileAttributes but access denied and a bad network
                # path (PowerShell Utils.NativeItemExists); [IO.File]::GetAttributes says which it was.
                $item = Get-Item -LiteralPath $local -Force -ErrorAction SilentlyContinue -ErrorVariable itemErrors
                if (-not $item -and $itemErrors.Count -gt 0) {
                    $first = $itemErrors[0]
                    if ($first.Exception -isnot [Management.Automation.ItemNotFoundException]) { throw $first.Exception }
                    try { $null = [IO.File]::GetAttributes($local) }
                    catch [IO.FileNotFoundException], [IO.DirectoryNotFoundException] { $null = $_ }
                }
                $r.exists = [bool]$item
                if ($item) {
                    $r.is_directory = [bool]$item.PSIsContainer
                    $acl = Get-Acl -LiteralPath $local
                    $r.ntfs_sddl = [string]$acl.Sddl
                }
            }
        } catch { $r.error = $_.Exception.Message }
        $paths += , $r
    }
    $out.paths = $paths
}


# offlineprep host collector (read-only). Windows PowerShell 5.1 compatible.
# Input: one argument, the request as base64-encoded UTF-8 JSON: values arrive as data, never as code.
# Output: one JSON document on stdout (schema offlineprep/host/v1). Each section is wrapped so a
# failing cmdlet records an error for that section instead of ending the script.
param([string]$RequestB64)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
$request = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($RequestB64)) | ConvertFrom-Json
$out = [ordered]@{ schema = 'offlineprep/host/v1'; errors = [ordered]@{} }

function Try-Section([string]$name, [scriptblock]$block) {
    # $null = : anything a section emits by accident must not reach stdout ahead of the JSON
    try { $null = & $block } catch { $out.errors[$name] = $_.Exception.Message }
}

Try-Section 'identity' {
    $cs = Get-CimInstance Win32_ComputerSystem
    $out.computer_name = if ($cs.Domain -and $cs.PartOfDomain) { "$($cs.DNSHostName).$($cs.Domain)" } else { $cs.DNSHostName }
    $os = Get-CimInstance Win32_OperatingSystem
    $out.os = [ordered]@{ caption = $os.Caption; version = $os.Version; build = $os.BuildNumber }
}
Try-Section 'hyperv' {
    $installed = $null
    try { $installed = ((Get-WindowsFeature -Name Hyper-V).InstallState -eq 'Installed') } catch {
        $f = Get-CimInstance Win32_OptionalFeature -Filter "Name='Microsoft-Hyper-V'"
        $installed = [bool]($f -and $f.InstallState -eq 1)
    }
    $svc = Get-Service -Name vmms -ErrorAction SilentlyContinue
    $out.hyperv = [ordered]@{ installed = $installed; vmms = if ($svc) { [string]$svc.Status } else { $null } }
}
Try-Section 'ip_addresses' {
    $out.ip_addresses = @(Get-CimInstance Win32_NetworkAdapterConfiguration -Filter 'IPEnabled=True' |
        ForEach-Object { $_.IPAddress } | Where-Object { $_ })
}

if (@($request.paths).Count -gt 0) {
    Try-Section 'local_groups' {
        # ADSI reads member SIDs even where Get-LocalGroupMember fails on orphaned SIDs
        $groups = @()
        foreach ($g in Get-CimInstance Win32_Group -Filter 'LocalAccount=True') {
            $members = @()
            $adsi = [ADSI]"WinNT://$env:COMPUTERNAME/$($g.Name),group"
            foreach ($m in @($adsi.Invoke('Members'))) {
                $bytes = $m.GetType().InvokeMember('objectSid', 'GetProperty', $null, $m, $null)
                $sid = (New-Object Security.Principal.SecurityIdentifier($bytes, 0)).Value
                $path = $m.GetType().InvokeMember('ADsPath', 'GetProperty', $null, $m, $null)
                $members += [ordered]@{ sid = $sid; name = [string]$path }
            }
            $groups += [ordered]@{ sid = $g.SID; name = $g.Name; members = $members }
        }
        $out.local_groups = $groups
    }
    $paths = @()
    foreach ($p in @($request.paths)) {
        $r = [ordered]@{ path = [string]$p.raw }
        try {
            $local = $p.local_path
            if ($p.kind -eq 'unc') {
                # a clustered file server lists one share per scope (client access point) under the same
                # name: take the scope the path names, else the default scope '*', else the first
                $found = @(Get-SmbShare -Name $p.share -ErrorAction SilentlyContinue)
                $short = ([string]$p.server).Split('.')[0]
                $share = @($found | Where-Object { $_.ScopeName -eq $short -or $_.ScopeName -eq $p.server }) +
                    @($found | Where-Object { $_.ScopeName -eq '*' }) + $found | Select-Object -First 1
                $r.share_found = [bool]$share
                if ($share) {
                    $r.share = [ordered]@{ name = $share.Name; path = $share.Path; sddl = [string]$share.SecurityDescriptor }
                    # plain concatenation: Join-Path wants the drive to exist as a PowerShell drive
                    $local = if ($p.subpath) { ([string]$share.Path).TrimEnd('\') + '\' + $p.subpath } else { $share.Path }
                }
            }
            $r.local_path = $local
            if ($local) {
                # only "not found" means absent: access denied or an offline volume is an error, not a missing path
                $item = Get-Item -LiteralPath $local -Force -ErrorAction SilentlyContinue -ErrorVariable itemErrors
                if (-not $item -and $itemErrors.Count -gt 0 -and
                    $itemErrors[0].Exception -isnot [Management.Automation.ItemNotFoundException]) {
                    throw $itemErrors[0].Exception
                }
                $r.exists = [bool]$item
                if ($item) {
                    $r.is_directory = [bool]$item.PSIsContainer
                    $r.ntfs_sddl = (Get-Acl -LiteralPath $local).Sddl
                    # the volume holding the path: the longest Win32_Volume.Name that prefixes it, so a
                    # mount point or a CSV (C:\ClusterStorage\Volume1\) counts, not the drive letter's volume
                    $full = $item.FullName.TrimEnd('\') + '\'
                    $vol = @(Get-CimInstance Win32_Volume | Where-Object {
                            $_.Name -and $full.StartsWith([string]$_.Name, [StringComparison]::OrdinalIgnoreCase) } |
                        Sort-Object { ([string]$_.Name).Length } -Descending) | Select-Object -First 1
                    if ($vol) { $r.free_bytes = [int64]$vol.FreeSpace; $r.total_bytes = [int64]$vol.Capacity }
                }
            }
        } catch { $r.error = $_.Exception.Message }
        $paths += $r
    }
    $out.paths = $paths
}

if ($request.hyperv) {
    Try-Section 'vms' {
        $vms = @()
        foreach ($vm in @(Get-VM)) {
            # per VM: a pass-through disk or a missing/locked VHD makes this VM's size unknown, not all VMs'
            $entry = [ordered]@{ name = $vm.Name; disk_bytes = $null }
            try {
                $bytes = [int64]0
                foreach ($disk in @(Get-VMHardDiskDrive -VM $vm)) {
                    if ($null -ne $disk.DiskNumber) { throw "pass-through disk $($disk.DiskNumber): no file to size" }
                    $vhd = Get-VHD -Path $disk.Path
                    while ($vhd) {
                        $bytes += [int64]$vhd.FileSize
                        $vhd = if ($vhd.ParentPath) { Get-VHD -Path $vhd.ParentPath } else { $null }
                    }
                }
                $entry.disk_bytes = $bytes
            } catch { $entry.error = $_.Exception.Message }
            $vms += $entry
        }
        $out.vms = $vms
    }
    Try-Section 'replication_server' {
        $rs = Get-VMReplicationServer
        $out.replication_server = [ordered]@{ enabled = [bool]$rs.ReplicationEnabled; kerberos_port = $rs.KerbAuthPort;
            certificate_port = $rs.CertAuthPort; allowed_authentication = [string]$rs.AllowedAuthenticationType }
    }
    Try-Section 'firewall_rules' {
        # ActiveStore: the rules in force (local and Group Policy), not only the local PersistentStore.
        # The port filters are read once and joined on InstanceID: one query per rule takes minutes.
        $filters = @{}
        foreach ($f in @(Get-NetFirewallPortFilter -All -PolicyStore ActiveStore)) { $filters[[string]$f.InstanceID] = $f }
        $rules = @()
        foreach ($rule in @(Get-NetFirewallRule -PolicyStore ActiveStore -Direction Inbound -Enabled True)) {
            $pf = $filters[[string]$rule.InstanceID]
            $rules += [ordered]@{ name = $rule.Name; display_name = $rule.DisplayName; enabled = $true;
                direction = 'inbound'; action = ([string]$rule.Action).ToLower(); protocol = [string]$pf.Protocol;
                local_ports = @(if ($pf) { $pf.LocalPort | ForEach-Object { [string]$_ } }) }
        }
        $out.firewall_rules = $rules
    }
}
# UTF-8 bytes straight to stdout: independent of the console code page, and no BOM
$bytes = (New-Object Text.UTF8Encoding $false).GetBytes(($out | ConvertTo-Json -Depth 8 -Compress))
$stdout = [Console]::OpenStandardOutput()
$stdout.Write($bytes, 0, $bytes.Length)
$stdout.Flush()

# offlineprep host collector (read-only). Windows PowerShell 5.1 compatible (Windows Server 2012 R2 to 2022).
# Input: one argument, the request as base64-encoded UTF-8 JSON: values arrive as data, never as code.
# Output: one JSON document on stdout, the answer offlineprep/host/v1 (docs/host.schema.json). Each section is
# wrapped so a failing cmdlet records an error for that section instead of ending the script.
# Every member this script reads is one Windows documents for that object: each variable's type is declared in
# a "# types:" comment, and tests/hosts/test_windows_members.py holds every member read against
# offlineprep/lab/windows_members.json, which cites the Microsoft page or public module each member comes from.
# Enumerations are written as strings ([string]$x): ConvertTo-Json of Windows PowerShell 5.1 writes them as numbers.
param([string]$RequestB64)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
# types: $request Request; $_ ErrorRecord; $out Answer
$request = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($RequestB64)) | ConvertFrom-Json
$out = [ordered]@{ schema = 'offlineprep/host/v1'; errors = [ordered]@{} }

function Try-Section([string]$name, [scriptblock]$block) {
    # $null = : anything a section emits by accident must not reach stdout ahead of the JSON
    try { $null = & $block } catch { $out.errors[$name] = $_.Exception.Message }
}

Try-Section 'clock' {
    # The host's own UTC clock, read first: host.clock-skew compares it with the domain controller's (rootDSE
    # currentTime), and the collector notes its own clock around this command. W32Time's Type (NT5DS: the domain
    # hierarchy, NTP, NoSync, AllSync: "Windows Time service tools and settings") is what a fix would change.
    # types: $w32time W32TimeParameters
    $out.clock = [ordered]@{ utc = [DateTime]::UtcNow.ToString('o'); time_source_type = $null }
    $w32time = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Services\W32Time\Parameters' -ErrorAction SilentlyContinue
    if ($w32time) { $out.clock.time_source_type = [string]$w32time.Type }
}

Try-Section 'identity' {
    # types: $cs Win32_ComputerSystem; $os Win32_OperatingSystem
    $cs = Get-CimInstance Win32_ComputerSystem
    $out.computer_name = [string]$cs.DNSHostName
    if ($cs.PartOfDomain -and $cs.Domain) {
        $out.computer_name = [string]$cs.DNSHostName + '.' + [string]$cs.Domain
        $out.domain = [string]$cs.Domain
    }
    # DomainRole 4 and 5 are domain controllers (backup, primary), 3 a member server (Win32_ComputerSystem)
    $out.domain_role = [int]$cs.DomainRole
    $os = Get-CimInstance Win32_OperatingSystem
    $out.os = [ordered]@{ caption = [string]$os.Caption; version = [string]$os.Version; build = [string]$os.BuildNumber }
}
Try-Section 'hyperv' {
    # types: $feature WindowsFeature; $optional Win32_OptionalFeature; $svc ServiceController
    $installed = $null
    try {
        $feature = Get-WindowsFeature -Name Hyper-V
        $installed = ([string]$feature.InstallState -eq 'Installed')
    } catch {
        # Get-WindowsFeature exists on servers only; Win32_OptionalFeature InstallState 1 is Enabled
        $optional = Get-CimInstance Win32_OptionalFeature -Filter "Name='Microsoft-Hyper-V'"
        $installed = [bool]($optional -and $optional.InstallState -eq 1)
    }
    $svc = Get-Service -Name vmms -ErrorAction SilentlyContinue
    $vmms = $null
    if ($svc) { $vmms = [string]$svc.Status }
    $out.hyperv = [ordered]@{ installed = $installed; vmms = $vmms }
}
Try-Section 'ip_addresses' {
    # types: $nic Win32_NetworkAdapterConfiguration
    $addresses = @()
    foreach ($nic in @(Get-CimInstance Win32_NetworkAdapterConfiguration -Filter 'IPEnabled=True')) {
        foreach ($address in @($nic.IPAddress)) { if ($address) { $addresses += [string]$address } }
    }
    $out.ip_addresses = $addresses
}

if (@($request.paths).Count -gt 0) {
    Try-Section 'server_names' {
        # The names the SMB server answers to besides its own: DisableStrictNameChecking (1: any name, Microsoft KB
        # 3181029 "SMB file server share access is unsuccessful through DNS CNAME alias") and OptionalNames under
        # LanmanServer\Parameters; the alternate computer names netdom computername /add records (DnsCache\Parameters
        # AlternateComputerNames). Values that are not set read as $null.
        # types: $lanman LanmanServerParameters; $dnscache DnsCacheParameters; $names Answer
        $lanman = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters' -ErrorAction SilentlyContinue
        $dnscache = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Services\Dnscache\Parameters' -ErrorAction SilentlyContinue
        $names = [ordered]@{ disable_strict_name_checking = $null; optional_names = @(); alternate_names = @() }
        if ($lanman) {
            if ($null -ne $lanman.DisableStrictNameChecking) { $names.disable_strict_name_checking = [int]$lanman.DisableStrictNameChecking }
            foreach ($optional in @($lanman.OptionalNames)) { if ($optional) { $names.optional_names += [string]$optional } }
        }
        if ($dnscache) {
            foreach ($alternate in @($dnscache.AlternateComputerNames)) { if ($alternate) { $names.alternate_names += [string]$alternate } }
        }
        $out.server_names = $names
    }
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

if ($request.hyperv) {
    Try-Section 'vms' {
        # types: $vm VirtualMachine; $disk HardDiskDrive; $vhd VirtualHardDisk; $vmEntry Answer
        $vms = @()
        foreach ($vm in @(Get-VM)) {
            # per VM: a pass-through disk or a missing/locked VHD makes this VM's size unknown, not all VMs'
            $vmEntry = [ordered]@{ name = [string]$vm.Name; disk_bytes = $null }
            try {
                $diskBytes = [int64]0
                foreach ($disk in @(Get-VMHardDiskDrive -VM $vm)) {
                    if ($null -ne $disk.DiskNumber) { throw ('pass-through disk ' + [string]$disk.DiskNumber + ': no file to size') }
                    $vhd = Get-VHD -Path $disk.Path
                    while ($vhd) {
                        $diskBytes += [int64]$vhd.FileSize
                        if ($vhd.ParentPath) { $vhd = Get-VHD -Path $vhd.ParentPath } else { $vhd = $null }
                    }
                }
                $vmEntry.disk_bytes = $diskBytes
            } catch { $vmEntry.error = $_.Exception.Message }
            $vms += , $vmEntry
        }
        $out.vms = $vms
    }
    Try-Section 'replication_server' {
        # KerberosAuthenticationPort / CertificateAuthenticationPort are the object's properties; KerbAuthPort and
        # CertAuthPort are only parameter aliases of Set-VMReplicationServer and column headings of its table view
        # The authorization entries say which primary servers (an FQDN, or *.domain) the Replica server accepts and where
        # their replicas go (Get-VMReplicationAuthorizationEntry); each storage location is tested here, on the host.
        # types: $rs VMReplicationServer; $auth VMReplicationAuthorizationEntry
        $rs = Get-VMReplicationServer
        $entries = $null
        try {
            $entries = @()
            foreach ($auth in @(Get-VMReplicationAuthorizationEntry)) {
                $location = [string]$auth.ReplicaStorageLocation
                $entries += , ([ordered]@{ allowed_primary_server = [string]$auth.AllowedPrimaryServer
                        storage_location = $location; trust_group = [string]$auth.TrustGroup
                        storage_exists = [bool]($location -and (Test-Path -LiteralPath $location -PathType Container)) })
            }
        } catch { $out.errors['authorization_entries'] = $_.Exception.Message; $entries = $null }
        $default = [string]$rs.DefaultStorageLocation
        $out.replication_server = [ordered]@{ enabled = [bool]$rs.ReplicationEnabled
            kerberos_port = $rs.KerberosAuthenticationPort; certificate_port = $rs.CertificateAuthenticationPort
            allowed_authentication = [string]$rs.AllowedAuthenticationType
            allowed_from_any_server = [bool]$rs.ReplicationAllowedFromAnyServer; default_storage_location = $default
            default_storage_exists = [bool]($default -and (Test-Path -LiteralPath $default -PathType Container))
            certificate_thumbprint = [string]$rs.CertificateThumbprint; authorization_entries = $entries }
    }
    Try-Section 'certificates' {
        # LocalMachine\My through the certificate provider, which adds DnsNameList and EnhancedKeyUsageList (object
        # identifiers, not localised names). Hyper-V Replica's certificate needs a private key, Client and Server
        # Authentication, its validity, the host's FQDN in the subject or the DNS names, and a chain to a trusted root
        # (Set-VMReplicationServer -CertificateThumbprint). The chain (X509Chain, revocation not checked, URL retrieval
        # bounded to 1 s) is built only for a certificate that meets the rest, so the section stays short.
        # types: $cert X509Certificate2; $dns DnsNameRepresentation; $eku EnhancedKeyUsageRepresentation; $chain X509Chain
        # types: $status X509ChainStatus; $certEntry Answer; $notBefore DateTime; $notAfter DateTime
        $certs = @()
        $now = [DateTime]::UtcNow
        foreach ($cert in @(Get-ChildItem -LiteralPath 'Cert:\LocalMachine\My')) {
            $dnsNames = @()
            foreach ($dns in @($cert.DnsNameList)) { if ($dns) { $dnsNames += [string]$dns.Unicode } }
            $ekus = @()
            foreach ($eku in @($cert.EnhancedKeyUsageList)) { if ($eku) { $ekus += [string]$eku.ObjectId } }
            $notBefore = $cert.NotBefore.ToUniversalTime()
            $notAfter = $cert.NotAfter.ToUniversalTime()
            $certEntry = [ordered]@{ thumbprint = [string]$cert.Thumbprint; subject = [string]$cert.Subject
                dns_names = $dnsNames; ekus = $ekus; not_before = $notBefore.ToString('o'); not_after = $notAfter.ToString('o')
                has_private_key = [bool]$cert.HasPrivateKey; chain_ok = $null; chain_status = @() }
            if ($cert.HasPrivateKey -and $ekus -contains '1.3.6.1.5.5.7.3.1' -and $ekus -contains '1.3.6.1.5.5.7.3.2' -and
                $notBefore -le $now -and $notAfter -ge $now) {
                $chain = New-Object Security.Cryptography.X509Certificates.X509Chain
                $chain.ChainPolicy.RevocationMode = 'NoCheck'
                $chain.ChainPolicy.UrlRetrievalTimeout = [TimeSpan]::FromSeconds(1)
                $certEntry.chain_ok = [bool]$chain.Build($cert)
                foreach ($status in @($chain.ChainStatus)) { $certEntry.chain_status += [string]$status.Status }
                $chain.Reset()
            }
            $certs += , $certEntry
        }
        $out.certificates = $certs
    }
    Try-Section 'firewall_rules' {
        # ActiveStore: the rules in force (local and Group Policy), not only the local PersistentStore. The port and
        # address filters are read once each and joined on the rule's InstanceID: one query per rule takes minutes.
        # types: $pf NetFirewallPortFilter; $af NetFirewallAddressFilter; $rule NetFirewallRule; $portFilter NetFirewallPortFilter; $addressFilter NetFirewallAddressFilter
        $portFilters = @{}
        foreach ($pf in @(Get-NetFirewallPortFilter -All -PolicyStore ActiveStore)) { $portFilters[[string]$pf.InstanceID] = $pf }
        $addressFilters = @{}
        foreach ($af in @(Get-NetFirewallAddressFilter -All -PolicyStore ActiveStore)) { $addressFilters[[string]$af.InstanceID] = $af }
        $rules = @()
        foreach ($rule in @(Get-NetFirewallRule -PolicyStore ActiveStore -Direction Inbound -Enabled True)) {
            $portFilter = $portFilters[[string]$rule.InstanceID]
            $addressFilter = $addressFilters[[string]$rule.InstanceID]
            $protocol = $null
            $localPorts = @()
            $remoteAddresses = @()
            if ($portFilter) {
                $protocol = [string]$portFilter.Protocol
                foreach ($port in @($portFilter.LocalPort)) { $localPorts += [string]$port }
            }
            if ($addressFilter) {
                foreach ($address in @($addressFilter.RemoteAddress)) { $remoteAddresses += [string]$address }
            }
            $rules += , ([ordered]@{ name = [string]$rule.Name; display_name = [string]$rule.DisplayName
                    enabled = [string]$rule.Enabled; direction = [string]$rule.Direction; action = [string]$rule.Action
                    profile = [string]$rule.Profile; protocol = $protocol; local_ports = $localPorts
                    remote_addresses = $remoteAddresses })
        }
        $out.firewall_rules = $rules
    }
    Try-Section 'firewall_profiles' {
        # the per-profile state in force (Get-NetFirewallProfile -PolicyStore ActiveStore, Microsoft's example 1)
        # types: $fp NetFirewallProfile
        $profiles = @()
        foreach ($fp in @(Get-NetFirewallProfile -PolicyStore ActiveStore)) {
            $profiles += , ([ordered]@{ name = [string]$fp.Name; enabled = [string]$fp.Enabled
                    default_inbound_action = [string]$fp.DefaultInboundAction; allow_inbound_rules = [string]$fp.AllowInboundRules })
        }
        $out.firewall_profiles = $profiles
    }
    Try-Section 'network_profiles' {
        # which firewall profile each connected network uses (NetworkCategory DomainAuthenticated, Private, Public)
        # types: $net NetConnectionProfile
        $networks = @()
        foreach ($net in @(Get-NetConnectionProfile)) {
            $networks += , ([ordered]@{ interface = [string]$net.InterfaceAlias; category = [string]$net.NetworkCategory })
        }
        $out.network_profiles = $networks
    }
}
if (@($request.probes).Count -gt 0) {
    Try-Section 'probes' {
        # From this host itself, as its SMB client will go: each path computer's name through the host's own DNS
        # client, then TCP 445 to each address found (four at most). Everything is started at once and waited for
        # against one clock: the names for up to 2 s, the connections until 4 s in all, so a host where every probe
        # times out still answers in about 4 s. Dns.GetHostAddressesAsync and TcpClient.ConnectAsync (.NET 4.5); not
        # Test-NetConnection, which pings first and waits for each step in turn.
        # types: $watch Stopwatch; $lookup Answer; $probe Answer; $attempt Answer; $task Task; $fault SocketException
        # types: $ip IPAddress; $client TcpClient
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $lookups = @()
        foreach ($name in @($request.probes)) {
            $lookup = [ordered]@{ name = [string]$name; task = $null; error = $null }
            try { $lookup.task = [Net.Dns]::GetHostAddressesAsync([string]$name) } catch { $lookup.error = $_.Exception.Message }
            $lookups += , $lookup
        }
        $probes = @()
        $attempts = @()
        foreach ($lookup in $lookups) {
            $probe = [ordered]@{ name = $lookup.name; addresses = @(); error = $lookup.error; timed_out = $false; connections = @() }
            $task = $lookup.task
            if ($task) {
                try { $null = $task.Wait([Math]::Max(0, 2000 - [int]$watch.ElapsedMilliseconds)) } catch { $null = $_ }
                if ([string]$task.Status -eq 'RanToCompletion') {
                    foreach ($ip in @(@($task.Result) | Select-Object -First 4)) {
                        $probe.addresses += [string]$ip
                        $client = New-Object Net.Sockets.TcpClient($ip.AddressFamily)
                        $attempts += , ([ordered]@{ probe = $probe; address = [string]$ip; client = $client
                                task = $client.ConnectAsync($ip, 445) })
                    }
                } elseif ([string]$task.Status -eq 'Faulted') {
                    $fault = $task.Exception.InnerException
                    $probe.error = [string]$fault.Message
                } else { $probe.timed_out = $true }
            }
            $probes += , $probe
        }
        foreach ($attempt in $attempts) {
            $task = $attempt.task
            try { $null = $task.Wait([Math]::Max(0, 4000 - [int]$watch.ElapsedMilliseconds)) } catch { $null = $_ }
            $state = 'timeout'
            $code = $null
            if ([string]$task.Status -eq 'RanToCompletion') { $state = 'open' }
            elseif ([string]$task.Status -eq 'Faulted') {
                $fault = $task.Exception.InnerException
                $code = [string]$fault.SocketErrorCode
                if ($code -eq 'ConnectionRefused') { $state = 'refused' }
                elseif ($code -eq 'TimedOut') { $state = 'timeout' }
                else { $state = 'error' }
            }
            $attempt.probe.connections += , ([ordered]@{ address = $attempt.address; state = $state; error = $code })
            $client = $attempt.client
            $client.Close()
        }
        $out.probes = [ordered]@{ seconds = [Math]::Round($watch.Elapsed.TotalSeconds, 3); names = $probes }
    }
}
# UTF-8 bytes straight to stdout: independent of the console code page, and no BOM
# types: $utf8 UTF8Encoding; $stdout Stream; $payload ByteArray
$utf8 = New-Object Text.UTF8Encoding $false
$payload = $utf8.GetBytes(($out | ConvertTo-Json -Depth 8 -Compress))
$stdout = [Console]::OpenStandardOutput()
$stdout.Write($payload, 0, $payload.Length)
$stdout.Flush()

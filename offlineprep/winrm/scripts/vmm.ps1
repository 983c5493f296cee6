# offlineprep VMM discovery (read-only). Windows PowerShell 5.1 on the VMM management server.
# Input: one argument, the request as base64-encoded UTF-8 JSON (clouds or host groups per side, Run As account
# names): values arrive as data, never as code.
# Output: one JSON document on stdout, the answer offlineprep/vmm/v1 (offlineprep/collect/sources/vmm.py reads it).
# Every cmdlet is VMM's documented one (System Center VMM PowerShell reference, VirtualMachineManager module):
#   Get-SCVMMServer -ComputerName; Get-SCCloud -VMMServer -Name; Get-SCVMHostGroup -VMMServer -Name and
#   -ParentHostGroup; Get-SCVMHost -VMHostGroup and -VMHostCluster; Get-SCVMHostCluster -VMHostGroup;
#   Get-SCRunAsAccount -VMMServer -Name.
# Every member read is declared in a "# types:" comment; tests/discovery/test_vmm_members.py holds each against
# tests/fixtures/vmm_members.json, which cites the page or public module it comes from.
param([string]$RequestB64)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
# types: $request VmmRequest; $_ ErrorRecord; $out Answer
$request = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($RequestB64)) | ConvertFrom-Json
$out = [ordered]@{ schema = 'offlineprep/vmm/v1'; errors = [ordered]@{} }

function Try-Section([string]$name, [scriptblock]$block) {
    # $null = : anything a section emits by accident must not reach stdout ahead of the JSON
    try { $null = & $block } catch { $out.errors[$name] = $_.Exception.Message }
}

function Write-Answer {
    # UTF-8 bytes straight to stdout: independent of the console code page, and no BOM
    # types: $utf8 UTF8Encoding; $stdout Stream; $payload ByteArray
    $utf8 = New-Object Text.UTF8Encoding $false
    $payload = $utf8.GetBytes(($out | ConvertTo-Json -Depth 8 -Compress))
    $stdout = [Console]::OpenStandardOutput()
    $stdout.Write($payload, 0, $payload.Length)
    $stdout.Flush()
}

Try-Section 'identity' {
    # types: $cs Win32_ComputerSystem
    $cs = Get-CimInstance Win32_ComputerSystem
    $out.computer_name = [string]$cs.DNSHostName
    if ($cs.PartOfDomain -and $cs.Domain) {
        $out.computer_name = [string]$cs.DNSHostName + '.' + [string]$cs.Domain
        $out.domain = [string]$cs.Domain
    }
}
Try-Section 'service' {
    # the account the VMM service runs as: Win32_Service StartName of SCVMMService ("LocalSystem": the
    # VMM server's computer account acts on the network)
    # types: $svc Win32_Service
    $svc = Get-CimInstance Win32_Service -Filter "Name='SCVMMService'"
    if (-not $svc) { throw 'the service SCVMMService is not installed on this machine' }
    $out.service = [ordered]@{ name = [string]$svc.Name; start_name = [string]$svc.StartName; state = [string]$svc.State }
}

# the connection to VMM decides everything below: without it (module missing, service stopped, this account in
# no VMM user role) the answer says why and nothing else is read
# types: $vmm ServerConnection; $failure ErrorRecord
$vmm = $null
try {
    Import-Module VirtualMachineManager
    $vmm = Get-SCVMMServer -ComputerName localhost
} catch {
    $failure = $_
    $out.connect_error = [ordered]@{
        message = [string]$failure.Exception.Message
        category = [string]$failure.CategoryInfo.Category
        error_id = [string]$failure.FullyQualifiedErrorId
    }
}

if ($vmm) {
    # types: $side VmmRequestSide; $cloud Cloud; $group HostGroup; $child HostGroup; $vmhost Host; $cluster HostCluster
    # types: $node Host; $entry Answer; $found Array; $seen Hashtable; $queue Queue
    $sides = @()
    foreach ($side in @($request.sides)) {
        $entry = [ordered]@{ role = [string]$side.role; cloud = $null; host_groups = @(); hosts = @(); clusters = @(); errors = @() }
        $groups = @()
        try {
            if ($side.cloud) {
                $cloud = Get-SCCloud -VMMServer $vmm -Name ([string]$side.cloud)
                if (-not $cloud) { throw ('VMM has no cloud named ' + [string]$side.cloud) }
                $entry.cloud = [string]$cloud.Name
                # a cloud is made of host groups (New-SCCloud -VMHostGroup)
                $groups = @($cloud.HostGroup)
            }
            foreach ($groupName in @($side.host_groups)) {
                if (-not $groupName) { continue }
                $found = @(Get-SCVMHostGroup -VMMServer $vmm -Name ([string]$groupName))
                if ($found.Count -eq 0) { $entry.errors += , ('VMM has no host group named ' + [string]$groupName) }
                $groups += $found
            }
        } catch { $entry.errors += , [string]$_.Exception.Message }
        # the host groups below each one too: Get-SCVMHostGroup -ParentHostGroup, level by level
        $queue = New-Object System.Collections.Queue
        foreach ($group in $groups) { if ($group) { $queue.Enqueue($group) } }
        $seen = @{}
        while ($queue.Count -gt 0) {
            $group = $queue.Dequeue()
            $path = [string]$group.Path
            if ($seen.ContainsKey($path)) { continue }
            $seen[$path] = $true
            $entry.host_groups += , ([ordered]@{ name = [string]$group.Name; path = $path })
            try {
                foreach ($child in @(Get-SCVMHostGroup -ParentHostGroup $group)) { if ($child) { $queue.Enqueue($child) } }
                foreach ($vmhost in @(Get-SCVMHost -VMHostGroup $group)) {
                    if (-not $vmhost) { continue }
                    $entry.hosts += , ([ordered]@{ name = [string]$vmhost.Name; computer_name = [string]$vmhost.ComputerName
                            platform = [string]$vmhost.VirtualizationPlatform; host_group = $path })
                }
                foreach ($cluster in @(Get-SCVMHostCluster -VMHostGroup $group)) {
                    if (-not $cluster) { continue }
                    $nodes = @()
                    foreach ($node in @(Get-SCVMHost -VMHostCluster $cluster)) {
                        if ($node) { $nodes += , ([ordered]@{ name = [string]$node.Name; computer_name = [string]$node.ComputerName }) }
                    }
                    $entry.clusters += , ([ordered]@{ name = [string]$cluster.Name; host_group = $path; nodes = $nodes })
                }
            } catch { $entry.errors += , ($path + ': ' + [string]$_.Exception.Message) }
        }
        $sides += , $entry
    }
    $out.sides = $sides

    # types: $account RunAsAccount
    $accounts = @()
    foreach ($name in @($request.run_as)) {
        if (-not $name) { continue }
        $entry = [ordered]@{ name = [string]$name }
        try {
            $account = Get-SCRunAsAccount -VMMServer $vmm -Name ([string]$name) | Select-Object -First 1
            if ($account) {
                $entry.user_name = [string]$account.UserName
                $entry.domain = [string]$account.Domain
            } else { $entry.error = 'VMM has no Run As account named ' + [string]$name }
        } catch { $entry.error = [string]$_.Exception.Message }
        $accounts += , $entry
    }
    $out.run_as = $accounts
}
Write-Answer

# offlineprep failover cluster discovery (read-only). Windows PowerShell 5.1 on a cluster node, reached by the
# cluster's name or by a node's own name.
# Input: one argument, the request as base64-encoded UTF-8 JSON: values arrive as data, never as code.
# Output: one JSON document on stdout, the answer offlineprep/cluster/v1 (offlineprep/collect/sources/cluster.py
# reads it): this machine's own name, the cluster's name and domain, every node with its state, and the Hyper-V
# Replica Broker's client access point.
# Cmdlets of the FailoverClusters module: Get-Cluster, Get-ClusterNode (State Up, Down, Paused, Joining:
# CLUSTER_NODE_STATE), Get-ClusterResource (the "Virtual Machine Replication Broker" resource type, Win32
# CLUS_RESTYPE_NAME_VMREPLICA_BROKER; the "Network Name" resource of its role), Get-ClusterParameter (a Network
# Name's private properties Name and DnsName).
# Every member read is declared in a "# types:" comment; tests/discovery/test_vmm_members.py holds each against
# tests/fixtures/vmm_members.json, which cites the page or public module it comes from.
param([string]$RequestB64)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
# types: $request ClusterRequest; $_ ErrorRecord; $out Answer
$request = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($RequestB64)) | ConvertFrom-Json
$out = [ordered]@{ schema = 'offlineprep/cluster/v1'; errors = [ordered]@{} }

function Try-Section([string]$name, [scriptblock]$block) {
    # $null = : anything a section emits by accident must not reach stdout ahead of the JSON
    try { $null = & $block } catch { $out.errors[$name] = $_.Exception.Message }
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
Try-Section 'cluster' {
    # a machine without the FailoverClusters module, or not a node of any cluster, fails here: the answer then
    # says why in errors.cluster, and the reader takes the machine for a plain host
    # types: $clusterInfo Cluster; $node ClusterNode; $broker ClusterResource; $resource ClusterResource
    # types: $parameter ClusterParameter; $cap Answer
    Import-Module FailoverClusters
    $clusterInfo = Get-Cluster
    $nodes = @()
    foreach ($node in @(Get-ClusterNode)) {
        $nodes += , ([ordered]@{ name = [string]$node.Name; state = [string]$node.State })
    }
    # one read of the resources; the broker's role (OwnerGroup) holds its client access point, the Network Name
    # resource Add-ClusterServerRole makes, whose private properties Name and DnsName are the names clients use
    $resources = @(Get-ClusterResource)
    $brokers = @()
    foreach ($broker in $resources) {
        if ([string]$broker.ResourceType -ne 'Virtual Machine Replication Broker') { continue }
        $cap = [ordered]@{ resource = [string]$broker.Name; group = [string]$broker.OwnerGroup; state = [string]$broker.State }
        foreach ($resource in $resources) {
            if ([string]$resource.OwnerGroup -ne [string]$broker.OwnerGroup -or [string]$resource.ResourceType -ne 'Network Name') { continue }
            $parameters = @(Get-ClusterParameter -InputObject $resource -Name @('Name', 'DnsName'))
            foreach ($parameter in $parameters) {
                if ([string]$parameter.Name -eq 'Name') { $cap.network_name = [string]$parameter.Value }
                if ([string]$parameter.Name -eq 'DnsName') { $cap.dns_name = [string]$parameter.Value }
            }
        }
        $brokers += , $cap
    }
    $out.cluster = [ordered]@{ name = [string]$clusterInfo.Name; domain = [string]$clusterInfo.Domain; nodes = $nodes
        brokers = $brokers }
}
# UTF-8 bytes straight to stdout: independent of the console code page, and no BOM
# types: $utf8 UTF8Encoding; $stdout Stream; $payload ByteArray
$utf8 = New-Object Text.UTF8Encoding $false
$payload = $utf8.GetBytes(($out | ConvertTo-Json -Depth 8 -Compress))
$stdout = [Console]::OpenStandardOutput()
$stdout.Write($payload, 0, $payload.Length)
$stdout.Flush()

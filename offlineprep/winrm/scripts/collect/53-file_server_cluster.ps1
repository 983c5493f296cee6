# types: $pathAnswer Answer
$scoped = $false
foreach ($pathAnswer in @($out.paths)) { if ($pathAnswer.share_scope -and $pathAnswer.share_scope -ne '*') { $scoped = $true } }
if ($scoped) {
    Try-Section 'file_server_cluster' {
        # A share scoped to a client access point is served by a clustered role, not by this node: read the role
        # (Get-ClusterGroup), its Network Name or Distributed Network Name resources with their private properties
        # Name, DnsName and ObjectGUID (the role's computer object in AD), its IP Address resources' Address, and
        # each node's cluster network interfaces (a Scale-Out File Server's name is bound to the nodes' addresses).
        # Sources: docs/clusters.md.
        # types: $clusterInfo Cluster; $clusterNode ClusterNode; $clusterGroup ClusterGroup; $clusterResource ClusterResource
        # types: $clusterParameter ClusterParameter; $clusterInterface ClusterNetworkInterface; $clusterRole Answer; $networkName Answer
        Import-Module FailoverClusters
        $clusterInfo = Get-Cluster
        $clusterResources = @(Get-ClusterResource)
        $clusterInterfaces = @(Get-ClusterNetworkInterface)
        $clusterNodes = @()
        foreach ($clusterNode in @(Get-ClusterNode)) {
            $addresses = @()
            foreach ($clusterInterface in $clusterInterfaces) {
                if ([string]$clusterInterface.Node -eq [string]$clusterNode.Name -and $clusterInterface.Address) { $addresses += [string]$clusterInterface.Address }
            }
            $clusterNodes += , ([ordered]@{ name = [string]$clusterNode.Name; state = [string]$clusterNode.State; addresses = $addresses })
        }
        $clusterRoles = @()
        foreach ($clusterGroup in @(Get-ClusterGroup)) {
            $clusterRole = [ordered]@{ group = [string]$clusterGroup.Name; group_type = [string]$clusterGroup.GroupType; state = [string]$clusterGroup.State
                owner_node = [string]$clusterGroup.OwnerNode; network_names = @(); addresses = @() }
            foreach ($clusterResource in $clusterResources) {
                if ([string]$clusterResource.OwnerGroup -ne [string]$clusterGroup.Name) { continue }
                $resourceType = [string]$clusterResource.ResourceType
                if ($resourceType -eq 'Network Name' -or $resourceType -eq 'Distributed Network Name') {
                    $networkName = [ordered]@{ resource = [string]$clusterResource.Name; resource_type = $resourceType; state = [string]$clusterResource.State }
                    foreach ($clusterParameter in @(Get-ClusterParameter -InputObject $clusterResource -Name @('Name', 'DnsName', 'ObjectGUID') -ErrorAction SilentlyContinue)) {
                        if ([string]$clusterParameter.Name -eq 'Name') { $networkName.name = [string]$clusterParameter.Value }
                        if ([string]$clusterParameter.Name -eq 'DnsName') { $networkName.dns_name = [string]$clusterParameter.Value }
                        if ([string]$clusterParameter.Name -eq 'ObjectGUID') { $networkName.object_guid = [string]$clusterParameter.Value }
                    }
                    $clusterRole.network_names += , $networkName
                }
                if ($resourceType -eq 'IP Address' -or $resourceType -eq 'IPv6 Address') {
                    foreach ($clusterParameter in @(Get-ClusterParameter -InputObject $clusterResource -Name 'Address' -ErrorAction SilentlyContinue)) {
                        if ($clusterParameter.Value) { $clusterRole.addresses += [string]$clusterParameter.Value }
                    }
                }
            }
            if ($clusterRole.network_names.Count -gt 0) { $clusterRoles += , $clusterRole }
        }
        $out.file_server_cluster = [ordered]@{ name = [string]$clusterInfo.Name; domain = [string]$clusterInfo.Domain
            nodes = $clusterNodes; roles = $clusterRoles }
    }
}

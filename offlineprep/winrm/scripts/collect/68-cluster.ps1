if ($request.hyperv) {
    Try-Section 'cluster' {
        # The failover cluster this host is a node of, as the node itself answers: so that hosts listed one by one in
        # the site file are known as a cluster's nodes, with the Hyper-V Replica Broker they replicate through
        # ("servers in failover clusters must have a Hyper-V Replica Broker configured", Hyper-V BPA, severity Error).
        # A machine without the Cluster service (ClusSvc) is no node: the section is then null, not an error.
        # Cmdlets of the FailoverClusters module as scripts/cluster.ps1 reads them: Get-Cluster (Name, Domain),
        # Get-ClusterResource (the "Virtual Machine Replication Broker" resource: its State, Online or Failed; the
        # Network Name of its role, whose private properties Name and DnsName are the broker's client access point).
        # types: $clussvc ServiceController; $clusterInfo Cluster; $broker ClusterResource; $resource ClusterResource
        # types: $parameter ClusterParameter; $cap Answer
        $out.cluster = $null
        $clussvc = Get-Service -Name 'ClusSvc' -ErrorAction SilentlyContinue
        if ($clussvc) {
            Import-Module FailoverClusters
            $clusterInfo = Get-Cluster
            $resources = @(Get-ClusterResource)
            $brokers = @()
            foreach ($broker in $resources) {
                if ([string]$broker.ResourceType -ne 'Virtual Machine Replication Broker') { continue }
                $cap = [ordered]@{ resource = [string]$broker.Name; group = [string]$broker.OwnerGroup
                    state = [string]$broker.State }
                foreach ($resource in $resources) {
                    if ([string]$resource.OwnerGroup -ne [string]$broker.OwnerGroup -or
                        [string]$resource.ResourceType -ne 'Network Name') { continue }
                    foreach ($parameter in @(Get-ClusterParameter -InputObject $resource -Name @('Name', 'DnsName'))) {
                        if ([string]$parameter.Name -eq 'Name') { $cap.network_name = [string]$parameter.Value }
                        if ([string]$parameter.Name -eq 'DnsName') { $cap.dns_name = [string]$parameter.Value }
                    }
                }
                $brokers += , $cap
            }
            $out.cluster = [ordered]@{ name = [string]$clusterInfo.Name; domain = [string]$clusterInfo.Domain
                brokers = $brokers }
        }
    }
}

if ($request.hyperv) {
    Try-Section 'firewall_rules' {
        # ActiveStore: the rules in force (local and Group Policy), not only the local PersistentStore. The port and
        # address filters are read once each and joined on the rule's InstanceID: one query per rule takes minutes.
        # The application and service filters say whether a rule is limited to a program or a service: the Replica
        # listener runs in System (Get-NetFirewallApplicationFilter, Get-NetFirewallServiceFilter). PolicyStoreSourceType
        # and PolicyStoreSource say where the rule is defined (Local: PersistentStore; GroupPolicy: the GPO's name), MS-FASP
        # FW_RULE_ORIGIN_TYPE: a Group Policy rule cannot be changed in the local store.
        # types: $pf NetFirewallPortFilter; $af NetFirewallAddressFilter; $rule NetFirewallRule; $portFilter NetFirewallPortFilter; $addressFilter NetFirewallAddressFilter; $apf NetFirewallApplicationFilter; $sf NetFirewallServiceFilter; $appFilter NetFirewallApplicationFilter; $serviceFilter NetFirewallServiceFilter
        $portFilters = @{}
        foreach ($pf in @(Get-NetFirewallPortFilter -All -PolicyStore ActiveStore)) { $portFilters[[string]$pf.InstanceID] = $pf }
        $addressFilters = @{}
        foreach ($af in @(Get-NetFirewallAddressFilter -All -PolicyStore ActiveStore)) { $addressFilters[[string]$af.InstanceID] = $af }
        $appFilters = @{}
        foreach ($apf in @(Get-NetFirewallApplicationFilter -All -PolicyStore ActiveStore)) { $appFilters[[string]$apf.InstanceID] = $apf }
        $serviceFilters = @{}
        foreach ($sf in @(Get-NetFirewallServiceFilter -All -PolicyStore ActiveStore)) { $serviceFilters[[string]$sf.InstanceID] = $sf }
        $rules = @()
        foreach ($rule in @(Get-NetFirewallRule -PolicyStore ActiveStore -Direction Inbound -Enabled True)) {
            $portFilter = $portFilters[[string]$rule.InstanceID]
            $addressFilter = $addressFilters[[string]$rule.InstanceID]
            $protocol = $null
            $localPorts = @()
            $remoteAddresses = @()
            $appFilter = $appFilters[[string]$rule.InstanceID]
            $serviceFilter = $serviceFilters[[string]$rule.InstanceID]
            $program = $null
            $service = $null
            if ($appFilter) { $program = [string]$appFilter.Program }
            if ($serviceFilter) { $service = [string]$serviceFilter.Service }
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
                    remote_addresses = $remoteAddresses; policy_store_source_type = [string]$rule.PolicyStoreSourceType
                    policy_store_source = [string]$rule.PolicyStoreSource; program = $program; service = $service })
        }
        $out.firewall_rules = $rules
    }
}

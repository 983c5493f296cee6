if ($request.hyperv) {
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
}

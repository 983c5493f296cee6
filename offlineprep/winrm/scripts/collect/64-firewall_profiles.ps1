if ($request.hyperv) {
    Try-Section 'firewall_profiles' {
        # the per-profile state in force (Get-NetFirewallProfile -PolicyStore ActiveStore, Microsoft's example 1)
        # types: $fp NetFirewallProfile
        $profiles = @()
        foreach ($fp in @(Get-NetFirewallProfile -PolicyStore ActiveStore)) {
            $profiles += , ([ordered]@{ name = [string]$fp.Name; enabled = [string]$fp.Enabled
                    default_inbound_action = [string]$fp.DefaultInboundAction; allow_inbound_rules = [string]$fp.AllowInboundRules
                    allow_local_firewall_rules = [string]$fp.AllowLocalFirewallRules })
        }
        $out.firewall_profiles = $profiles
    }
}

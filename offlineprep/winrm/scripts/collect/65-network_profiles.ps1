if ($request.hyperv) {
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

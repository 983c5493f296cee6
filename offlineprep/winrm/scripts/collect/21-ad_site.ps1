if ($request.hyperv) {
    Try-Section 'ad_site' {
        # The host's Active Directory site, whose DCs issue its Kerberos tickets (ad.replicated shows it beside each
        # DC's site). Net Logon keeps the site it found in DynamicSiteName; a site an administrator entered is in
        # SiteName and is used instead ("SiteNameTimeout", Netlogon\Parameters: "When an administrator enters a site
        # name, it is stored in the value of the SiteName entry, and this value is used instead of the value
        # determined automatically and stored in the DynamicSiteName entry"). Values not set read as $null.
        # types: $netlogon NetlogonParameters
        $netlogon = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Services\Netlogon\Parameters' -ErrorAction SilentlyContinue
        $out.ad_site = [ordered]@{ site_name = $null; dynamic_site_name = $null }
        if ($netlogon) {
            if ($netlogon.SiteName) { $out.ad_site.site_name = [string]$netlogon.SiteName }
            if ($netlogon.DynamicSiteName) { $out.ad_site.dynamic_site_name = [string]$netlogon.DynamicSiteName }
        }
    }
}

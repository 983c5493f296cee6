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
}

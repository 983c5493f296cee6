if (@($request.paths).Count -gt 0) {
    Try-Section 'server_names' {
        # The names the SMB server answers to besides its own: DisableStrictNameChecking (1: any name, Microsoft KB
        # 3181029 "SMB file server share access is unsuccessful through DNS CNAME alias") and OptionalNames under
        # LanmanServer\Parameters; the alternate computer names netdom computername /add records (DnsCache\Parameters
        # AlternateComputerNames). Values that are not set read as $null.
        # SmbServerNameHardeningLevel (Get-SmbServerConfiguration; policy "Microsoft network server: Server SPN target
        # name validation level": 0 off, 1 accept if provided by client, 2 required from client) checks the SPN the
        # client sends against the server's own names.
        # types: $lanman LanmanServerParameters; $dnscache DnsCacheParameters; $names Answer; $smbServer MSFT_SmbServerConfiguration
        $lanman = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters' -ErrorAction SilentlyContinue
        $dnscache = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Services\Dnscache\Parameters' -ErrorAction SilentlyContinue
        $names = [ordered]@{ disable_strict_name_checking = $null; optional_names = @(); alternate_names = @(); name_hardening_level = $null }
        $smbServer = Get-SmbServerConfiguration
        if ($null -ne $smbServer.SmbServerNameHardeningLevel) { $names.name_hardening_level = [int]$smbServer.SmbServerNameHardeningLevel }
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

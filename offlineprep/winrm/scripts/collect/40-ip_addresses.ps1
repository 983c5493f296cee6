Try-Section 'ip_addresses' {
    # types: $nic Win32_NetworkAdapterConfiguration
    $addresses = @()
    foreach ($nic in @(Get-CimInstance Win32_NetworkAdapterConfiguration -Filter 'IPEnabled=True')) {
        foreach ($address in @($nic.IPAddress)) { if ($address) { $addresses += [string]$address } }
    }
    $out.ip_addresses = $addresses
}


Try-Section 'clock' {
    # The host's own UTC clock, read first: host.clock-skew compares it with the domain controller's (rootDSE
    # currentTime), and the collector notes its own clock around this command. W32Time's Type (NT5DS: the domain
    # hierarchy, NTP, NoSync, AllSync: "Windows Time service tools and settings") is what a fix would change.
    # types: $w32time W32TimeParameters
    $out.clock = [ordered]@{ utc = [DateTime]::UtcNow.ToString('o'); time_source_type = $null }
    $w32time = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Services\W32Time\Parameters' -ErrorAction SilentlyContinue
    if ($w32time) { $out.clock.time_source_type = [string]$w32time.Type }
}


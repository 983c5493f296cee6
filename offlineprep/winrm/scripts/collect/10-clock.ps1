Try-Section 'clock' {
    # The host's own UTC clock, read first: host.clock-skew compares it with the domain controller's (rootDSE
    # currentTime), and the collector notes its own clock around this command. W32Time's Type (NT5DS: the domain
    # hierarchy, NTP, NoSync, AllSync: "Windows Time service tools and settings") is what a fix would change.
    # Group Policy's values (HKLM\SOFTWARE\Policies\Microsoft\W32Time\Parameters, the "Configure Windows NTP
    # Client" and "Global Configuration Settings" policies) overwrite the service's own (same page, "Configure the
    # Windows Time service by using Group Policy"): they are read too, so a fix never sets a value policy replaces.
    # types: $w32time W32TimeParameters
    # types: $w32policy W32TimePolicyParameters
    $out.clock = [ordered]@{ utc = [DateTime]::UtcNow.ToString('o'); time_source_type = $null; ntp_server = $null
                             policy_time_source_type = $null; policy_ntp_server = $null }
    $w32time = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Services\W32Time\Parameters' -ErrorAction SilentlyContinue
    if ($w32time) { $out.clock.time_source_type = [string]$w32time.Type; $out.clock.ntp_server = [string]$w32time.NtpServer }
    # the key exists only when a policy sets a value in it; a value it lacks is not set by policy ($null)
    $w32policy = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Policies\Microsoft\W32Time\Parameters' -ErrorAction SilentlyContinue
    if ($w32policy) {
        if ($null -ne $w32policy.Type) { $out.clock.policy_time_source_type = [string]$w32policy.Type }
        if ($null -ne $w32policy.NtpServer) { $out.clock.policy_ntp_server = [string]$w32policy.NtpServer }
    }
}

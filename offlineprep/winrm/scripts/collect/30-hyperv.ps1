Try-Section 'hyperv' {
    # types: $feature WindowsFeature; $optional Win32_OptionalFeature; $svc ServiceController
    $installed = $null
    try {
        $feature = Get-WindowsFeature -Name Hyper-V
        $installed = ([string]$feature.InstallState -eq 'Installed')
    } catch {
        # Get-WindowsFeature exists on servers only; Win32_OptionalFeature InstallState 1 is Enabled
        $optional = Get-CimInstance Win32_OptionalFeature -Filter "Name='Microsoft-Hyper-V'"
        $installed = [bool]($optional -and $optional.InstallState -eq 1)
    }
    $svc = Get-Service -Name vmms -ErrorAction SilentlyContinue
    $vmms = $null
    if ($svc) { $vmms = [string]$svc.Status }
    $out.hyperv = [ordered]@{ installed = $installed; vmms = $vmms }
}

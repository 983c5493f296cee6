Try-Section 'hyperv' {
    # types: $feature WindowsFeature; $optional Win32_OptionalFeature; $svc ServiceController
    $installed = $null
    $installState = $null
    try {
        # InstallState InstallPending: installed, waiting for the restart that finishes it (not "not installed")
        $feature = Get-WindowsFeature -Name Hyper-V
        $installState = [string]$feature.InstallState
        $installed = ($installState -eq 'Installed')
    } catch {
        # Get-WindowsFeature exists on servers only; Win32_OptionalFeature InstallState 1 is Enabled
        $optional = Get-CimInstance Win32_OptionalFeature -Filter "Name='Microsoft-Hyper-V'"
        $installed = [bool]($optional -and $optional.InstallState -eq 1)
    }
    $svc = Get-Service -Name vmms -ErrorAction SilentlyContinue
    $vmms = $null
    if ($svc) { $vmms = [string]$svc.Status }
    # the Hyper-V PowerShell module (feature Hyper-V-PowerShell) holds Get-VM and Get-VMReplicationServer
    $module = [bool](Get-Module -ListAvailable -Name Hyper-V)
    $out.hyperv = [ordered]@{ installed = $installed; vmms = $vmms; install_state = $installState; module = $module }
}

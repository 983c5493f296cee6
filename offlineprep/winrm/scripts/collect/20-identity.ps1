Try-Section 'identity' {
    # types: $cs Win32_ComputerSystem; $os Win32_OperatingSystem; $ipProperties IPGlobalProperties
    $cs = Get-CimInstance Win32_ComputerSystem
    $out.computer_name = [string]$cs.DNSHostName
    if ($cs.PartOfDomain -and $cs.Domain) {
        $out.computer_name = [string]$cs.DNSHostName + '.' + [string]$cs.Domain
        $out.domain = [string]$cs.Domain
    }
    # The FQDN is the host name under the primary DNS suffix, which need not be the AD domain (a disjoint namespace:
    # Microsoft, "Disjoint Namespace"); IPGlobalProperties.DomainName is that suffix (GetNetworkParams FIXED_INFO)
    $ipProperties = [System.Net.NetworkInformation.IPGlobalProperties]::GetIPGlobalProperties()
    $out.primary_dns_suffix = [string]$ipProperties.DomainName
    if ($ipProperties.DomainName) { $out.computer_name = [string]$cs.DNSHostName + '.' + [string]$ipProperties.DomainName }
    # DomainRole 4 and 5 are domain controllers (backup, primary), 3 a member server (Win32_ComputerSystem)
    $out.domain_role = [int]$cs.DomainRole
    $os = Get-CimInstance Win32_OperatingSystem
    $out.os = [ordered]@{ caption = [string]$os.Caption; version = [string]$os.Version; build = [string]$os.BuildNumber }
}

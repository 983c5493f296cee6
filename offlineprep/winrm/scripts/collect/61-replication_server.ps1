if ($request.hyperv) {
    Try-Section 'replication_server' {
        if (-not (Get-Module -ListAvailable -Name Hyper-V)) { throw 'the Hyper-V PowerShell module is not installed (Windows feature Hyper-V-PowerShell): Get-VMReplicationServer cannot be run' }
        # KerberosAuthenticationPort / CertificateAuthenticationPort are the object's properties; KerbAuthPort and
        # CertAuthPort are only parameter aliases of Set-VMReplicationServer and column headings of its table view
        # The authorization entries say which primary servers (an FQDN, or *.domain) the Replica server accepts and where
        # their replicas go (Get-VMReplicationAuthorizationEntry); each storage location is tested here, on the host.
        # types: $rs VMReplicationServer; $auth VMReplicationAuthorizationEntry
        $rs = Get-VMReplicationServer
        $entries = $null
        try {
            $entries = @()
            foreach ($auth in @(Get-VMReplicationAuthorizationEntry)) {
                $location = [string]$auth.ReplicaStorageLocation
                $entries += , ([ordered]@{ allowed_primary_server = [string]$auth.AllowedPrimaryServer
                        storage_location = $location; trust_group = [string]$auth.TrustGroup
                        storage_exists = [bool]($location -and (Test-Path -LiteralPath $location -PathType Container)) })
            }
        } catch { $out.errors['authorization_entries'] = $_.Exception.Message; $entries = $null }
        $default = [string]$rs.DefaultStorageLocation
        $out.replication_server = [ordered]@{ enabled = [bool]$rs.ReplicationEnabled
            kerberos_port = $rs.KerberosAuthenticationPort; certificate_port = $rs.CertificateAuthenticationPort
            allowed_authentication = [string]$rs.AllowedAuthenticationType
            allowed_from_any_server = [bool]$rs.ReplicationAllowedFromAnyServer; default_storage_location = $default
            default_storage_exists = [bool]($default -and (Test-Path -LiteralPath $default -PathType Container))
            certificate_thumbprint = [string]$rs.CertificateThumbprint; authorization_entries = $entries }
    }
}

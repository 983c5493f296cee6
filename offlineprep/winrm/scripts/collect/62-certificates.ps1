if ($request.hyperv) {
    Try-Section 'certificates' {
        # LocalMachine\My through the certificate provider, which adds DnsNameList and EnhancedKeyUsageList (object
        # identifiers, not localised names). Hyper-V Replica's certificate needs a private key, Client and Server
        # Authentication, its validity, the host's FQDN in the subject or the DNS names, and a chain to a trusted root
        # (Set-VMReplicationServer -CertificateThumbprint). The chain is built as Hyper-V Replica builds it: in the
        # machine's context (X509Chain(true): LocalMachine's stores, not the WinRM user's), with revocation checked
        # online unless DisableCertRevocationCheck is 1 under HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\
        # Virtualization\Replication (KB 2767928). Each CRL download is bounded (UrlRetrievalTimeout 3 s; a CRL that
        # cannot be reached gives RevocationStatusUnknown / OfflineRevocation), and the chain is built only for a
        # certificate that meets the rest, so the section stays short. The chain's last element is its root; the
        # thumbprints of LocalMachine\Root say which roots this host trusts (each side must trust the other's).
        # types: $cert X509Certificate2; $dns DnsNameRepresentation; $eku EnhancedKeyUsageRepresentation; $chain X509Chain
        # types: $status X509ChainStatus; $certEntry Answer; $notBefore DateTime; $notAfter DateTime
        # types: $replication ReplicationParameters; $elements X509ChainElementCollection; $element X509ChainElement
        # types: $root X509Certificate2
        $replication = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Virtualization\Replication' -ErrorAction SilentlyContinue
        $noRevocation = $false
        $out.cert_revocation_check_disabled = $null
        if ($replication -and $null -ne $replication.DisableCertRevocationCheck) {
            $out.cert_revocation_check_disabled = [int]$replication.DisableCertRevocationCheck
            $noRevocation = ([int]$replication.DisableCertRevocationCheck -eq 1)
        }
        $roots = @()
        foreach ($root in @(Get-ChildItem -LiteralPath 'Cert:\LocalMachine\Root')) { $roots += [string]$root.Thumbprint }
        $out.trusted_roots = $roots
        $certs = @()
        $now = [DateTime]::UtcNow
        foreach ($cert in @(Get-ChildItem -LiteralPath 'Cert:\LocalMachine\My')) {
            $dnsNames = @()
            foreach ($dns in @($cert.DnsNameList)) { if ($dns) { $dnsNames += [string]$dns.Unicode } }
            $ekus = @()
            foreach ($eku in @($cert.EnhancedKeyUsageList)) { if ($eku) { $ekus += [string]$eku.ObjectId } }
            $notBefore = $cert.NotBefore.ToUniversalTime()
            $notAfter = $cert.NotAfter.ToUniversalTime()
            $certEntry = [ordered]@{ thumbprint = [string]$cert.Thumbprint; subject = [string]$cert.Subject
                dns_names = $dnsNames; ekus = $ekus; not_before = $notBefore.ToString('o'); not_after = $notAfter.ToString('o')
                has_private_key = [bool]$cert.HasPrivateKey; chain_ok = $null; chain_status = @()
                revocation_checked = $null; root_thumbprint = $null }
            if ($cert.HasPrivateKey -and $ekus -contains '1.3.6.1.5.5.7.3.1' -and $ekus -contains '1.3.6.1.5.5.7.3.2' -and
                $notBefore -le $now -and $notAfter -ge $now) {
                $chain = New-Object Security.Cryptography.X509Certificates.X509Chain -ArgumentList $true
                if ($noRevocation) { $chain.ChainPolicy.RevocationMode = 'NoCheck' } else { $chain.ChainPolicy.RevocationMode = 'Online' }
                $chain.ChainPolicy.UrlRetrievalTimeout = [TimeSpan]::FromSeconds(3)
                $certEntry.chain_ok = [bool]$chain.Build($cert)
                $certEntry.revocation_checked = -not $noRevocation
                foreach ($status in @($chain.ChainStatus)) { $certEntry.chain_status += [string]$status.Status }
                $elements = $chain.ChainElements
                if ($elements.Count -gt 0) {
                    $element = $elements[$elements.Count - 1]
                    $certEntry.root_thumbprint = [string]$element.Certificate.Thumbprint
                }
                $chain.Reset()
            }
            $certs += , $certEntry
        }
        $out.certificates = $certs
    }
}

if ($request.hyperv) {
    Try-Section 'certificates' {
        # LocalMachine\My through the certificate provider, which adds DnsNameList and EnhancedKeyUsageList (object
        # identifiers, not localised names). Hyper-V Replica's certificate needs a private key, Client and Server
        # Authentication, its validity, the host's FQDN in the subject or the DNS names, and a chain to a trusted root
        # (Set-VMReplicationServer -CertificateThumbprint). The chain (X509Chain, revocation not checked, URL retrieval
        # bounded to 1 s) is built only for a certificate that meets the rest, so the section stays short.
        # types: $cert X509Certificate2; $dns DnsNameRepresentation; $eku EnhancedKeyUsageRepresentation; $chain X509Chain
        # types: $status X509ChainStatus; $certEntry Answer; $notBefore DateTime; $notAfter DateTime
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
                has_private_key = [bool]$cert.HasPrivateKey; chain_ok = $null; chain_status = @() }
            if ($cert.HasPrivateKey -and $ekus -contains '1.3.6.1.5.5.7.3.1' -and $ekus -contains '1.3.6.1.5.5.7.3.2' -and
                $notBefore -le $now -and $notAfter -ge $now) {
                $chain = New-Object Security.Cryptography.X509Certificates.X509Chain
                $chain.ChainPolicy.RevocationMode = 'NoCheck'
                $chain.ChainPolicy.UrlRetrievalTimeout = [TimeSpan]::FromSeconds(1)
                $certEntry.chain_ok = [bool]$chain.Build($cert)
                foreach ($status in @($chain.ChainStatus)) { $certEntry.chain_status += [string]$status.Status }
                $chain.Reset()
            }
            $certs += , $certEntry
        }
        $out.certificates = $certs
    }
}

if ($request.hyperv -and @($request.replica_connections).Count -gt 0) {
    Try-Section 'replica_connection' {
        if (-not (Get-Module -ListAvailable -Name Hyper-V)) { throw 'the Hyper-V PowerShell module is not installed (Windows feature Hyper-V-PowerShell): Test-VMReplicationConnection cannot be run' }
        # From this primary to each Replica server it replicates to (a Replica cluster: its broker's name), as enabling
        # replication would connect: Test-VMReplicationConnection -ReplicaServerName -ReplicaServerPort
        # -AuthenticationType [-CertificateThumbprint] (https://learn.microsoft.com/powershell/module/hyper-v/test-vmreplicationconnection).
        # It only tests. The certificate presented is this host's own configured one (Get-VMReplicationServer
        # CertificateThumbprint). Every value comes from the request and is bound with AddParameter: never code.
        # A test can hang on an unreachable server, so each runs in a PowerShell instance of its own, all started at once
        # and waited for against one clock ($request.replica_connection_seconds); one still running then is a timeout
        # and is stopped with BeginStop (Stop waits for the stuck call). Hyper-V's error: the ErrorRecord's
        # Exception.Message and FullyQualifiedErrorId, from the error stream or the exception EndInvoke throws.
        # types: $rs VMReplicationServer; $replicaServer ReplicaConnectionRequest; $shell PowerShell; $async IAsyncResult
        # types: $test Answer; $entry Answer; $record ErrorRecord; $thrown RuntimeException; $watch Stopwatch
        $rs = Get-VMReplicationServer
        $thumbprint = [string]$rs.CertificateThumbprint
        $deadline = [int](1000 * [double]$request.replica_connection_seconds)
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $tests = @()
        foreach ($replicaServer in @($request.replica_connections)) {
            $entry = [ordered]@{ server = [string]$replicaServer.server; port = [int]$replicaServer.port
                authentication = [string]$replicaServer.authentication; thumbprint = $null; state = 'not_tested'
                message = $null; error_id = $null; output = $null }
            $shell = $null
            $async = $null
            if ($entry.authentication -eq 'Certificate' -and -not $thumbprint) {
                $entry.message = 'no CertificateThumbprint is configured on this host (Get-VMReplicationServer): certificate authentication has no certificate to present'
            } else {
                $shell = [PowerShell]::Create()
                $null = $shell.AddCommand('Test-VMReplicationConnection').AddParameter('ReplicaServerName', $entry.server)
                $null = $shell.AddParameter('ReplicaServerPort', $entry.port).AddParameter('AuthenticationType', $entry.authentication)
                if ($entry.authentication -eq 'Certificate') {
                    $entry.thumbprint = $thumbprint
                    $null = $shell.AddParameter('CertificateThumbprint', $thumbprint)
                }
                $async = $shell.BeginInvoke()
            }
            $tests += , ([ordered]@{ entry = $entry; shell = $shell; async = $async })
        }
        $connections = @()
        foreach ($test in $tests) {
            $entry = $test.entry
            $shell = $test.shell
            if ($shell) {
                $async = $test.async
                if ($async.AsyncWaitHandle.WaitOne([Math]::Max(0, $deadline - [int]$watch.ElapsedMilliseconds))) {
                    try {
                        $entry.output = (@($shell.EndInvoke($async)) | ForEach-Object { [string]$_ }) -join ' '
                        $record = @($shell.Streams.Error) | Select-Object -First 1
                        if ($record) {
                            $entry.state = 'failed'
                            $entry.message = [string]$record.Exception.Message
                            $entry.error_id = [string]$record.FullyQualifiedErrorId
                        } else { $entry.state = 'connected' }
                    } catch {
                        # EndInvoke's MethodInvocationException holds the cmdlet's own exception
                        $thrown = $_.Exception.InnerException
                        if (-not $thrown) { $thrown = $_.Exception }
                        $entry.state = 'failed'
                        $entry.message = [string]$thrown.Message
                        if ($thrown.ErrorRecord) { $entry.error_id = [string]$thrown.ErrorRecord.FullyQualifiedErrorId }
                    }
                    $shell.Dispose()
                } else {
                    $entry.state = 'timeout'
                    $null = $shell.BeginStop($null, $null)
                }
            }
            $connections += , $entry
        }
        $out.replica_connection = [ordered]@{ seconds = [Math]::Round($watch.Elapsed.TotalSeconds, 3)
            deadline_seconds = [double]$request.replica_connection_seconds; connections = $connections }
    }
}

if (@($request.probes).Count -gt 0) {
    Try-Section 'probes' {
        # From this host itself, as its SMB client will go: each path computer's name through the host's own DNS
        # client, then TCP 445 to each address found (four at most). Everything is started at once and waited for
        # against one clock: the names for up to 2 s, the connections until 4 s in all, so a host where every probe
        # times out still answers in about 4 s. Dns.GetHostAddressesAsync and TcpClient.ConnectAsync (.NET 4.5); not
        # Test-NetConnection, which pings first and waits for each step in turn.
        # types: $watch Stopwatch; $lookup Answer; $probe Answer; $attempt Answer; $task Task; $fault SocketException
        # types: $ip IPAddress; $client TcpClient
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $lookups = @()
        foreach ($name in @($request.probes)) {
            $lookup = [ordered]@{ name = [string]$name; task = $null; error = $null }
            try { $lookup.task = [Net.Dns]::GetHostAddressesAsync([string]$name) } catch { $lookup.error = $_.Exception.Message }
            $lookups += , $lookup
        }
        $probes = @()
        $attempts = @()
        foreach ($lookup in $lookups) {
            $probe = [ordered]@{ name = $lookup.name; addresses = @(); error = $lookup.error; timed_out = $false; connections = @() }
            $task = $lookup.task
            if ($task) {
                try { $null = $task.Wait([Math]::Max(0, 2000 - [int]$watch.ElapsedMilliseconds)) } catch { $null = $_ }
                if ([string]$task.Status -eq 'RanToCompletion') {
                    foreach ($ip in @(@($task.Result) | Select-Object -First 4)) {
                        $probe.addresses += [string]$ip
                        $client = New-Object Net.Sockets.TcpClient($ip.AddressFamily)
                        $attempts += , ([ordered]@{ probe = $probe; address = [string]$ip; client = $client
                                task = $client.ConnectAsync($ip, 445) })
                    }
                } elseif ([string]$task.Status -eq 'Faulted') {
                    $fault = $task.Exception.InnerException
                    $probe.error = [string]$fault.Message
                } else { $probe.timed_out = $true }
            }
            $probes += , $probe
        }
        foreach ($attempt in $attempts) {
            $task = $attempt.task
            try { $null = $task.Wait([Math]::Max(0, 4000 - [int]$watch.ElapsedMilliseconds)) } catch { $null = $_ }
            $state = 'timeout'
            $code = $null
            if ([string]$task.Status -eq 'RanToCompletion') { $state = 'open' }
            elseif ([string]$task.Status -eq 'Faulted') {
                $fault = $task.Exception.InnerException
                $code = [string]$fault.SocketErrorCode
                if ($code -eq 'ConnectionRefused') { $state = 'refused' }
                elseif ($code -eq 'TimedOut') { $state = 'timeout' }
                else { $state = 'error' }
            }
            $attempt.probe.connections += , ([ordered]@{ address = $attempt.address; state = $state; error = $code })
            $client = $attempt.client
            $client.Close()
        }
        $out.probes = [ordered]@{ seconds = [Math]::Round($watch.Elapsed.TotalSeconds, 3); names = $probes }
    }
}

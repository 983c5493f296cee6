# UTF-8 bytes straight to stdout: independent of the console code page, and no BOM
# types: $utf8 UTF8Encoding; $stdout Stream; $payload ByteArray
$utf8 = New-Object Text.UTF8Encoding $false
$payload = $utf8.GetBytes(($out | ConvertTo-Json -Depth 8 -Compress))
$stdout = [Console]::OpenStandardOutput()
$stdout.Write($payload, 0, $payload.Length)
$stdout.Flush()

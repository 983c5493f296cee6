# offlineprep host collector (read-only). Windows PowerShell 5.1 compatible (Windows Server 2012 R2 to 2022).
# Input: one argument, the request as base64-encoded UTF-8 JSON: values arrive as data, never as code.
# Output: one JSON document on stdout, the answer offlineprep/host/v1 (docs/host.schema.json). Each section is
# wrapped so a failing cmdlet records an error for that section instead of ending the script.
# Every member this script reads is one Windows documents for that object: each variable's type is declared in
# a "# types:" comment, and tests/hosts/test_windows_members.py holds every member read against
# offlineprep/lab/windows_members.json, which cites the Microsoft page or public module each member comes from.
# Enumerations are written as strings ([string]$x): ConvertTo-Json of Windows PowerShell 5.1 writes them as numbers.
# Assembled from offlineprep/winrm/scripts/collect/*.ps1 in name order: one part per section, each guarded by
# what the request asks for; a section's answer model and its facts are offlineprep/collect/sections/<section>.py.
param([string]$RequestB64)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
# types: $request Request; $_ ErrorRecord; $out Answer
$request = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($RequestB64)) | ConvertFrom-Json
$out = [ordered]@{ schema = 'offlineprep/host/v1'; errors = [ordered]@{} }

function Try-Section([string]$name, [scriptblock]$block) {
    # $null = : anything a section emits by accident must not reach stdout ahead of the JSON
    try { $null = & $block } catch { $out.errors[$name] = $_.Exception.Message }
}


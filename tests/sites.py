"""A healthy site file used across the tests (the fixtures write it to a temp folder)."""

SITE_TOML = r"""
[directory]
server = "ldaps://dc1.contoso.com"
user = "svc-preflight@contoso.com"

[winrm]
transport = "basic"
scheme = "http"
user = "CONTOSO\\svc-preflight"

[accounts]
vmm_service = "CONTOSO\\svc-vmm"
run_as = ["CONTOSO\\svc-runas"]

[source]
hosts = ["hv01.contoso.com", "hv02"]
export_path = '\\fs01.contoso.com\ASRExport'

[target]
hosts = ["hv11.contoso.com"]
import_path = '\\fs11.contoso.com\ASRImport'

[policy]
name = "Gold"
host_os = "Windows Server 2012 R2"
copy_frequency = "5m"
recovery_point_retention_hours = 24
app_consistent_snapshot_frequency_hours = 4
"""

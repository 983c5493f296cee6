"""The one way any script of ours reaches Windows (docs/architecture.md).

- `delivery`: the bootstrap and its command line, the pywinrm Protocol and its timeouts, the
  streaming of request and script on stdin, progress and the machine's own deadline.
- `causes`: why a WinRM connection or command failed, in one plain sentence; `diagnose`: the same
  for any TCP/TLS endpoint (the LDAP collector's), asked again after a failure.
- `scripts`: every PowerShell script offlineprep ships, behind one registry.
- `text`: remote and library text made fit to show (one line, no password).

Only this package (and the lab) imports pywinrm.
"""

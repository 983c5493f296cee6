"""The commented example site file `offlineprep init` writes; a test proves it validates.

It agrees with the README's install line (`pip install .`): every connection it asks for works with
what that installs, so the first `offlineprep preflight` after `init` passes the local check
(offlineprep/localcheck.py) and goes on to the passwords and the network. WinRM uses NTLM for that
reason (pywinrm brings requests-ntlm; inside HTTPS); Kerberos, the stronger choice, needs the
`kerberos` extra, the MIT client and a ticket (README, "Kerberos"), and is one line away.
tests/test_first_run.py installs a fresh venv and runs init then preflight, as a new user would.
"""

EXAMPLE_SITE = r'''# offlineprep site file: what to check before offline initial replication.
# Secrets never go in this file: passwords come from the environment variables named below
# (or a prompt when a terminal is attached).

[directory]                                   # Active Directory, read over LDAP (read-only)
server = "ldaps://dc1.contoso.com"            # ldaps://, or ldap:// with start_tls = true
user = "svc-preflight@contoso.com"            # UPN or DOMAIN\\name; not needed with auth = "kerberos"
auth = "simple"                               # simple (TLS required) | ntlm | kerberos (uses your ticket cache)
password_env = "OFFLINEPREP_LDAP_PASSWORD"    # the environment variable that holds the password
verify_tls = true                             # false only for a lab: a warning is printed
# start_tls = true                            # with ldap://
# ca_file = "contoso-ca.pem"                  # trust a private CA
# base_dn = "DC=contoso,DC=com"               # default: read from the rootDSE
# timeout_seconds = 30

[winrm]                                       # the Hyper-V hosts and file servers, one read-only command each
transport = "ntlm"                            # ntlm (works after `pip install .`) | kerberos (needs the kerberos
                                              # extra and a ticket: README "Kerberos") | credssp | basic | certificate
scheme = "https"                              # https (port 5986) | http (5985, message encryption required)
user = "CONTOSO\\svc-preflight"               # DOMAIN\\name; not needed with transport = "kerberos"
password_env = "OFFLINEPREP_WINRM_PASSWORD"
verify_tls = true
concurrency = 16                              # hosts queried at once
timeout_seconds = 60                          # per host
# port = 5986
# ca_file = "contoso-ca.pem"

[accounts]
vmm_service = "CONTOSO\\svc-vmm"              # the account the VMM service runs as
run_as = ["CONTOSO\\svc-hvadmin"]             # Run As accounts used to add the hosts to VMM

# [vmm]                                       # or let VMM name the hosts, clusters and accounts (docs/inventory.md)
# server = "vmm01.contoso.com"                # one read-only PowerShell on it (VirtualMachineManager module)
# source_cloud = "Gold"                       # or source_host_groups = ["Production"]
# target_cloud = "Recovery"                   # then [source]/[target] hosts and [accounts] may be left out
# run_as = ["Host Admins"]                    # VMM's names of the Run As accounts the hosts were added with

# Several domains: one [[directory]] per domain instead of [directory], each with domain = "..."
# [[directory]]
# domain = "fabrikam.com"
# server = "ldaps://dc1.fabrikam.com"
# user = "svc-preflight@fabrikam.com"
# password_env = "FABRIKAM_LDAP_PASSWORD"

[source]                                      # the primary site
hosts = ["hv01.contoso.com", "hv02.contoso.com"]
export_path = '\\fs01.contoso.com\ASRExport'  # UNC path; or a local path with export_server = "fs01.contoso.com"

[target]                                      # the recovery site
hosts = ["hv11.contoso.com"]
import_path = '\\fs11.contoso.com\ASRImport'

[policy]                                      # the replication policy you are about to create (optional)
name = "Gold-Offline"
host_os = "Windows Server 2012 R2"            # every host under the policy must run this
authentication = "certificate"                # certificate | kerberos
# port = 8084                                 # replication listener port, when not the host's own
copy_frequency = "5m"                         # 30s | 5m | 15m
recovery_point_retention_hours = 24
app_consistent_snapshot_frequency_hours = 4   # 1-12, and less than the retention hours
compression = true
delete_replica_vm = false
initial_replication = "offline"               # offline | online
manager = "asr"                               # asr (Site Recovery sets up the Replica servers and their
                                              # certificates) | hyperv-replica (you do: replica.* checks them)
'''

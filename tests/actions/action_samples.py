"""One action of every type, each string field filled with a value the caller chooses (hostile ones
in the injection tests), and helpers that read the PowerShell the way the tests need."""

from __future__ import annotations

import pwsh_syntax
from pydantic import ValidationError

from offlineprep import remediation as r
from offlineprep.actions import types as t

SID = "S-1-5-21-100-200-300-1101"


def every_action(value: str, machine: str = "fs01.contoso.com") -> list[t.ActionBase]:
    """Every action type, with `value` wherever a name, path, SPN or DN from AD, a host or the site
    file goes. Machine names stay DNS names (the site file allows nothing else there)."""
    holder = t.SpnHolderRef(distinguished_name=f"CN={value},DC=contoso,DC=com", spn=f"HOST/{value}", label=value)
    sddl = f"O:BAG:SYD:(A;OICI;0x1200a9;;;{SID})(A;OICIID;FA;;;BA)"
    return [
        t.AddDelegationValues(computer=value, values=[f"cifs/{value}", "cifs/fs01"], before=[value]),
        t.SetProtocolTransition(account=value, before_uac=0x1000 | 0x80000, clear_unconstrained=True),
        r.clear_not_delegated(value, uac=0x200 | 0x100000),
        r.enable_account(value, computer=True, uac=0x1002),
        r.leave_protected_users(value, "S-1-5-21-100-200-300-525", member_dn=f"CN={value},DC=contoso,DC=com",
                                label=value),
        r.add_directory_group_member("S-1-5-32-544", value, SID, member_dn=f"CN={value},DC=contoso,DC=com",
                                     label=value),
        r.move_spn(f"HOST/{value}", add_to=value, add_to_label=value, remove_from=[holder], before=[holder]),
        t.AllowDelegationFrom(computer=value, principals=[value, "HV02"], before=[SID]),
        t.CreateShare(owner=t.file_server(machine), share=value, local_path=f"D:\\{value}"),
        t.CreateShare(owner=t.file_server(machine), share=value, local_path=f"D:\\{value}", scope=value),
        t.CreateFolder(owner=t.file_server(machine), local_path=f"D:\\{value}"),
        r.share_grant(machine, value, value, "Full", account_sid=SID, before_sddl=f"O:SYG:SYD:(A;;0x1200a9;;;{SID})"),
        r.share_grant(machine, value, value, "Full", account_sid=SID, before_sddl=f"O:SYG:SYD:(A;;0x1200a9;;;{SID})",
                      scope=value),
        *_ntfs_grants(machine, value, sddl),
        t.AddLocalGroupMember(owner=t.file_server(machine), group_sid="S-1-5-32-544", group_label=value, member=value,
                              member_sid=SID),
        t.AddLocalGroupMember(owner=t.file_server(machine), group_sid="S-1-5-32-544", member=value),
        r.open_firewall_port(machine, 8084, remote_address=[value, "10.0.0.0/8"], before=[value]),
        r.disable_firewall_rules(machine, 8084, [value, "Block 8084"]),
        t.ConfigureWinRMListener(owner=t.hyperv_host(machine), computer_name=value, dns_name=value, scheme="https",
                                 port=5986, before="tls"),
        t.ConfigureWinRMListener(owner=t.file_server(machine), computer_name=value, dns_name=value, scheme="http",
                                 port=5985, before="timeout"),
        t.RefreshTickets(owner=t.hyperv_host(machine)),
        r.manual(value, t.file_server(machine)),
        t.InstallRole(owner=t.hyperv_host(machine), feature=value),
        r.start_service(machine, value, before="Stopped", hyperv=False),
        r.sync_time(machine, before_type="NTP", hyperv=True),
        r.sync_time(machine, before_type=None, hyperv=False),
        r.replica_settings(machine, {"ReplicationEnabled": False, "AllowedAuthenticationType": "Kerberos",
                                     "ReplicationAllowedFromAnyServer": False, "DefaultStorageLocation": f"D:\\{value}",
                                     "CertificateThumbprint": None},
                           {"ReplicationEnabled": True, "AllowedAuthenticationType": "CertificateAndKerberos",
                            "CertificateThumbprint": "AB" * 20}),
        r.authorize_primary(machine, value, f"D:\\{value}", value),
        r.accept_alias(machine, value, before=None),
        r.accept_alias(machine, value, before=0),
        r.open_smb_port(machine, "hv01.contoso.com", [value]),
    ]


def _ntfs_grants(machine: str, value: str, sddl: str) -> list[t.ActionBase]:
    """The NTFS grants, with `value` as path and account where icacls can be given it as one argument; a value
    it could not (a quote, a line end: tests/security/test_native_arguments.py) is refused by the model."""
    try:
        return [r.ntfs_grant(machine, f"D:\\{value}", value, 0x1F01FF, "Full Control", account_sid=SID,
                             before_sddl=sddl),
                r.ntfs_grant(machine, f"D:\\{value}", value, 0x12019F, "read and write")]  # no SID, no saved state
    except ValidationError:
        return _ntfs_grants(machine, "refused", sddl)


def commands(script: str) -> list[tuple[str, str]]:
    """(command name, the whole command's text) for every command the parser finds."""
    parsed = pwsh_syntax.assert_valid(script)
    out = []
    for node in parsed.nodes():
        if node.type == "command":
            name = next((c for c in node.children if c.type == "command_name"), None)
            if name is not None:
                out.append((parsed.source[name.start_byte:name.end_byte].decode(),
                            parsed.source[node.start_byte:node.end_byte].decode("utf-8", "surrogatepass")))
    return out

"""collect.ps1 cannot run here (no Windows PowerShell), so its text is held to what Windows
PowerShell 5.1 on Windows Server 2012 R2-2022 needs, and the parser to what the script prints."""

from __future__ import annotations

import json
import re

from offlineprep.collect.hosts import collection_script, parse_output
from offlineprep.collect.requests import HostRequest
from offlineprep.facts import ErrorKind
from offlineprep.lab.windows import SimulatedHost, SimVM
from offlineprep.lab.winrm_endpoint import WinRMEndpoint
from offlineprep.site import WinRMConfig
from offlineprep.winrm.delivery import decode_clixml

SCRIPT = collection_script()
CODE = "\n".join(line.split("#", 1)[0] for line in SCRIPT.splitlines())  # comments removed


def section(name: str) -> str:
    """The text of one `Try-Section 'name' { ... }` block (up to the next section or the end)."""
    start = SCRIPT.index(f"Try-Section '{name}'")
    following = SCRIPT.find("Try-Section '", start + 1)
    return SCRIPT[start:following if following != -1 else len(SCRIPT)]


def test_script_is_ascii_so_the_console_input_code_page_cannot_change_it() -> None:
    assert SCRIPT.isascii()


def test_script_uses_no_syntax_newer_than_windows_powershell_5_1() -> None:
    code = CODE
    for newer in ("??", "?.", "&&", "||", "-AsHashtable", "-Parallel", "::new(", "Get-LocalGroupMember"):
        assert newer not in code, newer
    # paths from the request go to -LiteralPath only: `[`/`]` in a folder name are not wildcards
    assert not re.search(r"Get-(Acl|Item|ChildItem)\s+(-Path\b|\$)", code)


def test_json_goes_to_stdout_as_utf8_bytes_whatever_the_console_code_page() -> None:
    # [Console]::Out encodes with the console output code page (an OEM page unless the shell's
    # codepage option took): a non-ASCII share or VM name would arrive as '?' or as invalid UTF-8
    assert "[Console]::Out.Write" not in SCRIPT
    assert "[Console]::OpenStandardOutput()" in SCRIPT and "UTF8Encoding $false" in SCRIPT
    assert "ConvertTo-Json -Depth" in SCRIPT


def test_a_section_cannot_print_ahead_of_the_json() -> None:
    assert "$null = & $block" in SCRIPT


def test_firewall_reads_the_active_store_and_port_filters_once() -> None:
    text = section("firewall_rules")
    # the default PersistentStore misses every rule that Group Policy deploys
    assert re.search(r"Get-NetFirewallRule\s[^\n]*-PolicyStore ActiveStore", text)
    # one Get-NetFirewallPortFilter per rule is one CIM query per rule: minutes on a host with 500 rules
    assert text.count("Get-NetFirewallPortFilter") == 1
    assert re.search(r"Get-NetFirewallPortFilter -All -PolicyStore ActiveStore", text)
    assert "| Get-NetFirewallPortFilter" not in text
    assert text.index("Get-NetFirewallPortFilter") < text.index("foreach ($rule")


def test_free_space_is_read_from_the_volume_holding_the_path_mount_points_included() -> None:
    # GetPathRoot gives C:\ for C:\ClusterStorage\Volume1\Export: the free space of the system volume
    assert "GetPathRoot" not in SCRIPT
    assert re.search(r"Win32_Volume.*StartsWith", SCRIPT, re.S)
    assert "$volName.Length -gt ([string]$best.Name).Length" in SCRIPT  # the longest mount point wins


def test_one_unreadable_disk_costs_only_its_vm() -> None:
    text = section("vms")
    per_vm = text.index("foreach ($vm")
    assert per_vm < text.index("try {", per_vm) < text.index("Get-VHD", per_vm)
    assert "DiskNumber" in text  # a pass-through disk has no file for Get-VHD


def test_a_share_with_the_same_name_in_several_scopes_gives_one_share() -> None:
    # on a clustered file server Get-SmbShare lists one object per scope; member enumeration would
    # join the SDDLs of all of them into one string: one share object, of the scope the name reaches
    assert "$allShares = @(Get-SmbShare)" in SCRIPT
    assert "[string]$share.ScopeName -eq $scope) { $match = $share }" in SCRIPT
    assert "Join-Path" not in CODE


def test_only_item_not_found_makes_a_path_absent() -> None:
    # -ErrorAction SilentlyContinue alone turned "access denied" into exists = false: path.exists
    # then failed with "does not exist" for a folder that is there
    assert "-ErrorVariable itemErrors" in CODE
    assert re.search(r"-isnot \[Management\.Automation\.ItemNotFoundException\]\)\s*\{\s*throw", CODE)


def test_unknown_disk_size_keeps_the_other_vms() -> None:
    host = SimulatedHost("HV01.lab.test", hyperv_installed=True,
                         vms=[SimVM("ok", 7), SimVM("passthrough", None, "pass-through disk 2: no file to size")])
    config = WinRMConfig(transport="basic", scheme="http", user="lab\\preflight", timeout_seconds=3)
    with WinRMEndpoint({"hv01": host}, password="pw-for-the-lab") as ep:
        from offlineprep.collect.hosts import collect_hosts

        found = collect_hosts(config, [HostRequest("hv01", hyperv=True)], "pw-for-the-lab",
                              session_factory=ep.protocol_factory(3))
    vms = found["hv01"].vms
    assert vms is not None and [(v.name, v.disk_bytes) for v in vms] == [("ok", 7), ("passthrough", None)]


def test_parser_accepts_a_bom_and_non_ascii_names() -> None:
    doc = {"schema": "offlineprep/host/v1", "errors": {}, "computer_name": "SRV-MÜNCHEN.lab.test",
           "vms": [{"name": "Prüfung-ü", "disk_bytes": 1}]}
    facts = parse_output("a", b"\xef\xbb\xbf" + json.dumps(doc, ensure_ascii=False).encode("utf-8"), b"", 0)
    assert facts.error is None and facts.computer_name == "SRV-MÜNCHEN.lab.test"
    assert facts.vms is not None and facts.vms[0].name == "Prüfung-ü"


def test_empty_output_says_what_the_host_wrote_on_stderr() -> None:
    clixml = (b'#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
              b'<S S="Error">Exception calling "FromBase64String"_x000D__x000A_</S></Objs>')
    facts = parse_output("a", b"", clixml, 0)
    assert facts.error is not None and facts.error.kind is ErrorKind.REMOTE
    assert "printed nothing" in facts.error.message and "FromBase64String" in facts.error.message


def test_clixml_escapes_and_repeated_headers_are_decoded() -> None:
    head = b'#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
    clixml = (head + b'<S S="Progress">x</S><S S="Error">Access_x0009_is denied._x000D__x000A_</S></Objs>'
              + head + b'<S S="Error">At line:1 char:1_x000A_</S></Objs>')
    assert decode_clixml(clixml) == "Access is denied. At line:1 char:1"


def test_identity_error_is_the_host_error_whatever_failed_first() -> None:
    doc = {"schema": "offlineprep/host/v1", "errors": {"hyperv": "x", "identity": "WMI is broken"}}
    facts = parse_output("a", json.dumps(doc).encode(), b"", 0)
    assert facts.error is not None and "WMI is broken" in facts.error.message

"""collect.ps1 reads only members Windows documents for the objects it holds.

The script declares the type of each variable it reads members of (`# types: $rs VMReplicationServer`);
offlineprep/lab/windows_members.json lists the members of each type with the Microsoft page or
public module they come from. tests/pwsh_members.py parses the script with tree-sitter-powershell;
every `$var.Member` chain (and every property read through Type.InvokeMember) must resolve in that
file. A member Windows does not have (KerbAuthPort, a parameter alias) reads as $null on a real host
and fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pwsh_syntax
import pytest
from pwsh_members import declared_types, member_reads, unknown_members

from offlineprep.collect.hosts import collection_script

MEMBERS_FILE = Path(__file__).parents[2] / "offlineprep" / "lab" / "windows_members.json"
TYPES: dict[str, dict] = json.loads(MEMBERS_FILE.read_text())["types"]  # type: ignore[type-arg]


def test_every_member_collect_ps1_reads_is_documented_for_its_type() -> None:
    assert unknown_members(collection_script(), TYPES, "collect.ps1") == []


def test_every_variable_whose_members_are_read_is_declared() -> None:
    parsed = pwsh_syntax.parse(collection_script())
    declared = declared_types(parsed)
    assert {r.variable for r in member_reads(parsed)} <= set(declared)


@pytest.mark.parametrize(("line", "complaint"), [
    # issue 11 item 7: the aliases and table headings of Get-VMReplicationServer are not its properties
    ("$port = $rs.KerbAuthPort", "VMReplicationServer has no member KerbAuthPort"),
    ("$port = $rs.CertAuthPort", "VMReplicationServer has no member CertAuthPort"),
    ("$x = $share.Scope", "MSFT_SmbShare has no member Scope"),
    ("$x = $vol.Status.Foo", "Win32_Volume has no member Status"),
    ("$x = $member.GetType().InvokeMember('Sid', 'GetProperty', $null, $member, $null)",
     "WinNTGroupMember has no property Sid"),
    ("$x = $undeclared.Name", "$undeclared has no '# types:' declaration"),
    ("$x = $rs.ReplicationEnabled.Nope", "has no documented type to read further into"),
])
def test_a_member_windows_does_not_have_is_caught(line: str, complaint: str) -> None:
    script = collection_script() + "\n" + line + "\n"
    problems = unknown_members(script, TYPES, "collect.ps1")
    assert any(complaint in p for p in problems), problems


def test_the_old_replication_server_properties_are_refused() -> None:
    # the script before this change read $rs.KerbAuthPort / $rs.CertAuthPort: null on every real host
    old = "# types: $rs VMReplicationServer\n$rs = Get-VMReplicationServer\n" \
          "$out = [ordered]@{ kerberos_port = $rs.KerbAuthPort; certificate_port = $rs.CertAuthPort }\n"
    problems = unknown_members(old, TYPES, "collect.ps1")
    assert len(problems) == 2 and all("VMReplicationServer has no member" in p for p in problems)


def test_every_type_cites_where_its_members_come_from() -> None:
    for name, entry in TYPES.items():
        assert entry.get("source"), name
        assert entry.get("members"), name
        if not entry.get("ours"):
            assert any("learn.microsoft.com" in s or "/" in s for s in entry["source"]), name


def test_the_simulator_can_neither_hold_nor_answer_a_member_windows_does_not_have() -> None:
    from offlineprep.lab.windows import NoSuchMember, WinObject

    with pytest.raises(NoSuchMember, match="VMReplicationServer has no member KerbAuthPort"):
        WinObject("VMReplicationServer", KerbAuthPort=8083)
    server = WinObject("VMReplicationServer", KerberosAuthenticationPort=8083)
    assert server.KerberosAuthenticationPort == 8083 and server.CertificateAuthenticationPort is None
    with pytest.raises(NoSuchMember, match="Windows would answer \\$null"):
        _ = server.CertAuthPort
    with pytest.raises(NoSuchMember):
        WinObject("NoSuchWindowsType")


# apply.ps1 (offlineprep apply / revert) is held to the same rule: every member it reads is documented
def test_every_member_apply_ps1_reads_is_documented_for_its_type() -> None:
    from offlineprep.apply.hosts import apply_script

    assert unknown_members(apply_script(), TYPES, "apply.ps1") == []


def test_every_variable_whose_members_apply_ps1_reads_is_declared() -> None:
    from offlineprep.apply.hosts import apply_script

    parsed = pwsh_syntax.parse(apply_script())
    assert {r.variable for r in member_reads(parsed)} <= set(declared_types(parsed))


@pytest.mark.parametrize(("line", "complaint"), [
    ("$x = $share.SecurityDescriptors", "MSFT_SmbShare has no member SecurityDescriptors"),
    ("$x = $entry.Mask", "CommonAce has no member Mask"),  # AccessMask is the property
    ("$x = $raw.Dacl", "RawSecurityDescriptor has no member Dacl"),
    ("$x = $foundRule.IsEnabled", "NetFirewallRule has no member IsEnabled"),
])
def test_a_member_windows_does_not_have_is_caught_in_apply_ps1(line: str, complaint: str) -> None:
    from offlineprep.apply.hosts import apply_script

    problems = unknown_members(apply_script() + "\n" + line + "\n", TYPES, "apply.ps1")
    assert any(complaint in p for p in problems), problems

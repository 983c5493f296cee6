"""collect.ps1 reads only members Windows documents for the objects it holds.

The script declares the type of each variable it reads members of (`# types: $rs VMReplicationServer`);
offlineprep/lab/windows_members.json lists the members of each type with the Microsoft page or
public module they come from. tree-sitter-powershell parses the script; every `$var.Member` chain
(and every property read through Type.InvokeMember) must resolve in that file. A member Windows
does not have (KerbAuthPort, a parameter alias) reads as $null on a real host and fails here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pwsh_syntax
import pytest
import tree_sitter

from offlineprep.collect.hosts import collection_script

MEMBERS_FILE = Path(__file__).parents[2] / "offlineprep" / "lab" / "windows_members.json"
TYPES: dict[str, dict] = json.loads(MEMBERS_FILE.read_text())["types"]  # type: ignore[type-arg]
_ANNOTATION = re.compile(r"^#\s*types:\s*(.+)$")
_PAIR = re.compile(r"\$([A-Za-z_][\w:]*)\s+([A-Za-z_][\w.]*)")


@dataclass(frozen=True)
class Read:
    line: int
    variable: str
    members: tuple[str, ...]
    invoked: str | None = None  # the property named to Type.InvokeMember('X', 'GetProperty', ...)


def _text(parsed: pwsh_syntax.Parsed, node: tree_sitter.Node) -> str:
    return parsed.source[node.start_byte:node.end_byte].decode("utf-8")


def annotations(parsed: pwsh_syntax.Parsed) -> dict[str, str]:
    found: dict[str, str] = {}
    for node in parsed.nodes():
        if node.type != "comment":
            continue
        match = _ANNOTATION.match(_text(parsed, node).strip())
        if not match:
            continue
        for variable, type_name in _PAIR.findall(match.group(1)):
            key = variable.lower()
            assert found.get(key, type_name) == type_name, f"${variable} is declared as two types"
            found[key] = type_name
    return found


def _is_dot_access(node: tree_sitter.Node) -> bool:
    return node.type in {"member_access", "invokation_expression"} and any(c.type == "." for c in node.children)


def member_reads(parsed: pwsh_syntax.Parsed) -> list[Read]:
    """Every chain $var.A.B... rooted in a variable; chains rooted elsewhere ((expr).X, [Type]::X) are
    not the reading of a Windows object's member."""
    reads = []
    for node in parsed.nodes():
        if not _is_dot_access(node):
            continue
        parent = node.parent
        if parent is not None and _is_dot_access(parent) and parent.children[0] == node:
            continue  # the outermost access reports the whole chain
        members: list[str] = []
        current = node
        while _is_dot_access(current):
            name = next(c for c in current.children if c.type == "member_name")
            members.insert(0, _text(parsed, name))
            current = current.children[0]
        if current.type != "variable":
            continue
        invoked = None
        if members[-1].lower() == "invokemember":
            arguments = next((c for c in node.children if c.type == "argument_list"), None)
            literal = next((n for n in _walk(arguments) if n.type == "string_literal"), None) if arguments else None
            invoked = _text(parsed, literal).strip("'\"") if literal is not None else None
        reads.append(Read(node.start_point[0] + 1, _text(parsed, current).lstrip("$").lower(), tuple(members), invoked))
    return reads


def _walk(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    out, stack = [], [node]
    while stack:
        current = stack.pop(0)
        out.append(current)
        stack[0:0] = list(current.children)
    return out


def unknown_members(script: str) -> list[str]:
    """Each member read that windows_members.json does not document, as 'line: $var.Member (Type)'."""
    parsed = pwsh_syntax.assert_valid(script, "collect.ps1")
    declared = annotations(parsed)
    problems = []
    for type_name in set(declared.values()):
        if type_name not in TYPES:
            problems.append(f"type {type_name} is not in windows_members.json")
    for read in member_reads(parsed):
        type_name = declared.get(read.variable)
        where = f"{read.line}: ${read.variable}.{'.'.join(read.members)}"
        if type_name is None:
            problems.append(f"{where}: ${read.variable} has no '# types:' declaration")
            continue
        for index, member in enumerate(read.members):
            entry = TYPES.get(type_name)
            if entry is None:
                break
            if entry.get("ours"):
                break
            known = {k.lower(): v for k, v in entry["members"].items()}
            if member.lower() not in known:
                problems.append(f"{where}: {type_name} has no member {member}")
                break
            if member.lower() == "invokemember" and read.invoked is not None:
                owner = TYPES[declared[read.variable]]
                if read.invoked not in owner.get("invoked_properties", []):
                    problems.append(f"{where}: {declared[read.variable]} has no property {read.invoked}")
            next_type = known[member.lower()]
            if next_type is None:
                if index < len(read.members) - 1:
                    problems.append(f"{where}: {type_name}.{member} has no documented type to read further into")
                break
            type_name = next_type
    return problems


def test_every_member_collect_ps1_reads_is_documented_for_its_type() -> None:
    assert unknown_members(collection_script()) == []


def test_every_variable_whose_members_are_read_is_declared() -> None:
    parsed = pwsh_syntax.parse(collection_script())
    declared = annotations(parsed)
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
    problems = unknown_members(script)
    assert any(complaint in p for p in problems), problems


def test_the_old_replication_server_properties_are_refused() -> None:
    # the script before this change read $rs.KerbAuthPort / $rs.CertAuthPort: null on every real host
    old = "# types: $rs VMReplicationServer\n$rs = Get-VMReplicationServer\n" \
          "$out = [ordered]@{ kerberos_port = $rs.KerbAuthPort; certificate_port = $rs.CertAuthPort }\n"
    problems = unknown_members(old)
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

    assert unknown_members(apply_script()) == []


def test_every_variable_whose_members_apply_ps1_reads_is_declared() -> None:
    from offlineprep.apply.hosts import apply_script

    parsed = pwsh_syntax.parse(apply_script())
    assert {r.variable for r in member_reads(parsed)} <= set(annotations(parsed))


@pytest.mark.parametrize(("line", "complaint"), [
    ("$x = $share.SecurityDescriptors", "MSFT_SmbShare has no member SecurityDescriptors"),
    ("$x = $entry.Mask", "CommonAce has no member Mask"),  # AccessMask is the property
    ("$x = $raw.Dacl", "RawSecurityDescriptor has no member Dacl"),
    ("$x = $foundRule.IsEnabled", "NetFirewallRule has no member IsEnabled"),
])
def test_a_member_windows_does_not_have_is_caught_in_apply_ps1(line: str, complaint: str) -> None:
    from offlineprep.apply.hosts import apply_script

    problems = unknown_members(apply_script() + "\n" + line + "\n")
    assert any(complaint in p for p in problems), problems

"""Which members of which objects a PowerShell script reads, against a file that documents them.

A script declares the type of each variable it reads members of in a comment (`# types: $vmhost Host;
$cluster HostCluster`); a members file (JSON: types -> members, each member null or the type it
returns, each type with its sources) lists what Windows documents for each type. tree-sitter-powershell
parses the script; every `$var.A.B()` chain rooted in a variable (and every property read through
Type.InvokeMember, which the owning type lists under "invoked_properties") must resolve in the file. A
member Windows does not have reads as $null on a real machine, so a typo or a guess fails here instead.
Used by tests/hosts/test_windows_members.py (collect.ps1, apply.ps1) and
tests/discovery/test_vmm_members.py (vmm.ps1, cluster.ps1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pwsh_syntax
import tree_sitter

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


def declared_types(parsed: pwsh_syntax.Parsed) -> dict[str, str]:
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


def unknown_members(script: str, types: dict[str, Any], what: str = "script") -> list[str]:
    """Each member read that the members file does not document, as 'line: $var.Member (complaint)'."""
    parsed = pwsh_syntax.assert_valid(script, what)
    declared = declared_types(parsed)
    problems = [f"type {t} is not in the members file" for t in sorted(set(declared.values())) if t not in types]
    for read in member_reads(parsed):
        type_name: str | None = declared.get(read.variable)
        where = f"{read.line}: ${read.variable}.{'.'.join(read.members)}"
        if type_name is None:
            problems.append(f"{where}: ${read.variable} has no '# types:' declaration")
            continue
        for index, member in enumerate(read.members):
            entry = types.get(type_name)
            if entry is None or entry.get("ours"):
                break
            known = {k.lower(): v for k, v in entry["members"].items()}
            if member.lower() not in known:
                problems.append(f"{where}: {type_name} has no member {member}")
                break
            if member.lower() == "invokemember" and read.invoked is not None:
                owner = declared[read.variable]
                if read.invoked not in types[owner].get("invoked_properties", []):
                    problems.append(f"{where}: {owner} has no property {read.invoked}")
            next_type = known[member.lower()]
            if next_type is None:
                if index < len(read.members) - 1:
                    problems.append(f"{where}: {type_name}.{member} has no documented type to read further into")
                break
            type_name = next_type
    return problems

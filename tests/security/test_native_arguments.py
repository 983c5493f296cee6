"""Issue 20, item 4: icacls gets arguments Windows PowerShell 5.1 cannot split into extra switches.

Windows PowerShell 5.1 builds a native command's command line itself: an argument with whitespace is
wrapped in double quotes, a quote inside it is not escaped, an empty one is dropped (Microsoft,
about_Parsing, "Passing arguments that contain quote characters": the Legacy style that PowerShell 7.3's
$PSNativeCommandArgumentPassing replaced; about_Quoting_Rules). icacls then splits its command line by
the C runtime's rules (Microsoft, "Parsing C command-line arguments"), where `\\"` is a literal quote.
`legacy_command_line` and `crt_argv` model the two; the attacks are what a plan could make icacls
see before: GrantNtfsRights took any local_path, account, SID and inheritance text.

No PowerShell runs here (none on the test machines): the model of the 5.1 binder is from PowerShell's
documented behaviour and its source (NativeCommandParameterBinder, NeedQuotes), unverified on Windows.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pwsh_syntax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from offlineprep.actions import types as t
from offlineprep.actions.acl_grant import ntfs_grant_argument
from offlineprep.lab.apply_twin import HostState
from offlineprep.lab.windows import SimFolder, SimulatedHost

APPLY_PS1 = Path(__file__).parents[2] / "offlineprep" / "winrm" / "scripts" / "apply.ps1"
SID = "S-1-5-21-1111-2222-3333-1105"
FS = t.file_server("fs01.lab.test")


def _need_quotes(arg: str) -> bool:
    """PowerShell's Legacy NeedQuotes: whitespace outside a pair of (unescaped) quotes."""
    quotes, after_backslash = 0, False
    for ch in arg:
        if ch == '"' and not after_backslash:
            quotes += 1
        elif ch.isspace() and quotes % 2 == 0:
            return True
        after_backslash = ch == "\\"
    return False


def legacy_command_line(args: list[str]) -> str:
    """The command line Windows PowerShell 5.1 gives a native program for these argument values."""
    parts = []
    for arg in args:
        if arg == "":
            continue  # dropped (about_Parsing: preserved only since 7.3)
        parts.append(f'"{arg}"' if _need_quotes(arg) else arg)
    return " ".join(parts)


def crt_argv(line: str) -> list[str]:
    """argv as the Microsoft C runtime parses a command line ("Parsing C command-line arguments")."""
    out: list[str] = []
    i, n = 0, len(line)
    while i < n:
        while i < n and line[i] in " \t":
            i += 1
        if i >= n:
            break
        arg, quoted = [], False
        while i < n and (quoted or line[i] not in " \t"):
            if line[i] == "\\":
                j = i
                while j < n and line[j] == "\\":
                    j += 1
                count = j - i
                if j < n and line[j] == '"':
                    arg.append("\\" * (count // 2))
                    if count % 2:
                        arg.append('"')
                        i = j + 1
                    else:
                        i = j
                    continue
                arg.append("\\" * count)
                i = j
                continue
            if line[i] == '"':
                if quoted and i + 1 < n and line[i + 1] == '"':
                    arg.append('"')
                    i += 2
                    continue
                quoted = not quoted
                i += 1
                continue
            arg.append(line[i])
            i += 1
        out.append("".join(arg))
    return out


def icacls_argv(path: str, grant: str) -> list[str]:
    """What icacls.exe sees for `& icacls.exe $path /grant $grant` under Windows PowerShell 5.1."""
    return crt_argv(legacy_command_line([path, "/grant", grant]))


HOSTILE_PATHS = [
    'D:\\Exports" /T /C "x',  # a quote ends the path: /T (every subfolder) and /C become switches
    "D:\\Replica Exports\\",  # quoted for its space; the trailing backslash escapes the closing quote
    "/reset",  # read as icacls' own switch
    "-T",
    "D:\\x\ny",
    "\\\\fs01\\c$",
    "D:\\a|b",
]


@pytest.mark.parametrize("path", HOSTILE_PATHS[:2])
def test_the_attack_is_real_under_the_legacy_binder(path: str) -> None:
    argv = icacls_argv(path, f"*{SID}:(OI)(CI)F")
    assert argv != [path, "/grant", f"*{SID}:(OI)(CI)F"]  # icacls would not see what the plan said


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_a_path_icacls_could_split_is_refused(path: str) -> None:
    with pytest.raises(ValidationError, match="local_path"):
        t.GrantNtfsRights(owner=FS, account="LAB\\svc-vmm", account_sid=SID, local_path=path, mask=0x1F01FF)


@pytest.mark.parametrize(("field", "value"), [
    ("account_sid", f"{SID}:F /T /C"),  # the grant's SID carries more switches
    ("account_sid", "S-1-1-0"[:-2]),
    ("inheritance", '(OI)(CI)F" /grant "Everyone:F'),
    ("inheritance", "(OI) /T "),
    ("account", 'LAB\\svc" /grant "Everyone'),
    ("account", "/T"),
    ("account", "LAB\\svc\u202e"),
])
def test_a_grant_icacls_could_split_is_refused(field: str, value: str) -> None:
    data: dict[str, Any] = {"owner": FS, "account": "LAB\\svc-vmm", "account_sid": SID, "local_path": "D:\\Exports",
                            "mask": 0x1F01FF, field: value}
    if field == "account":
        data["account_sid"] = None  # the name goes to icacls only when no SID was read
    with pytest.raises(ValidationError, match=field):
        t.GrantNtfsRights(**data)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_every_path_the_model_accepts_reaches_icacls_as_one_argument(tail: str) -> None:
    path = "D:\\" + tail
    try:
        action = t.GrantNtfsRights(owner=FS, account="LAB\\svc-vmm", account_sid=SID, local_path=path, mask=0x1F01FF)
    except ValidationError:
        return
    grant = ntfs_grant_argument(action)
    assert icacls_argv(action.local_path, grant) == [path, "/grant", grant]


def test_a_path_with_spaces_and_quotes_of_powershell_still_works() -> None:
    path = "D:\\Replica Exports\\O'Brien; $(Stop-Computer)"
    action = t.GrantNtfsRights(owner=FS, account="LAB\\svc vmm", account_sid=SID, local_path=path, mask=0x12019F)
    grant = ntfs_grant_argument(action)
    assert icacls_argv(path, grant) == [path, "/grant", grant]
    # the fix script: the values are literals handed to param(), icacls gets $Path and $Grant
    script = "\n".join(action.fix_lines())
    pwsh_syntax.assert_values_in_literals(script, [path, grant])
    assert _icacls_arguments(script) == [["$Path", "/grant", "$Grant"]]


def _icacls_arguments(script: str) -> list[list[str]]:
    """The arguments of every icacls command, as the parser sees them."""
    parsed = pwsh_syntax.assert_valid(script)
    found = []
    for node in parsed.nodes():
        if node.type != "command":
            continue
        name = next((c for c in node.children if c.type in ("command_name", "command_name_expr")), None)
        if name is None or parsed.source[name.start_byte:name.end_byte].decode().lower() not in ("icacls", "icacls.exe"):
            continue
        elements = next((c for c in node.children if c.type == "command_elements"), None)
        assert elements is not None
        found.append([parsed.source[c.start_byte:c.end_byte].decode() for c in elements.children
                      if c.type not in ("command_argument_sep", "redirection")])
    return found


def test_apply_ps1_gives_icacls_variables_only_and_checks_the_models_shapes() -> None:
    from offlineprep.actions.acl_grant import ICACLS_GRANT, LOCAL_PATH

    script = APPLY_PS1.read_text(encoding="utf-8")
    # values stay data: icacls is called with the variables, never text spliced from the request
    assert _icacls_arguments(script) == [["$path", "/grant", "([string]$item.grant)"]]
    body = script[script.index("function Invoke-NtfsRights"):script.index("function Test-LocalMember")]
    patterns = re.findall(r"-cnotmatch '([^']+)'", body)
    assert patterns == [LOCAL_PATH.replace('\\"', '"'), ICACLS_GRANT]  # the same expressions (.NET reads them alike)
    # and the check comes before icacls runs
    assert body.index("-cnotmatch") < body.index("& icacls.exe")


def test_the_script_refuses_a_crafted_grant_and_changes_nothing() -> None:
    """The request past the model (a grant text no action renders): apply.ps1's check, in its simulator twin."""
    sddl = "O:BAG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
    host = SimulatedHost("fs01.lab.test", folders=[SimFolder("D:\\Exports", sddl)])
    action = t.GrantNtfsRights(owner=FS, account="LAB\\svc-vmm", account_sid=SID, local_path="D:\\Exports",
                               mask=0x1F01FF, before_sddl=sddl)
    item = {"id": action.id, "kind": action.kind, "action": action.model_dump(mode="json"), "sid": SID,
            "mask": 0x1F01FF, "flags": 3, "grant": f"*{SID}:(OI)(CI)F /T /C"}
    answer = HostState(host).run({"mode": "apply", "actions": [item]})[0]
    assert answer["outcome"] == "failed" and "icacls is not given the grant" in answer["message"]
    assert host.folders[0].ntfs_sddl == sddl
    item["grant"] = ntfs_grant_argument(action)  # untampered: applied
    answer = HostState(host).run({"mode": "apply", "actions": [item]})[0]
    assert answer["outcome"] == "applied", answer

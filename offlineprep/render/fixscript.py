"""The fix script: every remediation in one PowerShell file, in a safe order, never run by us.

Order: directory changes first (they need AD replication time), then shares, NTFS, local groups,
host settings, and the reminders; last of all AD replication and the Kerberos ticket purge on every
host whose delegation changed (the delegation fixes carry that reminder; here it runs once, after
every change, not in the middle of them). Each block is commented with the finding it answers;
comments are single `#` lines with control characters removed, so text from AD or a host cannot end
a comment and become code. Identical blocks are written once. Every block is guarded by
ShouldProcess, so `-WhatIf` runs nothing and `-Confirm` asks per block (native commands such as
icacls and setspn know no -WhatIf). A second run does not fail on what the first one did. The revert
section undoes the changes in reverse order, once initial replication has finished; a revert step
that fails is reported and the others still run.
"""

from __future__ import annotations

import re
from pathlib import Path

from offlineprep.model import Finding, Phase, Results, Status
from offlineprep.pwsh import comment, quote
from offlineprep.remediation import TICKET_REMINDER
from offlineprep.render import write_atomically

PHASE_TITLES = {
    Phase.DIRECTORY: "Active Directory: delegation and account settings (run as a Domain Admin, RSAT-AD-PowerShell)",
    Phase.SHARE: "Share permissions (runs on each file server through Invoke-Command)",
    Phase.NTFS: "NTFS permissions (runs on each file server through Invoke-Command)",
    Phase.LOCAL_GROUPS: "Local group membership on the file servers",
    Phase.HOST: "Host settings",
    Phase.REMINDER: "Reminders and manual steps",
}

# PowerShell ends a line at CR, LF or CRLF only. Python's splitlines() also splits at U+2028, U+0085,
# VT, FF and more, which would have turned the rest of a comment into a line of code; an editor may
# show those as line breaks too, so they are written as U+FFFD: what a reviewer sees is what runs.
_LINE_END = re.compile(r"\r\n|\r|\n")
_LOOKS_LIKE_LINE_END = re.compile("[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")

# The ticket reminder each delegation fix carries (remediation.TICKET_REMINDER).
_REMINDER_LINES = TICKET_REMINDER.format(host="\0").splitlines()
_PURGE_HEAD, _PURGE_TAIL = _REMINDER_LINES[-1].split("\0")

# Set-ADComputer -Add of a value already present fails ("The specified value already exists"), and
# -Remove of an absent one fails too, so a second run would stop there: rewritten to add (remove)
# only the values missing (present) when the line runs. A line of any other shape is left as it is.
_Q = "'\u2018\u2019\u201a\u201b"  # pwsh.quote doubles each of them inside a literal
_LIT = f"'(?:[^{_Q}]|[{_Q}][{_Q}])*'"
_SET_DELEGATION = re.compile(
    rf"^Set-ADComputer -Identity ({_LIT}) -(Add|Remove) @\{{'msDS-AllowedToDelegateTo' = (@\((?:{_LIT}(?:, {_LIT})*)?\))\}}$"
)


def _lines(text: str) -> list[str]:
    return [_LOOKS_LIKE_LINE_END.sub("\ufffd", line) for line in _LINE_END.split(text)]


def _idempotent(line: str) -> list[str]:
    found = _SET_DELEGATION.match(line)
    if not found:
        return [line]
    identity, verb, values = found.groups()
    keep = "-notcontains" if verb == "Add" else "-contains"
    return [
        f"$current = @((Get-ADComputer -Identity {identity} -Properties 'msDS-AllowedToDelegateTo').'msDS-AllowedToDelegateTo')",
        f"$values = @({values} | Where-Object {{ $current {keep} $_ }})",
        f"if ($values.Count -gt 0) {{ Set-ADComputer -Identity {identity} -{verb} "
        "@{'msDS-AllowedToDelegateTo' = [string[]]$values} }",
    ]


def _body(text: str, purge: list[str]) -> list[str]:
    """The block's lines, made re-runnable; the ticket reminder is taken out (its host into `purge`)."""
    out: list[str] = []
    for line in _lines(text):
        if line in _REMINDER_LINES[:-1]:
            continue
        if line.startswith(_PURGE_HEAD) and line.endswith(_PURGE_TAIL):
            host = line[len(_PURGE_HEAD):len(line) - len(_PURGE_TAIL)]
            if re.fullmatch(_LIT, host):
                if host not in purge:
                    purge.append(host)
                continue
        out += _idempotent(line)
    return out


def _blocks(results: Results) -> list[tuple[Phase, list[Finding], str, str, str | None]]:
    seen: dict[str, tuple[Phase, list[Finding], str, str, str | None]] = {}
    for f in results.findings:
        if f.remediation is None or f.status not in (Status.FAIL, Status.WARN, Status.ERROR) or f.waived:
            continue
        key = f.remediation.powershell
        if key in seen:
            seen[key][1].append(f)
        else:
            seen[key] = (f.remediation.phase, [f], f.remediation.summary, f.remediation.powershell,
                         f.remediation.revert)
    order = list(Phase)
    return sorted(seen.values(), key=lambda b: order.index(b[0]))


def render(results: Results) -> str:
    lines = [
        comment("offlineprep fix script, generated " + results.generated_at.strftime("%Y-%m-%d %H:%M:%S UTC")
                + f" by offlineprep {results.tool.version}."),
        "# offlineprep never runs this file. Review every block, then run it in an elevated PowerShell.",
        "# Try it first with: .\\fix.ps1 -WhatIf   (every block is guarded by ShouldProcess: nothing runs)",
        "# Order: AD, then shares and file ACLs, local groups, host settings, reminders, then AD replication",
        "# and the Kerberos ticket purge. Running it again is safe: what is already done is left as it is.",
        "# Run .\\fix.ps1 -Revert after initial replication has finished to undo the changes.",
        "#Requires -Version 5.1",
        "[CmdletBinding(SupportsShouldProcess = $true)]",
        "param([switch]$Revert)",
        "$ErrorActionPreference = 'Stop'",
        "",
    ]
    blocks = _blocks(results)
    if not blocks:
        lines.append("Write-Host 'offlineprep found nothing to fix.'")
        return "\n".join(lines) + "\n"
    lines.append("if (-not $Revert) {")
    phase = None
    purge: list[str] = []
    for block_phase, findings, summary, powershell, _ in blocks:
        if block_phase is not phase:
            phase = block_phase
            lines += ["", "    " + comment("==== " + PHASE_TITLES[phase])]
            if phase is Phase.DIRECTORY:
                lines.append("    Import-Module ActiveDirectory")
        lines.append("")
        for f in findings[:10]:
            who = f.subject + (f" -> {f.target}" if f.target else "") + (f" as {f.account}" if f.account else "")
            lines.append("    " + comment(f"[{f.status.value}] {f.check} {who}: {f.message}"))
        if len(findings) > 10:
            lines.append("    " + comment(f"… and {len(findings) - 10} more findings answered by this block"))
        # ShouldProcess guards native commands too (icacls, setspn), which -WhatIf alone would run
        lines.append(f"    if ($PSCmdlet.ShouldProcess({quote(findings[0].subject)}, {quote(summary)})) {{")
        lines += ["        " + line for line in _body(powershell, purge)]
        lines.append("    }")
    if purge:
        last = "==== Last: AD replication, then fresh Kerberos tickets on the hosts whose delegation changed"
        lines += ["", "    " + comment(last),
                  "    " + comment(_REMINDER_LINES[0].lstrip("# ")),
                  "    if ($PSCmdlet.ShouldProcess('Active Directory', 'Replicate every domain controller now')) {",
                  "        " + _REMINDER_LINES[1],
                  "    }"]
        for host in purge:
            lines += [f"    if ($PSCmdlet.ShouldProcess({host}, 'Purge the computer''s own Kerberos tickets')) {{",
                      f"        {_PURGE_HEAD}{host}{_PURGE_TAIL}",
                      "    }"]
    lines += ["}", "else {"]
    reverts = [(b[0], b[4], b[1]) for b in blocks if b[4]]
    for _, revert, findings in reversed(reverts):
        what = f"{findings[0].check} {findings[0].subject}"
        lines.append("    " + comment(f"undo: {what}"))
        lines.append(f"    if ($PSCmdlet.ShouldProcess({quote(findings[0].subject)}, 'revert')) {{")
        # one step that fails (already undone, object gone) is reported; the other steps still run
        lines.append("        try {")
        lines += ["            " + line for line in _body(revert or "", [])]
        lines.append(f"        }} catch {{ Write-Warning ({quote('could not undo ' + what + ': ')} + $_) }}")
        lines.append("    }")
    if not reverts:
        lines.append("    Write-Host 'Nothing to revert.'")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write(results: Results, path: Path) -> None:
    write_atomically(path, render(results), bom=True)

"""The fix script: every remediation in one PowerShell file, in a safe order, never run by us.

Order: directory changes first (they need AD replication time), then shares, NTFS, local groups,
host settings, and the reminders (ticket purge, replication). Each block is commented with the
finding it answers; comments are single `#` lines with control characters removed, so text from
AD or a host cannot end a comment and become code. Identical blocks are written once. The revert
section undoes the changes in reverse order, once initial replication has finished.
"""

from __future__ import annotations

from pathlib import Path

from offlineprep.model import Finding, Phase, Results, Status
from offlineprep.pwsh import comment, quote
from offlineprep.render import write_atomically

PHASE_TITLES = {
    Phase.DIRECTORY: "Active Directory: delegation and account settings (run as a Domain Admin, RSAT-AD-PowerShell)",
    Phase.SHARE: "Share permissions (runs on each file server through Invoke-Command)",
    Phase.NTFS: "NTFS permissions (runs on each file server through Invoke-Command)",
    Phase.LOCAL_GROUPS: "Local group membership on the file servers",
    Phase.HOST: "Host settings",
    Phase.REMINDER: "Reminders and manual steps",
}


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
        lines += ["        " + line for line in powershell.splitlines()]
        lines.append("    }")
    lines += ["}", "else {"]
    reverts = [(b[0], b[4], b[1]) for b in blocks if b[4]]
    for _, revert, findings in reversed(reverts):
        lines.append("    " + comment(f"undo: {findings[0].check} {findings[0].subject}"))
        lines.append(f"    if ($PSCmdlet.ShouldProcess({quote(findings[0].subject)}, 'revert')) {{")
        lines += ["        " + line for line in (revert or "").splitlines()]
        lines.append("    }")
    if not reverts:
        lines.append("    Write-Host 'Nothing to revert.'")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write(results: Results, path: Path) -> None:
    write_atomically(path, render(results))

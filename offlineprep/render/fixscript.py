"""The fix script: every fix action in one PowerShell file, in sections per owner, never run by us.

A rendering of the findings' typed actions (offlineprep.actions; docs/fixes.md), never of their
text. Sections, each run by whoever owns it and selectable with `-Section`: AD (every change sent
to the site's domain controller with -Server), each file server, each Hyper-V host, then the manual
steps. Each section says where it runs, as whom, with which modules and what it requires (as
comments and a check when it runs: a `#Requires` line applies to the whole script, wherever it
stands). Safe order: AD first (it needs replication time), then shares, NTFS and local groups on
the file servers, host settings; last of all AD replication and the Kerberos ticket purge on every
host whose delegation changed, once each. What cannot be scripted is a `Write-Warning` at its
place, not silence.

Every change is guarded by ShouldProcess, so `-WhatIf` runs nothing and `-Confirm` asks per step
(native commands such as icacls and repadmin know no -WhatIf). Running it again is safe: every step
reads the current state and changes only what is still to change. Identical actions (same id) are
written once, with every finding they answer. Comments are single `#` lines with control
characters removed, so text from AD or a host cannot end a comment and become code. The revert
section undoes the steps in reverse order, each putting back the state offlineprep saw before; a
revert step that fails is reported and the others still run.

The file is written as UTF-8 with a byte-order mark: Windows PowerShell 5.1 reads a file without
one in the ANSI code page, where a name such as `Ò` or a typographic quote turns into a character
that ends a string literal early.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from offlineprep.actions import powershell as ps
from offlineprep.actions import types as t
from offlineprep.model import Finding, Phase, Remediation, Results, Status, counted
from offlineprep.pwsh import comment, quote
from offlineprep.render import write_atomically
from offlineprep.verdict import judge

AD, MANUAL = t.FixSection.AD, t.FixSection.MANUAL
_STEP = "    "
_PHASES = list(Phase)

# PowerShell ends a line at CR, LF or CRLF only. Python's splitlines() also splits at U+2028, U+0085,
# VT, FF and more, which would have turned the rest of a comment into a line of code; an editor may
# show those as line breaks too, so they are written as U+FFFD: what a reviewer sees is what runs.
# (Values never hold them here: pwsh.quote spells them; this guards text a check pack wrote.)
_LOOKS_LIKE_LINE_END = str.maketrans({ch: "\ufffd" for ch in "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"})


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").translate(_LOOKS_LIKE_LINE_END).split("\n")


@dataclass(eq=False)  # blocks are compared by identity: two alike are still two
class Block:
    """The actions of one remediation that one owner runs, and every finding they answer."""

    findings: list[Finding]
    actions: list[t.ActionBase] = field(default_factory=list)
    legacy: Remediation | None = None  # a fix written only as text: shown as a manual step

    @property
    def phase(self) -> Phase:
        phases = [a.phase for a in self.actions if not isinstance(a, t.ManualStep)]
        return min(phases, key=_PHASES.index) if phases else Phase.REMINDER


@dataclass
class Section:
    key: str
    owners: list[t.Owner] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)

    @property
    def actions(self) -> list[t.ActionBase]:
        return [a for b in self.blocks for a in b.actions]

    @property
    def phase(self) -> Phase:
        phases = [b.phase for b in self.blocks]
        return min(phases, key=_PHASES.index) if phases else Phase.REMINDER


@dataclass
class Plan:
    sections: dict[str, Section] = field(default_factory=dict)
    refresh: list[t.RefreshTickets] = field(default_factory=list)  # hosts whose tickets to purge, in order

    def section_for(self, owner: t.Owner | None) -> Section:
        key = MANUAL if owner is None or (owner.kind != "directory" and not owner.name) else owner.section
        if owner is not None and owner.kind != "directory" and key.casefold() in {AD.casefold(), MANUAL.casefold()}:
            key = f"{key} (machine)"  # a machine named AD or Manual keeps a section of its own
        for existing in self.sections:
            if existing.casefold() == key.casefold():
                key = existing
                break
        section = self.sections.setdefault(key, Section(key))
        if owner is not None and owner not in section.owners:
            section.owners.append(owner)
        return section

    def ordered(self) -> list[Section]:
        """AD first, then the machines in the order of their earliest phase, the manual steps last."""
        machines = [s for k, s in self.sections.items() if k not in (AD, MANUAL)]
        machines.sort(key=lambda s: _PHASES.index(s.phase))  # stable: first seen first within a phase
        return [s for s in [self.sections.get(AD), *machines, self.sections.get(MANUAL)] if s is not None]

    @property
    def directory(self) -> t.Owner | None:
        section = self.sections.get(AD)
        named = [o for o in section.owners if o.name] if section else []
        named += [r.directory for r in self.refresh if r.directory.name]
        return named[0] if named else (section.owners[0] if section and section.owners else None)


def plan(results: Results) -> Plan:
    """Group the findings' actions by owner, once each, in the safe order."""
    out = Plan()
    seen: dict[str, Block] = {}  # action id -> the block that holds it
    for finding in results.findings:
        fix = finding.remediation
        if fix is None or finding.status not in (Status.FAIL, Status.WARN, Status.ERROR) or finding.waived:
            continue
        if not fix.actions:
            section = out.section_for(None)
            twin = next((b for b in section.blocks if b.legacy is not None and b.legacy.powershell == fix.powershell), None)
            if twin is not None:
                twin.findings.append(finding)
            else:
                section.blocks.append(Block([finding], legacy=fix))
            continue
        current: Block | None = None
        for action in fix.actions:
            if isinstance(action, t.RefreshTickets):
                if all(r.id != action.id for r in out.refresh):
                    out.refresh.append(action)
                continue
            if action.id in seen:
                if finding not in seen[action.id].findings:
                    seen[action.id].findings.append(finding)
                continue
            section = out.section_for(action.owner)
            if current is None or current not in section.blocks:
                current = Block([finding])
                section.blocks.append(current)
            current.actions.append(action)
            seen[action.id] = current
    for section in out.sections.values():
        section.blocks.sort(key=lambda b: _PHASES.index(b.phase))  # stable within a phase
    return out


# --------------------------------------------------------------------------- rendering


def _indent(lines: list[str], depth: int) -> list[str]:
    return [_STEP * depth + line if line else line for line in lines]


def _who(f: Finding) -> str:
    return f.subject + (f" -> {f.target}" if f.target else "") + (f" as {f.account}" if f.account else "")


def _finding_comments(findings: list[Finding]) -> list[str]:
    out = [comment(f"[{f.status.value}] {f.check} {_who(f)}: {f.message}") for f in findings[:10]]
    if len(findings) > 10:
        out.append(comment(f"… and {len(findings) - 10} more findings answered by this block"))
    return out


def _guard(target: str, what: str, body: list[str]) -> list[str]:
    # ShouldProcess guards native commands too (icacls, repadmin), which -WhatIf alone would run
    return [f"if ($PSCmdlet.ShouldProcess({quote(target)}, {quote(what)})) {{", *_indent(body, 1), "}"]


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _header(section: Section, directory: t.Owner | None, purge: t.RefreshTickets | None = None) -> list[str]:
    """`purge`: the section's host also gets its Kerberos tickets purged at the end (through WinRM)."""
    actions = section.actions
    rights = _unique([a.rights for a in [*actions, *([purge] if purge else [])] if a.rights])
    modules = _unique([m for a in actions for m in a.modules])
    if section.key == AD:
        dc = directory.name if directory is not None and directory.name else None
        where = f"the domain controller {dc}" if dc else "the domain controller the ActiveDirectory module finds"
        lines = [f"==== Section {AD}: Active Directory, through {where}",
                 "Runs on: " + t.runs_on(t.Owner(kind="directory", name=dc)),
                 "Runs as: " + ("; ".join(rights) or "a Domain Admin"),
                 "Modules: " + (", ".join(modules) or "ActiveDirectory"),
                 "Requires (checked when the section runs; a #Requires line would bind the whole script): "
                 "Windows PowerShell 4.0, the ActiveDirectory module"]
    elif section.key == MANUAL:
        lines = [f"==== Section {MANUAL}: what offlineprep cannot script, in order: read each warning and do it by hand"]
    else:
        roles = _unique(["file server" if o.kind == "file-server" else "Hyper-V host" for o in section.owners])
        name = section.owners[0].name if section.owners else section.key
        wheres: dict[str, list[str]] = {}  # where -> what runs there, in order (reminders change nothing)
        for action in [a for a in actions if not isinstance(a, t.ManualStep)] or actions:
            wheres.setdefault(action.runs_on(), []).append(action.describe()[1])
        if purge:
            wheres.setdefault(purge.runs_on(), []).append("the Kerberos ticket purge at the end")
        runs_on = (next(iter(wheres)) if len(wheres) == 1
                   else "; ".join(f"{where} for: {', '.join(what)}" for where, what in wheres.items()))
        through_winrm = any(not a.on_the_machine for a in actions) or purge is not None
        lines = [f"==== Section {section.key}: {' and '.join(roles)}",
                 f"Runs on: {runs_on}",
                 "Runs as: " + ("; ".join(rights) or f"a member of Administrators on {name}")]
        if modules:
            lines.append(f"Modules (on {name}): " + ", ".join(modules))
        lines.append(f"Requires (checked when the section runs; a #Requires line would bind the whole script): "
                     f"Windows PowerShell 4.0 on {name} (Windows Server 2012 R2 or later)"
                     + (", WinRM to it" if through_winrm else ""))
    return [comment(line) for line in lines]


def _ad_prelude() -> list[str]:
    missing = ("The AD section needs the ActiveDirectory module (Install-WindowsFeature RSAT-AD-PowerShell); run the "
               "other sections with -Section")
    return ["if (-not (Get-Module -ListAvailable -Name 'ActiveDirectory')) {",
            f"{_STEP}if ($WhatIfPreference) {{ Write-Warning {quote(missing)} }} else {{ throw {quote(missing)} }}",
            "}",
            "else { Import-Module -Name 'ActiveDirectory' }"]


def _legacy(block: Block, revert: bool) -> list[str]:
    fix = block.legacy
    assert fix is not None
    text = fix.revert if revert else fix.powershell
    if not text:
        return []
    why = ("offlineprep cannot tell where this " + ("revert" if revert else "fix") + f" runs ({fix.summary}): its "
           "commands are in the comments above; run them by hand on the machine they belong to")
    return [comment(line) for line in _lines(text)] + [f"Write-Warning {quote(why)}"]


def _forward(block: Block) -> list[str]:
    if block.legacy is not None:
        return _legacy(block, revert=False)
    out: list[str] = []
    for action in block.actions:
        if isinstance(action, t.ManualStep):  # a reminder at its place: it changes nothing, so no guard
            out += ps.fix_lines(action)
            continue
        target, what = action.describe()
        out += _guard(target, what, ps.fix_lines(action))
    return out


def _backward(block: Block) -> list[str]:
    if block.legacy is not None:
        return _legacy(block, revert=True)
    out: list[str] = []
    for action in reversed(block.actions):
        lines = ps.revert_lines(action)
        if not lines:
            continue
        target, what = action.describe()
        undo = f"could not undo '{what}' on {target}: "
        # one step that fails (already undone, object gone) is reported; the other steps still run
        body = ["try {", *_indent(lines, 1), f"}} catch {{ Write-Warning ({quote(undo)} + $_) }}"]
        out += _guard(target, "Undo: " + what, body)
    return out


def _section(section: Section, directory: t.Owner | None, revert: bool, purge: t.RefreshTickets | None = None
             ) -> list[str]:
    body: list[str] = []
    if section.key == AD:
        body += _ad_prelude()
    blocks = list(reversed(section.blocks)) if revert else section.blocks
    for block in blocks:
        lines = _backward(block) if revert else _forward(block)
        if lines:
            body += ["", *_finding_comments(block.findings), *lines]
    if not any(line and not line.startswith("#") for line in body[len(_ad_prelude()) if section.key == AD else 0:]):
        return []
    return ["", *_header(section, directory, purge), f"if ($Section -contains {quote(section.key)}) {{", *_indent(body, 1),
            "}"]


def _last(p: Plan, revert: bool) -> list[str]:
    """AD replication from the domain controller written to, then the ticket purge on each host."""
    ad = p.sections.get(AD)
    replicate = ad is not None and any(not revert or ps.revert_lines(a) for a in ad.actions)
    if not replicate and not p.refresh:
        return []
    out = ["", comment("==== Last: AD replication, then fresh Kerberos tickets on the hosts whose delegation changed")]
    if replicate:
        dc = p.directory
        out += [f"if ($Section -contains {quote(AD)}) {{",
                *_indent(_guard(dc.name if dc and dc.name else "Active Directory",
                                "Replicate Active Directory from this domain controller now", ps.replicate_lines(dc)), 1),
                "}"]
    for refresh in p.refresh:
        host = refresh.owner.name if refresh.owner and refresh.owner.name else "localhost"
        key = p.section_for(refresh.owner).key
        failed = f"could not purge the Kerberos tickets of {host} (reboot it instead): "
        purge = ["try {", *_indent(ps.purge_lines(host), 1), f"}} catch {{ Write-Warning ({quote(failed)} + $_) }}"]
        out += [f"if ($Section -contains {quote(key)}) {{",
                *_indent(_guard(host, "Purge the computer's own Kerberos tickets", purge), 1), "}"]
    return out


def nothing_to_fix(results: Results) -> str:
    """What a script without a section says: "found nothing to fix" only when everything was
    evaluated; a run that reached nothing, or left findings unevaluated, says so (offlineprep.verdict)."""
    judged = judge(results)
    if judged.unreached is not None:
        return f"offlineprep evaluated nothing it could fix: {judged.unreached.text}. Run it again from a machine " \
               "that reaches the site."
    missing = judged.not_evaluated.count
    if missing:
        return (f"offlineprep found nothing to fix among what it could evaluate; {counted(missing, 'finding')} "
                "could not be evaluated (see the report).")
    return "offlineprep found nothing to fix."


def render(results: Results) -> str:
    p = plan(results)
    for refresh in p.refresh:
        p.section_for(refresh.owner)  # a host whose tickets are purged has a section to select
    sections = p.ordered()
    keys = [s.key for s in sections]
    names = ", ".join(keys)
    lines = [
        comment("offlineprep fix script, generated " + results.generated_at.strftime("%Y-%m-%d %H:%M:%S UTC")
                + f" by offlineprep {results.tool.version}."
                + (f" Judged {results.facts_from.text}." if results.facts_from is not None else "")),
        "# offlineprep never runs this file. Review every block, then run it in an elevated Windows PowerShell.",
        "# Try it first with: .\\fix.ps1 -WhatIf   (every change is guarded by ShouldProcess: nothing runs)",
        comment(f"Sections, each for whoever owns that part: {names}. Run one with: .\\fix.ps1 -Section <name>"
                if keys else "No section: nothing to fix."),
        "# Order: AD, then the file servers (shares, NTFS, local groups), the Hyper-V hosts, the manual steps, and",
        "# last AD replication and the Kerberos ticket purge. Running it again is safe: each step reads the current",
        "# state first and changes only what is still to change.",
        "# Run .\\fix.ps1 -Revert after initial replication has finished: each step is put back as offlineprep saw it.",
        "# Saved as UTF-8 with a byte-order mark, as Windows PowerShell needs for names outside ASCII.",
        "#Requires -Version 4.0",
        "[CmdletBinding(SupportsShouldProcess = $true)]",
    ]
    if not keys:
        return "\n".join([*lines, "param([switch]$Revert)", "", f"Write-Host {quote(nothing_to_fix(results))}"]) + "\n"
    listed = ", ".join(quote(k) for k in keys)
    # an attribute takes constants only: a name quote() had to spell ([char]0x…) leaves the set out
    validate = [f"{_STEP}[ValidateSet({listed})]"] if all(quote(k).startswith("'") for k in keys) else []
    lines += ["param(",
              f"{_STEP}[switch]$Revert,",
              *validate,
              f"{_STEP}[string[]]$Section = @({listed})",
              ")",
              "$ErrorActionPreference = 'Stop'",
              "",
              "if (-not $Revert) {"]
    forward: list[str] = []
    purged = {p.section_for(r.owner).key: r for r in p.refresh}
    for section in sections:
        forward += _section(section, p.directory, revert=False, purge=purged.get(section.key))
    forward += _last(p, revert=False)
    lines += _indent(forward, 1)
    lines += ["}", "else {"]
    backward: list[str] = []
    for section in reversed(sections):
        backward += _section(section, p.directory, revert=True, purge=purged.get(section.key))
    if backward:
        backward += _last(p, revert=True)
    else:
        backward = ["Write-Host 'Nothing to revert.'"]
    lines += _indent(backward, 1)
    lines.append("}")
    return "\n".join(line for text in lines for line in _lines(text)) + "\n"


def write(results: Results, path: Path) -> None:
    write_atomically(path, render(results), bom=True)

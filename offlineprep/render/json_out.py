"""JSON results (`offlineprep/results/v1`): sorted keys and sorted findings, so two runs diff cleanly.

A results file read back (`offlineprep report`) is data someone else may have written: its fix text
is rendered again from the findings' typed actions (offlineprep.actions), never shown as the file
holds it, and a documentation link of the catalogue that is not `https:` becomes plain text.
"""

from __future__ import annotations

from pathlib import Path

from offlineprep import jsontext
from offlineprep.actions import powershell as ps
from offlineprep.model import RESULTS_SCHEMA, Finding, Results
from offlineprep.pwsh import comment
from offlineprep.render import write_atomically
from offlineprep.verdict import with_verdict

# optional keys of a finding (docs/results.schema.json): written only where they apply
_OPTIONAL = ("target", "account", "remediation", "waiver", "cause")


def render(results: Results) -> str:
    """The verdict, `partial` and the summary as offlineprep.verdict judges them (never as a file held them)."""
    data = with_verdict(results).model_dump(mode="json", by_alias=True)
    if data.get("facts_from") is None:  # written only for a run from saved facts
        data.pop("facts_from", None)
    findings = [{k: v for k, v in f.items() if not (k in _OPTIONAL and v is None)} for f in data["findings"]]
    data["findings"] = sorted(
        findings, key=lambda f: (f["check"], f["subject"], f.get("target") or "", f.get("account") or "")
    )
    return jsontext.dumps(data, sort_keys=True) + "\n"


def write(results: Results, path: Path) -> None:
    write_atomically(path, render(results))


def load(path: Path | str) -> Results:
    """Saved results: every way the file can be wrong is a usage error naming it (offlineprep.jsonfile)."""
    from offlineprep.jsonfile import load_document

    results = load_document(Path(path), Results, what="results file", schema=RESULTS_SCHEMA,
                            how_to_make="offlineprep preflight --config SITE.toml --json RESULTS.json")
    return from_the_actions(results)


# what a fix written as text (a check pack without typed actions) shows once read back from a file
NOT_FROM_A_FILE = comment("The fix of this finding was written as text by its check, not as typed actions: offlineprep "
                          "shows no PowerShell taken from a results file. Run preflight again to see it.")


def from_the_actions(results: Results) -> Results:
    """`results` with every fix's PowerShell (and revert) rendered again from its typed actions, as the
    run that wrote them rendered it (a hostile `powershell` in the file is replaced, never shown), and
    every catalogue link that is not `https:` shown as plain text."""
    from offlineprep.render.viewmodel import with_safe_links

    findings: list[Finding] = []
    for finding in results.findings:
        fix = finding.remediation
        if fix is not None:
            powershell, revert = ps.snippet(fix.actions) if fix.actions else (NOT_FROM_A_FILE, None)
            if (powershell, revert) != (fix.powershell, fix.revert):
                finding = finding.model_copy(update={
                    "remediation": fix.model_copy(update={"powershell": powershell, "revert": revert})})
        findings.append(finding)
    return results.model_copy(update={"findings": findings,
                                      "catalogue": [with_safe_links(c) for c in results.catalogue]})

"""JSON results (`offlineprep/results/v1`): sorted keys and sorted findings, so two runs diff cleanly."""

from __future__ import annotations

from pathlib import Path

from offlineprep import jsontext
from offlineprep.model import RESULTS_SCHEMA, Results
from offlineprep.render import write_atomically

# optional keys of a finding (docs/results.schema.json): written only where they apply
_OPTIONAL = ("target", "account", "remediation", "waiver", "cause")


def render(results: Results) -> str:
    data = results.model_dump(mode="json", by_alias=True)
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

    return load_document(Path(path), Results, what="results file", schema=RESULTS_SCHEMA,
                         how_to_make="offlineprep preflight --config SITE.toml --json RESULTS.json")

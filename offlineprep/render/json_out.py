"""JSON results (`offlineprep/results/v1`): sorted keys and sorted findings, so two runs diff cleanly."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from offlineprep import jsontext
from offlineprep.errors import UsageError
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
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM from a PowerShell 5 round trip is fine
        data = json.loads(text)
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read results: {exc}") from None
    if not isinstance(data, dict) or data.get("schema") != RESULTS_SCHEMA:
        raise UsageError(f"{path}: not an offlineprep results file (schema {RESULTS_SCHEMA!r} expected)")
    try:
        return Results.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(f"{path}: invalid results at {where}: {first['msg']}") from None

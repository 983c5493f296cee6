"""The demo's outputs, byte for byte, as they were before the redesign of issue 23.

A layout change (modules moved, codecs merged, actions split) must not change a single verdict, message
or fix line. Only what is measured anew each run is masked: clocks, durations and the output paths.
To accept a deliberate change of behaviour, regenerate with `OFFLINEPREP_GOLDEN=write pytest
tests/test_demo_golden.py` and say why in the commit.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

GOLDEN = Path(__file__).parent / "fixtures" / "demo_golden"
OUTPUTS = {"json": "results.json", "fix-script": "fix.ps1", "markdown": "summary.md", "junit": "junit.xml"}
MEASURED = [
    (re.compile(r'"(dc_utc|host_utc|generated_at)": "[^"]*"'), r'"\1": "<time>"'),
    (re.compile(r'"(\w+_seconds)": -?[0-9.]+'), r'"\1": 0'),  # durations, skews and their uncertainty
    (re.compile(r"generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"), "generated <time> UTC"),
    (re.compile(r"offlineprep (\S+), \d{4}-\d\d-\d\d \d\d:\d\d UTC"), r"offlineprep \1, <time> UTC"),
    (re.compile(r'timestamp="[^"]*"'), 'timestamp="<time>"'),
    (re.compile(r'time="[0-9.]+"'), 'time="0"'),
    # host.clock-skew's messages: the lab's clocks are read live, to the second
    (re.compile(r"within \d+ s of the domain controller"), "within <n> s of the domain controller"),
    (re.compile(r"\b\d+ s (ahead of|behind) "), r"<n> s \1 "),
    (re.compile(r"\b\d+\.\d min (ahead of|behind) "), r"<n> min \1 "),
]


def normalised(text: str, workdir: Path) -> str:
    text = text.replace(str(workdir), "<dir>")
    for pattern, replacement in MEASURED:
        text = pattern.sub(replacement, text)
    return text


def test_demo_outputs_are_unchanged(tmp_path: Path) -> None:
    args = [a for flag, name in OUTPUTS.items() for a in (f"--{flag}", str(tmp_path / name))]
    proc = subprocess.run([sys.executable, "-m", "offlineprep", "preflight", "--demo", *args],
                          capture_output=True, text=True, timeout=180, env={**os.environ, "COLUMNS": "120"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    produced = {name: normalised((tmp_path / name).read_text(encoding="utf-8-sig"), tmp_path)
                for name in OUTPUTS.values()}
    produced["terminal.txt"] = normalised(proc.stdout, tmp_path)
    if os.environ.get("OFFLINEPREP_GOLDEN") == "write":
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for name, text in produced.items():
            (GOLDEN / name).write_text(text, encoding="utf-8")
    for name, text in produced.items():
        assert text == (GOLDEN / name).read_text(encoding="utf-8"), f"{name} differs from {GOLDEN / name}"

"""Commit subjects stay readable in `git log --oneline` (docs/architecture.md, conventions).

Checked from the commit that introduced the rule on: history before it is left as it was written.
`.githooks/commit-msg` refuses a long subject at commit time (`git config core.hooksPath .githooks`).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RULE_SINCE = "822b098"  # the last commit before the rule; every later one is held to it
MAX_SUBJECT = 72


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False)


def test_commit_subjects_since_the_rule_fit_72_characters() -> None:
    if shutil.which("git") is None or _git("cat-file", "-e", f"{RULE_SINCE}^{{commit}}").returncode != 0:
        pytest.skip("not a git checkout with its history (a source archive or a shallow clone)")
    log = _git("log", "--format=%h %s", f"{RULE_SINCE}..HEAD")
    assert log.returncode == 0, log.stderr
    long = [line for line in log.stdout.splitlines() if len(line.split(" ", 1)[1]) > MAX_SUBJECT]
    assert long == [], "commit subjects over 72 characters:\n" + "\n".join(long)

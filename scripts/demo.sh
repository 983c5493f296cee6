#!/usr/bin/env bash
# Sets up offlineprep in .venv and runs the demo: the whole pipeline against a built-in lab
# (an in-process directory and simulated Windows hosts on loopback). Extra arguments go to
# `offlineprep preflight --demo`, e.g. scripts/demo.sh --html report.html
# With --apply first: `offlineprep demo --apply`, the loop of docs/apply.md against the lab, in one
# process: preflight, plan, apply (a dry run, then --yes) and the re-check; add --revert to undo it
# at the end and --workdir DIR to keep plan.json and record.json there.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --demo-only >&2
if [ "${1:-}" = "--apply" ]; then
    exec .venv/bin/offlineprep demo "$@"
fi
exec .venv/bin/offlineprep preflight --demo "$@"

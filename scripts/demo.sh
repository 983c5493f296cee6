#!/usr/bin/env bash
# Sets up offlineprep in .venv and runs the demo: the whole pipeline against a built-in lab
# (an in-process directory and simulated Windows hosts on loopback). Extra arguments go to
# `offlineprep preflight --demo`, e.g. scripts/demo.sh --html report.html
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --demo-only >&2
exec .venv/bin/offlineprep preflight --demo "$@"

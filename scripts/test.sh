#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the whole test suite: lint, types, then pytest, which starts
# its own Samba AD DC, WinRM endpoint and headless Chromium on loopback.
# Extra arguments go to pytest, e.g. scripts/test.sh -k delegation
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== ruff"; .venv/bin/ruff check offlineprep checks tests bench
echo "== mypy"; .venv/bin/mypy
echo "== pytest"; exec .venv/bin/python -m pytest -p no:cacheprovider "$@"

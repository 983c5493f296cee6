#!/usr/bin/env bash
# Sets up everything offlineprep's demo and tests need on a fresh Debian machine, idempotently:
# system packages (Samba AD DC for the directory tests, Chromium for the report tests) and a
# virtual environment in .venv with offlineprep installed editable plus the test tools.
# Usage: scripts/setup.sh [--demo-only]
set -euo pipefail
cd "$(dirname "$0")/.."

DEMO_ONLY=0
[ "${1:-}" = "--demo-only" ] && DEMO_ONLY=1

# libkrb5-dev and gcc: to build gssapi/pykerberos for the Kerberos tests (offlineprep[kerberos]).
# samba-ad-provision holds the AD schema that `samba-tool domain provision` reads; it is only a
# Recommends of samba-ad-dc, so --no-install-recommends leaves it out unless named.
# tmux: the terminal the prompt test reads the screen of; poppler-utils: pdftoppm and pdftotext for
# the report's print preview.
APT_PACKAGES=(samba samba-ad-dc samba-ad-provision winbind krb5-user ldb-tools python3-samba chromium iproute2 libkrb5-dev gcc
              tmux poppler-utils)

need_apt=()
if [ "$DEMO_ONLY" = 0 ]; then
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$p")
  done
  # node and npm install axe-core, the accessibility checker of the report tests; a node that came
  # with the machine (not from Debian) is fine as it is
  command -v npm >/dev/null || need_apt+=(nodejs npm)
fi
if [ "${#need_apt[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "setup: installing ${need_apt[*]}" >&2
  $SUDO apt-get update -qq
  # krb5-user asks for a default realm unless told not to
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true  # an old pip still works
TARGET=".[test,kerberos]"
[ "$DEMO_ONLY" = 1 ] && TARGET="."
if ! .venv/bin/python -m pip install -q -e "$TARGET" >.venv/pip-install.log 2>&1; then
  echo "setup: pip install -e '$TARGET' failed:" >&2
  tail -n 40 .venv/pip-install.log >&2
  exit 1
fi
.venv/bin/offlineprep --help >/dev/null

# axe-core for the accessibility test (tests/report/test_accessibility.py), into the virtual
# environment's folder, never committed. A node and npm that came with the machine are fine.
AXE_VERSION="4.14.1"
if [ "$DEMO_ONLY" = 0 ] && [ ! -f .venv/node_modules/axe-core/axe.min.js ]; then
  if command -v npm >/dev/null; then
    npm install --silent --no-audit --no-fund --prefix .venv "axe-core@$AXE_VERSION" >/dev/null
  else
    echo "setup: npm is missing; the accessibility test will fail in CI (apt-get install nodejs npm)" >&2
  fi
fi

#!/usr/bin/env bash
# Installs schemathesis, pinned, from PyPI into a virtualenv under ~/.cache/evochora/venv, for
# the API's schemathesis suite (tests/integration/api_schemathesis_test.ts). .ci/run and
# `deno task test` (scripts/run_tests.ts) call it; it does nothing when that version is there.
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/evochora"
VENV="$CACHE/venv"

if "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qx "schemathesis, version $SCHEMATHESIS_VERSION"; then
  exit 0
fi
echo "provision: installing schemathesis $SCHEMATHESIS_VERSION from PyPI into $VENV" >&2
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
  "schemathesis==$SCHEMATHESIS_VERSION"
"$VENV/bin/schemathesis" --version >&2

#!/usr/bin/env bash
# Installs the OpenAPI fuzzer `make api-fuzz` runs: schemathesis from PyPI into .venv-fuzz/
# (python3-venv from Debian when missing). Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
# Pinned with it: a fresh machine gets the hypothesis this suite was last run with.
HYPOTHESIS_VERSION=6.170.27
VENV=.venv-fuzz
say() { printf '\033[1mapi-fuzz-setup:\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian's python3 makes virtual environments only with python3-venv (ensurepip).
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
  say "installing python3-venv from Debian"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv
fi

installed=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"), m.version("hypothesis"))' 2>/dev/null || true)
if [ "$installed" != "$SCHEMATHESIS_VERSION $HYPOTHESIS_VERSION" ]; then
  say "installing schemathesis $SCHEMATHESIS_VERSION (hypothesis $HYPOTHESIS_VERSION) into $VENV (from PyPI)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" "hypothesis==$HYPOTHESIS_VERSION"
fi
say "ready: $VENV/bin/st (schemathesis $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))'))"

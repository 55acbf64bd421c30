#!/usr/bin/env bash
# Installs what `actionboard rules evaluate --engine spark` needs, from the registries only:
# pyspark (which bundles Spark's jars) from PyPI into .venv-spark/, and Java 17 from Debian when
# no `java` is on PATH. Idempotent: a second run only checks. Not needed for `make run`.
set -euo pipefail
cd "$(dirname "$0")/.."

PYSPARK_VERSION=4.0.5
VENV=.venv-spark
say() { printf '\033[1mspark-setup:\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v java >/dev/null 2>&1; then
  say "installing Java 17 from Debian (openjdk-17-jre-headless)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless
fi

# Debian's python3 makes virtual environments only with python3-venv (ensurepip).
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
  say "installing python3-venv from Debian"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv
fi

if [ "$("$VENV/bin/python" -c 'import pyspark; print(pyspark.__version__)' 2>/dev/null)" != "$PYSPARK_VERSION" ]; then
  say "installing pyspark $PYSPARK_VERSION into $VENV (about 450 MB, from PyPI)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "pyspark==$PYSPARK_VERSION"
fi
say "ready: $VENV/bin/python ($("$VENV/bin/python" -c 'import pyspark; print("pyspark", pyspark.__version__)'), $(java -version 2>&1 | head -1))"

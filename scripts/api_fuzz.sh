#!/usr/bin/env bash
# The OpenAPI fuzzer (`make api-fuzz`, part of `make test`): schemathesis reads the document the
# server publishes (/api/openapi.json), generates requests from it — ones that fit the schemas and
# ones that break them, boundary values first — and sends them to a real `actionboard serve` over
# a freshly loaded temporary data folder, with an analyst's API token. It fails on any 5xx, any
# request that fits the document but is refused, any request that breaks it but is accepted, and
# any answer (status, content type, body) the document does not describe.
#
# Bounded: FUZZ_MAX_EXAMPLES cases per operation and phase (default 40), one worker: with two,
# hypothesis parses lambdas' source on two threads at once, which CPython 3.11 can fail with
# "SystemError: AST constructor recursion depth mismatch" (cpython#106905), a red run that says
# nothing about the server. FUZZ_SEED (default 23) makes a run reproducible; FUZZ_SEED=random
# draws a new one (printed).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ACTIONBOARD_BIN:-target/debug/actionboard}
MIRROR=${ACTIONBOARD_MIRROR:-../shared/data}
MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-40}
SEED=${FUZZ_SEED:-23}
[ "$SEED" = random ] && SEED=$RANDOM$RANDOM
ST=.venv-fuzz/bin/st
[ -x "$BIN" ] || { echo "api-fuzz: $BIN is missing: run make build-debug" >&2; exit 1; }
[ -x "$ST" ] || bash scripts/api_fuzz_setup.sh

data=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$data"
}
trap cleanup EXIT

export ACTIONBOARD_DATA_DIR=$data
"$BIN" etl run --mirror "$MIRROR" >"$data/etl.log" 2>&1 || { echo "api-fuzz: loading the default data failed:" >&2; cat "$data/etl.log" >&2; exit 1; }
token=$("$BIN" tokens add api-fuzz --role analyst 2>/dev/null)
# Real fingerprints and versions for the acting routes: random ones only ever reach "no such alert"
# or "changed meanwhile", so most cases draw these (the rest stay random, to keep those paths
# fuzzed too).
"$BIN" alerts list --format json --status all >"$data/alerts.json"
python3 - "$data/alerts.json" >"$data/schemathesis.toml" <<'PY'
import json, sys
fingerprints = [a["alert"]["fingerprint"] for a in json.load(open(sys.argv[1]))]
if not fingerprints:
    sys.exit("api-fuzz: the default data raised no alert to act on")
print("[dictionaries.fingerprints]")
print("values = " + json.dumps(fingerprints))
print("[parameters]")
print('"path.fingerprint" = { dictionary = "fingerprints", probability = 0.9 }')
# Versions an alert really has early on, so that changes get past the version check and walk the
# alerts through their states, not only into 409.
print("[dictionaries.versions]")
print("values = [1, 2, 3, 4, 5, 6]")
print("[parameters.\"body.version\"]")
print('dictionary = "versions"')
print("probability = 0.5")
PY
# No scheduled jobs: a tick due while fuzzing would start a run nobody asked for.
ACTIONBOARD_SCHEDULE="$data/no-schedule.yml" ACTIONBOARD_LOG=warn "$BIN" serve --port 0 >"$data/serve.log" 2>&1 &
server_pid=$!
url=
for _ in $(seq 300); do
  url=$(sed -n 's|.*is serving \(http://[^ ]*\).*|\1|p' "$data/serve.log" 2>/dev/null | head -1 || true)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "api-fuzz: the server did not start:"; cat "$data/serve.log"; exit 1; } >&2

echo "api-fuzz: $url/api/openapi.json, $MAX_EXAMPLES cases per operation and phase, seed $SEED"
start=$(date +%s)
status=0
# tests/api_fuzz/checks.py replaces positive_data_acceptance: only the alert's state may refuse
# a request that fits the document, and it says so with its own error code.
SCHEMATHESIS_HOOKS=tests/api_fuzz/checks.py "$ST" --config-file "$data/schemathesis.toml" run "$url/api/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks all \
  --exclude-checks positive_data_acceptance \
  --max-examples "$MAX_EXAMPLES" \
  --seed "$SEED" \
  --workers 1 \
  --request-timeout 30 \
  --generation-database none \
  --no-color || status=$?
echo "api-fuzz: $(( $(date +%s) - start )) s"
if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "api-fuzz: the server died:" >&2; tail -50 "$data/serve.log" >&2; exit 1
fi
if grep -q 'panicked' "$data/serve.log"; then
  echo "api-fuzz: the server panicked:" >&2; grep -A5 'panicked' "$data/serve.log" >&2; exit 1
fi
exit $status

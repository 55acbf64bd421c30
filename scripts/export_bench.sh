#!/usr/bin/env bash
# Export benchmark over the CLI and HTTP, run by `make bench` after a release build and after
# `export_bench` generated the alert state (never by `make test`): CSV of every action
# (1,000,000 rows by default) from `actionboard export` (target ≥ 200 MB/s) and over HTTP
# (target ≥ 100 MB/s), time to first byte over HTTP (≤ 100 ms), the server's peak memory during
# the export above its idle memory (≤ 100 MB). The server runs on a free loopback port over the
# generated data folder and is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ACTIONBOARD_BIN:-target/release/actionboard}
DATA=${EXPORT_BENCH_DIR:-target/bench/export}
SITE=${LEPTOS_SITE_ROOT:-target/site}
[ -x "$BIN" ] || { echo "export_bench: $BIN is missing: run make build" >&2; exit 1; }
[ -f "$DATA/state/alerts.sqlite" ] || { echo "export_bench: no alert state in $DATA: run the export_bench example first" >&2; exit 1; }

server_pid=
log=$(mktemp)
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -f "$log"
}
trap cleanup EXIT
verdict() { awk -v c="$1" 'BEGIN { print (c ? "PASS" : "MISS") }'; }
now() { date +%s.%N; }

# (a) the CLI, CSV to a pipe.
start=$(now)
bytes=$("$BIN" --data-dir "$DATA" export --format csv --status all --as bench | wc -c)
secs=$(awk -v a="$start" -v b="$(now)" 'BEGIN { print b - a }')
cli=$(awk -v n="$bytes" -v s="$secs" 'BEGIN { printf "%.0f", n / 1e6 / s }')
printf '(a) CLI CSV: %.1f MB in %.2f s = %s MB/s (target ≥ 200): %s\n' "$(awk -v n="$bytes" 'BEGIN{print n/1e6}')" "$secs" "$cli" "$(verdict "$(( cli >= 200 ))")"

# (b) over HTTP.
ACTIONBOARD_DATA_DIR=$DATA LEPTOS_SITE_ROOT=$SITE ACTIONBOARD_LOG=warn "$BIN" serve --port 0 >"$log" 2>&1 &
server_pid=$!
for _ in $(seq 300); do
  # The serving line, not the first-start notice's sign-in link.
  url=$(sed -n 's|.*is serving \(http://[^ ]*\).*|\1|p' "$log" 2>/dev/null | head -1 || true)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "export_bench: the server did not start:"; cat "$log"; exit 1; } >&2
# A loaded machine may take a while to start the server: wait up to a minute, then say so.
healthy=
for _ in $(seq 600); do curl -sf "$url/healthz" >/dev/null && { healthy=1; break; }; sleep 0.1; done
[ -n "$healthy" ] || { echo "export_bench: the server at $url did not answer /healthz:"; cat "$log"; exit 1; } >&2
idle=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")
read -r ttfb total size < <(curl -s -o /dev/null -w '%{time_starttransfer} %{time_total} %{size_download}\n' \
  "$url/api/v1/actions/export?format=csv&status=all&lang=en")
peak=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
http=$(awk -v n="$size" -v s="$total" 'BEGIN { printf "%.0f", n / 1e6 / s }')
ttfb_ms=$(awk -v t="$ttfb" 'BEGIN { printf "%.0f", t * 1000 }')
above=$(( (peak - idle) / 1024 ))
printf '(b) HTTP CSV: %.1f MB in %.2f s = %s MB/s (target ≥ 100): %s\n' "$(awk -v n="$size" 'BEGIN{print n/1e6}')" "$total" "$http" "$(verdict "$(( http >= 100 ))")"
printf '    time to first byte %s ms (target ≤ 100): %s\n' "$ttfb_ms" "$(verdict "$(( ttfb_ms <= 100 ))")"
printf '    server memory: idle %s MB, peak %s MB, %s MB above idle (target ≤ 100): %s\n' "$(( idle / 1024 ))" "$(( peak / 1024 ))" "$above" "$(verdict "$(( above <= 100 ))")"

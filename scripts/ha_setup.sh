#!/usr/bin/env bash
# Installs what the high-availability tests need, from Debian's packages only: PostgreSQL (the
# shared alert state; the tests run `initdb` into a temporary folder, never the system cluster)
# and HAProxy (the load balancer in front of two servers). Idempotent: `apt-get update` runs only
# when a package is missing, so a second run only checks. The tests find the binaries under
# /usr/lib/postgresql/*/bin and /usr/sbin (testkit/src/postgres.rs, testkit/src/haproxy.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1mha-setup:\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# The newest installed server's bin folder (Debian installs one folder per major version).
pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ] && echo "$dir"
}
haproxy_bin() { command -v haproxy 2>/dev/null || { [ -x /usr/sbin/haproxy ] && echo /usr/sbin/haproxy; }; }

apt_missing=()
pg_bin >/dev/null || apt_missing+=(postgresql)
haproxy_bin >/dev/null || apt_missing+=(haproxy)
if [ ${#apt_missing[@]} -gt 0 ]; then
  say "installing from Debian: ${apt_missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_missing[@]}"
fi

bin=$(pg_bin) || { echo "ha-setup: no initdb/pg_ctl/postgres under /usr/lib/postgresql/*/bin after installing postgresql" >&2; exit 1; }
hap=$(haproxy_bin) || { echo "ha-setup: no haproxy on PATH or in /usr/sbin after installing haproxy" >&2; exit 1; }
# PostgreSQL refuses to run as root: the tests start it as this user (Debian's package creates it).
if [ "$(id -u)" -eq 0 ] && ! id -u postgres >/dev/null 2>&1; then
  echo "ha-setup: running as root but there is no 'postgres' user to run the test servers as (reinstall postgresql-common)" >&2
  exit 1
fi
say "ready: $("$bin/postgres" --version) in $bin, $("$hap" -v | head -n 1)"

#!/usr/bin/env bash
# Measures what a new user waits for: from a fresh clone to a served dashboard with `make run`, on
# a machine that has only Debian's packages, rustup's toolchain and this repository's ../shared.
# The clone gets its own HOME (no cargo registry, no installed wasm-bindgen, no npm cache) and its
# own empty build folder, so every download and compilation is counted; only rustup's toolchain
# and its wasm32 target are shared (`scripts/setup.sh` adds the target in seconds on a new machine).
#
#   scripts/first_run.sh            # clones this repository's HEAD into a temporary folder
#   KEEP=1 scripts/first_run.sh     # keep the temporary folder (it holds ~6 GB of build output)
#
# Prints each phase's time (from `make run`'s own output) and the total; not part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
shared=$(cd .. && pwd)/shared
rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
toolchain_bin=$(dirname "$(rustup which cargo)")

fresh=$(mktemp -d /tmp/actionboard-first-run.XXXXXX)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill -- -"$server_pid" 2>/dev/null || kill "$server_pid" 2>/dev/null || true; fi
  [ "${KEEP:-0}" = 1 ] || rm -rf "$fresh"
}
trap cleanup EXIT

mkdir -p "$fresh/home" "$fresh/bin"
# The toolchain's own binaries, not ~/.cargo/bin (which also holds what earlier runs installed).
for tool in cargo rustc rustdoc rustfmt cargo-fmt cargo-clippy clippy-driver; do
  [ -x "$toolchain_bin/$tool" ] && ln -s "$toolchain_bin/$tool" "$fresh/bin/$tool"
done
ln -s "$(command -v rustup)" "$fresh/bin/rustup"
git clone -q "$repo" "$fresh/actionboard"
ln -s "$shared" "$fresh/shared"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log="$fresh/make-run.log"
echo "first run: fresh clone in $fresh, serving on port $port; log in $log"
start=$(date +%s)
(
  cd "$fresh/actionboard"
  exec setsid env -i HOME="$fresh/home" RUSTUP_HOME="$rustup_home" PATH="$fresh/bin:/usr/local/bin:/usr/bin:/bin" \
    TERM=dumb PORT="$port" make run
) >"$log" 2>&1 &
server_pid=$!

# Bounded: a first run that has not served within 60 minutes has failed.
deadline=$((start + 3600))
stamp() { echo "$(( $(date +%s) - start ))"; }
seen_setup= seen_build=
while :; do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "first run: make run stopped before serving; the end of its log:" >&2
    tail -n 30 "$log" >&2
    exit 1
  fi
  if [ -z "$seen_setup" ] && grep -q 'setup:.* ready' "$log"; then seen_setup=$(stamp); fi
  if [ -z "$seen_build" ] && grep -q 'build:.* site in' "$log"; then seen_build=$(stamp); fi
  if curl -fs -o /dev/null "http://127.0.0.1:$port/"; then break; fi
  if [ "$(date +%s)" -gt "$deadline" ]; then
    echo "first run: no dashboard after 60 minutes" >&2
    exit 1
  fi
  sleep 2
done
total=$(stamp)
printf 'first run: set-up done after %s s (tools: wasm-bindgen-cli, npm packages)\n' "${seen_setup:-?}"
printf 'first run: build done after %s s (server debug build, islands wasm, site)\n' "${seen_build:-?}"
printf 'first run: dashboard served after %s s (%d min %02d s), including loading the default data\n' \
  "$total" $((total / 60)) $((total % 60))

#!/usr/bin/env bash
# Installs what building and testing Actionboard needs on a fresh Debian 12 machine, using only
# the package registries (crates.io, npm, Debian apt). Idempotent: whatever is present and at the
# right version is skipped, so a second run takes seconds. Never downloads a prebuilt binary from
# anywhere else (cargo-leptos would fetch wasm-opt/sass/tailwind from GitHub: we give it npm's).
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LEPTOS_VERSION=0.3.11
export PATH="$HOME/.cargo/bin:$PATH"

# What to install besides the build tools: --browser (Chromium and a CJK font, for the browser
# tests), --bench (wrk), --dev (cargo-leptos, for `make dev`).
want_browser=0 want_bench=0 want_dev=0
for arg in "$@"; do
  case $arg in
    --browser) want_browser=1 ;;
    --bench) want_bench=1 ;;
    --dev) want_dev=1 ;;
    *) echo "setup: unknown option $arg (use --browser, --bench, --dev)" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# 1. The wasm32 standard library for the hydrate build.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# 2. cargo-leptos, only for `make dev` (`cargo leptos watch`): builds use scripts/build.sh.
#    Its lock file needs rustc >= 1.96, so build it with nightly when present; its own LTO release
#    profile would take ~15 min on 2 cores, so it is turned off.
if [ "$want_dev" = 1 ] && [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION for make dev (about 9 minutes on 2 cores)"
  if rustup toolchain list | grep -q '^nightly'; then
    CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      cargo +nightly install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
  else
    CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION"
  fi
fi

# 3. The wasm-bindgen CLI must be exactly the version of the wasm-bindgen crate in Cargo.lock.
wasm_bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
if [ -z "$wasm_bindgen_version" ]; then
  echo "setup: cannot find the wasm-bindgen version in Cargo.lock" >&2
  exit 1
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wasm_bindgen_version" ]; then
  say "installing wasm-bindgen-cli $wasm_bindgen_version"
  cargo install wasm-bindgen-cli --version "$wasm_bindgen_version" --locked \
    || cargo install wasm-bindgen-cli --version "$wasm_bindgen_version"
fi

# 4. With --browser: Debian's Chromium for the browser tests (Playwright's own browser download fails here),
#    a CJK font so Korean text renders in it (screenshots included), and wrk for the benchmark.
apt_missing=()
if [ "$want_browser" = 1 ]; then
  command -v chromium >/dev/null 2>&1 || apt_missing+=(chromium)
  dpkg -s fonts-noto-cjk >/dev/null 2>&1 || apt_missing+=(fonts-noto-cjk)
fi
# wrk drives the web benchmark (make bench).
if [ "$want_bench" = 1 ]; then
  command -v wrk >/dev/null 2>&1 || apt_missing+=(wrk)
fi
if [ ${#apt_missing[@]} -gt 0 ]; then
  say "installing from Debian: ${apt_missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_missing[@]}"
fi

# 5. npm tools: wasm-opt (binaryen), the prebuilt libduckdb.so, playwright-core, axe-core.
#    Re-installed only when package-lock.json changed since the last install.
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.actionboard-lock 2>/dev/null)" != "$lock_sum" ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.actionboard-lock
fi

say "ready"

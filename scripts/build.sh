#!/usr/bin/env bash
# Builds Actionboard: the `actionboard` binary and the site it serves (the islands' wasm, its JS
# glue, the CSS) into $LEPTOS_SITE_ROOT (default target/site). What cargo-leptos does for this
# project, with plain cargo, the wasm-bindgen CLI and npm's wasm-opt, so a new machine need not
# compile cargo-leptos (~12 minutes on 2 cores) before it can serve.
#
#   scripts/build.sh dev       the debug build, shared with `cargo test` (make test, make run)
#   scripts/build.sh release   optimised server and size-optimised wasm (make run-release, make bench)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"

mode=${1:-dev}
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
site=${LEPTOS_SITE_ROOT:-target/site}
case $mode in
  dev) server_profile=dev; wasm_profile=dev; wasm_dir=debug ;;
  release) server_profile=release; wasm_profile=wasm-release; wasm_dir=wasm-release ;;
  *) echo "build: unknown mode '$mode' (use dev or release)" >&2; exit 2 ;;
esac
say() { printf '\033[1mbuild:\033[0m %s\n' "$*"; }

# The server; the same flags as `cargo test`, so a debug build reuses the tests' artifacts.
say "server ($server_profile)"
cargo build -p server --bin actionboard --profile "$server_profile"

# The islands, compiled to wasm (only `app`'s hydrate feature: no engine, no DuckDB).
say "islands wasm ($wasm_profile)"
cargo build -p app --lib --target wasm32-unknown-unknown --no-default-features --features hydrate \
  --profile "$wasm_profile"

# Written next to the site and swapped in whole, so a running server never serves half a build.
pkg="$site/pkg"
staging="$site/.pkg.new"
rm -rf "$staging"
mkdir -p "$staging"
wasm-bindgen --target web --no-typescript --out-dir "$staging" --out-name actionboard \
  "$target_dir/wasm32-unknown-unknown/$wasm_dir/app.wasm"
# Leptos' island loader asks for `<output-name>.wasm`.
mv "$staging/actionboard_bg.wasm" "$staging/actionboard.wasm"
if [ "$mode" = release ]; then
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    "$staging/actionboard.wasm" -o "$staging/actionboard.wasm"
fi
cp style/main.css "$staging/actionboard.css"
if [ -d public ] && [ -n "$(ls -A public)" ]; then cp -R public/. "$site/"; fi
rm -rf "$pkg.old"
[ -d "$pkg" ] && mv "$pkg" "$pkg.old"
mv "$staging" "$pkg"
rm -rf "$pkg.old"
say "site in $site ($(du -k "$pkg/actionboard.wasm" | cut -f1) KB of wasm), binary in $target_dir/$([ "$server_profile" = dev ] && echo debug || echo release)/actionboard"

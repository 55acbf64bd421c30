# Actionboard. `make run` serves the dashboard; `make test` runs every check. Both set up what is missing.
SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
PORT ?= 3000
# Arguments of `make bench`, e.g. BENCH_ARGS="--rows 2000000 --seed 7", RULES_BENCH_ARGS="--entities 100000".
BENCH_ARGS ?=
RULES_BENCH_ARGS ?=
# e.g. EXPORT_BENCH_ARGS="--actions 200000"
EXPORT_BENCH_ARGS ?=
# e.g. SPARK_BENCH_ARGS="--rows 1000000 --master local[2]" (default 10M rows, local[2])
SPARK_BENCH_ARGS ?=
ACTIONBOARD_MIRROR ?= $(abspath $(CURDIR)/../shared/data)
export ACTIONBOARD_MIRROR
# scripts/build.sh (and cargo-leptos, for make dev) find wasm-opt on PATH: npm's binaryen.
HYDRATE_CLIPPY := cargo clippy -p app --lib --target wasm32-unknown-unknown --no-default-features --features hydrate

.PHONY: setup setup-test setup-bench setup-dev run run-release build build-debug load test fmt-check lint rust-test browser-test api-fuzz dev bench first-run clean-data ha

setup:
	@bash scripts/setup.sh

setup-test:
	@bash scripts/setup.sh --browser
	@bash scripts/spark_setup.sh
	@bash scripts/api_fuzz_setup.sh
	@bash scripts/ha_setup.sh

## spark-setup: pyspark (PyPI) in .venv-spark/ and Java 17 (Debian) for `rules evaluate --engine spark`; not needed for make run
.PHONY: spark-setup
spark-setup:
	@bash scripts/spark_setup.sh

setup-bench:
	@bash scripts/setup.sh --bench

setup-dev:
	@bash scripts/setup.sh --dev

## run: build (the debug build `make test` shares), load the default data, serve http://127.0.0.1:$(PORT)
run: setup build-debug
	$(TARGET_DIR)/debug/actionboard etl run --mirror "$(ACTIONBOARD_MIRROR)"
	LEPTOS_SITE_ROOT=target/site PORT=$(PORT) $(TARGET_DIR)/debug/actionboard serve

## run-release: the same with the optimised build (for large data; the first build takes longer)
run-release: setup build load
	LEPTOS_SITE_ROOT=target/site PORT=$(PORT) $(TARGET_DIR)/release/actionboard serve

build:
	bash scripts/build.sh release

load:
	$(TARGET_DIR)/release/actionboard etl run --mirror "$(ACTIONBOARD_MIRROR)"

## dev: rebuild and reload the browser on every change (debug build)
dev: setup-dev
	cargo leptos watch

## test: formatting, lints (layers, ssr + hydrate), Rust tests, browser tests, the OpenAPI fuzzer
test: setup-test fmt-check lint build-debug rust-test browser-test api-fuzz

fmt-check:
	cargo fmt --all -- --check

lint:
	python3 scripts/check_layers.py
	cargo clippy --workspace --all-targets -- -D warnings
	$(HYDRATE_CLIPPY) -- -D warnings

build-debug:
	bash scripts/build.sh dev

# ACTIONBOARD_REQUIRE_HA: the PostgreSQL/HAProxy tests fail, not skip, without their binaries (scripts/ha_setup.sh).
# The state's behaviour suite runs twice: on SQLite files (with everything else), then on a
# throwaway PostgreSQL (ACTIONBOARD_TEST_STATE=postgres), the shared state of several servers.
STATE_SUITE := --test alert_actions --test alert_pages --test alert_state --test notify_outbox --test schedule --test export

rust-test:
	ACTIONBOARD_REQUIRE_HA=1 cargo test --workspace
	ACTIONBOARD_TEST_STATE=postgres cargo test -p engine $(STATE_SUITE)
	ACTIONBOARD_TEST_STATE=postgres cargo test -p engine --lib state::

## ha: the long test of two servers on one PostgreSQL behind HAProxy (server/tests/ha_soak.rs):
## 50 API clients and a 10-second job for 5 minutes, one server killed and restarted (make test
## runs it short: 8 clients, 30 s)
HA_CLIENTS ?= 50
HA_SECONDS ?= 300
ha: setup-test
	ACTIONBOARD_REQUIRE_HA=1 ACTIONBOARD_HA_CLIENTS=$(HA_CLIENTS) ACTIONBOARD_HA_SECONDS=$(HA_SECONDS) \
		cargo test -p server --test ha_soak --test shared_state -- --nocapture

## api-fuzz: schemathesis (PyPI, in .venv-fuzz/) against a real server: no 5xx, no schema-valid request refused, no invalid one accepted
api-fuzz: build-debug
	@bash scripts/api_fuzz_setup.sh
	ACTIONBOARD_BIN=$(TARGET_DIR)/debug/actionboard bash scripts/api_fuzz.sh

browser-test:
	ACTIONBOARD_BIN=$(TARGET_DIR)/debug/actionboard LEPTOS_SITE_ROOT=$(CURDIR)/target/site \
	  node --test --test-concurrency=1 tests/browser/

## bench: ETL (10M generated rows), rules (1M entities × 20 years), web (wrk), export (1M action rows), notifications (outbox in the merge, worker to a local receiver), rules on DuckDB vs Spark (10M rows) and first-run time; not part of `make test`
bench: setup-bench build
	cargo run --release -p engine --example etl_bench -- $(BENCH_ARGS)
	cargo run --release -p engine --example rules_bench -- $(RULES_BENCH_ARGS)
	ACTIONBOARD_BIN=$(TARGET_DIR)/release/actionboard LEPTOS_SITE_ROOT=target/site scripts/web_bench.sh
	cargo run --release -p engine --example export_bench -- $(EXPORT_BENCH_ARGS)
	cargo run --release -p engine --example notify_bench -- $(NOTIFY_BENCH_ARGS)
	ACTIONBOARD_BIN=$(TARGET_DIR)/release/actionboard LEPTOS_SITE_ROOT=target/site scripts/export_bench.sh
	bash scripts/spark_setup.sh
	cargo run --release -p engine --example spark_bench -- $(SPARK_BENCH_ARGS)
	bash scripts/first_run.sh

## first-run: time a fresh clone's `make run` until the dashboard answers (own HOME, empty caches)
first-run:
	bash scripts/first_run.sh

clean-data:
	rm -rf data/runs data/snapshots data/current

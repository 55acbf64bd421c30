//! Build script shared by the crates that link DuckDB (engine, app under `ssr`, server): embeds
//! the prebuilt library's folder as an rpath so binaries and tests run without LD_LIBRARY_PATH.
//! (cargo-leptos overrides RUSTFLAGS, so this cannot live in `.cargo/config.toml` rustflags.)
fn main() {
    println!("cargo:rerun-if-env-changed=DUCKDB_LIB_DIR");
    let wasm = std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32");
    if let (false, Ok(dir)) = (wasm, std::env::var("DUCKDB_LIB_DIR")) {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}

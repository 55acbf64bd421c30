//! `actionboard`: the web server and the command line. Thin: parsing and dispatch live in `cli`.

// The ETL allocates many small strings from rayon workers; mimalloc keeps that fast and compact
// (measured by `make bench`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    server::cli::main()
}

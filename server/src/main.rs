//! `actionboard`: the web server and the command line. Thin: parsing and dispatch live in `cli`.

fn main() -> std::process::ExitCode {
    server::cli::main()
}

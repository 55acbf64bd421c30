//! `actionboard`: the web server and the command line. Thin: parsing and dispatch live in `cli`.

mod cli;
mod web;

fn main() -> std::process::ExitCode {
    cli::main()
}

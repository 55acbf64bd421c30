//! Writes a generated World Bank–shaped source ([`testkit::world`]) for the browser tests and
//! the web benchmark at scale:
//!
//! ```text
//! cargo run -p testkit --bin large_world -- DIR [ENTITIES]
//! ```
//!
//! Into DIR: `gdp.csv`, `regions.csv`, `sources.yml` (both as the default configuration names
//! them), and `metrics.yml`, `rules.yml`: the project's `config/` files without the IMF parts.
//! Load it with `ACTIONBOARD_CONFIG=DIR/sources.yml ACTIONBOARD_METRICS=DIR/metrics.yml
//! ACTIONBOARD_RULES=DIR/rules.yml actionboard etl run --mirror DIR`.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let usage = "usage: large_world DIR [ENTITIES]";
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let entities = match args.next().map(|n| n.replace('_', "").parse::<u64>()) {
        None => 60_000,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("ENTITIES must be a whole number above 0\n{usage}");
            return ExitCode::from(2);
        }
    };
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config");
    let run = || -> Result<u64, Box<dyn std::error::Error>> {
        let world = testkit::world::LargeWorld::new(entities);
        let written = world.write(&dir)?;
        let (metrics, rules) = testkit::world::without_imf(
            &std::fs::read_to_string(config.join("metrics.yml"))?,
            &std::fs::read_to_string(config.join("rules.yml"))?,
        )?;
        std::fs::write(dir.join("metrics.yml"), metrics)?;
        std::fs::write(dir.join("rules.yml"), rules)?;
        Ok(written.rows)
    };
    match run() {
        Ok(rows) => {
            println!("{} entities, {rows} rows in {}", entities, dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("large_world: {e}");
            ExitCode::FAILURE
        }
    }
}

//! ETL benchmark, run by `make bench` (never by `make test`):
//!
//! ```text
//! cargo run --release -p engine --example etl_bench -- [--rows N] [--seed S] [--rounds R] [--case C]
//! ```
//!
//! Generates under `target/bench/<case>/` an N-row GDP file in the World Bank long format
//! (synthetic entities `X000001`, … over 1960–2025, `WLD` aggregate rows, about 0.1 % bad rows of
//! every kind the validator rejects), its region table and a `sources.yml`, in two cases:
//! - `unsorted`, as files come from elsewhere: entity blocks shuffled (years shuffled in 30 % of
//!   them), late corrections appended (keys seen before), quoted names with commas and quotes,
//!   long names, values with 15–17 significant digits and exponents, ~8 % missing values;
//! - `sorted`: in (code, year) order, short names, two decimals (the tidiest file).
//!
//! By default both run, each in its own process. Each case goes through the real pipeline
//! (extract → validate → transform → load), as `actionboard etl run` (the same allocator and
//! memory settings), and reports:
//! (a) the ETL as whole processes, timed from outside as a user would (`time`): each round a first
//!     run into an empty data folder, then a run again over it (a published snapshot to compare
//!     volumes and revisions with, as every scheduled run has), with each stage's time;
//! (b) DuckDB's own `CREATE TABLE AS SELECT * FROM read_csv(…)` of the same file, also as whole
//!     processes, into memory (the floor: ratio target ≤ 1.5) and into a fresh file;
//! (c) the transform's speedup with 2 threads vs 1 (target ≥ 1.8), in this process;
//! (d) the ETL processes' peak memory (target ≤ 1 GiB).
//!
//! Each timing is taken `--rounds` times (default 5), the processes in turns, each started on a
//! settled machine (earlier writes synced, the data folder pruned to its published run): the
//! medians are compared with the targets. Every round's time is printed, with its CPU time
//! (user + sys), which a busy neighbour disturbs less than the wall time.
//!
//! A missed target is reported, not an error: the exit code is non-zero only on a real error.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use engine::base::run::SourceCounts;
use engine::base::Stage;
use engine::config::Sources;
use engine::etl::pipeline::{find_run, read_provenance};
use engine::etl::{transform, Pipeline};

// The same allocator as the `actionboard` binary, so the numbers are the product's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Error = Box<dyn std::error::Error>;

const DEFAULT_ROWS: u64 = 10_000_000;
const DEFAULT_SEED: u64 = 42;
const DEFAULT_ROUNDS: u64 = 5;
const FIRST_YEAR: u64 = 1960;
/// 1960–2025.
const YEARS: u64 = 66;
/// One row in this many is a bad one (about 0.1 %).
const BAD_ONE_IN: u64 = 1000;
const RATIO_TARGET: f64 = 1.5;
const SPEEDUP_TARGET: f64 = 1.8;

const REGIONS: [(&str, &[&str]); 5] = [
    ("Africa", &["Northern Africa", "Sub-Saharan Africa"]),
    (
        "Americas",
        &["Latin America and the Caribbean", "Northern America"],
    ),
    (
        "Asia",
        &[
            "Central Asia",
            "Eastern Asia",
            "South-eastern Asia",
            "Southern Asia",
            "Western Asia",
        ],
    ),
    (
        "Europe",
        &[
            "Eastern Europe",
            "Northern Europe",
            "Southern Europe",
            "Western Europe",
        ],
    ),
    (
        "Oceania",
        &[
            "Australia and New Zealand",
            "Melanesia",
            "Micronesia",
            "Polynesia",
        ],
    ),
];

const SOURCES_YML: &str = "# Written by engine/examples/etl_bench.rs: the benchmark's synthetic sources.
defaults: { fetch: mirror }
aggregate_sets:
  bench: [WLD]
sources:
  - id: regions
    role: regions
    kind: csv
    title: Synthetic region table (UN M49 layout)
    publisher: etl_bench
    licence: none
    edition: bench
    mirror: regions.csv
    columns: { code: ISO3166-1-Alpha-3, name: CLDR display name, region: Region Name, sub_region: Sub-region Name }
  - id: gdp
    kind: csv
    series: gdp_usd
    title: Synthetic GDP (World Bank long format)
    publisher: etl_bench
    licence: none
    edition: bench
    mirror: gdp.csv
    columns: { code: Country Code, name: Country Name, year: Year, value: Value }
    unit: usd
    aggregates: bench
    checks: { min: 0, max: 1.0e15, max_reject_rate: 0.01 }
";

struct Args {
    rows: u64,
    seed: u64,
    rounds: u64,
    case: Case,
    /// Internal: run the ETL once on the files already generated in this folder, and report
    /// its time, CPU time and peak memory (the parent's measure of the ETL alone).
    etl_once: Option<PathBuf>,
    /// Internal: DuckDB's `read_csv` of this file into memory (or into `--into` a file), once.
    duckdb_once: Option<PathBuf>,
    duckdb_into: Option<PathBuf>,
}

/// The shape of the generated file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    /// In (code, year) order, short names, values with 2 decimals: the tidiest file.
    Sorted,
    /// As real files come: entity blocks shuffled, years out of order in some, late corrections
    /// appended, quoted names with commas and quotes, long names, values with 15–17 significant
    /// digits and exponents, ~8 % missing values.
    Unsorted,
    /// Both, each in its own process (so each peak memory is its own).
    All,
}

impl Case {
    fn parse(text: &str) -> Option<Case> {
        match text {
            "sorted" => Some(Case::Sorted),
            "unsorted" => Some(Case::Unsorted),
            "all" => Some(Case::All),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Case::Sorted => "sorted",
            Case::Unsorted => "unsorted",
            Case::All => "all",
        }
    }
}

const USAGE: &str = "usage: cargo run --release -p engine --example etl_bench -- [--rows N] [--seed S] [--rounds R] [--case sorted|unsorted|all]";

fn parse_args() -> Result<Args, Error> {
    let mut args = Args {
        rows: DEFAULT_ROWS,
        seed: DEFAULT_SEED,
        rounds: DEFAULT_ROUNDS,
        case: Case::All,
        etl_once: None,
        duckdb_once: None,
        duckdb_into: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}\n  --rows N    rows of the GDP file (default {DEFAULT_ROWS})\n  --seed S    seed of the bad-row placement and the values (default {DEFAULT_SEED})\n  --rounds R  times each timing is taken; the median counts (default {DEFAULT_ROUNDS})\n  --case C    sorted, unsorted, or all (default: both, each in its own process)");
            std::process::exit(0);
        }
        if flag == "--etl-once" || flag == "--duckdb-once" || flag == "--into" {
            let value = inline
                .or_else(|| it.next())
                .ok_or_else(|| format!("`{flag}` needs a path\n{USAGE}"))?;
            let slot = match flag.as_str() {
                "--etl-once" => &mut args.etl_once,
                "--duckdb-once" => &mut args.duckdb_once,
                _ => &mut args.duckdb_into,
            };
            *slot = Some(PathBuf::from(value));
            continue;
        }
        if flag == "--case" {
            let value = inline
                .or_else(|| it.next())
                .ok_or_else(|| format!("`--case` needs a value\n{USAGE}"))?;
            args.case = Case::parse(&value)
                .ok_or_else(|| format!("`--case {value}`: use sorted, unsorted or all\n{USAGE}"))?;
            continue;
        }
        let target = match flag.as_str() {
            "--rows" => &mut args.rows,
            "--seed" => &mut args.seed,
            "--rounds" => &mut args.rounds,
            _ => return Err(format!("unknown argument `{arg}`\n{USAGE}").into()),
        };
        let value = inline
            .or_else(|| it.next())
            .ok_or_else(|| format!("`{flag}` needs a value\n{USAGE}"))?;
        *target = value
            .replace('_', "")
            .parse()
            .map_err(|_| format!("`{flag} {value}`: expected a whole number\n{USAGE}"))?;
    }
    if args.rows < 10 * YEARS {
        return Err(format!("--rows must be at least {}", 10 * YEARS).into());
    }
    if args.rounds == 0 {
        return Err("--rounds must be at least 1".into());
    }
    Ok(args)
}

/// xorshift64*: small, deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // splitmix64 of the seed, so small and zero seeds give a good (non-zero) state.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Clone, Copy)]
enum Bad {
    Negative,
    NaN,
    Absurd,
    UnknownCode,
    Duplicate,
    NonNumericYear,
}

const BAD_KINDS: [Bad; 6] = [
    Bad::Negative,
    Bad::NaN,
    Bad::Absurd,
    Bad::UnknownCode,
    Bad::Duplicate,
    Bad::NonNumericYear,
];

impl Bad {
    fn label(self) -> &'static str {
        match self {
            Bad::Negative => "negative",
            Bad::NaN => "NaN",
            Bad::Absurd => "1e20",
            Bad::UnknownCode => "unknown code",
            Bad::Duplicate => "duplicate",
            Bad::NonNumericYear => "non-numeric year",
        }
    }
}

struct Generated {
    gdp: PathBuf,
    regions: PathBuf,
    sources: PathBuf,
    /// Data rows written (the unsorted case appends corrections beyond `--rows`).
    rows: u64,
    entities: u64,
    aggregate_rows: u64,
    bad: [u64; 6],
    /// Rows with an empty value (missing, never stored).
    missing: u64,
    /// Late corrections appended at the end: their keys appeared before, so they are rejected.
    corrections: u64,
}

impl Generated {
    fn bad_total(&self) -> u64 {
        self.bad.iter().sum()
    }

    fn rejected(&self) -> u64 {
        self.bad_total() + self.corrections
    }
}

fn entity_code(e: u64) -> String {
    format!("X{e:06}")
}

/// Every tenth entity has a quoted name with a comma, as the World Bank's "Korea, Rep.".
fn entity_name(e: u64) -> String {
    if e.is_multiple_of(10) {
        format!("\"Entity {e}, Rep.\"")
    } else {
        format!("Entity {e}")
    }
}

/// Writes the region table of `entities` (named by `name`) and the `sources.yml` into `dir`.
fn write_regions_and_sources(
    dir: &Path,
    entities: u64,
    name: fn(u64) -> String,
) -> Result<(PathBuf, PathBuf), Error> {
    let regions = dir.join("regions.csv");
    let mut w = BufWriter::with_capacity(1 << 20, fs::File::create(&regions)?);
    writeln!(
        w,
        "ISO3166-1-Alpha-3,CLDR display name,Region Name,Sub-region Name"
    )?;
    for e in 1..=entities {
        let (region, subs) = REGIONS[(e % REGIONS.len() as u64) as usize];
        let sub = subs[((e / REGIONS.len() as u64) % subs.len() as u64) as usize];
        writeln!(w, "{},{},{region},{sub}", entity_code(e), name(e))?;
    }
    w.flush()?;
    let sources = dir.join("sources.yml");
    fs::write(&sources, SOURCES_YML)?;
    Ok((regions, sources))
}

/// Writes `gdp.csv`, `regions.csv` and `sources.yml` into `dir`: exactly `rows` data rows.
fn generate(dir: &Path, rows: u64, seed: u64) -> Result<Generated, Error> {
    let mut rng = Rng::new(seed);
    let aggregate_rows = YEARS;
    let rest = rows - aggregate_rows;
    let partial = rest % YEARS;
    let entities = rest / YEARS + u64::from(partial > 0);
    let mut bad = [0u64; 6];

    let gdp = dir.join("gdp.csv");
    let mut w = BufWriter::with_capacity(1 << 20, fs::File::create(&gdp)?);
    writeln!(w, "Country Name,Country Code,Year,Value")?;
    for y in 0..aggregate_rows {
        let value = 1.0e13 * (1.0 + 0.1 * y as f64);
        writeln!(w, "World,WLD,{},{value:.2}", FIRST_YEAR + y)?;
    }
    for e in 1..=entities {
        let years = if e == entities && partial > 0 {
            partial
        } else {
            YEARS
        };
        let (code, name) = (entity_code(e), entity_name(e));
        let base = 10f64.powf(6.0 + 6.0 * rng.unit());
        let mut prev_good = false;
        for y in 0..years {
            let year = FIRST_YEAR + y;
            let value = base * (1.0 + 0.05 * y as f64) * (0.9 + 0.2 * rng.unit());
            if rng.below(BAD_ONE_IN) != 0 {
                writeln!(w, "{name},{code},{year},{value:.2}")?;
                prev_good = true;
                continue;
            }
            let mut kind = BAD_KINDS[rng.below(BAD_KINDS.len() as u64) as usize];
            // A duplicate repeats the previous year's key, which must have been kept.
            if matches!(kind, Bad::Duplicate) && !prev_good {
                kind = Bad::Negative;
            }
            match kind {
                Bad::Negative => writeln!(w, "{name},{code},{year},-{value:.2}")?,
                Bad::NaN => writeln!(w, "{name},{code},{year},NaN")?,
                Bad::Absurd => writeln!(w, "{name},{code},{year},1e20")?,
                Bad::UnknownCode => writeln!(w, "Nowhere,ZZZ999,{year},{value:.2}")?,
                Bad::Duplicate => writeln!(w, "{name},{code},{},{value:.2}", year - 1)?,
                Bad::NonNumericYear => writeln!(w, "{name},{code},19x{y},{value:.2}")?,
            }
            bad[kind as usize] += 1;
            prev_good = false;
        }
    }
    w.flush()?;

    let (regions, sources) = write_regions_and_sources(dir, entities, entity_name)?;
    Ok(Generated {
        gdp,
        regions,
        sources,
        rows,
        entities,
        aggregate_rows,
        bad,
        missing: 0,
        corrections: 0,
    })
}

/// A name as real files have them: every tenth quoted with a comma and quotes inside (CSV
/// escaped), every seventh long; the same text goes into the region table.
fn messy_name(e: u64) -> String {
    if e.is_multiple_of(10) {
        format!("\"Entity {e}, \"\"Big\"\" Rep.\"")
    } else if e.is_multiple_of(7) {
        format!("Entity {e} of the United Provinces and Dependent Territories of the Far Southern Ocean Rim")
    } else {
        format!("Entity {e}")
    }
}

/// A value as a statistics office writes it: the shortest text that reads back to the same
/// double (up to 17 significant digits), one in five in exponent form.
fn messy_value(value: f64, rng: &mut Rng) -> String {
    if rng.below(5) == 0 {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

/// Writes the unsorted case: entity blocks in shuffled order (years shuffled in 30 % of them),
/// the aggregate rows in the middle, ~8 % missing values, the same bad rows as the sorted case,
/// and ~0.5 % late corrections (a key seen before, with a new value) appended at the end.
fn generate_unsorted(dir: &Path, rows: u64, seed: u64) -> Result<Generated, Error> {
    let mut rng = Rng::new(seed);
    let aggregate_rows = YEARS;
    let rest = rows - aggregate_rows;
    let partial = rest % YEARS;
    let entities = rest / YEARS + u64::from(partial > 0);
    let mut order: Vec<u64> = (1..=entities).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let (mut bad, mut missing) = ([0u64; 6], 0u64);
    let mut corrections: Vec<String> = Vec::new();

    let gdp = dir.join("gdp.csv");
    let mut w = BufWriter::with_capacity(1 << 20, fs::File::create(&gdp)?);
    writeln!(w, "Country Name,Country Code,Year,Value")?;
    for (i, &e) in order.iter().enumerate() {
        if i == order.len() / 2 {
            for y in 0..aggregate_rows {
                let value = 1.0e13 * (1.0 + 0.1 * y as f64) * (1.0 + rng.unit() * 1e-6);
                writeln!(
                    w,
                    "World,WLD,{},{}",
                    FIRST_YEAR + y,
                    messy_value(value, &mut rng)
                )?;
            }
        }
        let years = if e == entities && partial > 0 {
            partial
        } else {
            YEARS
        };
        let mut year_order: Vec<u64> = (0..years).collect();
        if rng.below(10) < 3 {
            for k in (1..year_order.len()).rev() {
                year_order.swap(k, rng.below(k as u64 + 1) as usize);
            }
        }
        let (code, name) = (entity_code(e), messy_name(e));
        let base = 10f64.powf(6.0 + 6.0 * rng.unit());
        let mut last_good: Option<u64> = None;
        for y in year_order {
            let year = FIRST_YEAR + y;
            let value = base * (1.0 + 0.05 * y as f64) * (0.9 + 0.2 * rng.unit());
            if rng.below(100) < 8 {
                writeln!(w, "{name},{code},{year},")?;
                missing += 1;
                continue;
            }
            if rng.below(BAD_ONE_IN) != 0 {
                writeln!(w, "{name},{code},{year},{}", messy_value(value, &mut rng))?;
                if rng.below(200) == 0 {
                    let fixed = messy_value(value * 1.01, &mut rng);
                    corrections.push(format!("{name},{code},{year},{fixed}"));
                    // A corrected key is not also repeated as a bad duplicate.
                    last_good = None;
                } else {
                    last_good = Some(year);
                }
                continue;
            }
            let mut kind = BAD_KINDS[rng.below(BAD_KINDS.len() as u64) as usize];
            if matches!(kind, Bad::Duplicate) && last_good.is_none() {
                kind = Bad::Negative;
            }
            match kind {
                Bad::Negative => writeln!(w, "{name},{code},{year},-{value}")?,
                Bad::NaN => writeln!(w, "{name},{code},{year},NaN")?,
                Bad::Absurd => writeln!(w, "{name},{code},{year},1e20")?,
                Bad::UnknownCode => writeln!(w, "Nowhere,ZZZ999,{year},{value}")?,
                Bad::Duplicate => {
                    let dup = last_good.unwrap_or(year);
                    writeln!(w, "{name},{code},{dup},{}", messy_value(value, &mut rng))?
                }
                Bad::NonNumericYear => writeln!(w, "{name},{code},19x{y},{value}")?,
            }
            bad[kind as usize] += 1;
            last_good = None;
        }
    }
    for row in &corrections {
        writeln!(w, "{row}")?;
    }
    w.flush()?;

    let (regions, sources) = write_regions_and_sources(dir, entities, messy_name)?;
    Ok(Generated {
        gdp,
        regions,
        sources,
        rows: rows + corrections.len() as u64,
        entities,
        aggregate_rows,
        bad,
        missing,
        corrections: corrections.len() as u64,
    })
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// The median of `times` (the lower middle one of an even count).
fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[(sorted.len() - 1) / 2]
}

/// "4.21 s (rounds: 4.21, 4.90, 3.98)".
fn rounds_text(times: &[Duration]) -> String {
    let all: Vec<String> = times.iter().map(|t| format!("{:.2}", secs(*t))).collect();
    format!(
        "{:.2} s median (rounds: {})",
        secs(median(times)),
        all.join(", ")
    )
}

/// `VmHWM` (peak resident set) of this process, in MiB.
fn peak_rss_mib() -> Result<f64, Error> {
    let status = fs::read_to_string("/proc/self/status")?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or("no VmHWM line in /proc/self/status")?;
    Ok(kb as f64 / 1024.0)
}

/// User + system CPU time of this process so far (all its threads, DuckDB's included).
fn cpu_time() -> Result<Duration, Error> {
    let stat = fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name (which may hold spaces) and its closing parenthesis:
    // utime and stime are the 14th and 15th fields of the line, in clock ticks.
    let rest = stat.rsplit_once(')').ok_or("unreadable /proc/self/stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |k: usize| -> Result<u64, Error> {
        Ok(fields.get(k).ok_or("short /proc/self/stat")?.parse()?)
    };
    // Linux reports these in USER_HZ, which is 100 on every supported architecture.
    Ok(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
}

/// Runs `f`, returning its result with its wall and CPU time.
fn timed<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<(T, Duration, Duration), Error> {
    let (cpu, clock) = (cpu_time()?, Instant::now());
    let out = f()?;
    Ok((out, clock.elapsed(), cpu_time()? - cpu))
}

/// The ETL alone, in this process (a child of the benchmark): one run over the files generated
/// in `bench`, then one line for the parent to read.
fn etl_once(bench: &Path) -> Result<(), Error> {
    // As `actionboard etl run` does.
    engine::etl::memory::prepare_batch_process();
    let sources = Sources::load(&bench.join("sources.yml"), bench)?;
    let data_dir = bench.join("data");
    let (outcome, wall, cpu) = timed(|| Ok(Pipeline::new(sources, &data_dir).run()?))?;
    let rd = find_run(&data_dir, Some(outcome.run.as_str()))?;
    for stage in Stage::ALL {
        if let Some(m) = rd.manifest(stage) {
            let ms = m.duration_ms;
            println!("  {:<10} {ms:>6} ms {}", stage.name(), m.notes.join("; "));
        }
    }
    println!(
        "etl-once {} {} {}",
        wall.as_secs_f64(),
        cpu.as_secs_f64(),
        peak_rss_mib()?
    );
    Ok(())
}

/// One `--duckdb-once` process: DuckDB's own read of the file, as a user would time it.
fn duckdb_once(csv: &Path, into: Option<&Path>) -> Result<(), Error> {
    let read = duckdb_read_csv(into, csv)?;
    println!("duckdb-once {} {}", read.rows, read.types);
    Ok(())
}

/// A child process of this benchmark: its wall time (start to exit, as `time` measures it),
/// CPU time (user + sys) and peak memory in MiB, and what it printed.
struct Child {
    wall: Duration,
    cpu: Duration,
    peak_mib: f64,
    stdout: String,
}

/// Runs this executable with `args` and measures the whole process. The files earlier runs
/// wrote are flushed to disk first (not timed): each run starts from a settled machine, as a
/// scheduled run does, instead of waiting on the previous run's writes.
fn child(args: &[&std::ffi::OsStr]) -> Result<Child, Error> {
    std::process::Command::new("sync").status()?;
    let clock = Instant::now();
    let mut process = std::process::Command::new(std::env::current_exe()?)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let pid = process.id() as i32;
    // wait4 gives the child's own CPU time and peak memory (rusage), not its siblings'.
    let mut status = 0;
    // SAFETY: rusage is plain data, filled by the kernel.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; the pointers are valid for the call.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = clock.elapsed();
    let mut stdout = String::new();
    let mut stderr = String::new();
    use std::io::Read;
    if let Some(mut out) = process.stdout.take() {
        out.read_to_string(&mut stdout)?;
    }
    if let Some(mut err) = process.stderr.take() {
        err.read_to_string(&mut stderr)?;
    }
    if waited != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("a child process of the benchmark failed: {stderr}").into());
    }
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Ok(Child {
        wall,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        peak_mib: usage.ru_maxrss as f64 / 1024.0,
        stdout,
    })
}

fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "FAIL"
    }
}

fn remove_if_present(path: &Path) -> Result<(), Error> {
    let result = if path.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(format!("cannot remove {}: {e}", path.display()).into())
        }
        _ => Ok(()),
    }
}

struct DuckRead {
    rows: i64,
    types: String,
}

/// DuckDB's own `CREATE TABLE … AS SELECT * FROM read_csv(…)` of `csv`, into a fresh file at
/// `db_path`, or into memory (`None`: the floor a user comparing engines would pick).
fn duckdb_read_csv(db_path: Option<&Path>, csv: &Path) -> Result<DuckRead, Error> {
    let conn = match db_path {
        Some(db_path) => {
            remove_if_present(db_path)?;
            remove_if_present(&db_path.with_extension("duckdb.wal"))?;
            duckdb::Connection::open(db_path)?
        }
        None => duckdb::Connection::open_in_memory()?,
    };
    let csv = csv.to_string_lossy().replace('\'', "''");
    conn.execute_batch(&format!(
        "CREATE TABLE t AS SELECT * FROM read_csv('{csv}')"
    ))?;
    let rows = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?;
    let types = conn.query_row(
        "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position)
         FROM information_schema.columns WHERE table_name = 't'",
        [],
        |r| r.get(0),
    )?;
    Ok(DuckRead { rows, types })
}

/// Runs each case in its own process (each peak memory is then its own), passing the other
/// arguments on.
fn run_all(args: &Args) -> Result<(), Error> {
    let exe = std::env::current_exe()?;
    for case in [Case::Unsorted, Case::Sorted] {
        println!("\n===== case: {} =====", case.name());
        let status = std::process::Command::new(&exe)
            .args(["--rows", &args.rows.to_string()])
            .args(["--seed", &args.seed.to_string()])
            .args(["--rounds", &args.rounds.to_string()])
            .args(["--case", case.name()])
            .status()?;
        if !status.success() {
            return Err(format!("the {} case failed ({status})", case.name()).into());
        }
    }
    Ok(())
}

fn run(args: &Args) -> Result<(), Error> {
    if let Some(bench) = &args.etl_once {
        return etl_once(bench);
    }
    if let Some(csv) = &args.duckdb_once {
        return duckdb_once(csv, args.duckdb_into.as_deref());
    }
    if args.case == Case::All {
        return run_all(args);
    }
    let bench = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/bench")
        .join(args.case.name());
    fs::create_dir_all(&bench).map_err(|e| format!("cannot create {}: {e}", bench.display()))?;
    let bench = bench.canonicalize()?;
    let data_dir = bench.join("data");
    remove_if_present(&data_dir)?;

    println!(
        "ETL benchmark, {} case: {} rows, seed {}, {} rounds",
        args.case.name(),
        args.rows,
        args.seed,
        args.rounds
    );
    let clock = Instant::now();
    let g = match args.case {
        Case::Unsorted => generate_unsorted(&bench, args.rows, args.seed)?,
        _ => generate(&bench, args.rows, args.seed)?,
    };
    let generated_in = clock.elapsed();
    println!(
        "generated in {:.1} s: {} rows, {} entities × years 1960–2025, {} WLD rows, {} bad rows ({:.3} %), {} missing values, {} late corrections:",
        secs(generated_in),
        g.rows,
        g.entities,
        g.aggregate_rows,
        g.bad_total(),
        g.bad_total() as f64 / g.rows as f64 * 100.0,
        g.missing,
        g.corrections
    );
    let kinds: Vec<String> = BAD_KINDS
        .iter()
        .map(|k| format!("{} {}", g.bad[*k as usize], k.label()))
        .collect();
    println!("  {}", kinds.join(", "));
    for path in [&g.gdp, &g.regions, &g.sources] {
        println!(
            "  {:<60} {:>10.1} MiB",
            path.display(),
            mib(fs::metadata(path)?.len())
        );
    }

    // (a) The full pipeline, exactly as `actionboard etl run` (the same allocator and settings),
    // and (b) DuckDB reading the same file into memory and into a fresh file: each a whole
    // process of its own, timed from outside as a user would, taken in turns. The first ETL run
    // loads into an empty data folder; the rounds then run again over it, as a scheduled run
    // does: a published snapshot to compare volumes and revisions with.
    let db_path = bench.join("read_csv.duckdb");
    let (etl, csv) = (std::ffi::OsStr::new("--etl-once"), g.gdp.as_os_str());
    let (mut first_runs, mut etl_runs) = (Vec::new(), Vec::new());
    let (mut duck_runs, mut duck_file_runs) = (Vec::new(), Vec::new());
    for _ in 0..args.rounds {
        remove_if_present(&data_dir)?;
        first_runs.push(child(&[etl, bench.as_os_str()])?);
        etl_runs.push(child(&[etl, bench.as_os_str()])?);
        // As `actionboard etl prune` keeps a data folder: the published run stays, the older one
        // goes (without it the later rounds would time the kernel making room for their files).
        let plan = engine::etl::prune::plan(&data_dir, 1, &Default::default())?;
        engine::etl::prune::execute(&data_dir, &plan)?;
        duck_runs.push(child(&[std::ffi::OsStr::new("--duckdb-once"), csv])?);
        duck_file_runs.push(child(&[
            std::ffi::OsStr::new("--duckdb-once"),
            csv,
            std::ffi::OsStr::new("--into"),
            db_path.as_os_str(),
        ])?);
        remove_if_present(&db_path)?;
    }
    let walls = |runs: &[Child]| runs.iter().map(|c| c.wall).collect::<Vec<_>>();
    let cpus = |runs: &[Child]| runs.iter().map(|c| c.cpu).collect::<Vec<_>>();
    let (etl_times, duck_times) = (walls(&etl_runs), walls(&duck_runs));
    let first_times = walls(&first_runs);
    let rd = find_run(&data_dir, None)?;
    println!(
        "\n(a) the ETL (`actionboard etl run`'s pipeline), whole processes, each round:\n      a first run, into an empty data folder: {}\n      CPU time (user + sys): {}\n      a run again over it (a published snapshot to compare with): {}\n      CPU time (user + sys): {}\n      stages of the last run ({}):",
        rounds_text(&first_times),
        rounds_text(&cpus(&first_runs)),
        rounds_text(&etl_times),
        rounds_text(&cpus(&etl_runs)),
        rd.run
    );
    for line in etl_runs
        .last()
        .map(|c| {
            c.stdout
                .lines()
                .filter(|l| l.starts_with("  "))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
    {
        println!("    {line}");
    }
    let mut transform_counts: Option<SourceCounts> = None;
    if let Some(m) = rd.manifest(Stage::Transform) {
        transform_counts = m.counts.get("gdp").cloned();
    }
    let c = transform_counts.ok_or("the transform manifest has no counts for `gdp`")?;
    println!(
        "      gdp: {} rows in, {} kept, {} rejected, {} missing",
        c.rows_in, c.rows_out, c.rejected, c.missing
    );
    if c.rows_in != g.rows
        || c.rejected != g.rejected()
        || c.missing != g.missing
        || c.rows_out + c.rejected + c.missing != c.rows_in
    {
        return Err(format!(
            "the pipeline's counts do not match the generated file: expected {} rows in, {} rejected, {} missing",
            g.rows,
            g.rejected(),
            g.missing
        )
        .into());
    }
    let duck = duck_runs.last().ok_or("no round ran")?;
    let described = duck
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("duckdb-once "))
        .unwrap_or_default();
    let duck_median = secs(median(&duck_times));
    let ratio = secs(median(&etl_times)) / duck_median;
    let ratio_first = secs(median(&first_times)) / duck_median;
    let ratio_file = secs(median(&etl_times)) / secs(median(&walls(&duck_file_runs)));
    println!(
        "\n(b) DuckDB CREATE TABLE t AS SELECT * FROM read_csv(gdp.csv), whole processes:\n      into memory: {}\n      CPU time (user + sys): {}\n      into a fresh file ({}): {}\n      rows and column types: {described}",
        rounds_text(&duck_times),
        rounds_text(&cpus(&duck_runs)),
        db_path.display(),
        rounds_text(&walls(&duck_file_runs)),
    );
    println!(
        "      ratio ETL run again / DuckDB in memory (medians) = {ratio:.2} (target ≤ {RATIO_TARGET}): {}",
        verdict(ratio <= RATIO_TARGET)
    );
    println!(
        "      ratio ETL first run / DuckDB in memory (medians) = {ratio_first:.2} (target ≤ {RATIO_TARGET}): {}",
        verdict(ratio_first <= RATIO_TARGET)
    );
    println!("      ratio ETL run again / DuckDB into a file (medians) = {ratio_file:.2}");
    println!(
        "      CPU ratio ETL run again / DuckDB in memory (medians) = {:.2}",
        secs(median(&cpus(&etl_runs))) / secs(median(&cpus(&duck_runs)))
    );
    let peak = etl_runs
        .iter()
        .chain(&first_runs)
        .map(|c| c.peak_mib)
        .fold(0.0, f64::max);
    println!(
        "\n(d) the ETL's peak memory (its processes' maxrss, mapped file pages included): {peak:.0} MiB (target ≤ 1024 MiB): {}",
        verdict(peak <= 1024.0)
    );

    // (c) The transform alone, on 1 then 2 threads, in turns.
    let sources = Sources::load(&g.sources, &bench)?;
    let provenance = read_provenance(&rd)?;
    let extract_dir = rd.stage_dir(Stage::Extract);
    let pools = [1, 2].map(|threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map(|pool| (threads, pool))
    });
    let mut times: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    println!();
    for round in 1..=args.rounds {
        for (k, pool) in pools.iter().enumerate() {
            let (threads, pool) = pool.as_ref().map_err(|e| e.to_string())?;
            let (elapsed, transformed) = pool.install(|| {
                let clock = Instant::now();
                let t = transform::transform(&sources, &extract_dir, &provenance);
                (clock.elapsed(), t)
            });
            let transformed = transformed?;
            println!(
                "(c) round {round}, transform on {threads} thread{}: {:.2} s ({} observations; {})",
                if *threads == 1 { " " } else { "s" },
                secs(elapsed),
                transformed.observation_count(),
                transformed.timings_text()
            );
            times[k].push(elapsed);
        }
    }
    let speedup = secs(median(&times[0])) / secs(median(&times[1]));
    println!(
        "      1 thread: {}\n      2 threads: {}",
        rounds_text(&times[0]),
        rounds_text(&times[1])
    );
    println!(
        "      speedup 2 threads vs 1 (medians) = {speedup:.2} (target ≥ {SPEEDUP_TARGET}): {}",
        verdict(speedup >= SPEEDUP_TARGET)
    );

    Ok(())
}

fn main() -> ExitCode {
    let result = parse_args().and_then(|args| run(&args));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("etl_bench: error: {e}");
            ExitCode::FAILURE
        }
    }
}

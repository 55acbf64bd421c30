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

mod generate;

use generate::{generate, generate_unsorted, YEARS};

const DEFAULT_ROWS: u64 = 10_000_000;
const DEFAULT_SEED: u64 = 42;
const DEFAULT_ROUNDS: u64 = 5;
const RATIO_TARGET: f64 = 1.5;
const SPEEDUP_TARGET: f64 = 1.8;

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
    println!("  {}", g.bad_by_kind());
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

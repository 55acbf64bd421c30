//! Export benchmark, run by `make bench` (never by `make test`):
//!
//! ```text
//! cargo run --release -p engine --example export_bench -- [--actions N] [--dir PATH]
//! ```
//!
//! Generates, once, an alert state of N recommended actions (default 1,000,000: N/2 alerts with
//! two actions each, Korean and English text, evidence, a comment on every tenth) in the data
//! folder `target/bench/export/` (kept for `scripts/export_bench.sh`, which measures the CLI and
//! HTTP), then times the exporter in this process: CSV into a byte counter (MB/s) and XLSX into
//! a file (rows/s, constant-memory mode). Memory is not measured here (see the script).
//!
//! `--csv-only` skips the read-alone pass and XLSX (for profiling the CSV path). Each CSV round
//! also reports the CPU time it took (user + system, every thread; Linux), steadier than wall
//! time on a shared machine.
//!
//! A missed target is reported, not an error.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use chrono::Utc;
use display::alert::SourceRef;
use display::{Format as Fmt, Lang, Text};
use engine::export::{self, About, Format, Options};
use engine::rules::config::Scope;
use engine::rules::{Action, Alert, Evaluation, Evidence, Severity};
use engine::state::Act;
use engine::state::AlertFilter;
use engine::state::AlertStore;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Error = Box<dyn std::error::Error>;

const CSV_TARGET_MB_S: f64 = 200.0;

struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// CPU seconds (user + system, all threads) of this process so far, from `/proc/self/stat`.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // The kernel's USER_HZ is 100 on every Linux this runs on.
    Some(ticks / 100.0)
}

fn alert(i: usize) -> Alert {
    let action = |k: usize, due: u32| Action {
        text: Text::new(
            format!("Ask the desk about X{i:07} (step {k}) and record the answer"),
            format!("X{i:07} 대상에 대해 데스크에 문의하고 답을 기록 ({k}단계)"),
        ),
        owner: if i.is_multiple_of(3) {
            "apac_desk"
        } else {
            "fx_team"
        }
        .into(),
        owner_label: Text::new("Desk", "데스크"),
        due_days: due,
    };
    Alert {
        fingerprint: format!("gdp_fall:X{i:07}:2025"),
        rule_id: "gdp_fall".into(),
        rule_name: Text::new("GDP fall", "GDP 하락"),
        kind: "change".into(),
        severity: Severity::ALL[i % 4],
        priority: 1.0 + (i % 10_000) as f64 / 100.0,
        scope: Scope::Country,
        entity: format!("X{i:07}"),
        entity_name: format!("Entity {i} 대상국"),
        region: Some(["Asia", "Europe", "Africa", "Americas"][i % 4].into()),
        period: "2025".into(),
        title: Text::new(
            format!("Entity {i}: GDP -6.2 % YoY to 412.5 B USD"),
            format!("{i} 대상국: GDP 전년 대비 -6.2%, 4,125억 달러"),
        ),
        explanation: Text::new("A fall of 5 % or more.", "5% 이상 하락."),
        evidence: Evidence {
            metric: "gdp".into(),
            metric_label: Text::new("GDP", "GDP"),
            format: Fmt::UsdBillions,
            values: BTreeMap::from([
                ("value".to_string(), 412.5e9 + i as f64),
                ("previous".to_string(), 439.8e9),
                ("change_pct".to_string(), -6.2),
            ]),
            series: Vec::new(),
            source: Some(
                SourceRef {
                    source_id: "wb_gdp".into(),
                    title: "World Bank GDP".into(),
                    publisher: "World Bank".into(),
                    edition: "2026-07".into(),
                    licence: "CC BY 4.0".into(),
                    read_from: "mirror".into(),
                    location: "wb_wdi/gdp.csv".into(),
                    fetched_at: "2026-11-30T00:00:00Z".into(),
                    sha256: "0123456789abcdef".repeat(4),
                    url: Some("https://example.org/gdp.csv".into()),
                    fallback_reason: None,
                }
                .into(),
            ),
            run_id: "20261130T000000Z".into(),
            projection: false,
            data_issue_reason: None,
        },
        actions: vec![action(1, 7), action(2, 30)],
        data_issue: i.is_multiple_of(50),
        auto_resolve: false,
    }
}

fn generate(dir: &std::path::Path, actions: usize) -> Result<(), Error> {
    let marker = dir.join(format!("generated-{actions}"));
    if marker.exists() {
        println!("alert state with {actions} actions: {}", dir.display());
        return Ok(());
    }
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    let started = Instant::now();
    let alerts: Vec<Alert> = (0..actions.div_ceil(2)).map(alert).collect();
    let n = alerts.len();
    let mut store = AlertStore::open_in(dir)?;
    store.merge(
        &Evaluation {
            run_id: "20261130T000000Z".into(),
            rules_digest: "bench".into(),
            alerts,
            per_rule: Vec::new(),
            evaluated_periods: Default::default(),
            withdrawn: Default::default(),
        },
        Utc::now() - chrono::Duration::days(10),
    )?;
    for i in (0..n).step_by(10) {
        store.act(
            &format!("gdp_fall:X{i:07}:2025"),
            &Act::Comment {
                text: format!("=HYPERLINK(\"x\") checked with the desk, {i}"),
            },
            None,
            "bench",
            Utc::now(),
        )?;
    }
    std::fs::write(&marker, b"")?;
    println!(
        "generated {n} alerts ({actions} actions) in {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("export_bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Error> {
    let mut actions = 1_000_000usize;
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench/export");
    let mut csv_only = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--actions" => actions = args.next().ok_or("--actions N")?.parse()?,
            "--dir" => dir = PathBuf::from(args.next().ok_or("--dir PATH")?),
            "--csv-only" => csv_only = true,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    generate(&dir, actions)?;
    let store = AlertStore::open_in(&dir)?;
    let filter = AlertFilter::everything();
    let opts = |format| Options {
        format,
        bom: true,
        history: false,
        lang: Lang::Ko,
        base_url: "http://127.0.0.1:3000".into(),
        now: Utc::now(),
        zone: display::time::Zone::default(),
    };

    if !csv_only {
        // What reading alone costs: SQLite rows and each alert's JSON decoded whole.
        let started = Instant::now();
        let mut alerts = 0u64;
        store.scan(&filter, |_| {
            alerts += 1;
            Ok::<_, engine::state::StateError>(())
        })?;
        println!(
            "reading the alert state alone: {alerts} alerts in {:.2} s",
            started.elapsed().as_secs_f64()
        );
    }

    let o = opts(Format::Csv);
    let about = About::new(&dir, "bench", &[("status", "all")], &o)?;
    let mut rounds = Vec::new();
    let mut cpu = Vec::new();
    let mut bytes = 0;
    let mut rows = 0;
    for _ in 0..3 {
        let mut sink = Counter(0);
        let started = Instant::now();
        let cpu_before = cpu_seconds();
        let s = export::export(&store, &filter, &about, &o, &mut sink)?;
        rounds.push(started.elapsed().as_secs_f64());
        if let (Some(a), Some(b)) = (cpu_before, cpu_seconds()) {
            cpu.push(b - a);
        }
        bytes = sink.0;
        rows = s.rows;
    }
    rounds.sort_by(f64::total_cmp);
    cpu.sort_by(f64::total_cmp);
    let median = rounds[1];
    if let Some(c) = cpu.get(1) {
        println!("CSV in process: {c:.2} s of CPU (median of {cpu:.2?})");
    }
    let mb_s = bytes as f64 / 1e6 / median;
    println!(
        "CSV in process: {rows} rows, {:.1} MB in {median:.2} s (median of {rounds:.2?}) = {mb_s:.0} MB/s, {:.0} rows/s (target ≥ {CSV_TARGET_MB_S} MB/s from the CLI: {})",
        bytes as f64 / 1e6,
        rows as f64 / median,
        if mb_s >= CSV_TARGET_MB_S { "PASS" } else { "MISS" }
    );

    if csv_only {
        return Ok(());
    }
    let o = opts(Format::Xlsx);
    let file = tempfile::NamedTempFile::new()?;
    let started = Instant::now();
    match export::export_xlsx(&store, &filter, &about, &o, file.path()) {
        Ok(s) => {
            let secs = started.elapsed().as_secs_f64();
            println!(
                "XLSX: {} rows (+ {} history rows) in {secs:.1} s = {:.0} rows/s, {:.1} MB",
                s.rows,
                s.events,
                s.rows as f64 / secs,
                std::fs::metadata(file.path())?.len() as f64 / 1e6
            );
        }
        Err(e) => println!("XLSX: {e} (after {:.1} s)", started.elapsed().as_secs_f64()),
    }
    Ok(())
}

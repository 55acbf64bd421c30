//! `actionboard rules check|backtest|evaluate|health` and `actionboard alerts list`.

use engine::base::sql::Catalog;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use display::Lang;
use engine::base::sql::Dialect;
use engine::rules::eval::latest_period;
use engine::rules::sql::Periods;
use engine::rules::{self, Reads, RuleSet};
use engine::snapshot::SnapshotStore;
use engine::state::AlertStore;

use super::error::{CliError, Exit};
use super::filter_args::FilterArgs;
use super::out;
use super::rule_files::RuleFiles;

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate config/metrics.yml and config/rules.yml (and try each rule on the current data).
    Check(RuleFiles),
    /// Replay a rule over every period of the current data: how many alerts it would have raised.
    Backtest {
        /// The rule's id in the rules file.
        rule_id: String,
        #[command(flatten)]
        files: RuleFiles,
        /// Replay on the snapshot of an earlier run (kept runs: `actionboard etl status`).
        #[arg(long, value_name = "RUN")]
        as_of: Option<String>,
    },
    /// Evaluate every rule on the current data and merge the alerts into the inbox.
    Evaluate {
        #[command(flatten)]
        files: RuleFiles,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Each rule's last evaluation (alerts over the entities it looked at, and whether it was over
    /// its max_fire_share) and its track record, as the /rules page shows them.
    Health {
        /// text or json.
        #[arg(long, value_enum, default_value_t = HealthFormat::Text)]
        format: HealthFormat,
        /// Language of the text: en or ko.
        #[arg(long, default_value = "en", value_parser = parse_lang)]
        lang: Lang,
    },
    /// Print the SQL a rule compiles to, for DuckDB (the snapshot) or Spark (the lake).
    Sql {
        /// The rule's id in the rules file.
        rule_id: String,
        #[command(flatten)]
        files: RuleFiles,
        /// duckdb or spark.
        #[arg(long, default_value = "duckdb", value_parser = parse_dialect)]
        engine: Dialect,
        /// The period to evaluate at [default: the latest of the current data; every period
        /// when no data is loaded].
        #[arg(long)]
        period: Option<i32>,
    },
}

/// Which engine finds the firing rows, and how to reach Spark.
#[derive(Debug, Clone, Args)]
pub struct EngineArgs {
    /// duckdb (the default, in process) or spark (the lake's copy of the run, on a Spark master).
    #[arg(long, default_value = "duckdb", value_parser = parse_dialect)]
    pub engine: Dialect,
    /// Spark's master URL: local[N], spark://HOST:7077, yarn, k8s://https://HOST:PORT.
    #[arg(long, env = "ACTIONBOARD_SPARK_MASTER", default_value = "local[*]")]
    pub master: String,
    /// The lake folder [default: DATA_DIR/lake]; the run is exported there first if missing.
    #[arg(long, env = "ACTIONBOARD_LAKE")]
    pub lake: Option<PathBuf>,
    /// The Python with pyspark (from `make spark-setup`).
    #[arg(
        long,
        env = "ACTIONBOARD_SPARK_PYTHON",
        default_value = ".venv-spark/bin/python"
    )]
    pub spark_python: PathBuf,
    /// The script Spark runs.
    #[arg(
        long,
        env = "ACTIONBOARD_SPARK_SCRIPT",
        default_value = "scripts/spark_rules.py"
    )]
    pub spark_script: PathBuf,
    /// A cluster's spark-submit, used instead of the Python above.
    #[arg(long, env = "ACTIONBOARD_SPARK_SUBMIT")]
    pub spark_submit: Option<PathBuf>,
}

fn parse_dialect(s: &str) -> Result<Dialect, CliError> {
    Dialect::parse(s).ok_or_else(|| {
        CliError::new(
            Exit::Usage,
            format!("unknown engine `{s}`; use duckdb or spark"),
        )
    })
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// The inbox: alerts by priority (default: the active ones).
    List(ListArgs),
    #[command(flatten)]
    Act(super::alert_actions::ActCommand),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    filter: FilterArgs,
    /// At most this many alerts (default: 50 in text; every matching alert in json and csv).
    #[arg(long, conflicts_with = "all")]
    limit: Option<usize>,
    /// Every matching alert, also in text.
    #[arg(long)]
    all: bool,
    /// text, json, or csv (the action list, one row per recommended action, as `export`).
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    format: ListFormat,
    /// Language of titles and actions: en or ko.
    #[arg(long, default_value = "en", value_parser = parse_lang)]
    lang: Lang,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HealthFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
    Csv,
}

/// Alerts shown in text when neither `--limit` nor `--all` says otherwise.
const TEXT_LIMIT: usize = 50;

/// How many alerts `alerts list` shows: what `--limit` says, else every one, except in text
/// (a screenful, and its last line says how to see the rest).
fn shown(limit: Option<usize>, all: bool, format: ListFormat) -> usize {
    match (limit, all, format) {
        (Some(n), _, _) => n,
        (None, false, ListFormat::Text) => TEXT_LIMIT,
        _ => usize::MAX,
    }
}

/// The region as alerts store it, for one typed in Korean (`아시아` → `Asia`); as typed when no
/// snapshot names it.
fn parse_lang(s: &str) -> Result<Lang, CliError> {
    Lang::parse(s)
        .ok_or_else(|| CliError::new(Exit::Usage, format!("unknown language `{s}`; use en or ko")))
}

pub fn rules(data_dir: &Path, cmd: RulesCommand) -> Result<(), CliError> {
    let snapshots = SnapshotStore::new(data_dir);
    match cmd {
        RulesCommand::Check(files) => check(&snapshots, &files),
        RulesCommand::Backtest {
            rule_id,
            files,
            as_of,
        } => {
            let set = files.load()?;
            let (run, conn) = engine::snapshot::SnapshotReader::new(snapshots.clone())
                .connection_as_of(as_of.as_deref())?;
            let rule = set.rules.get(&rule_id).ok_or_else(|| {
                CliError::new(
                    Exit::Usage,
                    format!(
                        "no rule `{rule_id}` in {}; rules: {}",
                        set.rules.path.display(),
                        set.rules
                            .rules
                            .iter()
                            .map(|r| r.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?;
            if rule.kind.get().reads() == Reads::System {
                return Err(CliError::new(Exit::Usage, format!(
                    "`{rule_id}` is a {} rule: it looks at runs, not at a metric's history, so it has nothing to replay",
                    rule.kind.name()
                )));
            }
            let counts = rules::backtest(&conn, &set.metrics, &set.rules, &rule_id)?;
            out!(
                "Backtest of `{rule_id}` ({}) on snapshot {run}:",
                rule.kind.name()
            );
            let total: usize = counts.iter().map(|(_, n)| n).sum();
            let widest = counts.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
            for (period, n) in &counts {
                let bar = "█".repeat((n * 40).div_ceil(widest));
                out!("  {period}  {n:>5}  {bar}");
            }
            let periods = counts.len().max(1);
            out!(
                "{total} alerts over {} periods with any (average {:.1} per period with any).",
                counts.len(),
                total as f64 / periods as f64
            );
            Ok(())
        }
        RulesCommand::Evaluate { files, engine } => {
            let set = files.load()?;
            match engine.engine {
                Dialect::DuckDb => evaluate(&snapshots, &set),
                Dialect::Spark => evaluate_on_spark(&snapshots, &set, &engine),
            }
        }
        RulesCommand::Health { format, lang } => health(data_dir, format, lang),
        RulesCommand::Sql {
            rule_id,
            files,
            engine,
            period,
        } => {
            let set = files.load()?;
            let rule = set.rules.get(&rule_id).ok_or_else(|| {
                CliError::new(
                    Exit::Usage,
                    format!(
                        "no rule `{rule_id}` in {}; `actionboard rules check` lists them",
                        set.rules.path.display()
                    ),
                )
            })?;
            let metric = set.metrics.get(&rule.metric).expect("validated");
            let periods = match period {
                Some(p) => Periods::At(p),
                None => match snapshots.open_current() {
                    Ok((_, conn)) => {
                        latest_period(&conn, &Catalog::read(&conn)?, &set.metrics, metric)?
                            .map_or(Periods::All, Periods::At)
                    }
                    Err(_) => Periods::All,
                },
            };
            let sql = rule
                .sql(engine, &set.metrics, periods)
                .ok_or_else(|| match engine {
                    Dialect::Spark if rule.kind.get().reads() == Reads::BetweenRuns =>
                        format!("`{rule_id}` is a {} rule: it reads the snapshot's revisions table, which the lake does not carry, so it always runs on DuckDB", rule.kind.name()),
                    _ => format!("`{rule_id}` is a {} rule: it looks at runs, not at a metric, and has no SQL", rule.kind.name()),
                })?;
            out!("{sql}");
            Ok(())
        }
    }
}

/// `rules evaluate --engine spark`: the run is exported to the lake (if not there yet), Spark
/// finds the firing rows, and they are merged as DuckDB's would be.
fn evaluate_on_spark(
    snapshots: &SnapshotStore,
    set: &RuleSet,
    args: &EngineArgs,
) -> Result<(), CliError> {
    let (run, conn) = snapshots.open_current()?;
    let lake = args
        .lake
        .clone()
        .unwrap_or_else(|| snapshots.data_dir().join("lake"));
    let lake_run = engine::lake::export(&conn, run.as_str(), &lake)?;
    if lake_run.written {
        out!("Exported run {run} to the lake: {}", lake_run.dir.display());
    }
    let work_root = lake.join("_work");
    std::fs::create_dir_all(&work_root)
        .map_err(|e| format!("creating {}: {e}", work_root.display()))?;
    let work = tempfile::Builder::new()
        .prefix(&format!("{run}."))
        .tempdir_in(&work_root)
        .map_err(|e| format!("creating a folder in {}: {e}", work_root.display()))?;
    let opts = engine::rules::spark::SparkOptions {
        python: args.spark_python.clone(),
        script: args.spark_script.clone(),
        spark_submit: args.spark_submit.clone(),
        master: args.master.clone(),
        work_dir: work.path().to_path_buf(),
    };
    let facts = rules::PipelineFacts::gather(snapshots.data_dir(), run.as_str());
    let (evaluation, report) = engine::rules::spark::evaluate_on_spark(
        &conn,
        &set.metrics,
        &set.rules,
        &facts,
        &lake_run,
        &opts,
    )?;
    drop(conn);
    let part = |k: &str| report.timings.get(k).copied().unwrap_or(f64::NAN);
    out!(
        "Spark ({}): {} rule queries, {} firing rows in {:.1} s (start {:.1} s, check {:.1} s, queries {:.1} s).",
        opts.master,
        report.queries,
        report.rows,
        report.spark_seconds,
        part("start_s"),
        part("check_s"),
        part("queries_s")
    );
    let mut state = AlertStore::open_in(snapshots.data_dir())?;
    let summary = state.merge(&evaluation, chrono::Utc::now())?;
    print_merge(&evaluation, &summary);
    Ok(())
}

/// Evaluates and merges, printing what changed.
pub fn evaluate(snapshots: &SnapshotStore, set: &RuleSet) -> Result<(), CliError> {
    let (evaluation, summary) = engine::publish::refresh(snapshots, set)?;
    print_merge(&evaluation, &summary);
    Ok(())
}

pub(crate) fn print_merge(evaluation: &rules::Evaluation, summary: &engine::state::MergeSummary) {
    if summary.already_merged {
        out!(
            "Alerts: snapshot {} was already evaluated with the same result; nothing changed.",
            evaluation.run_id
        );
    } else {
        out!(
            "Alerts from snapshot {}: {} firing — {} new, {} reopened, {} updated, {} unchanged; {} cleared, {} resolved by themselves.",
            evaluation.run_id,
            evaluation.alerts.len(),
            summary.opened,
            summary.reopened,
            summary.updated,
            summary.unchanged,
            summary.cleared,
            summary.auto_resolved
        );
    }
    for f in evaluation.per_rule.iter().filter(|f| f.over_limit()) {
        out!(
            "{}: fired for {}, over its max_fire_share of {}: its {} notifications were held back and one notice ({}) raised instead.",
            f.rule_id,
            f.summary(Lang::En),
            display::value(display::Format::Percent, f.max_fire_share_pct, Lang::En),
            f.held_back,
            display::alert::fire_share_fingerprint(&f.rule_id)
        );
    }
}

/// `rules health`: what `/rules` shows, from the alert state.
fn health(data_dir: &Path, format: HealthFormat, lang: Lang) -> Result<(), CliError> {
    let rules = AlertStore::open_in(data_dir)?.rule_health()?;
    if format == HealthFormat::Json {
        out!("{}", serde_json::to_string_pretty(&rules)?);
        return Ok(());
    }
    if rules.is_empty() {
        out!("{}", match lang {
            Lang::En => "No rule has been evaluated yet. (`actionboard rules evaluate` evaluates them on the current data.)",
            Lang::Ko => "아직 평가된 규칙이 없습니다. (`actionboard rules evaluate`로 현재 데이터에 평가하세요.)",
        });
        return Ok(());
    }
    for r in &rules {
        let fired = r
            .last_evaluation
            .as_ref()
            .map_or_else(|| "—".to_string(), |f| f.summary(lang));
        let (raised, active, noisy) = match lang {
            Lang::En => ("raised", "need action", "not useful or noise"),
            Lang::Ko => ("발생", "조치 필요", "유용하지 않음·잡음"),
        };
        out!(
            "  {:<16} {fired:<40} {raised} {}, {active} {}, {noisy} {}",
            r.rule_id,
            r.raised,
            r.active,
            r.noisy
        );
        if let Some(f) = r.last_evaluation.as_ref().filter(|f| f.over_limit()) {
            let limit = display::value(display::Format::Percent, f.max_fire_share_pct, lang);
            let held = display::grouped(f.held_back as f64, 0);
            let notice = display::alert::fire_share_fingerprint(&f.rule_id);
            out!("{}", match lang {
                Lang::En => format!("  {:<16} over its max_fire_share of {limit}: {held} notifications held back; notice {notice}", ""),
                Lang::Ko => format!("  {:<16} max_fire_share {limit} 초과: 알림 발송 {held}건 보류, 안내 {notice}", ""),
            });
        }
    }
    Ok(())
}

fn check(snapshots: &SnapshotStore, files: &RuleFiles) -> Result<(), CliError> {
    let set = files.load()?;
    out!(
        "{}: {} metrics; {}: {} rules. Valid.",
        set.metrics.path.display(),
        set.metrics.metrics.len(),
        set.rules.path.display(),
        set.rules.rules.len()
    );
    // With data loaded, also run each rule once: a metric without data is worth knowing about.
    let Ok((run, conn)) = snapshots.open_current() else {
        out!("No data loaded yet: rules were not tried on data.");
        return Ok(());
    };
    let mut problems = 0;
    let catalog = Catalog::read(&conn)?;
    for rule in &set.rules.rules {
        let metric = set.metrics.get(&rule.metric).expect("validated");
        let line = rule.line.map(|l| format!("line {l}")).unwrap_or_default();
        if rule.kind.get().reads() == Reads::System {
            out!(
                "  {:<16} {:<12} {line}: checks runs and rejects",
                rule.id,
                rule.kind.name()
            );
            continue;
        }
        match latest_period(&conn, &catalog, &set.metrics, metric) {
            Ok(Some(period)) => {
                match rules::eval::rule_findings(&conn, &set.metrics, rule, Periods::At(period)) {
                    Ok(found) => out!(
                        "  {:<16} {:<12} {line}: {} firing for {period}",
                        rule.id,
                        rule.kind.name(),
                        found.len()
                    ),
                    Err(e) => {
                        problems += 1;
                        out!(
                            "  {:<16} {:<12} {line}: FAILED: {e}",
                            rule.id,
                            rule.kind.name()
                        );
                    }
                }
            }
            Ok(None) => {
                problems += 1;
                out!(
                    "  {:<16} {:<12} {line}: metric `{}` has no data in snapshot {run} (is its source enabled?)",
                    rule.id,
                    rule.kind.name(),
                    metric.id
                );
            }
            Err(e) => {
                problems += 1;
                out!(
                    "  {:<16} {:<12} {line}: FAILED: {e}",
                    rule.id,
                    rule.kind.name()
                );
            }
        }
    }
    if problems > 0 {
        return Err(CliError::new(
            Exit::Config,
            format!("{problems} rules cannot be evaluated on snapshot {run}"),
        ));
    }
    Ok(())
}

pub fn alerts(data_dir: &Path, cmd: AlertsCommand) -> Result<(), CliError> {
    let args = match cmd {
        AlertsCommand::List(args) => args,
        AlertsCommand::Act(cmd) => return super::alert_actions::run(data_dir, cmd),
    };
    if args.format == ListFormat::Csv {
        if args.limit.is_some() {
            return Err(CliError::new(
                Exit::Usage,
                "--limit does not apply to --format csv, which lists every matching alert",
            ));
        }
        return super::export::export(
            data_dir,
            super::export::ExportArgs::csv_of(args.filter, args.lang),
        );
    }
    let now = chrono::Utc::now();
    let mut state = AlertStore::open_in(data_dir)?;
    state.wake_expired(now)?;
    let filter = args
        .filter
        .store_filter(&args.filter.inbox(data_dir), now)?;
    let mut records = state.list(&filter)?;
    let total = records.len();
    records.truncate(shown(args.limit, args.all, args.format));
    match args.format {
        ListFormat::Json | ListFormat::Csv => {
            let text = serde_json::to_string_pretty(&records)?;
            out!("{text}");
        }
        ListFormat::Text => {
            if total == 0 {
                out!("No alerts match. (`actionboard rules evaluate` raises them from the current data.)");
                return Ok(());
            }
            let lang = args.lang;
            for r in &records {
                let a = &r.alert;
                let flag = if a.data_issue { " [data issue]" } else { "" };
                out!(
                    "{:>6.2}  {:<8}  {:<12}  {}{flag}",
                    a.priority,
                    a.severity.as_str(),
                    r.status.as_str(),
                    a.title.get(lang)
                );
                for (action, due) in a.actions.iter().zip(r.due_dates()) {
                    out!(
                        "          → {} ({}: {}, {}: {})",
                        action.text.get(lang),
                        if lang == Lang::Ko { "담당" } else { "owner" },
                        action.owner_label.get(lang),
                        if lang == Lang::Ko { "기한" } else { "due" },
                        due.format("%Y-%m-%d")
                    );
                }
                out!("          {}", a.fingerprint);
            }
            if records.len() < total {
                out!(
                    "{} of {total} alerts shown; `--all` (or `--limit N`) shows more, `--format json` or `csv` lists every one.",
                    records.len()
                );
            } else {
                out!("{total} alerts.");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_csv_list_everything_text_a_screenful_unless_told() {
        assert_eq!(shown(None, false, ListFormat::Json), usize::MAX);
        assert_eq!(shown(None, false, ListFormat::Csv), usize::MAX);
        assert_eq!(shown(None, false, ListFormat::Text), TEXT_LIMIT);
        assert_eq!(shown(None, true, ListFormat::Text), usize::MAX);
        assert_eq!(shown(Some(3), false, ListFormat::Json), 3);
        assert_eq!(shown(Some(3), false, ListFormat::Text), 3);
    }
}

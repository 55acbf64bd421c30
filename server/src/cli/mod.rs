//! Command line: `actionboard [serve]`, `actionboard etl run|extract|transform|load|status`,
//! `actionboard rules check|backtest|evaluate`,
//! `actionboard alerts list|show|ack|assign|comment|snooze|resolve|dismiss|reopen|feedback`,
//! `actionboard users add|list|remove|unlock`, `actionboard tokens add|list|remove`,
//! `actionboard export`, `actionboard notify send|deliveries|retry|test|preview|digest`,
//! `actionboard schedule list|run-due`.

mod alert_actions;
mod error;
mod export;
mod filter_args;
mod lake;
mod notify;
mod rule_files;
mod rules;
mod schedule;
mod state;
mod tokens;
mod users;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use axum::serve::ListenerExt;
use clap::{Args, Parser, Subcommand};

/// `println!` that ignores a closed stdout (`actionboard etl status | head` must not panic).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
use engine::base::run::RunDir;
use engine::base::Stage;
use engine::config::{Fetch, Sources};
use engine::etl::pipeline::{find_run, read_provenance};
use engine::etl::Pipeline;
use engine::snapshot::SnapshotStore;
use error::CliError;
pub(crate) use out;

#[derive(Debug, Parser)]
#[command(
    name = "actionboard",
    version,
    about = "Turns ETL output into action: load, alert, act, export.",
    after_help = error::EXIT_CODES_HELP
)]
struct Cli {
    /// Folder for snapshots and state (created when first written).
    #[arg(
        long,
        global = true,
        env = "ACTIONBOARD_DATA_DIR",
        default_value = "data"
    )]
    data_dir: PathBuf,
    /// Keep the alerts, people and sessions in this PostgreSQL database, shared by several
    /// servers (postgres://user:password@host:port/database), instead of the data folder's
    /// SQLite files. Best given in the environment, where the password stays out of `ps`.
    #[arg(
        long,
        global = true,
        env = "ACTIONBOARD_STATE_URL",
        hide_env_values = true
    )]
    state_url: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the dashboard (the default).
    Serve(ServeArgs),
    /// The ETL pipeline: extract, transform, load, as independent resumable stages.
    #[command(subcommand)]
    Etl(EtlCommand),
    /// Metrics and alert rules: check the YAML, replay a rule over history, evaluate.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// The alert inbox.
    #[command(subcommand)]
    Alerts(rules::AlertsCommand),
    /// The people who may sign in to the dashboard, and their roles.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// API tokens for scripts (`Authorization: Bearer …` on /api/v1).
    #[command(subcommand)]
    Tokens(tokens::TokensCommand),
    /// Export the action list of an inbox filter: CSV, XLSX, JSON or NDJSON, to a file or stdout.
    Export(export::ExportArgs),
    /// The lake: runs as Hive-partitioned Parquet for Spark and other engines.
    #[command(subcommand)]
    Lake(lake::LakeCommand),
    /// Notifications (notify.yml): send the outbox, list deliveries, retry, test a channel.
    #[command(subcommand)]
    Notify(notify::NotifyCommand),
    /// The jobs of config/schedule.yml: their last and next ticks, and running the due ones.
    #[command(subcommand)]
    Schedule(schedule::ScheduleCommand),
    /// Where the state lives: move it from the data folder's files into PostgreSQL.
    #[command(subcommand)]
    State(state::StateCommand),
}

#[derive(Debug, Subcommand)]
enum EtlCommand {
    /// Run every stage; continues an interrupted run from its first incomplete stage.
    Run(ExtractArgs),
    /// Start a new run: read every enabled source and record its provenance.
    Extract(ExtractArgs),
    /// Validate and transform the extracted files of a run (default: the newest).
    Transform(StageArgs),
    /// Load a transformed run into a new snapshot and publish it.
    Load(StageArgs),
    /// Show each run's stages, row counts, rejects and errors (reads only the run folders, so it
    /// works even while the configuration is broken).
    Status(StatusArgs),
    /// Remove old runs (folder and snapshot) past the newest `--keep` published ones; never the
    /// run being served, newer runs, or a run an open alert's evidence points to.
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
struct PruneArgs {
    /// How many published runs to keep (the newest); default: `defaults.keep_runs` in
    /// sources.yml (10 when not set).
    #[arg(long)]
    keep: Option<usize>,
    /// Where the retention setting is read from.
    #[command(flatten)]
    files: ConfigFiles,
    /// Only say what would be removed.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ACTIONBOARD_ADDR", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    addr: IpAddr,
    /// Port to listen on; 0 picks a free one (the URL printed says which).
    #[arg(long, env = "PORT", default_value_t = 3000)]
    port: u16,
    /// Folder with the built site (wasm, JS, CSS), as cargo-leptos writes it.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    site_root: PathBuf,
    /// What a run started from the dashboard reads.
    #[command(flatten)]
    files: ConfigFiles,
}

impl Default for ServeArgs {
    fn default() -> Self {
        ServeArgs::parse_from_env()
    }
}

impl ServeArgs {
    /// Defaults and environment, as when `serve` is given with no flags.
    fn parse_from_env() -> Self {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            args: ServeArgs,
        }
        Only::parse_from(["actionboard"]).args
    }
}

/// The configuration files, as `etl` and `serve` (which can start runs) read them: the rules'
/// (alerts are evaluated after a load) and the sources' mirror.
#[derive(Debug, Clone, Args)]
pub(crate) struct ConfigFiles {
    #[command(flatten)]
    pub(crate) rule_files: rule_files::RuleFiles,
    /// Folder laid out like `../shared/data` (the local mirror of the sources).
    #[arg(long, env = "ACTIONBOARD_MIRROR", default_value = "../shared/data")]
    pub(crate) mirror: PathBuf,
}

impl ConfigFiles {
    fn pipeline(&self, data_dir: &std::path::Path, live: bool) -> Result<Pipeline, CliError> {
        let sources = Sources::load(&self.rule_files.config, &self.mirror)?;
        // The command exits after the run: the memory one step frees is the next one's.
        engine::etl::memory::prepare_batch_process();
        let mut pipeline = Pipeline::new(sources, data_dir);
        let metrics = self.rule_files.metrics_path();
        if metrics.exists() {
            pipeline.completeness =
                engine::rules::Metrics::load(&metrics, &pipeline.sources)?.completeness;
        }
        pipeline.progress = crate::progress::for_stderr();
        if live {
            pipeline.fetch.force = Some(Fetch::Live);
        }
        Ok(pipeline)
    }

    pub(crate) fn run_config(&self) -> crate::web::RunConfig {
        crate::web::RunConfig {
            sources: self.rule_files.config.clone(),
            mirror: self.mirror.clone(),
            metrics: self.rule_files.metrics_path(),
            rules: self.rule_files.rules_path(),
            lake: lake::configured(),
            schedule: self.rule_files.schedule_path(),
        }
    }
}

/// `etl run` and `etl extract`: a run that reads the sources.
#[derive(Debug, Args)]
struct ExtractArgs {
    #[command(flatten)]
    files: ConfigFiles,
    /// Read every source from its URL first (falling back to the mirror), whatever the config says.
    #[arg(long)]
    live: bool,
    /// Publish although SOURCE shrank beyond its `max_shrink` since the last published run
    /// (fewer rows, countries, or countries reporting its latest period); recorded in the run
    /// log. Repeat for several sources.
    #[arg(long, value_name = "SOURCE")]
    accept_shrink: Vec<String>,
}

/// `etl transform` and `etl load`: one stage of an existing run.
#[derive(Debug, Args)]
struct StageArgs {
    #[command(flatten)]
    files: ConfigFiles,
    /// The run to work on; default: the newest.
    #[arg(long)]
    run: Option<String>,
    /// (`etl load`) Publish although SOURCE shrank beyond its `max_shrink`; see `etl run`.
    #[arg(long, value_name = "SOURCE")]
    accept_shrink: Vec<String>,
}

#[derive(Debug, Args)]
struct StatusArgs {
    /// The run to show; default: the ten newest.
    #[arg(long)]
    run: Option<String>,
    /// `json` for scripts and monitoring: the snapshot served, and each run (newest first) with
    /// its state, stages (times, errors) and rows per source.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
}

/// How a listing is printed: for people, or as JSON for scripts.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum OutputFormat {
    Text,
    Json,
}

/// `etl status --format json`.
#[derive(serde::Serialize)]
struct StatusReport {
    serving: Option<String>,
    runs: Vec<RunStatus>,
}

#[derive(serde::Serialize)]
struct RunStatus {
    /// `complete`, `failed` or `incomplete` (running, or interrupted).
    state: engine::query::pipeline::StageState,
    #[serde(flatten)]
    summary: engine::query::pipeline::RunSummary,
}

pub fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let store = SnapshotStore::new(&cli.data_dir);
    if let Some(url) = &cli.state_url {
        if let Err(e) = engine::state::use_postgres(&cli.data_dir, url) {
            let e = CliError::from(e);
            eprintln!("error: {e}");
            return ExitCode::from(e.exit as u8);
        }
    }
    let result = match cli
        .command
        .unwrap_or_else(|| Command::Serve(ServeArgs::default()))
    {
        Command::Serve(args) => serve(store, args),
        Command::Etl(cmd) => etl(&cli.data_dir, cmd),
        Command::Rules(cmd) => rules::rules(&cli.data_dir, cmd),
        Command::Alerts(cmd) => rules::alerts(&cli.data_dir, cmd),
        Command::Users(cmd) => users::users(&cli.data_dir, cmd),
        Command::Tokens(cmd) => tokens::tokens(&cli.data_dir, cmd),
        Command::Export(args) => export::export(&cli.data_dir, args),
        Command::Lake(cmd) => lake::lake(&cli.data_dir, cmd),
        Command::Notify(cmd) => notify::notify(&cli.data_dir, cmd),
        Command::Schedule(cmd) => schedule::schedule(&cli.data_dir, cmd),
        Command::State(cmd) => state::state(&cli.data_dir, cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit as u8)
        }
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("ACTIONBOARD_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours for a terminal only: a log file or journal gets plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

fn etl(data_dir: &std::path::Path, cmd: EtlCommand) -> Result<(), CliError> {
    match cmd {
        EtlCommand::Run(args) => {
            let mut pipeline = args.files.pipeline(data_dir, args.live)?;
            pipeline.accept_shrink = args.accept_shrink.iter().cloned().collect();
            let outcome = pipeline.run();
            // A failed run raises the `pipeline` alert; a published one, the data's alerts.
            publish(data_dir, &args.files);
            let outcome = outcome?;
            if let Some(stage) = outcome.resumed_at {
                out!("Resumed run {} at the {stage} stage.", outcome.run);
            }
            print_run(&find_run(data_dir, Some(outcome.run.as_str()))?);
            out!("Published run {} to {}.", outcome.run, data_dir.display());
            Ok(())
        }
        EtlCommand::Extract(args) => {
            let pipeline = args.files.pipeline(data_dir, args.live)?;
            let _lock = pipeline.lock()?;
            let rd = pipeline.new_run()?;
            run_one(&pipeline, &rd, Stage::Extract)
        }
        EtlCommand::Transform(ref args) | EtlCommand::Load(ref args) => {
            let stage = match cmd {
                EtlCommand::Transform(_) => Stage::Transform,
                _ => Stage::Load,
            };
            let mut pipeline = args.files.pipeline(data_dir, false)?;
            pipeline.accept_shrink = args.accept_shrink.iter().cloned().collect();
            let lock = pipeline.lock()?;
            let rd = find_run(data_dir, args.run.as_deref())?;
            let result = run_one(&pipeline, &rd, stage);
            drop(lock);
            if stage == Stage::Load || result.is_err() {
                publish(data_dir, &args.files);
            }
            result
        }
        EtlCommand::Prune(args) => {
            use engine::etl::prune;
            let keep = match args.keep {
                Some(0) => {
                    return Err(CliError::new(
                        error::Exit::Usage,
                        "--keep 0 would remove the run being served; keep at least 1",
                    ))
                }
                Some(n) => n,
                None => {
                    Sources::load(&args.files.rule_files.config, &args.files.mirror)
                        .map_err(|e| {
                            format!("{e} (the retention, defaults.keep_runs, is read from it; or give --keep N)")
                        })?
                        .keep_runs
                }
            };
            // Runs open alerts point to stay: their evidence must remain readable.
            let referenced = engine::state::AlertStore::open_in(data_dir)
                .and_then(|s| s.list(&engine::state::AlertFilter::default()))?
                .into_iter()
                .map(|r| r.alert.evidence.run_id)
                .collect();
            // The pipeline's lock: no run is loading while files go.
            let _lock = engine::etl::pipeline::lock(data_dir)?;
            let plan = prune::plan(data_dir, keep, &referenced)?;
            for (run, why) in &plan.kept {
                out!("Keeping run {run}: {why}.");
            }
            for run in &plan.remove {
                out!(
                    "{} run {run}.",
                    if args.dry_run {
                        "Would remove"
                    } else {
                        "Removing"
                    }
                );
            }
            if !args.dry_run {
                prune::execute(data_dir, &plan)?;
            }
            out!(
                "{} runs {}; the newest {} published runs are kept.",
                plan.remove.len(),
                if args.dry_run {
                    "would be removed"
                } else {
                    "removed"
                },
                keep
            );
            Ok(())
        }
        EtlCommand::Status(args) => {
            let runs = match &args.run {
                Some(id) => vec![find_run(data_dir, Some(id))?],
                None => RunDir::list(data_dir)?,
            };
            let shown = &runs[runs.len().saturating_sub(10)..];
            let serving = SnapshotStore::new(data_dir).current();
            if let OutputFormat::Json = args.format {
                let report = StatusReport {
                    serving: serving?.map(|r| r.to_string()),
                    runs: shown
                        .iter()
                        .rev()
                        .map(|rd| {
                            let summary = engine::query::pipeline::run_summary(rd);
                            RunStatus {
                                state: summary.state(),
                                summary,
                            }
                        })
                        .collect(),
                };
                let text = serde_json::to_string_pretty(&report)?;
                out!("{text}");
                return Ok(());
            }
            if runs.is_empty() {
                out!(
                    "No runs yet in {}. Start one with `actionboard etl run`.",
                    data_dir.display()
                );
            }
            for rd in shown {
                print_run(rd);
            }
            match serving {
                Ok(Some(run)) => out!("Serving snapshot: {run}"),
                Ok(None) => out!("Serving snapshot: none published yet"),
                Err(e) => out!("Serving snapshot: {e}"),
            }
            Ok(())
        }
    }
}

/// The post-run flow ([`engine::publish::after_run`]) after a stage, with what it did on the
/// terminal. The data is already published (or the previous snapshot still serves), so a
/// problem here is reported, not fatal.
fn publish(data_dir: &std::path::Path, files: &ConfigFiles) {
    let lake = lake::configured();
    let Some(published) = engine::publish::after_run(
        &SnapshotStore::new(data_dir),
        || files.rule_files.load(),
        lake.as_deref(),
    ) else {
        return;
    };
    match published.alerts {
        Ok((evaluation, summary)) => rules::print_merge(&evaluation, &summary),
        Err(e) => eprintln!(
            "warning: alerts were not refreshed: {e}\n  Fix it, then run `actionboard rules evaluate`."
        ),
    }
    match (published.lake, lake) {
        (Some(Ok(run)), _) if run.written => out!(
            "Exported run {} to the lake: {}",
            run.manifest.run_id,
            run.dir.display()
        ),
        (Some(Err(e)), Some(lake)) => eprintln!(
            "warning: the run was not exported to the lake {}: {e}\n  Fix it, then run `actionboard lake export`.",
            lake.display()
        ),
        _ => {}
    }
}

fn run_one(pipeline: &Pipeline, rd: &RunDir, stage: Stage) -> Result<(), CliError> {
    let result = pipeline.run_stage(rd, stage);
    print_run(rd);
    result.map(|_| ()).map_err(CliError::from)
}

fn print_run(rd: &RunDir) {
    let state = match rd.next_stage() {
        None => "complete".to_string(),
        Some(stage) if rd.failure(stage).is_some() => format!("failed at {stage}"),
        Some(stage) => format!("stopped before {stage} completed"),
    };
    out!("run {}: {state}", rd.run);
    for stage in Stage::ALL {
        match (rd.manifest(stage), rd.failure(stage)) {
            (Some(m), _) => {
                out!(
                    "  {:<9} complete  {} → {}  ({} ms)",
                    stage.name(),
                    m.started_at.format("%H:%M:%S%.3f"),
                    m.finished_at.format("%H:%M:%S%.3f"),
                    m.duration_ms
                );
                if stage == Stage::Extract {
                    for p in read_provenance(rd).unwrap_or_default() {
                        let note = p
                            .fallback_reason
                            .map(|r| format!(" (fell back: {r})"))
                            .unwrap_or_default();
                        out!(
                            "      {:<18} {} {} bytes, sha256 {}…, from {} {}{note}",
                            p.source_id,
                            p.fetched_at.format("%H:%M:%S"),
                            p.size_bytes,
                            &p.sha256[..12.min(p.sha256.len())],
                            p.read_from,
                            p.location
                        );
                    }
                }
                if stage == Stage::Load {
                    // An accepted shrink (`--accept-shrink`), on the record.
                    for note in &m.notes {
                        out!("      {note}");
                    }
                }
                if stage == Stage::Transform {
                    for (source, c) in &m.counts {
                        let added = if c.added > 0 {
                            format!("  (out includes {} from regions.overrides)", c.added)
                        } else {
                            String::new()
                        };
                        out!(
                            "      {source:<18} in {:>7}  out {:>7}  rejected {:>5}  missing {:>5}{added}",
                            c.rows_in,
                            c.rows_out,
                            c.rejected,
                            c.missing
                        );
                    }
                }
            }
            (None, Some(f)) => out!(
                "  {:<9} FAILED at {}: {}",
                stage.name(),
                f.failed_at.format("%H:%M:%S"),
                f.error
            ),
            (None, None) => out!("  {:<9} not run", stage.name()),
        }
    }
}

fn serve(store: SnapshotStore, args: ServeArgs) -> Result<(), CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::from(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        let addr = SocketAddr::new(args.addr, args.port);
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            CliError::from(format!(
                "cannot listen on {addr}: {e} (set PORT to use another port)"
            ))
        })?;
        let local = listener
            .local_addr()
            .map_err(|e| CliError::from(format!("cannot read the bound address: {e}")))?;
        match store.current() {
            Ok(Some(run)) => tracing::info!(%run, "serving snapshot"),
            Ok(None) => tracing::warn!("no snapshot published yet; run `actionboard etl run`"),
            Err(e) => tracing::warn!("{e}"),
        }
        // The state may be a database across the network: never on an async worker.
        tokio::task::block_in_place(|| first_start(store.data_dir(), local))?;
        let mut web = crate::web::WebOptions::from_env()
            .map_err(|e| CliError::new(error::Exit::Config, e.to_string()))?;
        web.display = args.files.rule_files.display()?;
        let display_settings = web.display;
        let notify = std::sync::Arc::new(engine::notify_config::Notify::load(
            &engine::notify_config::Notify::beside(&args.files.rule_files.rules_path()),
        )?);
        notify::spawn_worker(store.data_dir(), (*notify).clone());
        // config/schedule.yml, validated once before serving: a broken file stops the start.
        let run_config = args.files.run_config();
        let schedule = engine::schedule::Schedule::load(&run_config.schedule)?;
        let launcher = crate::web::launcher(store.data_dir(), run_config);
        let router = crate::web::site(
            store.clone(),
            &args.site_root,
            local,
            launcher.clone(),
            web,
            schedule.clone(),
        );
        crate::web::scheduler::spawn(
            crate::web::scheduler::build(schedule, launcher).with_digest(std::sync::Arc::new(
                engine::schedule::NotifyDigest::new(store.data_dir(), notify, display_settings),
            )),
        );
        // Without TCP_NODELAY a response written in two segments (headers, then body) waits for
        // the client's delayed ACK: ~40 ms added to every page.
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::warn!("cannot set TCP_NODELAY: {e}");
            }
        });
        // Tests and scripts read this line to find the port.
        out!("Actionboard is serving http://{local}");
        // The peer's address tells whether a forwarded header comes from a trusted proxy.
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, service)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(|e| CliError::from(format!("server error: {e}")))
    })
}

/// With no users, nobody could sign in to act: creates `admin` (password from
/// ACTIONBOARD_ADMIN_PASSWORD, else random, printed once and kept in a 0600 file until changed).
fn first_start(data_dir: &std::path::Path, local: SocketAddr) -> Result<(), CliError> {
    let from_env = std::env::var("ACTIONBOARD_ADMIN_PASSWORD").ok();
    let created = engine::state::first_admin::ensure_first_admin(data_dir, from_env.as_deref())
        .map_err(|e| CliError::from(format!("creating the first admin: {e}")))?;
    let Some(admin) = created else {
        return Ok(());
    };
    out!(
        "First start: nobody could sign in, so the user `{}` (role admin) was created.",
        admin.name
    );
    match (&admin.generated_password, &admin.file) {
        (Some(password), Some(file)) => {
            out!("  password: {password}");
            out!(
                "  (shown only now; also in {} (mode 0600) until you change it with `actionboard users add {} --role admin`)",
                file.display(),
                admin.name
            );
        }
        _ => out!("  password: the one in ACTIONBOARD_ADMIN_PASSWORD"),
    }
    out!("  sign in at http://{local}/login");
    out!(
        "처음 시작: 로그인할 사용자가 없어 관리자 `{}`를 만들었습니다. 위 비밀번호로 로그인하세요.",
        admin.name
    );
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

//! Command line: `actionboard [serve]`, `actionboard load`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use engine::etl::bootstrap::{self, BootstrapSources};
use engine::store::SnapshotStore;

#[derive(Debug, Parser)]
#[command(
    name = "actionboard",
    version,
    about = "Turns ETL output into action: load, alert, act, export."
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
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the dashboard (the default).
    Serve(ServeArgs),
    /// Load the default sources (World Bank GDP, UN M49 regions) into a new snapshot and publish it.
    Load(LoadArgs),
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

#[derive(Debug, Args)]
struct LoadArgs {
    /// Folder laid out like `../shared/data` (the local mirror of the sources).
    #[arg(long, env = "ACTIONBOARD_MIRROR", default_value = "../shared/data")]
    mirror: PathBuf,
}

pub fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let store = SnapshotStore::new(&cli.data_dir);
    let result = match cli
        .command
        .unwrap_or_else(|| Command::Serve(ServeArgs::default()))
    {
        Command::Serve(args) => serve(store, args),
        Command::Load(args) => load(&store, &args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("ACTIONBOARD_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn load(store: &SnapshotStore, args: &LoadArgs) -> Result<(), String> {
    let sources = BootstrapSources::from_mirror(&args.mirror);
    let summary = bootstrap::load(store, &sources).map_err(|e| e.to_string())?;
    println!(
        "Loaded run {}: {} GDP rows ({} from aggregates, kept apart), {} countries with a region. Published to {}.",
        summary.run,
        summary.gdp_rows,
        summary.aggregate_rows,
        summary.countries,
        store.data_dir().display()
    );
    Ok(())
}

fn serve(store: SnapshotStore, args: ServeArgs) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async move {
        let addr = SocketAddr::new(args.addr, args.port);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e} (set PORT to use another port)"))?;
        let local = listener
            .local_addr()
            .map_err(|e| format!("cannot read the bound address: {e}"))?;
        match store.current() {
            Ok(Some(run)) => tracing::info!(%run, "serving snapshot"),
            Ok(None) => tracing::warn!("no snapshot published yet; run `actionboard load`"),
            Err(e) => tracing::warn!("{e}"),
        }
        let router = crate::web::router(store, &args.site_root, local);
        // Tests and scripts read this line to find the port.
        println!("Actionboard is serving http://{local}");
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(|e| format!("server error: {e}"))
    })
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

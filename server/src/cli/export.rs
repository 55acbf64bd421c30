//! `actionboard export --format csv|xlsx|json|ndjson [inbox filters] [-o FILE]`: the action
//! list, as the inbox's Export menu and `GET /api/v1/actions/export` give it, to a file or
//! stdout. Rows are written as they are read (XLSX: built, then copied). Logged in
//! the export log like every export.

use super::error::{CliError, Exit};
use super::filter_args::FilterArgs;

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use display::Lang;
use engine::export::{self, About, Format, Options};
use engine::state::AlertStore;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// csv, xlsx, json or ndjson.
    #[arg(long, default_value = "csv")]
    format: String,
    /// Write here (default: stdout; XLSX needs a file or a redirected stdout).
    #[arg(short = 'o', long)]
    output: Option<PathBuf>,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Who is exporting (goes into the About block and the export log; default: $USER).
    #[arg(long = "as")]
    actor: Option<String>,
    /// CSV: start with a UTF-8 byte-order mark (Excel then reads Korean right).
    #[arg(long)]
    bom: bool,
    /// Also the audit trail (XLSX always has it).
    #[arg(long)]
    history: bool,
    /// ko or en: titles, actions and XLSX headers.
    #[arg(long, default_value = "en")]
    lang: String,
    /// The site's address for each row's link to its alert.
    #[arg(long, env = PUBLIC_URL_ENV, default_value = DEFAULT_PUBLIC_URL)]
    base_url: String,
    /// The time zone of the columns people read (`snoozed_until_local`), e.g. Asia/Seoul
    /// [default: display.yml's, see --display].
    #[arg(long, value_name = "ZONE")]
    timezone: Option<String>,
    /// display.yml, for the default time zone.
    #[arg(
        long,
        env = "ACTIONBOARD_DISPLAY",
        default_value = "config/display.yml"
    )]
    display: PathBuf,
}

const PUBLIC_URL_ENV: &str = "ACTIONBOARD_PUBLIC_URL";
const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:3000";

impl ExportArgs {
    /// The CSV action list of `filter` to stdout, as `export --format csv` with no other option.
    pub fn csv_of(filter: FilterArgs, lang: Lang) -> Self {
        ExportArgs {
            format: "csv".into(),
            output: None,
            filter,
            actor: None,
            bom: false,
            history: false,
            lang: lang.code().into(),
            base_url: std::env::var(PUBLIC_URL_ENV)
                .unwrap_or_else(|_| DEFAULT_PUBLIC_URL.to_string()),
            timezone: None,
            display: std::env::var_os("ACTIONBOARD_DISPLAY")
                .map_or_else(|| PathBuf::from("config/display.yml"), PathBuf::from),
        }
    }

    /// The reader's zone: `--timezone`, else display.yml's (a missing file: Asia/Seoul).
    fn zone(&self) -> Result<display::time::Zone, CliError> {
        match &self.timezone {
            Some(name) => display::time::Zone::parse(name).ok_or_else(|| {
                CliError::new(
                    Exit::Usage,
                    format!("unknown time zone `{name}`: use an IANA name such as Asia/Seoul or America/New_York"),
                )
            }),
            None => Ok(engine::config::DisplaySettings::load(&self.display)?.timezone),
        }
    }
}

pub fn export(data_dir: &Path, args: ExportArgs) -> Result<(), CliError> {
    let format = Format::parse(&args.format).ok_or_else(|| {
        format!(
            "unknown format `{}`: use --format csv, xlsx, json or ndjson",
            args.format
        )
    })?;
    let lang = Lang::parse(&args.lang).ok_or_else(|| {
        CliError::new(
            Exit::Usage,
            format!("unknown language `{}`: use --lang ko or en", args.lang),
        )
    })?;
    let now = chrono::Utc::now();
    let zone = args.zone()?;
    let inbox = args.filter.inbox(data_dir);
    let filter = args.filter.store_filter(&inbox, now)?;
    let options = Options {
        format,
        bom: args.bom,
        history: args.history,
        lang,
        base_url: args.base_url.trim_end_matches('/').to_string(),
        now,
        zone,
    };
    let by = args
        .actor
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "cli".to_string());
    let mut params = inbox.params();
    if let Some(who) = &args.filter.assigned_to {
        params.retain(|(k, _)| *k != "mine");
        params.push(("assigned_to", who.clone()));
    }
    let mut store = AlertStore::open_in(data_dir)?;
    store.wake_expired(now)?;
    let about = About::new(data_dir, &by, &params, &options)?;
    let result = match &args.output {
        Some(path) => {
            // Written beside the target and renamed: an interrupted export leaves no half file.
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let tmp = tempfile::NamedTempFile::new_in(dir)
                .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
            let result = export::export(&store, &filter, &about, &options, tmp.as_file());
            if result.is_ok() {
                tmp.persist(path)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
            result
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            let _ = lock.flush();
            // Rust's stdout splits writes at line ends (a line buffer): the export's large
            // pieces go to the same descriptor directly instead.
            #[cfg(unix)]
            let direct = {
                use std::os::fd::AsFd;
                lock.as_fd()
                    .try_clone_to_owned()
                    .map(std::fs::File::from)
                    .ok()
            };
            #[cfg(not(unix))]
            let direct: Option<std::fs::File> = None;
            let result = match direct {
                Some(mut file) => export::export(&store, &filter, &about, &options, &mut file),
                None => export::export(&store, &filter, &about, &options, &mut lock),
            };
            let _ = lock.flush();
            result
        }
    };
    let summary = result.as_ref().copied().unwrap_or_default();
    let record = export::ExportRecord {
        at: now,
        by: by.clone(),
        via: "cli".into(),
        format: format.as_str().into(),
        filters: about.filters.clone(),
        rows: summary.rows,
        alerts: summary.alerts,
        error: result.as_ref().err().map(|e| e.to_string()),
    };
    if let Err(e) = export::log_export(data_dir, &record) {
        eprintln!("warning: the export log could not be written: {e}");
    }
    let summary = result?;
    if let Some(path) = &args.output {
        eprintln!(
            "Exported {} rows ({} alerts) to {}.",
            summary.rows,
            summary.alerts,
            path.display()
        );
    }
    Ok(())
}

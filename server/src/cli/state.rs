//! `actionboard state migrate --to postgres://…`: moves the data folder's state (its SQLite
//! files) into a PostgreSQL database that several servers then share. `actionboard state
//! exports`: the export log (who exported what, when).

use std::path::Path;

use clap::Subcommand;
use engine::state::migrate::MigrateError;

use super::error::{CliError, Exit};
use super::{out, OutputFormat};

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Copy the alert state, people, sessions and tokens from the data folder's SQLite files into
    /// an empty PostgreSQL database, checked by counts and versions (the files stay as they are).
    /// Then start the servers with ACTIONBOARD_STATE_URL set to the same address.
    Migrate {
        /// The target: postgres://user:password@host:port/database (its tables are created).
        #[arg(long, env = "ACTIONBOARD_MIGRATE_TO", hide_env_values = true)]
        to: String,
    },
    /// The export log, newest first: when, who, how (web, api, cli), the format, the filters,
    /// rows and alerts, and why an export stopped.
    Exports {
        /// How many (newest first).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        limit: u64,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
}

pub fn state(data_dir: &Path, cmd: StateCommand) -> Result<(), CliError> {
    match cmd {
        StateCommand::Migrate { to } => {
            let copied = engine::state::migrate::to_postgres(data_dir, &to).map_err(|e| {
                let exit = match &e {
                    MigrateError::Target(inner) => CliError::from_shared(inner),
                    MigrateError::NotEmpty { .. } => Exit::Data,
                    _ => Exit::Internal,
                };
                CliError::new(exit, e.to_string())
            })?;
            for (table, rows) in &copied {
                out!("  {table:<18} {rows:>9} rows");
            }
            out!(
                "Moved the state of {} into {}. Start the servers with ACTIONBOARD_STATE_URL set to it.",
                data_dir.display(),
                engine::state::shared::without_password(&to)
            );
        }
        StateCommand::Exports { limit, format } => {
            let mut store = engine::state::AlertStore::open_in(data_dir)?;
            store.import_legacy_export_log(data_dir)?;
            let log = store.export_log(limit as usize)?;
            match format {
                OutputFormat::Json => {
                    out!(
                        "{}",
                        serde_json::to_string_pretty(&serde_json::json!({ "exports": log }))?
                    )
                }
                OutputFormat::Text if log.is_empty() => out!("No export yet."),
                OutputFormat::Text => {
                    for e in &log {
                        let filters: Vec<String> =
                            e.filters.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        let outcome = e
                            .error
                            .as_deref()
                            .map_or_else(String::new, |why| format!("  stopped: {why}"));
                        out!(
                            "{}  {:<16} {:<4} {:<5} {:>8} rows {:>7} alerts  {}{outcome}",
                            engine::base::time::timestamp(e.at),
                            e.by,
                            e.via,
                            e.format,
                            e.rows,
                            e.alerts,
                            if filters.is_empty() {
                                "(all)".into()
                            } else {
                                filters.join(" ")
                            }
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

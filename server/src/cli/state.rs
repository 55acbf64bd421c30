//! `actionboard state migrate --to postgres://…`: moves the data folder's state (its SQLite
//! files) into a PostgreSQL database that several servers then share.

use std::path::Path;

use clap::Subcommand;
use engine::state::migrate::MigrateError;

use super::error::{CliError, Exit};
use super::out;

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
    }
    Ok(())
}

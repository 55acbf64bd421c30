//! `actionboard lake export|list`: a run's tables as Hive-partitioned Parquet for Spark, Trino
//! or a DuckDB elsewhere (layout in engine::lake and the README).

use std::path::{Path, PathBuf};

use clap::Subcommand;
use engine::snapshot::SnapshotReader;
use engine::snapshot::SnapshotStore;

use super::error::CliError;
use super::out;

#[derive(Debug, Subcommand)]
pub enum LakeCommand {
    /// Write a run (default: the current one) into the lake; a run already there is kept.
    Export {
        /// A kept run's id (`actionboard etl status` lists them).
        #[arg(long, value_name = "RUN")]
        run: Option<String>,
        /// The lake folder [default: DATA_DIR/lake].
        #[arg(long, env = "ACTIONBOARD_LAKE")]
        lake: Option<PathBuf>,
    },
    /// The complete runs in the lake.
    List {
        #[arg(long, env = "ACTIONBOARD_LAKE")]
        lake: Option<PathBuf>,
    },
}

/// The lake every published run is also written to (`ACTIONBOARD_LAKE`), after `etl run`,
/// `etl load` and a run started from the dashboard.
pub fn configured() -> Option<PathBuf> {
    std::env::var_os("ACTIONBOARD_LAKE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

pub fn lake(data_dir: &Path, cmd: LakeCommand) -> Result<(), CliError> {
    let folder = |lake: Option<PathBuf>| lake.unwrap_or_else(|| data_dir.join("lake"));
    match cmd {
        LakeCommand::Export { run, lake } => {
            let lake = folder(lake);
            let (run, conn) = SnapshotReader::new(SnapshotStore::new(data_dir))
                .connection_as_of(run.as_deref())?;
            let exported = engine::lake::export(&conn, run.as_str(), &lake)?;
            let rows: Vec<String> = exported
                .manifest
                .rows
                .iter()
                .map(|(table, n)| format!("{table} {n}"))
                .collect();
            out!(
                "{} run {run} in {} ({}; {} files).",
                if exported.written {
                    "Exported"
                } else {
                    "Already exported:"
                },
                exported.dir.display(),
                rows.join(", "),
                exported.manifest.files.len()
            );
            Ok(())
        }
        LakeCommand::List { lake } => {
            let lake = folder(lake);
            let runs = engine::lake::runs(&lake)?;
            if runs.is_empty() {
                out!(
                    "No runs in {} (`actionboard lake export` writes one).",
                    lake.display()
                );
            }
            for run in runs {
                out!("{run}");
            }
            Ok(())
        }
    }
}

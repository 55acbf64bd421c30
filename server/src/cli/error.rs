//! Why a command failed, as the process's exit code (after BSD's sysexits), so a scheduler or a
//! script can tell a busy data folder (try later) from bad data (fix the source) from a broken
//! configuration (fix the YAML). `actionboard --help` lists them, as does the README.

use engine::config::ConfigError;
use engine::etl::extract::FetchError;
use engine::etl::pipeline::PipelineError;
use engine::etl::transform::TransformError;
use engine::export::ExportError;
use engine::lake::LakeError;
use engine::publish::RefreshError;
use engine::rules::RulesError;
use engine::snapshot::SnapshotError;
use engine::state::users::UserError;
use engine::state::{SharedStateError, StateError};

/// The exit codes, by cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Anything else: the message says what (and the log has the details).
    Internal = 1,
    /// The command line itself is wrong (also clap's own code for unknown options).
    Usage = 2,
    /// The data is bad: too many rejected rows, a shrunken source, a check that failed.
    Data = 65,
    /// An input is missing: a source file, a run, a snapshot not yet loaded.
    NoInput = 66,
    /// Another run holds the data folder: try again when it has finished.
    Busy = 75,
    /// A configuration file does not load.
    Config = 78,
}

/// The text `actionboard --help` ends with.
pub const EXIT_CODES_HELP: &str = "Exit codes: 0 done; 1 internal error; 2 usage; 65 bad data \
(rejects over the threshold, a shrunken source); 66 missing input (a source file, a run, no data \
loaded yet); 75 busy (another run holds the data folder: try again later); 78 configuration (a \
YAML file does not load).";

/// A failed command: its message and exit code.
#[derive(Debug)]
pub struct CliError {
    pub exit: Exit,
    pub message: String,
    /// The command that helps, when one does: the engine's messages say what is wrong in the
    /// data's terms; the command line names its own commands.
    pub hint: Option<String>,
}

impl CliError {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        CliError {
            exit,
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CliError {}

/// A message without a known cause.
impl From<String> for CliError {
    fn from(message: String) -> Self {
        CliError::new(Exit::Internal, message)
    }
}

impl From<ConfigError> for CliError {
    fn from(e: ConfigError) -> Self {
        CliError::new(Exit::Config, e.to_string())
    }
}

impl From<SnapshotError> for CliError {
    fn from(e: SnapshotError) -> Self {
        let exit = match &e {
            SnapshotError::NothingPublished(_)
            | SnapshotError::NoSuchRun(_)
            | SnapshotError::MissingSnapshot { .. } => Exit::NoInput,
            SnapshotError::BadRunId(_) => Exit::Usage,
            SnapshotError::CheckFailed { .. } => Exit::Data,
            SnapshotError::Io { .. } | SnapshotError::Duckdb { .. } => Exit::Internal,
        };
        let hint = match &e {
            SnapshotError::NothingPublished(_) => {
                Some("`actionboard etl run` (or `make run`) loads the data".to_string())
            }
            SnapshotError::NoSuchRun(_) => {
                Some("`actionboard etl status` lists the runs".to_string())
            }
            _ => None,
        };
        CliError {
            hint,
            ..CliError::new(exit, e.to_string())
        }
    }
}

impl From<PipelineError> for CliError {
    fn from(e: PipelineError) -> Self {
        let exit = match &e {
            PipelineError::Busy { .. } | PipelineError::LockAcrossHosts { .. } => Exit::Busy,
            PipelineError::NoGdpSource => Exit::Config,
            PipelineError::UnknownAcceptShrink(_) => Exit::Usage,
            PipelineError::Shrink { .. } => Exit::Data,
            PipelineError::Transform(t) => match t {
                TransformError::TooManyRejects { .. }
                | TransformError::Parse(_)
                | TransformError::NoRegions(_) => Exit::Data,
                TransformError::NotExtracted { .. } | TransformError::Read { .. } => Exit::NoInput,
            },
            PipelineError::Fetch(FetchError::Http { .. } | FetchError::File { .. }) => {
                Exit::NoInput
            }
            PipelineError::PreviousIncomplete { .. }
            | PipelineError::NoRun(_)
            | PipelineError::UnknownRun(_) => Exit::NoInput,
            _ => Exit::Internal,
        };
        let hint = pipeline_hint(&e);
        CliError {
            hint,
            ..CliError::new(exit, e.to_string())
        }
    }
}

/// The command that continues after a pipeline error, when there is one.
fn pipeline_hint(e: &PipelineError) -> Option<String> {
    use engine::etl::load::LoadError;
    Some(match e {
        PipelineError::PreviousIncomplete { run, needed } => {
            format!("`actionboard etl {needed} --run {run}` completes it")
        }
        PipelineError::LaterStageComplete { .. } => {
            "`actionboard etl run` starts a new run".to_string()
        }
        PipelineError::NoRun(_) => {
            "`actionboard etl run` (or `actionboard etl extract`) starts one".to_string()
        }
        PipelineError::Busy { .. } => "`actionboard etl status` shows it".to_string(),
        PipelineError::Shrink { sources, .. } => {
            let accept: Vec<String> = sources
                .iter()
                .map(|s| format!("--accept-shrink {s}"))
                .collect();
            format!(
                "if the source really is smaller now: `actionboard etl run {}`",
                accept.join(" ")
            )
        }
        PipelineError::Transform(TransformError::NotExtracted { .. }) => {
            "`actionboard etl extract` reads the sources again".to_string()
        }
        PipelineError::Load(LoadError::OlderTransform { run, .. }) => format!(
            "`actionboard etl transform --run {run}`, then `actionboard etl load --run {run}`"
        ),
        _ => return None,
    })
}

impl From<engine::notify::NotifyError> for CliError {
    fn from(e: engine::notify::NotifyError) -> Self {
        match e {
            engine::notify::NotifyError::State(e) => e.into(),
            engine::notify::NotifyError::Users(e) => e.into(),
            e @ engine::notify::NotifyError::NoSuchChannel { .. } => {
                CliError::new(Exit::Usage, e.to_string())
            }
        }
    }
}

impl From<StateError> for CliError {
    fn from(e: StateError) -> Self {
        let exit = match &e {
            StateError::NoSuchAlert(_) => Exit::NoInput,
            StateError::Corrupt { .. } => Exit::Data,
            _ => Exit::Internal,
        };
        CliError::new(exit, e.to_string())
    }
}

impl From<SharedStateError> for CliError {
    fn from(e: SharedStateError) -> Self {
        CliError::new(CliError::from_shared(&e), e.to_string())
    }
}

impl CliError {
    /// The exit code of a shared state that cannot be used.
    pub fn from_shared(e: &SharedStateError) -> Exit {
        match e {
            SharedStateError::Url { .. } => Exit::Config,
            // The database is down or refuses: another try may find it back.
            SharedStateError::Connect { .. } | SharedStateError::Pool { .. } => Exit::Busy,
            SharedStateError::Migrate { .. } | SharedStateError::Listen(_) => Exit::Internal,
        }
    }
}

impl From<UserError> for CliError {
    fn from(e: UserError) -> Self {
        let exit = match &e {
            UserError::BadName(_) | UserError::ShortPassword | UserError::LongPassword => {
                Exit::Usage
            }
            UserError::Corrupt { .. } => Exit::Data,
            _ => Exit::Internal,
        };
        CliError::new(exit, e.to_string())
    }
}

impl From<RulesError> for CliError {
    fn from(e: RulesError) -> Self {
        let exit = match &e {
            RulesError::UnknownRule(_) => Exit::Usage,
            _ => Exit::Internal,
        };
        let error = CliError::new(exit, e.to_string());
        match e {
            RulesError::UnknownRule(_) => error.with_hint("`actionboard rules check` lists them"),
            _ => error,
        }
    }
}

impl From<RefreshError> for CliError {
    fn from(e: RefreshError) -> Self {
        match e {
            RefreshError::Config(e) => e.into(),
            RefreshError::Snapshot(e) => e.into(),
            RefreshError::Rules(e) => e.into(),
            RefreshError::State(e) => e.into(),
        }
    }
}

impl From<LakeError> for CliError {
    fn from(e: LakeError) -> Self {
        match e {
            LakeError::Snapshot(e) => (*e).into(),
            LakeError::Incomplete { ref run, .. } => {
                let hint = format!("`actionboard lake export --run {run}` writes it again");
                CliError::new(Exit::Data, e.to_string()).with_hint(hint)
            }
            e => CliError::new(Exit::Internal, e.to_string()),
        }
    }
}

impl From<ExportError> for CliError {
    fn from(e: ExportError) -> Self {
        match e {
            ExportError::State(e) => e.into(),
            ExportError::TooManyRowsForXlsx => CliError::new(Exit::Usage, e.to_string()),
            e => CliError::new(Exit::Internal, e.to_string()),
        }
    }
}

impl From<engine::rules::spark::SparkError> for CliError {
    fn from(e: engine::rules::spark::SparkError) -> Self {
        use engine::rules::spark::SparkError;
        match e {
            SparkError::Rules(e) => e.into(),
            SparkError::NotInstalled { .. } => CliError::new(Exit::NoInput, e.to_string())
                .with_hint(
                    "run `make spark-setup` (pyspark in .venv-spark/), or pass --spark-python",
                ),
            e => CliError::new(Exit::Internal, e.to_string()),
        }
    }
}

impl From<engine::etl::prune::PruneError> for CliError {
    fn from(e: engine::etl::prune::PruneError) -> Self {
        CliError::new(Exit::Internal, e.to_string())
    }
}

impl From<engine::base::run::RunDirError> for CliError {
    fn from(e: engine::base::run::RunDirError) -> Self {
        CliError::new(Exit::Internal, e.to_string())
    }
}

impl From<duckdb::Error> for CliError {
    fn from(e: duckdb::Error) -> Self {
        CliError::new(Exit::Internal, e.to_string())
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::new(Exit::Internal, e.to_string())
    }
}

impl From<serde_json::Error> for CliError {
    fn from(e: serde_json::Error) -> Self {
        CliError::new(Exit::Internal, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cause_has_its_own_code_and_the_help_lists_them_all() {
        let codes = [
            Exit::Internal,
            Exit::Usage,
            Exit::Data,
            Exit::NoInput,
            Exit::Busy,
            Exit::Config,
        ];
        let mut seen = std::collections::BTreeSet::new();
        for exit in codes {
            assert!(seen.insert(exit as u8), "{exit:?} shares a code");
            assert!(
                EXIT_CODES_HELP.contains(&format!(" {} ", exit as u8)),
                "{exit:?} ({}) is not in the help",
                exit as u8
            );
        }
        let busy = PipelineError::Busy {
            data_dir: "data".into(),
            holder: "process 1".into(),
        };
        assert_eq!(CliError::from(busy).exit, Exit::Busy);
        let nothing = SnapshotError::NothingPublished("data".into());
        assert_eq!(CliError::from(nothing).exit, Exit::NoInput);
        assert_eq!(CliError::from("x".to_string()).exit, Exit::Internal);
    }
}

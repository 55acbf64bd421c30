//! Where the rules' configuration is: the sources, metrics and rules files, as options of every
//! command that reads them.

use std::path::{Path, PathBuf};

use clap::Args;
use engine::config::Sources;
use engine::rules::RuleSet;

/// The configuration files the rules read. The three live together: without `--metrics` or
/// `--rules`, each is looked for beside the sources file.
#[derive(Debug, Clone, Args)]
pub struct RuleFiles {
    /// The sources file (metrics name its sources).
    #[arg(long, env = "ACTIONBOARD_CONFIG", default_value = "config/sources.yml")]
    pub config: PathBuf,
    /// The metrics file [default: metrics.yml beside the sources file].
    #[arg(long, env = "ACTIONBOARD_METRICS")]
    pub metrics: Option<PathBuf>,
    /// The rules file [default: rules.yml beside the sources file].
    #[arg(long, env = "ACTIONBOARD_RULES")]
    pub rules: Option<PathBuf>,
    /// The schedule of the server's jobs [default: schedule.yml beside the sources file; none
    /// when it does not exist].
    #[arg(long, env = "ACTIONBOARD_SCHEDULE")]
    pub schedule: Option<PathBuf>,
    /// How times are shown (the default time zone) [default: display.yml beside the sources
    /// file; without it, Asia/Seoul].
    #[arg(long, env = "ACTIONBOARD_DISPLAY")]
    pub display: Option<PathBuf>,
}

impl RuleFiles {
    pub fn metrics_path(&self) -> PathBuf {
        self.metrics
            .clone()
            .unwrap_or_else(|| self.config.with_file_name("metrics.yml"))
    }

    pub fn rules_path(&self) -> PathBuf {
        self.rules
            .clone()
            .unwrap_or_else(|| self.config.with_file_name("rules.yml"))
    }

    pub fn schedule_path(&self) -> PathBuf {
        self.schedule
            .clone()
            .unwrap_or_else(|| self.config.with_file_name("schedule.yml"))
    }

    pub fn display_path(&self) -> PathBuf {
        self.display
            .clone()
            .unwrap_or_else(|| self.config.with_file_name("display.yml"))
    }

    /// `display.yml`, validated (a missing file is the defaults).
    pub fn display(&self) -> Result<engine::config::DisplaySettings, engine::config::ConfigError> {
        engine::config::DisplaySettings::load(&self.display_path())
    }

    /// The rule set, validated (its errors name the file and line).
    pub fn load(&self) -> Result<RuleSet, engine::config::ConfigError> {
        // Mirror paths do not matter to rules; the sources file is read for its ids.
        let sources = Sources::load(&self.config, Path::new("."))?;
        RuleSet::load(&self.metrics_path(), &self.rules_path(), &sources)
    }
}

//! What server functions need from the server process, provided to them as context.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use display::names::RegionCodes;
use engine::query::Overview;
use engine::snapshot::SnapshotMemo;
use engine::snapshot::SnapshotReader;
use engine::state::AlertStore;
use engine::state::StateError;
use engine::state::StateWatch;

#[derive(Clone)]
pub struct AppState {
    pub snapshots: Arc<SnapshotReader>,
    /// Where the alert state lives (`data/`): each request opens its own SQLite connection, so
    /// reads never wait on each other and the CLI can merge a load meanwhile.
    pub data_dir: PathBuf,
    /// Overview figures per year of the served snapshot: computed once per run (about 30 ms of
    /// queries), then answered from memory.
    pub overviews: Arc<SnapshotMemo<Option<i32>, Overview>>,
    /// The overview's alert numbers, kept while the alert state's version stays the same.
    pub alert_summary: Arc<Mutex<Option<(u64, crate::model::AlertSummary)>>>,
    /// Changes exactly when the alert state changes (shared with the page cache).
    pub alert_version: Arc<StateWatch>,
    /// The configuration files (sources, metrics, rules), for replaying a rule over history.
    pub rule_files: Option<Arc<RuleFiles>>,
    /// The jobs of config/schedule.yml, validated once at start-up (the pipeline page shows them).
    pub schedule: Arc<engine::schedule::Schedule>,
    /// The served snapshot's region names → M49 codes (alerts name regions by them).
    pub region_codes: Arc<SnapshotMemo<(), RegionCodes>>,
}

/// Where the rules are read from (as `actionboard rules backtest` reads them).
#[derive(Debug, Clone)]
pub struct RuleFiles {
    pub sources: PathBuf,
    pub metrics: PathBuf,
    pub rules: PathBuf,
}

impl AppState {
    pub fn new(snapshots: SnapshotReader) -> Self {
        AppState {
            data_dir: snapshots.store().data_dir().to_path_buf(),
            alert_version: Arc::new(StateWatch::new(snapshots.store().data_dir())),
            snapshots: Arc::new(snapshots),
            // Years with data, and a few more for mistyped ones.
            overviews: Arc::new(SnapshotMemo::new(128)),
            alert_summary: Arc::new(Mutex::new(None)),
            rule_files: None,
            schedule: Arc::default(),
            region_codes: Arc::new(SnapshotMemo::new(1)),
        }
    }

    /// The same, showing `schedule`'s jobs on the pipeline page.
    pub fn with_schedule(mut self, schedule: Arc<engine::schedule::Schedule>) -> Self {
        self.schedule = schedule;
        self
    }

    /// The same, able to replay rules read from `files`.
    pub fn with_rule_files(mut self, files: RuleFiles) -> Self {
        self.rule_files = Some(Arc::new(files));
        self
    }

    /// Active alerts by severity and the five most urgent, re-read only when the state changed.
    pub fn alert_summary(&self) -> Result<crate::model::AlertSummary, StateError> {
        let version = self.alert_version.version();
        let cached = self.alert_summary.lock().unwrap_or_else(|p| p.into_inner());
        if let (Some(v), Some((cached_v, summary))) = (&version, cached.as_ref()) {
            if v == cached_v {
                return Ok(summary.clone());
            }
        }
        drop(cached);
        let summary = crate::api::alerts::summary::summarize(&self.alerts()?, 5)?;
        // Kept under the version read before reading: a change meanwhile shows as a new version.
        if let Some(v) = version {
            *self.alert_summary.lock().unwrap_or_else(|p| p.into_inner()) =
                Some((v, summary.clone()));
        }
        Ok(summary)
    }

    /// The served snapshot's region codes; none (regions then read as stored) when no snapshot
    /// can be read: names are a courtesy, never a reason to fail a page. Blocks (DuckDB).
    pub fn region_codes(&self) -> RegionCodes {
        let read = || {
            let (run, conn) = self.snapshots.connection().map_err(|e| e.to_string())?;
            self.region_codes.get_or_try(&run, (), || {
                engine::query::queries::region_codes(&conn).map_err(|e| e.to_string())
            })
        };
        read().unwrap_or_else(|e: String| {
            leptos::logging::warn!("region names: {e}");
            RegionCodes::new()
        })
    }

    /// The alert state, with the snoozes whose time has come woken (a write only when one is
    /// due).
    pub fn alerts(&self) -> Result<AlertStore, StateError> {
        let mut store = AlertStore::open_in(&self.data_dir)?;
        store.wake_expired(chrono::Utc::now())?;
        Ok(store)
    }
}

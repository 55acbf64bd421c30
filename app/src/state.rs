//! What server functions need from the server process, provided to them as context.

use std::path::PathBuf;
use std::sync::Arc;

use engine::store::{AlertStore, SnapshotReader, StateError};

#[derive(Clone)]
pub struct AppState {
    pub snapshots: Arc<SnapshotReader>,
    /// Where the alert state lives (`data/`): each request opens its own SQLite connection, so
    /// reads never wait on each other and the CLI can merge a load meanwhile.
    pub data_dir: PathBuf,
}

impl AppState {
    pub fn alerts(&self) -> Result<AlertStore, StateError> {
        AlertStore::open_in(&self.data_dir)
    }
}

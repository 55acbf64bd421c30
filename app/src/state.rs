//! What server functions need from the server process, provided to them as context.

use std::sync::Arc;

use engine::store::SnapshotReader;

#[derive(Clone)]
pub struct AppState {
    pub snapshots: Arc<SnapshotReader>,
}

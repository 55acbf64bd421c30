//! The `digest` job's work: the notifications' daily digests (`notify.yml` routes with
//! `send: digest`), enqueued in the outbox for the delivery worker.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::config::Job;
use super::{DigestJob, JobError};
use crate::config::DisplaySettings;
use crate::notify::enqueue_digests;
use crate::notify_config::Notify;

/// Enqueues each owner's digest at the tick's time.
pub struct NotifyDigest {
    data_dir: PathBuf,
    notify: Arc<Notify>,
    /// The zone and language of owners who chose none.
    display: DisplaySettings,
}

impl NotifyDigest {
    pub fn new(
        data_dir: impl Into<PathBuf>,
        notify: Arc<Notify>,
        display: DisplaySettings,
    ) -> Self {
        NotifyDigest {
            data_dir: data_dir.into(),
            notify,
            display,
        }
    }
}

impl DigestJob for NotifyDigest {
    fn send_digest(&self, _job: &Job, scheduled_at: DateTime<Utc>) -> Result<String, JobError> {
        let s = enqueue_digests(&self.data_dir, &self.notify, &self.display, scheduled_at)
            .map_err(|e| JobError::Failed(e.to_string()))?;
        Ok(format!(
            "{} digest message(s) enqueued; {} owner(s) with nothing to report; {} already sent today",
            s.enqueued, s.empty, s.already
        ))
    }
}

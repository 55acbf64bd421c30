//! The id of one pipeline run: it names the run's folder, its snapshot and every row loaded by it.

use std::fmt;

/// Identifies one pipeline run and the snapshot it produced, e.g. `20261125T090000.123Z`.
/// Sortable as text in time order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunId(String);

impl RunId {
    /// A new id from the current UTC time.
    pub fn now() -> Self {
        RunId(chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ").to_string())
    }

    /// Parses an id read from a file or the command line; only `[0-9A-Za-z._-]` is allowed so an
    /// id can never escape the snapshots folder.
    pub fn parse(text: &str) -> Result<Self, BadRunId> {
        let text = text.trim();
        let valid = !text.is_empty()
            && text.len() <= 64
            && !text.starts_with('.')
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if valid {
            Ok(RunId(text.to_string()))
        } else {
            Err(BadRunId(text.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A run id that could not name a folder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a valid run id (letters, digits, '.', '_' and '-' only)")]
pub struct BadRunId(pub String);

//! Progress of long stages, reported to whoever runs the pipeline (a terminal progress bar in
//! the CLI; nothing in tests, CI or the server).

/// Receives progress; must be cheap, it is called from rayon workers.
pub trait Progress: Send + Sync {
    /// A new phase with `total` units of work (rows, sources).
    fn begin(&self, what: &str, total: u64);
    fn advance(&self, units: u64);
    fn end(&self);
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&self, _what: &str, _total: u64) {}
    fn advance(&self, _units: u64) {}
    fn end(&self) {}
}

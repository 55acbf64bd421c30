//! The time the scheduler goes by: the system's in the product, a hand-set one in tests (which
//! implement [`Clock`] themselves), so that a test can walk through a day, a daylight saving
//! change or a server outage in milliseconds.

use chrono::{DateTime, Utc};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

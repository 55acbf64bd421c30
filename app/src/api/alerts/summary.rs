//! The alert numbers the overview shows (server only).

use display::alert::Severity;
use engine::state::AlertFilter;
use engine::state::AlertStore;
use engine::state::StateError;

use crate::model::AlertSummary;

/// Active alerts per severity and the `top` most urgent ones.
pub fn summarize(store: &AlertStore, top: usize) -> Result<AlertSummary, StateError> {
    let active = store.list(&AlertFilter::default())?;
    let by_severity = Severity::ALL
        .into_iter()
        .map(|s| (s, active.iter().filter(|r| r.alert.severity == s).count()))
        .collect();
    Ok(AlertSummary {
        by_severity,
        active: active.len(),
        top: active.into_iter().take(top).collect(),
    })
}

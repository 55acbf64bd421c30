//! The alert numbers the overview shows (server only).

use display::alert::Severity;
use engine::state::AlertFilter;
use engine::state::AlertStore;
use engine::state::FacetColumn;
use engine::state::StateError;

use crate::model::AlertSummary;

/// Active alerts per severity, counted by the database, and the `top` most urgent ones (only
/// those are read).
pub fn summarize(store: &AlertStore, top: usize) -> Result<AlertSummary, StateError> {
    let active = AlertFilter::default();
    let counts = store.count_by(&active, FacetColumn::Severity)?;
    let by_severity: Vec<(Severity, usize)> = Severity::ALL
        .into_iter()
        .map(|s| {
            let n = counts
                .iter()
                .find(|c| c.value == s.as_str())
                .map_or(0, |c| c.count);
            (s, n)
        })
        .collect();
    Ok(AlertSummary {
        active: by_severity.iter().map(|(_, n)| n).sum(),
        by_severity,
        top: store.page(&active, None, top)?.records,
    })
}

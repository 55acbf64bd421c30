use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::api::error::ApiError;
use crate::model::alerts::AlertDetail;

/// One alert with its history and the series behind it, as of the snapshot it came from.
#[server(input = GetUrl, endpoint = "get_alert")]
pub async fn get_alert(fingerprint: String) -> Result<AlertDetail, ApiError> {
    use crate::state::AppState;

    let state = expect_context::<AppState>();
    let found = tokio::task::spawn_blocking(move || {
        let unavailable =
            |e: &dyn std::fmt::Display| ApiError::internal(&format!("alert {fingerprint}"), e);
        let store = state.alerts().map_err(|e| unavailable(&e))?;
        let Some(record) = store.get(&fingerprint).map_err(|e| unavailable(&e))? else {
            return Ok::<_, ApiError>(Err(fingerprint));
        };
        let history = store.history(&fingerprint).map_err(|e| unavailable(&e))?;
        let chart = chart(&state, &record).unwrap_or_else(|e| {
            leptos::logging::warn!("alert {fingerprint}: no chart: {e}");
            Vec::new()
        });
        Ok(Ok(AlertDetail {
            record,
            history,
            chart,
            region_codes: state.region_codes(),
        }))
    })
    .await
    .map_err(|e| ApiError::stopped("alert", e))??;
    // The page showing the error answers 404 (see `ErrorPanel`).
    found.map_err(|fingerprint| {
        ApiError::NotFound(format!(
            "No alert `{fingerprint}`. It may have been raised by another data folder. 알림 `{fingerprint}`이(가) 없습니다."
        ))
    })
}

/// The entity's series of the alert's source, from the alert's own snapshot if it is still
/// kept, else the current one.
#[cfg(feature = "ssr")]
fn chart(
    state: &crate::state::AppState,
    record: &display::alert::AlertRecord,
) -> Result<Vec<display::alert::Point>, ChartError> {
    use display::alert::Scope;
    use engine::base::RunId;

    let alert = &record.alert;
    let Some(source) = alert.evidence.source.as_ref() else {
        return Ok(Vec::new());
    };
    if alert.scope != Scope::Country {
        return Ok(Vec::new());
    }
    let store = state.snapshots.store();
    let conn = RunId::parse(&alert.evidence.run_id)
        .ok()
        .and_then(|run| store.open_read_only(&run).ok())
        .map_or_else(|| state.snapshots.connection().map(|(_, c)| c), Ok)?;
    Ok(engine::query::queries::entity_series(
        &conn,
        &source.source_id,
        &alert.entity,
        20,
    )?)
}

/// Why an alert's chart could not be drawn (the page then shows the alert without it).
#[cfg(feature = "ssr")]
#[derive(Debug, thiserror::Error)]
enum ChartError {
    #[error(transparent)]
    Snapshot(#[from] engine::snapshot::SnapshotError),
    #[error(transparent)]
    Query(#[from] engine::query::queries::QueryError),
}

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::api::error::ApiError;
use crate::model::OverviewData;

/// The overview for `year` (default: the latest year with data) from the published snapshot.
#[server(input = GetUrl, endpoint = "get_overview")]
pub async fn get_overview(
    year: Option<i32>,
    #[server(default)] as_of: Option<String>,
) -> Result<OverviewData, ApiError> {
    use crate::state::AppState;

    let state = expect_context::<AppState>();
    // DuckDB blocks: keep it off the async worker threads.
    tokio::task::spawn_blocking(move || {
        let (run, conn) = state
            .snapshots
            .connection_as_of(as_of.as_deref())
            .map_err(|e| ApiError::snapshot("overview", e))?;
        let overview = state
            .overviews
            .get_or_try(&run, year, || engine::query::queries::overview(&conn, year))
            .map_err(|e| match e {
                engine::query::queries::QueryError::Duckdb(e) => ApiError::internal("overview", &e),
                other => ApiError::BadRequest(other.to_string()),
            })?;
        // The inbox is a separate store: if it cannot be read, the figures still show.
        let alerts = state.alert_summary().unwrap_or_else(|e| {
            leptos::logging::error!("overview: alerts: {e}");
            Default::default()
        });
        Ok(OverviewData::new(overview, alerts))
    })
    .await
    .map_err(|e| ApiError::stopped("overview", e))?
}

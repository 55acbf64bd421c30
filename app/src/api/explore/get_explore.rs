use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::api::error::ApiError;
use crate::model::explore::{ExploreData, ExploreParams};

/// The explore table for the URL's parameters; a bad parameter is an error saying what is allowed.
#[server(input = GetUrl, endpoint = "get_explore")]
pub async fn get_explore(
    // All parameters absent (a bare `/explore`) serializes to nothing: default it.
    #[server(default)] params: ExploreParams,
    #[server(default)] as_of: Option<String>,
) -> Result<ExploreData, ApiError> {
    use crate::state::AppState;

    let snapshots = expect_context::<AppState>().snapshots;
    // A bad URL parameter is explained in the reader's language.
    let lang = crate::i18n::initial_lang();
    // DuckDB blocks: keep it off the async worker threads.
    tokio::task::spawn_blocking(move || {
        let (run, conn) = snapshots
            .connection_as_of(as_of.as_deref())
            .map_err(|e| ApiError::snapshot("explore", e))?;
        let explore =
            engine::query::explore::explore(&conn, &params, lang).map_err(|e| match e {
                engine::query::explore::ExploreError::Duckdb(e) => {
                    ApiError::internal("explore", &e)
                }
                other => ApiError::BadRequest(other.text().get(lang).to_string()),
            })?;
        Ok(ExploreData {
            run_id: run.to_string(),
            explore,
        })
    })
    .await
    .map_err(|e| ApiError::stopped("explore", e))?
}

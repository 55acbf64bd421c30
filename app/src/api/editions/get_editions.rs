use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::api::error::ApiError;
use crate::model::editions::Editions;

/// The two IMF editions side by side for `year` as typed in the URL (default 2025).
#[server(input = GetUrl, endpoint = "get_editions")]
pub async fn get_editions(
    year: Option<String>,
    #[server(default)] as_of: Option<String>,
) -> Result<Editions, ApiError> {
    use crate::state::AppState;

    let snapshots = expect_context::<AppState>().snapshots;
    // A bad URL parameter is explained in the reader's language.
    let lang = crate::i18n::initial_lang();
    tokio::task::spawn_blocking(move || {
        let (run, conn) = snapshots
            .connection_as_of(as_of.as_deref())
            .map_err(|e| ApiError::snapshot("editions", e))?;
        let comparison =
            engine::query::editions::compare(&conn, year.as_deref()).map_err(|e| match e {
                engine::query::editions::EditionsError::Duckdb(e) => {
                    ApiError::internal("editions", &e)
                }
                other => ApiError::BadRequest(other.text().get(lang).to_string()),
            })?;
        Ok(Editions {
            run_id: run.to_string(),
            comparison,
        })
    })
    .await
    .map_err(|e| ApiError::stopped("editions", e))?
}

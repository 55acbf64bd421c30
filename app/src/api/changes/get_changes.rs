use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::api::error::ApiError;
use crate::model::changes::ChangesData;

/// What changed between two runs (`from`, `to`; default the last two), filtered by country and
/// by the minimum size of a revision in %, all as typed in the URL.
#[server(input = GetUrl, endpoint = "get_changes")]
pub async fn get_changes(
    from: Option<String>,
    to: Option<String>,
    country: Option<String>,
    min: Option<String>,
) -> Result<ChangesData, ApiError> {
    use crate::state::AppState;
    use engine::snapshot::changes::{between, ChangesError, ChangesParams};

    let snapshots = expect_context::<AppState>().snapshots;
    let lang = crate::i18n::initial_lang();
    tokio::task::spawn_blocking(move || {
        let params = ChangesParams {
            from,
            to,
            country,
            min,
        };
        let changes = between(snapshots.store(), &params).map_err(|e| match e {
            ChangesError::Snapshot(e) => ApiError::snapshot("changes", e),
            ChangesError::Duckdb(e) => ApiError::internal("changes", &e),
            other => ApiError::BadRequest(other.text().get(lang).to_string()),
        })?;
        Ok(ChangesData { changes })
    })
    .await
    .map_err(|e| ApiError::stopped("changes", e))?
}

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::api::error::ApiError;
use crate::model::country::CountryResult;

/// A country's series and alerts; an unknown code is `NotFound`, not an error.
#[server(input = GetUrl, endpoint = "get_country")]
pub async fn get_country(
    code: String,
    #[server(default)] as_of: Option<String>,
) -> Result<CountryResult, ApiError> {
    use crate::model::country::CountryPage;
    use crate::state::AppState;
    use engine::state::AlertFilter;
    use engine::state::Status;

    let state = expect_context::<AppState>();
    tokio::task::spawn_blocking(move || {
        let (_, conn) = state
            .snapshots
            .connection_as_of(as_of.as_deref())
            .map_err(|e| ApiError::snapshot("country", e))?;
        let Some(profile) = engine::query::country::country(&conn, &code)
            .map_err(|e| ApiError::internal(&format!("country {code}"), &e))?
        else {
            return Ok(CountryResult::NotFound(code));
        };
        let filter = AlertFilter {
            entity: Some(profile.code.clone()),
            statuses: Status::ALL.to_vec(),
            ..AlertFilter::default()
        };
        // The figures are worth showing even when the alert state cannot be read.
        let (alerts, alerts_error) = match state.alerts().and_then(|s| s.list(&filter)) {
            Ok(alerts) => (alerts, None),
            Err(e) => {
                // Logged in full; the page says only that they could not be read.
                leptos::logging::error!("country alerts: {e}");
                (
                    Vec::new(),
                    Some("see the server log. 서버 로그를 확인하세요.".to_string()),
                )
            }
        };
        Ok(CountryResult::Found(Box::new(CountryPage {
            profile,
            alerts,
            alerts_error,
        })))
    })
    .await
    .map_err(|e| ApiError::stopped("country", e))?
}

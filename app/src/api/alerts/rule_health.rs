use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::api::error::ApiError;
use display::alert::RuleHealth;

/// Per rule: alerts raised, time to acknowledge and resolve, and the share found noisy.
#[server(input = GetUrl)]
pub async fn get_rule_health() -> Result<Vec<RuleHealth>, ApiError> {
    use crate::state::AppState;

    let state = expect_context::<AppState>();
    tokio::task::spawn_blocking(move || {
        state
            .alerts()
            .and_then(|store| store.rule_health())
            .map_err(|e| ApiError::internal("rule health", &e))
    })
    .await
    .map_err(|e| ApiError::stopped("rule health", e))?
}

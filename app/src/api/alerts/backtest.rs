use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::api::error::ApiError;
use display::alert::Backtest;

/// The alerts `rule_id` would have raised in every period of the served snapshot.
#[server(input = GetUrl)]
pub async fn get_backtest(rule_id: String) -> Result<Backtest, ApiError> {
    use crate::state::AppState;

    let state = expect_context::<AppState>();
    let Some(files) = state.rule_files.clone() else {
        return Err(ApiError::Unavailable(
            "This server does not know its rules files. 규칙 파일을 알 수 없습니다.".into(),
        ));
    };
    tokio::task::spawn_blocking(move || {
        let sources = engine::config::Sources::load(&files.sources, std::path::Path::new("."))
            .map_err(|e| ApiError::internal("rules", &e))?;
        let set = engine::rules::RuleSet::load(&files.metrics, &files.rules, &sources)
            .map_err(|e| ApiError::internal("rules", &e))?;
        let Some(rule) = set.rules.get(&rule_id) else {
            return Err(ApiError::NotFound(format!(
                "No rule `{rule_id}` in the rules file. 규칙 `{rule_id}`이(가) 없습니다."
            )));
        };
        if rule.kind.get().reads() == engine::rules::Reads::System {
            return Err(ApiError::BadRequest(format!(
                "`{rule_id}` looks at runs, not at a metric's history: there is nothing to replay. `{rule_id}`은(는) 실행 기록을 보는 규칙이라 과거 데이터에 다시 적용할 수 없습니다."
            )));
        }
        let (run, conn) = state
            .snapshots
            .store()
            .open_current()
            .map_err(|e| ApiError::internal("snapshot", &e))?;
        let per_period = engine::rules::backtest(&conn, &set.metrics, &set.rules, &rule_id)
            .map_err(|e| ApiError::internal("backtest", &e))?;
        Ok(Backtest {
            rule_id: rule.id.clone(),
            rule_name: rule.name.clone(),
            run_id: run.to_string(),
            per_period,
        })
    })
    .await
    .map_err(|e| ApiError::stopped("backtest", e))?
}

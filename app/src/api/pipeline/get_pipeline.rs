use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::api::error::ApiError;
use crate::model::pipeline::Pipeline;

/// Runs from the run folders, the rows, rejects and sources of `run` (default: the run being
/// served), and the scheduled jobs with their last and next ticks.
#[server(input = GetUrl, endpoint = "get_pipeline")]
pub async fn get_pipeline(run: Option<String>) -> Result<Pipeline, ApiError> {
    use crate::i18n::Lang;
    use crate::model::pipeline::SnapshotDetail;
    use crate::state::AppState;
    use engine::base::RunId;
    use engine::query::pipeline as p;

    let state = expect_context::<AppState>();
    let (snapshots, schedule) = (state.snapshots, state.schedule);
    let lang = crate::i18n::initial_lang();
    tokio::task::spawn_blocking(move || {
        let store = snapshots.store();
        let err = |e: &dyn std::fmt::Display| ApiError::internal("pipeline", e);
        let current = store.current().map_err(|e| err(&e))?;
        let runs = p::runs(store.data_dir()).map_err(|e| err(&e))?;
        let selected = match run.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            None => current.clone(),
            Some(text) => {
                let unknown = || {
                    ApiError::NotFound(match lang {
                        Lang::En => format!("there is no run `{text}`"),
                        Lang::Ko => format!("`{text}` 실행이 없습니다"),
                    })
                };
                // A malformed id cannot name a run folder either: the same message.
                let id = RunId::parse(text).map_err(|_| unknown())?;
                if !runs.iter().any(|r| r.run_id == id.as_str()) {
                    return Err(unknown());
                }
                Some(id)
            }
        };
        let snapshot = match &selected {
            Some(id) if store.snapshot_path(id).is_file() => {
                let conn = store.open_read_only(id).map_err(|e| err(&e))?;
                Some(SnapshotDetail {
                    rejects: p::rejects(&conn).map_err(|e| err(&e))?,
                    sources: p::provenance(&conn).map_err(|e| err(&e))?,
                })
            }
            _ => None,
        };
        // The schedule is a courtesy beside the runs: a state file that cannot be read shows none.
        let schedule = engine::schedule::overview(&schedule, store.data_dir(), chrono::Utc::now())
            .unwrap_or_else(|e| {
                leptos::logging::warn!("{e}");
                Vec::new()
            });
        Ok(Pipeline {
            current: current.map(|r| r.to_string()),
            schedule,
            selected: selected.map(|r| r.to_string()),
            runs,
            snapshot,
        })
    })
    .await
    .map_err(|e| ApiError::stopped("pipeline", e))?
}

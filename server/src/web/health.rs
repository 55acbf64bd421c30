//! Health for a load balancer (HAProxy's `option httpchk`, docs/OPERATIONS.md):
//! - `GET /healthz`: alive. `200 ok` as long as the process serves requests; it reads nothing.
//! - `GET /readyz`: ready to serve people. `200` when the alert state can be read and a published
//!   snapshot opens, else `503` with the reasons; a balancer sends traffic only to ready servers.
//!
//! Both are cheap and never cached (no page cache: the path is not a page's; `no-store`), need no
//! sign-in, and are not rate-limited, so frequent checks cannot mark a healthy server down. The
//! readiness check reads on a blocking thread, one check at a time, within [`CHECK_TIME`]: a
//! check that hangs (a locked disk) answers 503 in time instead of piling up threads.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use display::Text;
use engine::snapshot::{SnapshotError, SnapshotReader};
use engine::state::StateWatch;
use serde::Serialize;
use tokio::sync::Semaphore;

pub const HEALTHZ_PATH: &str = "/healthz";
pub const READYZ_PATH: &str = "/readyz";

/// How long `/readyz` waits for its reads before answering 503 (HAProxy's `timeout check` must
/// be longer; the example configuration says 3 s).
pub const CHECK_TIME: Duration = Duration::from_secs(2);

/// The routes, reading the state and snapshots the pages read (the site's `AppState`'s).
pub fn router<S: Clone + Send + Sync + 'static>(
    snapshots: Arc<SnapshotReader>,
    state: Arc<StateWatch>,
) -> Router<S> {
    Router::new()
        .route(HEALTHZ_PATH, get(healthz))
        .route(READYZ_PATH, get(readyz))
        .with_state(Readiness {
            snapshots,
            state,
            one_at_a_time: Arc::new(Semaphore::new(1)),
        })
}

#[derive(Clone)]
struct Readiness {
    snapshots: Arc<SnapshotReader>,
    state: Arc<StateWatch>,
    /// Held by the blocking read until it ends, so a hung read blocks later checks (which then
    /// answer 503 after [`CHECK_TIME`]) instead of starting more threads.
    one_at_a_time: Arc<Semaphore>,
}

/// Why a server is not ready: a stable code for programs and a message in both languages
/// (details stay in the server's log).
#[derive(Debug, Clone, Serialize)]
struct Reason {
    code: &'static str,
    message: Text,
}

#[derive(Debug, Serialize)]
struct Report {
    ready: bool,
    /// The run of the snapshot served, when one opens (instances behind one balancer can be
    /// compared by it).
    #[serde(skip_serializing_if = "Option::is_none")]
    run: Option<String>,
    /// The alert state's change counter, when it can be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    state_version: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    reasons: Vec<Reason>,
}

impl IntoResponse for Report {
    fn into_response(self) -> Response {
        let status = if self.ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        (status, [(header::CACHE_CONTROL, "no-store")], Json(self)).into_response()
    }
}

async fn healthz() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-store")], "ok")
}

async fn readyz(State(readiness): State<Readiness>) -> Report {
    let Readiness {
        snapshots,
        state,
        one_at_a_time,
    } = readiness;
    let checked = tokio::time::timeout(CHECK_TIME, async move {
        let permit = one_at_a_time.acquire_owned().await;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            check(&snapshots, &state)
        })
        .await
    })
    .await;
    match checked {
        Ok(Ok(report)) => report,
        Ok(Err(e)) => {
            tracing::error!("the readiness check stopped: {e}");
            not_ready(Reason {
                code: "check_failed",
                message: Text::new(
                    "The readiness check failed; the server log has the details.",
                    "준비 상태 점검에 실패했습니다. 서버 로그를 확인하세요.",
                ),
            })
        }
        Err(_) => {
            tracing::warn!(
                "the readiness check took longer than {} s",
                CHECK_TIME.as_secs()
            );
            not_ready(Reason {
                code: "check_timed_out",
                message: Text::new(
                    format!(
                        "Reading the alert state and the snapshot took longer than {} s.",
                        CHECK_TIME.as_secs()
                    ),
                    format!(
                        "알림 상태와 스냅숏을 읽는 데 {}초보다 오래 걸렸습니다.",
                        CHECK_TIME.as_secs()
                    ),
                ),
            })
        }
    }
}

fn not_ready(reason: Reason) -> Report {
    Report {
        ready: false,
        run: None,
        state_version: None,
        reasons: vec![reason],
    }
}

/// The two reads (blocking): the state's change counter, and a connection to the current
/// snapshot (the pages' own reader, which keeps the opened snapshot, so this is cheap after the
/// first time).
fn check(snapshots: &SnapshotReader, state: &StateWatch) -> Report {
    let mut reasons = Vec::new();
    let state_version = state.version();
    if state_version.is_none() {
        // StateWatch logged why.
        reasons.push(Reason {
            code: "state_unreadable",
            message: Text::new(
                "The alert state cannot be read; the server log says why.",
                "알림 상태를 읽을 수 없습니다. 서버 로그에 이유가 있습니다.",
            ),
        });
    }
    let run = match snapshots.connection() {
        Ok((run, _conn)) => Some(run.to_string()),
        Err(SnapshotError::NothingPublished(_)) => {
            reasons.push(Reason {
                code: "no_snapshot",
                message: Text::new(
                    "No data has been loaded yet: run the pipeline (actionboard etl run).",
                    "아직 불러온 데이터가 없습니다. 파이프라인을 실행하세요 (actionboard etl run).",
                ),
            });
            None
        }
        Err(e) => {
            tracing::error!("readiness: the current snapshot cannot be opened: {e}");
            reasons.push(Reason {
                code: "snapshot_unreadable",
                message: Text::new(
                    "The current snapshot cannot be opened; the server log says why.",
                    "현재 스냅숏을 열 수 없습니다. 서버 로그에 이유가 있습니다.",
                ),
            });
            None
        }
    };
    Report {
        ready: reasons.is_empty(),
        run,
        state_version,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::snapshot::SnapshotStore;

    #[tokio::test]
    async fn a_check_that_cannot_run_in_time_answers_503_in_time() {
        let data = tempfile::tempdir().unwrap();
        let readiness = Readiness {
            snapshots: Arc::new(SnapshotReader::new(SnapshotStore::new(data.path()))),
            state: Arc::new(StateWatch::new(data.path())),
            one_at_a_time: Arc::new(Semaphore::new(1)),
        };
        // A check still running (hung) holds the one permit.
        let _hung = readiness
            .one_at_a_time
            .clone()
            .acquire_owned()
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let report = readyz(State(readiness)).await;
        assert!(started.elapsed() < CHECK_TIME + Duration::from_secs(1));
        assert!(!report.ready);
        assert_eq!(report.reasons[0].code, "check_timed_out");
        assert_eq!(
            report.into_response().status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}

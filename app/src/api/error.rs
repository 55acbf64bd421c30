//! The one error type of the server functions: what went wrong in words for the reader, and the
//! HTTP status the page showing it answers with. Internals (DuckDB, SQLite, IO) are logged on
//! the server and never shown.

use std::fmt;

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApiError {
    /// The URL asks for something that cannot be (a bad parameter, a year without data): 400.
    BadRequest(String),
    /// The reader's role may not see this: 403.
    Forbidden(String),
    /// Nothing by that name: 404.
    NotFound(String),
    /// The data cannot be read now (nothing loaded yet, a store failed): 503. Says what to do.
    Unavailable(String),
    /// The call itself failed (encoding, transport): 500.
    Call(String),
}

impl ApiError {
    pub fn status_code(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound(_) => 404,
            ApiError::Unavailable(_) => 503,
            ApiError::Call(_) => 500,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            ApiError::BadRequest(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::Unavailable(m)
            | ApiError::Call(m) => m,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for ApiError {}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    /// Arguments that cannot be decoded are the caller's mistake (400), said without internals.
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => ApiError::BadRequest(
                "The request's parameters could not be read: check their names and values. \
                 요청의 매개변수를 읽을 수 없습니다: 이름과 값을 확인하세요."
                    .into(),
            ),
            other => ApiError::Call(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
impl ApiError {
    /// The published snapshot could not be opened. Its message says what to do (e.g. "no data
    /// has been loaded yet: run `actionboard etl run`"), so it is shown as it is.
    pub fn snapshot(context: &str, e: engine::snapshot::SnapshotError) -> Self {
        use engine::snapshot::SnapshotError;
        match e {
            // Said without the data folder's path: that is the server's business.
            SnapshotError::NothingPublished(_) => ApiError::Unavailable(
                "no data has been loaded yet: run `actionboard etl run` (or `make run`) first. \
                 아직 불러온 데이터가 없습니다: 먼저 `actionboard etl run`(또는 `make run`)을 실행하세요."
                    .into(),
            ),
            SnapshotError::BadRunId(run) => ApiError::BadRequest(format!(
                "`{run}` is not a valid run id. 올바른 실행 ID가 아닙니다."
            )),
            SnapshotError::NoSuchRun(run) => ApiError::NotFound(format!(
                "no snapshot of run `{run}` is kept; the pipeline page lists the runs. \
                 실행 `{run}`의 스냅샷이 없습니다. 파이프라인 화면에서 실행 목록을 확인하세요."
            )),
            other => Self::internal(context, &other),
        }
    }

    /// A failure inside the server: logged in full, shown as a short message.
    pub fn internal(context: &str, e: &dyn fmt::Display) -> Self {
        leptos::logging::error!("{context}: {e}");
        ApiError::Unavailable(
            "The data could not be read; the server log has the details. Try again shortly. \
             데이터를 읽지 못했습니다. 잠시 후 다시 시도하세요."
                .into(),
        )
    }

    /// The blocking task running the query stopped (it panicked or was cancelled).
    pub fn stopped(context: &str, e: tokio::task::JoinError) -> Self {
        Self::internal(&format!("{context}: the query stopped"), &e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_status_and_keeps_its_message() {
        let cases = [
            (ApiError::BadRequest("no year 1850".into()), 400),
            (ApiError::Forbidden("admins only".into()), 403),
            (ApiError::NotFound("no alert x".into()), 404),
            (ApiError::Unavailable("no data yet".into()), 503),
            (ApiError::Call("bad encoding".into()), 500),
        ];
        for (e, status) in cases {
            assert_eq!(e.status_code(), status);
            let back: ApiError = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
            assert_eq!(back, e);
            assert!(!e.to_string().is_empty());
        }
    }
}

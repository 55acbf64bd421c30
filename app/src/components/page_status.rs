//! What a page shows while its data loads and when it could not be loaded.

use leptos::prelude::*;

use crate::api::error::ApiError;
use crate::i18n::{t, use_lang};

#[component]
pub fn Loading() -> impl IntoView {
    let lang = use_lang();
    view! { <p class="loading" role="status">{t(lang, "Loading…", "불러오는 중…")}</p> }
}

/// An error panel; `reset` is where to go to start again (e.g. the page without parameters).
/// The page answers with the error's status (400, 404, 503…).
#[component]
pub fn ErrorPanel(error: ApiError, #[prop(optional)] reset: Option<&'static str>) -> impl IntoView {
    let lang = use_lang();
    // The failure may pass: the server's page cache must not keep this page.
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(status) = http::StatusCode::from_u16(error.status_code()) {
            response.set_status(status);
        }
        response.insert_header(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
    }
    view! {
        <section class="panel error" role="alert">
            <h2>{t(lang, "Could not load the data", "데이터를 불러오지 못했습니다")}</h2>
            <p data-testid="error-message">{error.message().to_string()}</p>
            {reset.map(|href| view! {
                <p><a href=href>{t(lang, "Start again without filters", "필터 없이 다시 보기")}</a></p>
            })}
        </section>
    }
}

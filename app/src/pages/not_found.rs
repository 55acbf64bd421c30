use leptos::prelude::*;

use crate::i18n::{t, use_lang};

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
            resp.set_status(http::StatusCode::NOT_FOUND);
        }
    }
    let lang = use_lang();
    view! {
        <section class="panel">
            <h1>{t(lang, "Page not found", "페이지를 찾을 수 없습니다")}</h1>
            <p>{t(lang, "The address may be mistyped, or the page has moved.", "주소가 잘못되었거나 페이지가 옮겨졌을 수 있습니다.")}</p>
            <p><a href="/">{t(lang, "Back to the overview", "개요로 돌아가기")}</a></p>
        </section>
    }
}

use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
            resp.set_status(http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <section class="panel">
            <h1>"페이지를 찾을 수 없습니다 · Page not found"</h1>
            <p><a href="/">"개요로 돌아가기 · Back to the overview"</a></p>
        </section>
    }
}

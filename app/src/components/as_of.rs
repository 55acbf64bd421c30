//! Viewing the data as of an earlier run (`?as_of=RUN`): a banner saying so with a way back to
//! the current data, and the hidden field that keeps the run when a page's GET form is sent.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_query_map};

use crate::i18n::{use_lang, Lang};

fn as_of() -> impl Fn() -> Option<String> + Copy {
    let query = use_query_map();
    move || {
        query
            .read()
            .get("as_of")
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
    }
}

/// "Viewing data as of run …" with a link to the same page without `as_of`.
#[component]
pub fn AsOfBanner() -> impl IntoView {
    let lang = use_lang();
    let location = use_location();
    let run = as_of();
    move || {
        run().map(|run| {
            let back = location.pathname.get();
            let (text, link) = match lang {
                Lang::En => (
                    format!("Viewing the data as of run {run}, not the current data."),
                    "Back to the current data",
                ),
                Lang::Ko => (
                    format!("실행 {run} 시점의 데이터를 보고 있습니다(현재 데이터 아님)."),
                    "현재 데이터로 돌아가기",
                ),
            };
            view! {
                <p class="as-of-banner" role="status" data-testid="as-of">
                    {text}" "<a href=back>{link}</a>
                </p>
            }
        })
    }
}

/// Keeps `as_of` in a GET form of the page.
#[component]
pub fn AsOfField() -> impl IntoView {
    let run = as_of();
    move || run().map(|run| view! { <input type="hidden" name="as_of" value=run/> })
}

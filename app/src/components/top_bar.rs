//! The bar on every page: the product, the sections, and the language switch.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::auth::current_viewer;
use crate::i18n::{t, use_lang, Lang};

/// The sections, in order: path, English, Korean.
const SECTIONS: [(&str, &str, &str); 6] = [
    ("/", "Overview", "개요"),
    ("/explore", "Explore", "탐색"),
    ("/alerts", "Alerts", "알림"),
    ("/pipeline", "Pipeline", "파이프라인"),
    ("/editions", "Editions", "발표판 비교"),
    ("/changes", "Changes", "변경 내역"),
];

fn is_current(section: &str, path: &str) -> bool {
    match section {
        "/" => path == "/",
        s => {
            path == s
                || path.starts_with(&format!("{s}/"))
                || (s == "/explore" && path.starts_with("/country/"))
        }
    }
}

#[component]
pub fn TopBar() -> impl IntoView {
    let lang = use_lang();
    let location = use_location();
    let path = move || location.pathname.get();
    // Where the language switch comes back to: this page with its filters.
    let back = move || {
        let search = location.search.get();
        if search.is_empty() {
            path()
        } else {
            format!("{}?{}", path(), search.trim_start_matches('?'))
        }
    };
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Actionboard"</a>
            <nav aria-label=t(lang, "Sections", "메뉴")>
                <ul>
                    {SECTIONS
                        .into_iter()
                        .map(|(href, en, ko)| {
                            view! {
                                <li>
                                    <a
                                        href=href
                                        aria-current=move || is_current(href, &path()).then_some("page")
                                    >
                                        {t(lang, en, ko)}
                                    </a>
                                </li>
                            }
                        })
                        .collect_view()}
                    // The deliveries are for admins (the server refuses everyone else).
                    {current_viewer().filter(|v| v.role == "admin").map(|_| view! {
                        <li>
                            <a
                                href="/deliveries"
                                aria-current=move || is_current("/deliveries", &path()).then_some("page")
                                data-testid="nav-deliveries"
                            >
                                {display::notify::NotifyText::Deliveries.get(lang)}
                            </a>
                        </li>
                    })}
                </ul>
            </nav>
            <SignedIn back=back()/>
            // A plain form: the server sets the cookie and sends the reader back, with or without JS.
            <form class="lang-switch" method="get" action="/lang">
                <input type="hidden" name="back" value=back/>
                <span class="visually-hidden" id="lang-label">{t(lang, "Language", "언어")}</span>
                <button type="submit" name="to" value="ko" lang="ko" aria-pressed=(lang == Lang::Ko).to_string() aria-describedby="lang-label">
                    "한국어"
                </button>
                <button type="submit" name="to" value="en" lang="en" aria-pressed=(lang == Lang::En).to_string() aria-describedby="lang-label">
                    "English"
                </button>
            </form>
        </header>
    }
}

/// Who is signed in, with a sign-out button; or a link to sign in and come back here.
#[component]
fn SignedIn(back: String) -> impl IntoView {
    let lang = use_lang();
    match current_viewer() {
        Some(v) => view! {
            <form class="session" method="post" action="/auth/logout">
                <input type="hidden" name="csrf" value=v.csrf/>
                <a class="who" href="/settings" title=t(lang, "Your settings", "내 설정")>{format!("{} · {}", v.name, v.role)}</a>
                <button type="submit">{t(lang, "Sign out", "로그아웃")}</button>
            </form>
        }
        .into_any(),
        None => {
            let href = format!("/login?next={}", crate::components::links::encode(&back));
            view! { <a class="session" href=href>{t(lang, "Sign in", "로그인")}</a> }.into_any()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_current;

    #[test]
    fn the_current_section_is_marked() {
        assert!(is_current("/", "/"));
        assert!(!is_current("/", "/alerts"));
        assert!(is_current("/alerts", "/alerts/gdp_fall:KOR:2025"));
        assert!(is_current("/explore", "/country/KOR"));
        assert!(!is_current("/alerts", "/alertsx"));
    }
}

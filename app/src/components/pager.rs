//! Previous and next pages of a list, and where this one is: plain links, so they work without
//! JavaScript and the position stays in the URL (the inbox, the deliveries); with JavaScript the
//! next page loads in place (`data-in-place`, as explore's pages), the URL following.

use leptos::prelude::*;

use crate::i18n::{t, use_lang, Lang};

/// The pager of page `page` (from 1) of `pages`, each page's link made by `href`; nothing when
/// there is one page and it is the first. `label` names the list for screen readers.
pub fn pager(
    label: &'static str,
    page: usize,
    pages: usize,
    href: impl Fn(usize) -> String,
) -> Option<impl IntoView> {
    let lang = use_lang();
    let pages = pages.max(1);
    let page = page.max(1);
    (pages > 1 || page > 1).then(|| {
        let prev = (page > 1).then(|| href((page - 1).min(pages)));
        let next = (page < pages).then(|| href(page + 1));
        let first = (page > 2).then(|| href(1));
        view! {
            <nav class="pager" aria-label=label data-testid="pager">
                {first.map(|href| view! { <a href=href data-testid="page-first" data-in-place="page-first">{t(lang, "« First", "« 처음")}</a> })}
                {prev.map(|href| view! { <a href=href rel="prev" data-testid="page-prev" data-in-place="page-prev">{t(lang, "‹ Previous", "‹ 이전")}</a> })}
                <span data-testid="page-position">{match lang {
                    Lang::En => format!("Page {page} of {pages}"),
                    Lang::Ko => format!("{pages}쪽 중 {page}쪽"),
                }}</span>
                {next.map(|href| view! { <a href=href rel="next" data-testid="page-next" data-in-place="page-next">{t(lang, "Next ›", "다음 ›")}</a> })}
            </nav>
        }
    })
}

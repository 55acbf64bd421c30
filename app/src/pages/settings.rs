//! The signed-in person's own settings: the time zone their times are shown in, and the
//! language of the messages sent to them (their daily digest). A plain form posted to the
//! server (`POST /settings`, with the session's CSRF token), for every role.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::auth::{current_viewer, reader_zones};
use crate::i18n::{t, use_lang};

#[component]
pub fn SettingsPage() -> impl IntoView {
    let lang = use_lang();
    let saved = use_query_map().read_untracked().get("saved").is_some();
    let zones = reader_zones();
    let now = chrono::Utc::now();
    let title =
        view! { <Title text=t(lang, "Your settings · Actionboard", "내 설정 · Actionboard")/> };
    let Some(viewer) = current_viewer() else {
        return view! {
            {title}
            <h1>{t(lang, "Your settings", "내 설정")}</h1>
            <p data-testid="settings-sign-in">
                {t(lang, "Sign in to choose the time zone your times are shown in. Until then times are shown in ", "로그인하면 시각을 표시할 시간대를 고를 수 있습니다. 지금은 다음 시간대로 표시됩니다: ")}
                <strong>{zones.dashboard.name()}</strong>". "
                <a href="/login?next=/settings">{t(lang, "Sign in", "로그인")}</a>
            </p>
        }
        .into_any();
    };
    let chosen = viewer.timezone.map(|z| z.name());
    let language = viewer.language.map(|l| l.code());
    let dashboard = zones.dashboard;
    view! {
        {title}
        <h1>{t(lang, "Your settings", "내 설정")}</h1>
        {saved.then(|| view! {
            <p class="notice" role="status" data-testid="settings-saved">{t(lang, "Saved.", "저장했습니다.")}</p>
        })}
        <form class="settings-form panel" method="post" action="/settings" data-testid="settings">
            <input type="hidden" name="csrf" value=viewer.csrf/>
            <p>
                <label for="settings-timezone">{t(lang, "Time zone of the times you see", "표시할 시각의 시간대")}</label>
                <select id="settings-timezone" name="timezone">
                    <option value="" selected=chosen.is_none()>{format!(
                        "{} ({})",
                        t(lang, "The dashboard's", "대시보드 기본값"),
                        dashboard.name()
                    )}</option>
                    {display::time::Zone::names().map(|name| view! {
                        <option value=name selected={chosen == Some(name)}>{name}</option>
                    }).collect_view()}
                </select>
            </p>
            <p>
                <label for="settings-language">{t(lang, "Language of your daily digest", "일일 요약 메시지의 언어")}</label>
                <select id="settings-language" name="language">
                    <option value="" selected=language.is_none()>{t(lang, "The dashboard's", "대시보드 기본값")}</option>
                    <option value="ko" lang="ko" selected={language == Some("ko")}>"한국어"</option>
                    <option value="en" lang="en" selected={language == Some("en")}>"English"</option>
                </select>
            </p>
            <p class="muted" data-testid="settings-now">
                {t(lang, "The time now, as you see it: ", "지금 시각(내 시간대): ")}
                {zones.zone.minute(&now)}
                {t(lang, ". Stored times, and exports, stay in UTC.", ". 저장되는 시각과 내보내기는 UTC입니다.")}
            </p>
            <button type="submit">{t(lang, "Save", "저장")}</button>
        </form>
    }
    .into_any()
}

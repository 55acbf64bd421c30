//! Small pieces of alerts shown on several pages: severity and status badges (always with text:
//! colour is never the only signal) and an alert's first action.

use display::alert::{AlertRecord, Severity, Status};
use leptos::prelude::*;

use crate::i18n::{t, use_lang};

#[component]
pub fn SeverityBadge(severity: Severity) -> impl IntoView {
    let lang = use_lang();
    view! {
        <span class=format!("badge severity-{}", severity.as_str())>
            {severity.label().get(lang).to_string()}
        </span>
    }
}

#[component]
pub fn StatusBadge(status: Status) -> impl IntoView {
    let lang = use_lang();
    view! {
        <span class=format!("badge status-{}", status.as_str())>
            {status.label().get(lang).to_string()}
        </span>
    }
}

/// `YYYY-MM-DD` on the reader's calendar (their time zone).
pub fn day(at: &chrono::DateTime<chrono::Utc>) -> String {
    crate::auth::reader_zone().day(at)
}

/// `YYYY-MM-DD HH:MM KST` on the reader's clock with their zone named, and the
/// machine-readable `YYYY-MM-DDTHH:MM:SSZ` (UTC, for `<time datetime>`).
pub fn minute(at: &chrono::DateTime<chrono::Utc>) -> (String, String) {
    (
        crate::auth::reader_zone().minute(at),
        format!(
            "{}:{:02}Z",
            display::time::Zone::UTC.input_value(at),
            chrono::Timelike::second(at)
        ),
    )
}

/// A stored timestamp (RFC 3339 text, as runs and provenance keep them) on the reader's clock;
/// text that is not a timestamp is shown as it is.
pub fn stored_minute(text: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(text.trim()) {
        Ok(t) => minute(&t.with_timezone(&chrono::Utc)).0,
        Err(_) => text.to_string(),
    }
}

/// The first recommended action with its owner and due date.
#[component]
pub fn FirstAction(record: AlertRecord) -> impl IntoView {
    let lang = use_lang();
    let due = record.due_dates().first().map(day);
    record.alert.actions.first().cloned().map(|a| {
        view! {
            <p class="action">
                <span class="action-label">{t(lang, "Action: ", "조치: ")}</span>
                {a.text.get(lang).to_string()}
                <span class="action-meta">
                    {format!(
                        " · {} {} · {} {}",
                        t(lang, "owner", "담당"),
                        a.owner_label.get(lang),
                        t(lang, "due", "기한"),
                        due.unwrap_or_default()
                    )}
                </span>
            </p>
        }
    })
}

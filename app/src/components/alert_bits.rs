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

/// `YYYY-MM-DD`. Written by hand: chrono's `format` machinery would add to the browser's wasm.
pub fn day(at: &chrono::DateTime<chrono::Utc>) -> String {
    use chrono::Datelike;
    format!("{:04}-{:02}-{:02}", at.year(), at.month(), at.day())
}

/// `YYYY-MM-DD HH:MM UTC`, and the machine-readable `YYYY-MM-DDTHH:MM:SSZ`.
pub fn minute(at: &chrono::DateTime<chrono::Utc>) -> (String, String) {
    use chrono::Timelike;
    (
        format!("{} {:02}:{:02} UTC", day(at), at.hour(), at.minute()),
        format!(
            "{}T{:02}:{:02}:{:02}Z",
            day(at),
            at.hour(),
            at.minute(),
            at.second()
        ),
    )
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

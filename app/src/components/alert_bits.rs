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

/// The snooze choices of an action form, the same on an alert's page and in the inbox's
/// selection toolbar: a custom time in the reader's zone (tomorrow 9:00 unless changed; first in
/// the form, so Enter in the time field snoozes until it), the one-click presets
/// ([`display::alert::SnoozePreset`]) and, when `watchable` (the alerts have a value to watch),
/// "until this much worse". Each is a submit button named `snooze`.
#[component]
pub fn SnoozeFields(watchable: bool) -> impl IntoView {
    use display::alert::SnoozePreset;
    let lang = use_lang();
    let zone = crate::auth::reader_zone();
    let now = chrono::Utc::now();
    let default_until = SnoozePreset::TomorrowNine
        .wakes_at(now, zone)
        .map(|t| zone.input_value(&t))
        .unwrap_or_default();
    let presets = SnoozePreset::ALL
        .into_iter()
        .filter(|p| watchable || !p.needs_value())
        .map(|p| {
            let when = p.wakes_at(now, zone).map(|t| zone.minute(&t));
            view! {
                <button type="submit" name="snooze" value=p.as_str() title=when.clone()
                    data-testid=format!("snooze-{}", p.as_str())>
                    {p.label().get(lang).to_string()}
                </button>
            }
        })
        .collect_view();
    let zone_name = format!("{} ({})", zone.name(), zone.abbreviation(&now));
    view! {
        <p class="snooze-custom">
            <label for="snooze-until">{format!("{} {zone_name}", t(lang, "Snooze until a time of your choice, in", "원하는 시각까지 보류, 시간대"))}</label>
            <input type="datetime-local" id="snooze-until" name="until" value=default_until/>
            <button type="submit" name="snooze" value="until" data-testid="snooze-until">{t(lang, "Snooze until this time", "이 시각까지 보류")}</button>
        </p>
        <p class="snooze-presets" role="group" aria-label=t(lang, "Snooze in one click", "한 번에 보류")>{presets}</p>
        {watchable.then(|| view! {
            <p class="snooze-custom">
                <label for="snooze-pct">{t(lang, "Snooze until the value is this many % worse", "값이 이 비율(%)만큼 악화될 때까지 보류")}</label>
                <input type="number" id="snooze-pct" name="pct" min="0.1" max="1000" step="0.1" value="10"/>
                <button type="submit" name="snooze" value="worse">{t(lang, "Snooze until this much worse", "이만큼 악화될 때까지 보류")}</button>
            </p>
        })}
    }
}

/// The dismiss fields of an action form, the same on an alert's page and in the inbox's
/// selection toolbar: the reason ([`display::alert::DismissReason`]) and an optional note.
#[component]
pub fn DismissFields() -> impl IntoView {
    use display::alert::DismissReason;
    let lang = use_lang();
    view! {
        <label for="dismiss-reason">{t(lang, "Reason", "이유")}</label>
        <select id="dismiss-reason" name="reason">
            {DismissReason::ALL.into_iter().map(|r| view! {
                <option value=r.as_str()>{r.label().get(lang).to_string()}</option>
            }).collect_view()}
        </select>
        <label for="dismiss-note">{t(lang, "Why, in words (optional)", "자세한 이유(선택)")}</label>
        <input type="text" id="dismiss-note" name="note" maxlength="4096"/>
    }
}

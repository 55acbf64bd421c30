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

/// `YYYY-MM-DD` of an RFC 3339 time.
pub fn day(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
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

/// The alert page's path: the fingerprint percent-encoded (editions and regions have spaces).
pub fn alert_href(fingerprint: &str) -> String {
    let mut out = String::from("/alerts/");
    for b in fingerprint.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.:~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Undoes [`alert_href`]'s encoding (the router may hand over the raw segment).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_survive_the_url() {
        for fp in [
            "gdp_fall:KOR:2025",
            "source_rejects:wb_gdp:WDI 2026-07-01",
            "r:Latin America/Caribbean:2025",
        ] {
            let href = alert_href(fp);
            assert!(
                !href[8..].contains(' ') && !href[8..].contains('/'),
                "{href}"
            );
            assert_eq!(percent_decode(&href[8..]), fp);
        }
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}

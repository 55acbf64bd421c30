//! Links between pages, with their parameters encoded.

use leptos::prelude::*;

/// `text` percent-encoded for a URL query value or path segment (UTF-8; only unreserved
/// characters, and `:` which path segments allow, stay as they are).
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `path?k=v&…` from the pairs whose value is present.
pub fn href(path: &str, pairs: &[(&str, Option<String>)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode(v))))
        .collect();
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// The page of a country.
pub fn country_href(code: &str) -> String {
    format!("/country/{}", encode(code))
}

/// The page of an alert (fingerprints of editions and regions have spaces).
pub fn alert_href(fingerprint: &str) -> String {
    format!("/alerts/{}", encode(fingerprint))
}

/// Undoes [`encode`] (the router may hand over a path segment still encoded).
pub fn decode(text: &str) -> String {
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

/// Only web addresses become links (never `javascript:` or a file path from a config).
pub fn web_url(url: &str) -> Option<&str> {
    let lower = url.trim().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then_some(url.trim())
}

/// Where a source is published, as a link that opens without handing over this page
/// (`rel="noopener noreferrer"`); the address as text when it is not a web address; nothing
/// without one.
#[component]
pub fn PublishedAt(url: Option<String>, #[prop(optional)] label: Option<String>) -> impl IntoView {
    url.map(|url| match web_url(&url) {
        Some(href) => {
            let text = label.clone().unwrap_or_else(|| href.to_string());
            view! {
                <a class="published-at" href=href.to_string() rel="noopener noreferrer" target="_blank">
                    {text}
                </a>
            }
            .into_any()
        }
        None => view! { <span class="mono">{url.clone()}</span> }.into_any(),
    })
}

/// A country's name linking to its page.
#[component]
/// (`name` is the data's English name; a Korean reader sees CLDR's Korean name.)
pub fn CountryLink(code: String, name: String) -> impl IntoView {
    let name = display::names::country(&code, &name, crate::i18n::use_lang()).into_owned();
    view! { <a href=country_href(&code)>{name}</a> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_addresses_become_links() {
        assert_eq!(
            web_url("https://data.worldbank.org/x"),
            Some("https://data.worldbank.org/x")
        );
        assert_eq!(web_url(" HTTP://example.org "), Some("HTTP://example.org"));
        assert_eq!(web_url("javascript:alert(1)"), None);
        assert_eq!(web_url("/etc/passwd"), None);
        assert_eq!(web_url("data:text/html,x"), None);
    }

    #[test]
    fn values_are_encoded() {
        assert_eq!(
            encode("Latin America & the Caribbean"),
            "Latin%20America%20%26%20the%20Caribbean"
        );
        assert_eq!(encode("gdp_fall:KOR:2025"), "gdp_fall:KOR:2025");
        assert_eq!(encode("아시아"), "%EC%95%84%EC%8B%9C%EC%95%84");
        assert_eq!(
            href(
                "/explore",
                &[
                    ("year", Some("2024".into())),
                    ("region", None),
                    ("sort", Some("name".into()))
                ]
            ),
            "/explore?year=2024&sort=name"
        );
        assert_eq!(href("/explore", &[("region", None)]), "/explore");
    }

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
            assert_eq!(decode(&href[8..]), fp);
        }
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz"), "%zz");
    }
}

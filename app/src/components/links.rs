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

/// The page of an alert (built on the alerts branch).
pub fn alert_href(fingerprint: &str) -> String {
    format!("/alerts/{}", encode(fingerprint))
}

/// A country's name linking to its page.
#[component]
pub fn CountryLink(code: String, name: String) -> impl IntoView {
    view! { <a href=country_href(&code)>{name}</a> }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

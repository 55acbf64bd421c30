//! The page's language: Korean or English, chosen with the switch in the top bar and remembered
//! in the `lang` cookie. The server reads the cookie (or, the first time, `Accept-Language`); the
//! browser reads `<html lang>`, which the server wrote, so both render the same text.

pub use display::{Lang, Text};
use leptos::prelude::*;

/// The cookie that remembers the choice.
pub const COOKIE: &str = "lang";

/// The language of the page being rendered.
pub fn use_lang() -> Lang {
    use_context::<Lang>().unwrap_or_default()
}

/// `en` or `ko`, whichever `lang` is.
pub fn t(lang: Lang, en: &'static str, ko: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Ko => ko,
    }
}

/// The language asked for by a `Cookie` header and an `Accept-Language` header.
pub fn negotiate(cookie: Option<&str>, accept_language: Option<&str>) -> Lang {
    let from_cookie = cookie.and_then(|c| {
        c.split(';').find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE).then(|| Lang::parse(value.trim()))?
        })
    });
    from_cookie.unwrap_or_else(|| {
        let first = accept_language
            .and_then(|a| a.split(',').next())
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        // The team is Korean: Korean unless the browser asks for English first.
        if first.starts_with("en") {
            Lang::En
        } else {
            Lang::Ko
        }
    })
}

/// The language of this request (server) or of the document (browser).
pub fn initial_lang() -> Lang {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>().map_or(Lang::Ko, |parts| {
            let header = |name| {
                parts
                    .headers
                    .get(name)
                    .and_then(|v: &http::HeaderValue| v.to_str().ok())
            };
            negotiate(
                header(http::header::COOKIE),
                header(http::header::ACCEPT_LANGUAGE),
            )
        })
    }
    #[cfg(not(feature = "ssr"))]
    {
        document()
            .document_element()
            .and_then(|e| e.get_attribute("lang"))
            .and_then(|l| Lang::parse(&l))
            .unwrap_or(Lang::Ko)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_wins_then_the_browser_then_korean() {
        assert_eq!(negotiate(Some("a=1; lang=en"), Some("ko-KR")), Lang::En);
        assert_eq!(negotiate(Some("lang=ko"), Some("en-US,en")), Lang::Ko);
        assert_eq!(negotiate(Some("lang=fr"), Some("en-US")), Lang::En);
        assert_eq!(negotiate(None, Some("en-GB,ko;q=0.5")), Lang::En);
        assert_eq!(negotiate(None, Some("ko-KR,en;q=0.8")), Lang::Ko);
        assert_eq!(negotiate(None, None), Lang::Ko);
    }
}

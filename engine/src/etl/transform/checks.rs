//! Checks of single fields: codes, UN M49 region codes, control characters.

/// The first control character (NUL, tab, newline, C1 …) of `text`: names are shown on pages
/// and exported, where such a character hides text or breaks a file, so it is never stored.
#[inline]
pub(super) fn control_character(text: &str) -> Option<char> {
    text.chars().find(|c| c.is_control())
}

/// `text` with each control character written as `\u{…}`, so a reject shows where it was
/// without carrying it.
pub(super) fn visible_controls(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                format!("\\u{{{:04X}}}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

pub(super) fn control_character_message(field: &str, c: char) -> String {
    format!(
        "the {field} contains the control character U+{:04X}; remove it from the source file",
        u32::from(c)
    )
}

/// A UN M49 code as three digits (`34` → `034`); empty stays empty; `None` if it is not one.
pub(super) fn m49_code(text: &str) -> Option<String> {
    match text.len() {
        0 => Some(String::new()),
        1..=3 if text.bytes().all(|b| b.is_ascii_digit()) => Some(format!("{text:0>3}")),
        _ => None,
    }
}

#[inline]
pub(super) fn is_code(code: &str) -> bool {
    (2..=10).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

#[cfg(test)]
mod m49_tests {
    use super::m49_code;

    #[test]
    fn m49_codes_are_three_digits_or_refused() {
        assert_eq!(m49_code("142").as_deref(), Some("142"));
        assert_eq!(
            m49_code("34").as_deref(),
            Some("034"),
            "the CSV drops zeros"
        );
        assert_eq!(m49_code("2").as_deref(), Some("002"));
        assert_eq!(m49_code("").as_deref(), Some(""), "no code: names as given");
        for bad in ["1420", "Asia", "-1", "1.5", " 34"] {
            assert_eq!(m49_code(bad), None, "{bad}");
        }
    }
}

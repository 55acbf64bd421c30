//! One cell of an export, typed: numbers stay numbers, dates stay dates, and only text is ever
//! neutralised against formula injection.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
    Date(NaiveDate),
    Time(DateTime<Utc>),
    /// An absolute address (a hyperlink in XLSX).
    Link(String),
}

impl Cell {
    pub fn text(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }

    /// The CSV field: text neutralised ([`neutralise`]), numbers as written by Rust (shortest
    /// exact form, never a leading `'`), booleans `true`/`false`, dates `YYYY-MM-DD`, times
    /// RFC 3339 UTC. A number that is not finite is left empty.
    pub fn csv(&self) -> Cow<'_, str> {
        match self {
            Cell::Empty => Cow::Borrowed(""),
            Cell::Text(s) | Cell::Link(s) => neutralise(s),
            Cell::Number(x) if x.is_finite() => Cow::Owned(format!("{x}")),
            Cell::Number(_) => Cow::Borrowed(""),
            Cell::Bool(true) => Cow::Borrowed("true"),
            Cell::Bool(false) => Cow::Borrowed("false"),
            Cell::Date(d) => Cow::Owned(super::day(*d)),
            Cell::Time(t) => Cow::Owned(super::instant(*t)),
        }
    }

    /// The JSON value (text exactly as stored: JSON is not opened by a spreadsheet).
    pub fn json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Cell::Empty => Value::Null,
            Cell::Text(s) | Cell::Link(s) => Value::String(s.clone()),
            Cell::Number(x) => serde_json::Number::from_f64(*x)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Cell::Bool(b) => Value::Bool(*b),
            Cell::Date(d) => Value::String(super::day(*d)),
            Cell::Time(t) => Value::String(super::instant(*t)),
        }
    }
}

/// A text cell a spreadsheet could take for a formula (starting with `=`, `+`, `-`, `@`, tab or
/// CR) gets a leading `'`, so it is shown as text and never run (`=HYPERLINK(…)`, `+1`, `@x`).
/// Text that is itself a plain negative number (`-6.2`, `-1e3`) is left alone: a spreadsheet
/// reads it as that number, which is what it is, not a formula.
pub fn neutralise(text: &str) -> Cow<'_, str> {
    let risky = matches!(
        text.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    );
    if risky && !is_plain_negative_number(text) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// `-` then digits, at most one `.`, and an optional exponent (`-6.2`, `-1e3`, `-0.5E-2`).
pub(super) fn is_plain_negative_number(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('-') else {
        return false;
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let digits = mantissa.bytes().filter(u8::is_ascii_digit).count();
    let dots = mantissa.bytes().filter(|b| *b == b'.').count();
    let mantissa_ok = digits > 0 && dots <= 1 && digits + dots == mantissa.len();
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_numbers_are_not() {
        for risky in [
            "=HYPERLINK(\"http://evil\",\"x\")",
            "+1",
            "@x",
            "-x",
            "-",
            "-1+2",
            "\tcmd",
            "\rcmd",
            "=1+2",
            "-1e",
            "-1.2.3",
        ] {
            assert_eq!(neutralise(risky), format!("'{risky}"), "{risky:?}");
        }
        for plain in [
            "-6.2",
            "-1e3",
            "-0.5E-2",
            "-12",
            "6.2",
            "abc",
            "",
            "1e3",
            "한국어",
        ] {
            assert_eq!(neutralise(plain), plain, "{plain:?}");
        }
        assert_eq!(Cell::Number(-6.2).csv(), "-6.2");
        assert_eq!(Cell::Number(-1e3).csv(), "-1000");
        assert_eq!(Cell::Number(f64::NAN).csv(), "");
        assert_eq!(Cell::text("+1").csv(), "'+1");
        assert_eq!(Cell::Number(-6.2).json(), serde_json::json!(-6.2));
    }
}

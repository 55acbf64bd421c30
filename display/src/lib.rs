//! How numbers are shown to people, in English and Korean. Values are stored at full precision;
//! only the text rounds. Shared by the engine (alert titles and actions) and the app (pages), so a
//! figure reads the same in an alert as on the dashboard.

pub mod alert;
#[rustfmt::skip]
mod cldr_names;
pub mod changes;
pub mod country;
pub mod editions;
pub mod evidence;
pub mod explore;
pub mod names;
pub mod notify;
pub mod overview;
pub mod pipeline;
pub mod rule_health;
pub mod schedule;
pub mod time;

use serde::{Deserialize, Serialize};

/// A language of the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    #[default]
    En,
    Ko,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ko];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ko => "ko",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "en" => Some(Lang::En),
            "ko" => Some(Lang::Ko),
            _ => None,
        }
    }
}

/// Text in both languages of the UI.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub en: String,
    pub ko: String,
}

impl Text {
    pub fn new(en: impl Into<String>, ko: impl Into<String>) -> Self {
        Text {
            en: en.into(),
            ko: ko.into(),
        }
    }

    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Ko => &self.ko,
        }
    }
}

/// How a metric's values are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// US dollars shown in billions (`1,712.79 B USD`; Korean in 조/억 달러).
    UsdBillions,
    /// Whole US dollars (`33,121 USD`).
    Usd,
    /// A percentage (`12.3 %`).
    Percent,
    /// A position (`#12`).
    Rank,
    /// A count (`55`).
    Count,
    /// People (`51,234,567`).
    Persons,
}

/// US dollars as billions with two decimals and thousands separators: `30769.7e9` → `30,769.70`.
pub fn billions(usd: f64) -> String {
    let mut out = String::with_capacity(24);
    push_billions(&mut out, usd);
    out
}

fn push_billions(out: &mut String, usd: f64) {
    push_grouped(out, usd / 1e9, 2);
}

/// `value` rounded to `decimals` places with `,` between thousands.
pub fn grouped(value: f64, decimals: usize) -> String {
    let mut out = String::with_capacity(24);
    push_grouped(&mut out, value, decimals);
    out
}

/// [`grouped`], written at the end of `out`: every alert shows several numbers in two
/// languages, and each text is then built in one allocation.
fn push_grouped(out: &mut String, value: f64, decimals: usize) {
    if !value.is_finite() {
        out.push('—');
        return;
    }
    // Formatting floats exactly (`{:.2}`) is most of the cost of a number's text, so values
    // rounded safely in integers skip it (same text: see `grouped_matches_exact_formatting`).
    match rounded_units(value.abs(), decimals) {
        Some(units) => push_grouped_units(out, value < 0.0, units, decimals),
        None => push_grouped_text(out, value < 0.0, &format!("{:.*}", decimals, value.abs())),
    }
}

/// `magnitude` × 10^`decimals` rounded to an integer, when that is surely what exact decimal
/// formatting rounds it to: below 2⁴⁰ the product is off by less than 10⁻⁴, so only values
/// within 10⁻³ of a half (where the rounding direction could differ) are left to `format!`.
fn rounded_units(magnitude: f64, decimals: usize) -> Option<u64> {
    const LIMIT: f64 = (1u64 << 40) as f64;
    let scale = [1.0, 10.0, 100.0, 1_000.0].get(decimals)?;
    let scaled = magnitude * scale;
    if !(0.0..LIMIT).contains(&scaled) {
        return None;
    }
    let whole = scaled.floor();
    let fraction = scaled - whole;
    if (fraction - 0.5).abs() < 1e-3 {
        return None;
    }
    Some(whole as u64 + u64::from(fraction > 0.5))
}

/// `units` (the value × 10^`decimals`, rounded) as grouped text.
fn push_grouped_units(out: &mut String, negative: bool, mut units: u64, decimals: usize) {
    if negative && units > 0 {
        out.push('-');
    }
    // The digits, at least one before the point, from the right end of a buffer.
    let mut buf = [b'0'; 24];
    let mut start = buf.len();
    while units > 0 || buf.len() - start <= decimals {
        start -= 1;
        buf[start] = b'0' + (units % 10) as u8;
        units /= 10;
    }
    let digits = std::str::from_utf8(&buf[start..]).unwrap_or("0");
    let (int_part, frac_part) = digits.split_at(digits.len() - decimals);
    push_thousands(out, int_part);
    if decimals > 0 {
        out.push('.');
        out.push_str(frac_part);
    }
}

/// The plain way: `text` is the magnitude formatted exactly (`format!("{:.N}")`).
fn push_grouped_text(out: &mut String, negative: bool, text: &str) {
    let (int_part, frac_part) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text, None),
    };
    if negative && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        out.push('-');
    }
    push_thousands(out, int_part);
    if let Some(frac) = frac_part {
        out.push('.');
        out.push_str(frac);
    }
}

/// Digits with `,` between thousands.
fn push_thousands(out: &mut String, digits: &str) {
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
}

/// US dollars counted the Korean way, in 조 (10¹²) and 억 (10⁸): `1조 7,128억 달러`.
fn push_usd_korean(out: &mut String, usd: f64) {
    let eok = (usd.abs() / 1e8).round();
    if usd < 0.0 && eok > 0.0 {
        out.push('-');
    }
    let jo = (eok / 1e4).floor();
    let rest = eok - jo * 1e4;
    match (jo > 0.0, rest > 0.0) {
        (true, true) => {
            push_grouped(out, jo, 0);
            out.push_str("조 ");
            push_grouped(out, rest, 0);
            out.push_str("억 달러");
        }
        (true, false) => {
            push_grouped(out, jo, 0);
            out.push_str("조 달러");
        }
        (false, _) if eok > 0.0 => {
            push_grouped(out, eok, 0);
            out.push_str("억 달러");
        }
        _ => {
            push_grouped(out, usd.abs(), 0);
            out.push_str("달러");
        }
    }
}

/// `value` in `format`, for `lang`.
pub fn value(format: Format, value: f64, lang: Lang) -> String {
    if !value.is_finite() {
        return "—".into();
    }
    let mut out = String::with_capacity(32);
    // The number's decimals and the words around it.
    let (prefix, decimals, suffix) = match (format, lang) {
        (Format::UsdBillions, Lang::En) => {
            push_billions(&mut out, value);
            out.push_str(" B USD");
            return out;
        }
        (Format::UsdBillions, Lang::Ko) => {
            push_usd_korean(&mut out, value);
            return out;
        }
        (Format::Usd, Lang::En) => ("", 0, " USD"),
        (Format::Usd, Lang::Ko) => ("", 0, "달러"),
        (Format::Percent, Lang::En) => ("", 1, " %"),
        (Format::Percent, Lang::Ko) => ("", 1, "%"),
        (Format::Rank, Lang::En) => ("#", 0, ""),
        (Format::Rank, Lang::Ko) => ("", 0, "위"),
        (Format::Count, _) | (Format::Persons, Lang::En) => ("", 0, ""),
        (Format::Persons, Lang::Ko) => ("", 0, "명"),
    };
    out.push_str(prefix);
    push_grouped(&mut out, value, decimals);
    out.push_str(suffix);
    out
}

/// A signed change in percent: `+12.3 %`, `−6.2 %` (a true minus sign, as in print).
pub fn change_pct(pct: f64, lang: Lang) -> String {
    if !pct.is_finite() {
        return "—".into();
    }
    let mut out = String::with_capacity(24);
    push_grouped(&mut out, pct.abs(), 1);
    let sign = if out.chars().all(|c| c == '0' || c == '.') {
        ""
    } else if pct < 0.0 {
        "−"
    } else {
        "+"
    };
    out.insert_str(0, sign);
    out.push_str(match lang {
        Lang::En => " %",
        Lang::Ko => "%",
    });
    out
}

/// A fraction as a percentage with two decimals: `0.0123` → `1.23 %`.
pub fn fraction_pct(fraction: f64, lang: Lang) -> String {
    let mut out = grouped(fraction * 100.0, 2);
    out.push_str(match lang {
        Lang::En => " %",
        Lang::Ko => "%",
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn billions_round_to_two_decimals_with_separators() {
        assert_eq!(billions(30_769.7e9), "30,769.70");
        assert_eq!(billions(1_712_793_000_000.0), "1,712.79");
        assert_eq!(billions(999.999e6), "1.00");
        assert_eq!(billions(-12.345e9), "-12.35");
    }

    #[test]
    fn grouping_edges() {
        assert_eq!(grouped(0.0, 0), "0");
        assert_eq!(grouped(999.0, 0), "999");
        assert_eq!(grouped(1000.0, 0), "1,000");
        assert_eq!(grouped(-0.001, 2), "0.00");
        assert_eq!(grouped(f64::NAN, 2), "—");
    }

    /// The integer path gives the text exact formatting gives, ties, large values and tiny
    /// ones included.
    #[test]
    fn grouped_matches_exact_formatting() {
        use proptest::prelude::*;
        let exact = |v: f64, d: usize| {
            let mut out = String::new();
            push_grouped_text(&mut out, v < 0.0, &format!("{:.*}", d, v.abs()));
            out
        };
        for (v, d) in [
            (0.125, 2),
            (0.5, 0),
            (1.5, 0),
            (2.5, 0),
            (0.25, 1),
            (1_099_511_627_775.5, 0),
            (1e15, 2),
            (-0.004, 2),
            (-0.006, 2),
            (999.995, 2),
            (1_712.785, 2),
        ] {
            assert_eq!(grouped(v, d), exact(v, d), "{v} with {d} decimals");
        }
        let value = prop_oneof![
            any::<f64>().prop_filter("finite", |v| v.is_finite()),
            (-1e13..1e13f64),
            (-1e4..1e4f64),
            // Halves and near-halves at every scale.
            (-1_000_000i64..1_000_000, 0usize..4, -2i32..3).prop_map(|(n, d, nudge)| {
                (n as f64 + 0.5) / 10f64.powi(d as i32) + f64::from(nudge) * f64::EPSILON
            }),
        ];
        proptest!(ProptestConfig::with_cases(20_000), |(v in value, d in 0usize..4)| {
            prop_assert_eq!(grouped(v, d), exact(v, d));
        });
    }

    #[test]
    fn values_by_language() {
        assert_eq!(
            value(Format::UsdBillions, 1_712.79e9, Lang::En),
            "1,712.79 B USD"
        );
        assert_eq!(
            value(Format::UsdBillions, 1_712.79e9, Lang::Ko),
            "1조 7,128억 달러"
        );
        assert_eq!(value(Format::UsdBillions, 1e12, Lang::Ko), "1조 달러");
        assert_eq!(
            value(Format::UsdBillions, 362.68e9, Lang::Ko),
            "3,627억 달러"
        );
        assert_eq!(value(Format::UsdBillions, 5e6, Lang::Ko), "5,000,000달러");
        assert_eq!(value(Format::Usd, 33_121.4, Lang::En), "33,121 USD");
        assert_eq!(value(Format::Rank, 12.0, Lang::Ko), "12위");
        assert_eq!(value(Format::Percent, 1.637, Lang::En), "1.6 %");
        assert_eq!(value(Format::Count, f64::INFINITY, Lang::En), "—");
    }

    #[test]
    fn changes_carry_their_sign() {
        assert_eq!(change_pct(-6.2, Lang::En), "−6.2 %");
        assert_eq!(change_pct(12.26, Lang::Ko), "+12.3%");
        assert_eq!(change_pct(-0.01, Lang::En), "0.0 %");
        assert_eq!(fraction_pct(0.0123, Lang::En), "1.23 %");
    }
}

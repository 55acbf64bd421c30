//! Number formatting for display. Values are stored at full precision; only the text rounds.

/// US dollars as billions with two decimals and thousands separators: `30769.7e9` → `30,769.70`.
pub fn billions(usd: f64) -> String {
    grouped(usd / 1e9, 2)
}

/// `value` rounded to `decimals` places with `,` between thousands.
pub fn grouped(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return "—".to_string();
    }
    let text = format!("{:.*}", decimals, value.abs());
    let (int_part, frac_part) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text.as_str(), None),
    };
    let mut out = String::with_capacity(text.len() + int_part.len() / 3 + 1);
    if value < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        out.push('-');
    }
    for (i, digit) in int_part.chars().enumerate() {
        if i > 0 && (int_part.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    if let Some(frac) = frac_part {
        out.push('.');
        out.push_str(frac);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn billions_round_to_two_decimals_with_separators() {
        assert_eq!(billions(30_769_700_000_000.0), "30,769.70");
        assert_eq!(billions(19_498_039_388_042.6), "19,498.04");
        assert_eq!(billions(100e9), "100.00");
        assert_eq!(billions(999_994_999.0), "1.00");
    }

    #[test]
    fn grouping_edges() {
        assert_eq!(grouped(0.0, 2), "0.00");
        assert_eq!(grouped(-1234.5, 1), "-1,234.5");
        assert_eq!(grouped(-0.001, 2), "0.00");
        assert_eq!(grouped(123456.0, 0), "123,456");
        assert_eq!(grouped(f64::NAN, 2), "—");
    }
}

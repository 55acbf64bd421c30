//! An alert: what fired, the evidence, how urgent it is, and what to do about it.

use std::collections::BTreeMap;

use display::{Format, Lang, Text};

pub use display::alert::{fire_share_fingerprint, Action, Alert, Evidence, Point, SourceRef};

pub fn fingerprint(rule_id: &str, entity: &str, period: &str) -> String {
    format!("{rule_id}:{entity}:{period}")
}

/// Impact of an entity: 1 plus a tenth of its share of world GDP in %, so the largest economy
/// weighs about 3.6 and the smallest 1. Pipeline and data-quality alerts affect every figure.
pub fn impact(share_pct: Option<f64>) -> f64 {
    1.0 + share_pct
        .filter(|s| s.is_finite())
        .unwrap_or(0.0)
        .clamp(0.0, 100.0)
        / 10.0
}

/// Severity weight × impact, to two decimals.
pub fn priority(weight: f64, share_pct: Option<f64>) -> f64 {
    (weight * impact(share_pct) * 100.0).round() / 100.0
}

/// Template variables: each placeholder's text in both languages. A short list (a dozen
/// placeholders at most) searched in order: cheaper to build for every alert than a map, and a
/// text that reads the same in both languages is kept once.
#[derive(Debug, Default, Clone)]
pub struct Vars(Vec<(&'static str, Var)>);

#[derive(Debug, Clone)]
enum Var {
    Same(String),
    Both(Text),
}

impl Var {
    fn get(&self, lang: Lang) -> &str {
        match self {
            Var::Same(text) => text,
            Var::Both(text) => text.get(lang),
        }
    }
}

impl Vars {
    fn put(&mut self, key: &'static str, var: Var) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => *v = var,
            None => self.0.push((key, var)),
        }
    }

    fn get(&self, key: &str) -> Option<&Var> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    pub fn set(&mut self, key: &'static str, en: impl Into<String>, ko: impl Into<String>) {
        self.put(key, Var::Both(Text::new(en, ko)));
    }

    pub fn same(&mut self, key: &'static str, text: impl Into<String>) {
        self.put(key, Var::Same(text.into()));
    }

    pub fn value(&mut self, key: &'static str, format: Format, v: f64) {
        self.set(
            key,
            display::value(format, v, Lang::En),
            display::value(format, v, Lang::Ko),
        );
    }

    pub fn change(&mut self, key: &'static str, pct: f64) {
        self.set(
            key,
            display::change_pct(pct, Lang::En),
            display::change_pct(pct, Lang::Ko),
        );
    }

    /// Fills `{placeholders}`; one without a value (checked away by `rules check`) shows as `—`.
    pub fn fill(&self, template: &Text) -> Text {
        Text::new(
            self.fill_one(&template.en, Lang::En),
            self.fill_one(&template.ko, Lang::Ko),
        )
    }

    fn fill_one(&self, template: &str, lang: Lang) -> String {
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) => {
                    let key = &after[..close];
                    out.push_str(self.get(key).map_or("—", |v| v.get(lang)));
                    rest = &after[close + 1..];
                }
                None => {
                    out.push_str(&rest[open..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// The evidence of a finding as stored: the numbers of a kind's typed evidence by field name
/// (non-finite numbers and absent ones left out). The stored map is what the alert state, the
/// exports and the page read, so a kind's evidence type only needs `Serialize`.
pub fn put_evidence<E: serde::Serialize>(values: &mut BTreeMap<String, f64>, evidence: &E) {
    if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(evidence) {
        for (key, v) in fields {
            if let Some(v) = v.as_f64().filter(|v| v.is_finite()) {
                values.insert(key, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_known_and_marks_unknown() {
        let mut vars = Vars::default();
        vars.set("name", "Korea", "한국");
        vars.value("value", Format::UsdBillions, 1_712.79e9);
        vars.change("change", -6.2);
        let t = vars.fill(&Text::new(
            "{name}: GDP {change} YoY to {value} {missing}",
            "{name}: GDP 전년 대비 {change}, {value}",
        ));
        assert_eq!(t.en, "Korea: GDP −6.2 % YoY to 1,712.79 B USD —");
        assert_eq!(t.ko, "한국: GDP 전년 대비 −6.2%, 1조 7,128억 달러");
    }

    #[test]
    fn impact_grows_with_share() {
        assert_eq!(impact(None), 1.0);
        assert!((impact(Some(26.0)) - 3.6).abs() < 1e-9);
        assert_eq!(impact(Some(f64::NAN)), 1.0);
        assert_eq!(impact(Some(500.0)), 11.0);
    }
}

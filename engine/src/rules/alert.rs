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
/// text that reads the same in both languages is kept once. Keys are compared by their
/// [`key_tag`] first, so a search compares one word per entry.
#[derive(Debug, Default, Clone)]
pub struct Vars(Vec<(u64, &'static str, Var)>);

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

/// A placeholder's first seven bytes and its length in one word: equal keys have equal tags,
/// and keys of up to seven bytes (most of them) are equal exactly when their tags are.
fn key_tag(key: &str) -> u64 {
    let bytes = key.as_bytes();
    let mut word = [0u8; 8];
    let n = bytes.len().min(7);
    word[..n].copy_from_slice(&bytes[..n]);
    word[7] = bytes.len().min(255) as u8;
    u64::from_le_bytes(word)
}

impl Vars {
    /// Room for `n` placeholders: an alert's vars are built once, without growing.
    pub fn with_capacity(n: usize) -> Self {
        Vars(Vec::with_capacity(n))
    }

    fn put(&mut self, key: &'static str, var: Var) {
        let tag = key_tag(key);
        match self.0.iter_mut().find(|(t, k, _)| *t == tag && *k == key) {
            Some((_, _, v)) => *v = var,
            None => self.0.push((tag, key, var)),
        }
    }

    fn get(&self, tag: u64, key: &str) -> Option<&Var> {
        self.0
            .iter()
            .find(|(t, k, _)| *t == tag && (key.len() <= 7 || *k == key))
            .map(|(_, _, v)| v)
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
        self.fill_template(&TextTemplate::new(template))
    }

    /// [`Vars::fill`] with a template split once for many alerts.
    pub fn fill_template(&self, template: &TextTemplate) -> Text {
        Text::new(
            self.fill_one(&template.en, Lang::En),
            self.fill_one(&template.ko, Lang::Ko),
        )
    }

    fn fill_one(&self, template: &Template, lang: Lang) -> String {
        // Measured first, so the text is written into one allocation of its size.
        let len = template
            .parts
            .iter()
            .map(|p| self.part_text(p, lang).len())
            .sum();
        let mut out = String::with_capacity(len);
        for part in &template.parts {
            out.push_str(self.part_text(part, lang));
        }
        out
    }

    fn part_text<'a>(&'a self, part: &'a Part, lang: Lang) -> &'a str {
        match part {
            Part::Literal(text) => text,
            Part::Key(tag, key) => self.get(*tag, key).map_or("—", |v| v.get(lang)),
        }
    }
}

/// A text with `{placeholders}` in both languages, split into literal parts and keys once: an
/// evaluation fills the same few texts for thousands of alerts.
#[derive(Debug, Clone)]
pub struct TextTemplate {
    en: Template,
    ko: Template,
}

impl TextTemplate {
    pub fn new(text: &Text) -> Self {
        TextTemplate {
            en: Template::parse(&text.en),
            ko: Template::parse(&text.ko),
        }
    }
}

#[derive(Debug, Clone)]
struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Literal(String),
    Key(u64, String),
}

impl Template {
    /// `{key}` is a placeholder; a `{` without its `}` is kept as written.
    fn parse(template: &str) -> Self {
        let split = split_placeholders(template);
        let mut parts = Vec::new();
        for (literal, key) in split.keyed {
            if !literal.is_empty() {
                parts.push(Part::Literal(literal.to_string()));
            }
            parts.push(Part::Key(key_tag(key), key.to_string()));
        }
        if !split.rest.is_empty() {
            parts.push(Part::Literal(split.rest.to_string()));
        }
        Template { parts }
    }
}

/// A template's text split at its `{key}` placeholders: the one reading of placeholders, for
/// filling alerts and for `rules check`.
pub(crate) struct SplitTemplate<'a> {
    /// Each literal text with the key that follows it, in order.
    pub keyed: Vec<(&'a str, &'a str)>,
    /// The text after the last placeholder.
    pub rest: &'a str,
    /// `rest` holds a `{` without its `}`.
    pub unclosed: bool,
}

pub(crate) fn split_placeholders(template: &str) -> SplitTemplate<'_> {
    let mut keyed = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return SplitTemplate {
                keyed,
                rest,
                unclosed: true,
            };
        };
        keyed.push((&rest[..open], &after[..close]));
        rest = &after[close + 1..];
    }
    SplitTemplate {
        keyed,
        rest,
        unclosed: false,
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
    fn keys_longer_than_a_tag_and_unclosed_braces() {
        let mut vars = Vars::default();
        vars.same("previous_period", "2024");
        vars.same("previous_rank", "#3");
        vars.same("period", "2025");
        vars.same("period", "2026");
        let t = vars.fill(&Text::new(
            "{previous_period} {previous_rank} {period} {previous_x} {} {open",
            "{period}{",
        ));
        assert_eq!(t.en, "2024 #3 2026 — — {open");
        assert_eq!(t.ko, "2026{");
    }

    #[test]
    fn impact_grows_with_share() {
        assert_eq!(impact(None), 1.0);
        assert!((impact(Some(26.0)) - 3.6).abs() < 1e-9);
        assert_eq!(impact(Some(f64::NAN)), 1.0);
        assert_eq!(impact(Some(500.0)), 11.0);
    }
}

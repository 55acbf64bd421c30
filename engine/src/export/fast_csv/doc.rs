//! The fields of a stored alert's JSON document the action list shows, borrowed from it.

use std::borrow::Cow;

use display::Lang;
use serde::Deserialize;

use crate::rules::Severity;

/// A string of the stored document, borrowed unless JSON escapes had to be undone.
#[derive(Deserialize)]
pub(super) struct Str<'a>(#[serde(borrow)] pub(super) Cow<'a, str>);

impl Default for Str<'_> {
    fn default() -> Self {
        Str(Cow::Borrowed(""))
    }
}

#[derive(Deserialize, Default)]
pub(super) struct Txt<'a> {
    #[serde(borrow)]
    pub(super) en: Str<'a>,
    #[serde(borrow)]
    pub(super) ko: Str<'a>,
}

impl Txt<'_> {
    pub(super) fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en.0,
            Lang::Ko => &self.ko.0,
        }
    }
}

/// A number that must be one when present (as the whole `Alert` decode demands).
pub(super) fn some_f64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    f64::deserialize(d).map(Some)
}

/// The evidence values the list shows; the others are skipped.
#[derive(Deserialize, Default)]
pub(super) struct Values {
    #[serde(default, deserialize_with = "some_f64")]
    pub(super) value: Option<f64>,
    #[serde(default, deserialize_with = "some_f64")]
    pub(super) previous: Option<f64>,
    #[serde(default, deserialize_with = "some_f64")]
    pub(super) change_pct: Option<f64>,
}

#[derive(Deserialize)]
pub(super) struct Source<'a> {
    #[serde(borrow)]
    pub(super) source_id: Str<'a>,
    #[serde(borrow)]
    pub(super) edition: Str<'a>,
    #[serde(borrow)]
    pub(super) sha256: Str<'a>,
}

#[derive(Deserialize)]
pub(super) struct Evidence<'a> {
    pub(super) values: Values,
    #[serde(borrow)]
    pub(super) source: Option<Source<'a>>,
    #[serde(borrow)]
    pub(super) run_id: Str<'a>,
}

#[derive(Deserialize)]
pub(super) struct Action<'a> {
    #[serde(borrow)]
    pub(super) text: Txt<'a>,
    #[serde(borrow)]
    pub(super) owner: Str<'a>,
    pub(super) due_days: u32,
}

/// The fields of a stored `Alert` the action list shows (the others are skipped unread).
#[derive(Deserialize)]
pub(super) struct Doc<'a> {
    #[serde(borrow)]
    pub(super) fingerprint: Str<'a>,
    #[serde(borrow)]
    pub(super) rule_id: Str<'a>,
    #[serde(borrow, default)]
    pub(super) rule_name: Txt<'a>,
    pub(super) severity: Severity,
    pub(super) priority: f64,
    #[serde(borrow)]
    pub(super) entity: Str<'a>,
    #[serde(borrow)]
    pub(super) entity_name: Str<'a>,
    #[serde(borrow)]
    pub(super) region: Option<Str<'a>>,
    #[serde(borrow)]
    pub(super) period: Str<'a>,
    #[serde(borrow)]
    pub(super) title: Txt<'a>,
    #[serde(borrow)]
    pub(super) evidence: Evidence<'a>,
    #[serde(borrow)]
    pub(super) actions: Vec<Action<'a>>,
    pub(super) data_issue: bool,
}

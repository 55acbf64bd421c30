//! Rule kinds: one module per kind, each behind [`RuleKind`].
//!
//! A kind module holds everything about its kind: its parameters as rules.yml gives them (a
//! serde struct that refuses unknown fields) and their validation ([`Params::build`]), its SQL
//! in both dialects, its typed evidence (a serde struct stored as the alert's evidence values),
//! its placeholders, its default explanation, and — for kinds that look at runs rather than a
//! metric — the alerts it raises ([`RuleKind::system`]).
//!
//! **Adding a kind** is one new file here (a `Params` struct implementing [`Params`] and a kind
//! implementing [`RuleKind`]) plus one line in the `kinds!` list below.

use std::collections::BTreeMap;
use std::fmt::Debug;

use display::alert::SourceRef;
use display::{Format, Text};
use duckdb::Connection;
use serde::Deserialize;

use super::alert::{put_evidence, Vars};
use super::facts::{PipelineFacts, SnapshotFacts};
use super::metrics::{Metric, Metrics};
use super::sql::{Finding, Query};
use super::yaml::field_names;

/// What a kind's evaluation reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// A metric's periods: its SQL runs at the metric's latest complete period (and at the
    /// partial periods after it, as [`RuleKind::partial`] says).
    Periods,
    /// The snapshot's changes against the previous published run, any period. They are about
    /// the data, not a period: a later run without the change never clears them.
    BetweenRuns,
    /// Runs and rejects, not a metric: no SQL; [`RuleKind::system`] finds what fires.
    System,
}

/// What a kind does at a partial period (only some countries have reported it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partial {
    /// Nothing: the kind compares countries with each other or with an edition.
    Skip,
    /// Fires per country, when the metric is a country's own figure (see
    /// [`super::findings::fires_on_partial_periods`]).
    PerCountry,
    /// One notice for all the countries concerned ([`RuleKind::grouped_notice`]).
    Grouped,
}

/// A kind's parameter that is wrong: the key (for the line) and what to change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ParamError {
    pub key: &'static str,
    pub message: String,
}

impl ParamError {
    pub fn new(key: &'static str, message: impl Into<String>) -> Self {
        ParamError {
            key,
            message: message.into(),
        }
    }
}

/// `key`'s value if it is a number above 0.
pub fn positive(key: &'static str, v: f64) -> Result<f64, ParamError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(ParamError::new(
            key,
            format!("`{key}` is {v}; use a number above 0"),
        ))
    }
}

/// What a kind's parameters are validated against.
#[derive(Debug, Clone, Copy)]
pub struct Build<'a> {
    /// The rule's metric.
    pub metric: &'a Metric,
    pub metrics: &'a Metrics,
}

/// A kind's parameters as the rules file gives them, validated into the kind.
pub trait Params: serde::de::DeserializeOwned {
    type Kind: RuleKind;
    fn build(self, cx: &Build<'_>) -> Result<Self::Kind, ParamError>;
}

/// Rendering one finding: the template variables and the evidence the kind adds.
pub struct Render<'a> {
    pub metrics: &'a Metrics,
    /// The metric's format.
    pub format: Format,
    /// The run the snapshot's revisions compare with.
    pub revised_from: Option<&'a str>,
    pub vars: &'a mut Vars,
    values: &'a mut BTreeMap<String, f64>,
}

impl<'a> Render<'a> {
    pub fn new(
        metrics: &'a Metrics,
        format: Format,
        revised_from: Option<&'a str>,
        vars: &'a mut Vars,
        values: &'a mut BTreeMap<String, f64>,
    ) -> Self {
        Render {
            metrics,
            format,
            revised_from,
            vars,
            values,
        }
    }

    /// Stores the kind's typed evidence (its fields by name, finite numbers only).
    pub fn evidence<E: serde::Serialize>(&mut self, evidence: &E) {
        put_evidence(self.values, evidence);
    }
}

/// What a kind that looks at runs and rejects finds: one alert each.
#[derive(Debug, Clone)]
pub struct SystemFinding {
    pub entity: String,
    pub entity_name: String,
    pub period: String,
    pub vars: Vars,
    pub values: BTreeMap<String, f64>,
    pub source: Option<std::sync::Arc<SourceRef>>,
}

impl SystemFinding {
    /// A finding about the ETL pipeline itself.
    pub fn pipeline(period: &str, vars: Vars, values: BTreeMap<String, f64>) -> Self {
        SystemFinding {
            entity: "pipeline".into(),
            entity_name: "ETL pipeline".into(),
            period: period.to_string(),
            vars,
            values,
            source: None,
        }
    }
}

/// What a system kind reads.
#[derive(Clone, Copy)]
pub struct System<'a> {
    pub conn: &'a Connection,
    pub snapshot: &'a SnapshotFacts,
    pub facts: &'a PipelineFacts,
}

/// The facts of a partial period's grouped notice.
#[derive(Debug, Clone)]
pub struct Grouped<'a> {
    pub period: i32,
    /// How many entities it groups.
    pub count: usize,
    /// The largest of them, by their previous value.
    pub largest: &'a [String],
    /// More than `largest`.
    pub more: bool,
    /// Countries that reported the period so far.
    pub reported: u64,
    /// The period headline figures stay on.
    pub reference: i32,
    pub metric_label: &'a Text,
}

/// A grouped notice in words, with its evidence.
#[derive(Debug, Clone)]
pub struct Notice {
    pub title: Text,
    pub explanation: Text,
    pub action: Text,
    pub values: BTreeMap<String, f64>,
}

/// One kind of rule.
pub trait RuleKind: Debug + Send + Sync {
    /// Its name in rules.yml (`kind:`).
    fn name(&self) -> &'static str;

    fn reads(&self) -> Reads {
        Reads::Periods
    }

    /// The `{placeholders}` its templates can use.
    fn placeholders(&self) -> Vec<&'static str>;

    /// The query of one row per firing (entity, period), with the columns of
    /// [`super::sql::FINDING_COLUMNS`]; `None` when the kind has no form in `q.d`'s dialect (it
    /// then runs on DuckDB) or reads no metric.
    fn sql(&self, _q: &Query<'_>) -> Option<String> {
        None
    }

    fn partial(&self) -> Partial {
        Partial::Skip
    }

    /// How many periods of the entity's series the alert shows, when the kind's input is the
    /// entity's history rather than the two periods it compared.
    fn history(&self) -> Option<i32> {
        None
    }

    /// Whether the alert's series is the two compared periods (not for editions or runs).
    fn compares_periods(&self) -> bool {
        true
    }

    /// Whether one change between runs is one alert per entity naming every period it touched
    /// (a source revising a country's last three years is one revision, not three), rather than
    /// one alert per entity and period. Only for kinds that read [`Reads::BetweenRuns`].
    fn one_alert_per_entity(&self) -> bool {
        false
    }

    /// Adds the kind's variables and typed evidence for one finding (the entity's name, code,
    /// region, periods and values are set already).
    fn render(&self, _f: &Finding, _r: &mut Render<'_>) {}

    /// The explanation used unless the rule gives `explain`.
    fn explanation(&self) -> Text;

    /// Its alerts are data issues by definition.
    fn data_issue(&self) -> bool {
        false
    }

    /// What fires, for kinds that read runs and rejects ([`Reads::System`]).
    fn system(&self, _cx: &System<'_>) -> Result<Vec<SystemFinding>, duckdb::Error> {
        Ok(Vec::new())
    }

    /// The notice of a partial period ([`Partial::Grouped`]).
    fn grouped_notice(&self, _g: &Grouped<'_>) -> Option<Notice> {
        None
    }
}

/// The placeholders of every kind about an entity's figures, then the kind's own.
pub fn about_entity(with_value: bool, own: &[&'static str]) -> Vec<&'static str> {
    let mut out = vec!["name", "code", "region", "period", "period_next"];
    if with_value {
        out.push("value");
    }
    out.push("metric");
    out.extend_from_slice(own);
    out
}

macro_rules! kinds {
    ($($module:ident :: $kind:ident as $name:literal => $variant:ident,)*) => {
        $(pub mod $module;)*

        /// A rule's kind and parameters as the rules file gives them (`kind:` picks the
        /// variant; a field the kind does not take is refused).
        #[derive(Debug, Deserialize)]
        #[serde(tag = "kind", deny_unknown_fields)]
        pub enum KindParams {
            $(#[serde(rename = $name)] $variant($module::Params),)*
        }

        /// A rule's kind with its validated parameters.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Kind {
            $($variant($module::$kind),)*
        }

        impl Kind {
            /// The kind behind its trait.
            pub fn get(&self) -> &dyn RuleKind {
                match self {
                    $(Kind::$variant(k) => k,)*
                }
            }
        }

        impl KindParams {
            pub fn build(self, cx: &Build<'_>) -> Result<Kind, ParamError> {
                match self {
                    $(KindParams::$variant(p) => p.build(cx).map(Kind::$variant),)*
                }
            }
        }

        /// Every kind's name with the parameters it takes, in the order of the list.
        pub fn registry() -> Vec<(&'static str, &'static [&'static str])> {
            vec![$(($name, field_names::<$module::Params>()),)*]
        }
    };
}

kinds! {
    threshold::Threshold as "threshold" => Threshold,
    change::Change as "change" => Change,
    anomaly::Anomaly as "anomaly" => Anomaly,
    rank_change::RankChange as "rank_change" => RankChange,
    absence::Absence as "absence" => Absence,
    data_quality::DataQuality as "data_quality" => DataQuality,
    pipeline::Pipeline as "pipeline" => Pipeline,
    revision::Revision as "revision" => Revision,
    withdrawn::Withdrawn as "withdrawn" => Withdrawn,
}

impl Kind {
    pub fn name(&self) -> &'static str {
        self.get().name()
    }

    pub fn placeholders(&self) -> Vec<&'static str> {
        self.get().placeholders()
    }
}

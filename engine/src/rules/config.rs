//! `config/metrics.yml` and `config/rules.yml`: serde types mirroring the files (unknown keys are
//! errors), built and validated into [`Metrics`] and [`Rules`]. Every error names the file, the
//! line and what to change.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, Sources};

pub use display::alert::{Scope, Severity};
pub use display::{Format, Lang, Text};

/// A column of the snapshot's `observations` table that a metric may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Column {
    Value,
    ChangePct,
    SharePct,
    Rank,
    PerCapita,
}

impl Column {
    pub fn sql(self) -> &'static str {
        match self {
            Column::Value => "value",
            Column::ChangePct => "change_pct",
            Column::SharePct => "share_pct",
            Column::Rank => "rank",
            Column::PerCapita => "per_capita",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum MetricDef {
    /// A column of one source's country rows.
    Column { source: String, column: Column },
    /// Per region and year: the mean of its `n` largest countries by `of`.
    TopNAverage { of: String, n: u32 },
    /// Per year: how many countries have `of` ≥ `min`.
    CountAtLeast { of: String, min: f64 },
    /// Per year: the sum of `of` over countries.
    Sum { of: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub id: String,
    pub label: Text,
    pub unit: String,
    pub format: Format,
    pub higher_is_better: bool,
    pub scope: Scope,
    pub def: MetricDef,
}

#[derive(Debug, Clone)]
pub struct Metrics {
    pub path: PathBuf,
    pub metrics: Vec<Metric>,
    /// When a period counts as complete (`completeness:`; default 90 % of the previous complete
    /// period's countries and total).
    pub completeness: crate::config::Completeness,
}

impl Metrics {
    pub fn get(&self, id: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.id == id)
    }

    /// The source a metric's values come from (for aggregates, that of the metric they aggregate).
    pub fn source_of<'a>(&'a self, metric: &'a Metric) -> Option<&'a str> {
        match &metric.def {
            MetricDef::Column { source, .. } => Some(source),
            MetricDef::TopNAverage { of, .. }
            | MetricDef::CountAtLeast { of, .. }
            | MetricDef::Sum { of } => self.get(of).and_then(|m| self.source_of(m)),
        }
    }

    pub fn load(path: &Path, sources: &Sources) -> Result<Self, ConfigError> {
        let text = read(path)?;
        Self::parse(&text, path, sources)
    }

    pub fn parse(text: &str, path: &Path, sources: &Sources) -> Result<Self, ConfigError> {
        let file: MetricsFile = parse_yaml(text, path)?;
        let mut seen = HashSet::new();
        let mut metrics: Vec<Metric> = Vec::new();
        for m in file.metrics {
            let line = item_line(text, &m.id);
            let err = |message: String| ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                message: format!("metric `{}`: {message}", m.id),
            };
            check_id(&m.id).map_err(&err)?;
            if !seen.insert(m.id.clone()) {
                return Err(err("this id is used twice".into()));
            }
            let f = m.from;
            let known_metric = |of: &Option<String>| -> Result<String, ConfigError> {
                let of = of
                    .clone()
                    .ok_or_else(|| err("an aggregate needs `of: METRIC`".into()))?;
                match metrics.iter().find(|x| x.id == of) {
                    Some(x) if matches!(x.def, MetricDef::Column { .. }) => Ok(of),
                    Some(_) => Err(err(format!(
                        "`of: {of}` is itself an aggregate; aggregate a `source` metric"
                    ))),
                    None => Err(err(format!(
                        "`of: {of}` is not a metric defined above it; known: {}",
                        metrics
                            .iter()
                            .map(|x| x.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))),
                }
            };
            let (def, scope) = match (&f.source, f.aggregate.as_deref()) {
                (Some(source), None) => {
                    if f.of.is_some() || f.n.is_some() || f.min.is_some() {
                        return Err(err(
                            "`of`, `n` and `min` belong to aggregates, not to `source` metrics"
                                .into(),
                        ));
                    }
                    if sources.get(source).is_none() {
                        return Err(err(format!(
                            "source `{source}` is not in {}",
                            sources.path.display()
                        )));
                    }
                    let column = f.column.ok_or_else(|| {
                        err("`column` is required: value, change_pct, share_pct, rank or per_capita".into())
                    })?;
                    (
                        MetricDef::Column {
                            source: source.clone(),
                            column,
                        },
                        Scope::Country,
                    )
                }
                (None, Some("top_n_average")) => {
                    let n = f.n.filter(|n| *n > 0).ok_or_else(|| {
                        err("`top_n_average` needs `n`, a whole number above 0".into())
                    })?;
                    (
                        MetricDef::TopNAverage {
                            of: known_metric(&f.of)?,
                            n,
                        },
                        Scope::Region,
                    )
                }
                (None, Some("count_at_least")) => {
                    let min = f
                        .min
                        .ok_or_else(|| err("`count_at_least` needs `min`".into()))?;
                    (
                        MetricDef::CountAtLeast {
                            of: known_metric(&f.of)?,
                            min,
                        },
                        Scope::Global,
                    )
                }
                (None, Some("sum")) => (
                    MetricDef::Sum {
                        of: known_metric(&f.of)?,
                    },
                    Scope::Global,
                ),
                (None, Some(other)) => {
                    return Err(err(format!(
                        "unknown aggregate `{other}`; use top_n_average, count_at_least or sum"
                    )))
                }
                (Some(_), Some(_)) => {
                    return Err(err("give either `source` or `aggregate`, not both".into()))
                }
                (None, None) => {
                    return Err(err(
                        "`from` needs `source` and `column`, or `aggregate` and `of`".into(),
                    ))
                }
            };
            if matches!(def, MetricDef::Column { .. }) && f.column.is_none() {
                return Err(err("`column` is required".into()));
            }
            metrics.push(Metric {
                id: m.id,
                label: m.label,
                unit: m.unit,
                format: m.format,
                higher_is_better: m.higher_is_better,
                scope,
                def,
            });
        }
        if let Some(problem) = file.completeness.problem() {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                line: text
                    .lines()
                    .position(|l| l.starts_with("completeness"))
                    .map(|i| i + 1),
                message: problem,
            });
        }
        Ok(Metrics {
            path: path.to_path_buf(),
            metrics,
            completeness: file.completeness,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricsFile {
    #[serde(default)]
    completeness: crate::config::Completeness,
    metrics: Vec<MetricFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricFile {
    id: String,
    label: Text,
    unit: String,
    format: Format,
    #[serde(default = "yes")]
    higher_is_better: bool,
    from: FromFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FromFile {
    source: Option<String>,
    column: Option<Column>,
    aggregate: Option<String>,
    of: Option<String>,
    n: Option<u32>,
    min: Option<f64>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PipelineCheck {
    /// The newest run failed after the current snapshot was published.
    FailedRun,
    /// The current snapshot was loaded more than `older_than_days` ago.
    Stale,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Fall,
    Rise,
}

/// A rule's kind with its parameters, validated.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Threshold {
        limit: f64,
        above: bool,
        crossing: bool,
    },
    Change {
        direction: Direction,
        percent: f64,
    },
    Anomaly {
        z: f64,
        window: u32,
        min_points: u32,
    },
    RankChange {
        moved_at_least: Option<u32>,
        top: Option<u32>,
    },
    Absence,
    DataQuality {
        reject_rate_above: f64,
    },
    Pipeline {
        check: PipelineCheck,
        older_than_days: u32,
    },
    Revision {
        baseline: String,
        percent: f64,
        period: Option<i32>,
    },
    /// `kind: revision` with `baseline: previous_run`: the same source's values revised since the
    /// previous published run (the snapshot's `revisions` table), any period.
    RunRevision {
        percent: f64,
    },
    /// A value the previous published run had and this one has not: a data issue, never a fall.
    Withdrawn,
}

impl Kind {
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Threshold { .. } => "threshold",
            Kind::Change { .. } => "change",
            Kind::Anomaly { .. } => "anomaly",
            Kind::RankChange { .. } => "rank_change",
            Kind::Absence => "absence",
            Kind::DataQuality { .. } => "data_quality",
            Kind::Pipeline { .. } => "pipeline",
            Kind::Revision { .. } | Kind::RunRevision { .. } => "revision",
            Kind::Withdrawn => "withdrawn",
        }
    }

    /// The `{placeholders}` a template of this kind can use.
    pub fn placeholders(&self) -> Vec<&'static str> {
        // Every metric-based kind knows the entity, the period and the value.
        const ENTITY: [&str; 7] = [
            "name",
            "code",
            "region",
            "period",
            "period_next",
            "value",
            "metric",
        ];
        let (entity, extra): (bool, &[&str]) = match self {
            Kind::Threshold { .. } => (true, &["limit", "previous", "previous_period"]),
            Kind::Change { .. } => (true, &["previous", "previous_period", "change", "limit"]),
            Kind::Anomaly { .. } => (
                true,
                &[
                    "previous",
                    "previous_period",
                    "change",
                    "z",
                    "mean_change",
                    "window",
                ],
            ),
            Kind::RankChange { .. } => (
                true,
                &["rank", "previous_rank", "moved", "top", "previous_period"],
            ),
            // No value for the period: that is what is missing.
            Kind::Absence => (true, &["previous", "previous_period"]),
            Kind::DataQuality { .. } => (
                false,
                &["source", "rejected", "rows", "reject_rate", "limit"],
            ),
            Kind::Pipeline { .. } => (false, &["run", "stage", "error", "age_days", "limit"]),
            Kind::Revision { .. } | Kind::RunRevision { .. } => {
                (true, &["baseline", "baseline_value", "revised_by", "limit"])
            }
            Kind::Withdrawn => (true, &["previous", "previous_period", "baseline"]),
        };
        let mut out: Vec<&'static str> = if entity { ENTITY.to_vec() } else { Vec::new() };
        if matches!(self, Kind::Absence | Kind::Withdrawn) {
            out.retain(|p| *p != "value");
        }
        out.extend_from_slice(extra);
        out
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guards {
    /// The metric's value at the period (for `absence`, at the previous period) is at least this.
    pub min_value: Option<f64>,
    /// The entity's rank at the period is this or better (rank_change rules).
    pub max_rank: Option<u32>,
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub countries: Vec<String>,
}

/// Who an action is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerRef {
    /// A key of `owners`.
    Team(String),
    /// The desk of the alert's region (`region_desks`).
    RegionDesk,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActionTemplate {
    pub text: Text,
    pub owner: OwnerRef,
    pub due_days: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: String,
    /// What the rule watches, in a few words (filters, lists).
    pub name: Text,
    pub title: Text,
    pub explain: Option<Text>,
    pub kind: Kind,
    pub metric: String,
    pub severity: Severity,
    pub guards: Guards,
    pub auto_resolve: bool,
    pub actions: Vec<ActionTemplate>,
    /// Where the rule starts in its file, for messages.
    pub line: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct Rules {
    pub path: PathBuf,
    pub rules: Vec<Rule>,
    pub severity_weights: BTreeMap<Severity, f64>,
    pub owners: BTreeMap<String, Text>,
    pub region_desks: BTreeMap<String, String>,
    /// sha256 of the file's text: evaluations remember which rules produced them.
    pub digest: String,
}

impl Rules {
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    pub fn weight(&self, severity: Severity) -> f64 {
        self.severity_weights.get(&severity).copied().unwrap_or(1.0)
    }

    /// The owner key for an action of an alert in `region`.
    pub fn owner_key<'a>(&'a self, owner: &'a OwnerRef, region: Option<&str>) -> &'a str {
        match owner {
            OwnerRef::Team(key) => key,
            OwnerRef::RegionDesk => region
                .and_then(|r| self.region_desks.get(r))
                .or_else(|| self.region_desks.get("default"))
                .map_or("strategy_team", String::as_str),
        }
    }

    pub fn load(path: &Path, metrics: &Metrics) -> Result<Self, ConfigError> {
        let text = read(path)?;
        Self::parse(&text, path, metrics)
    }

    pub fn parse(text: &str, path: &Path, metrics: &Metrics) -> Result<Self, ConfigError> {
        let file: RulesFile = parse_yaml(text, path)?;
        let file_err = |key: &str, message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            line: key_line(text, 0, key),
            message,
        };
        let mut severity_weights = BTreeMap::new();
        for (name, weight) in &file.severity_weights {
            let severity = Severity::parse(name).ok_or_else(|| {
                file_err(
                    "severity_weights",
                    format!(
                        "severity_weights: unknown severity `{name}`; use critical, high, medium, low"
                    ),
                )
            })?;
            if !(weight.is_finite() && *weight > 0.0) {
                return Err(file_err(
                    "severity_weights",
                    format!("severity_weights.{name} is {weight}; use a number above 0"),
                ));
            }
            severity_weights.insert(severity, *weight);
        }
        for severity in Severity::ALL {
            if !severity_weights.contains_key(&severity) {
                return Err(file_err(
                    "severity_weights",
                    format!(
                        "severity_weights needs a weight for `{}`",
                        severity.as_str()
                    ),
                ));
            }
        }
        for (region, desk) in &file.region_desks {
            if !file.owners.contains_key(desk) {
                return Err(file_err(
                    "region_desks",
                    format!("region_desks.{region}: `{desk}` is not a key of `owners`"),
                ));
            }
        }

        let mut seen = HashSet::new();
        let mut rules = Vec::new();
        for r in file.rules {
            let start = item_line(text, &r.id);
            let at = |key: &str, message: String| ConfigError::Invalid {
                path: path.to_path_buf(),
                line: start.and_then(|s| key_line(text, s - 1, key)).or(start),
                message: format!("rule `{}`: {message}", r.id),
            };
            check_id(&r.id).map_err(|m| at("id", m))?;
            if !seen.insert(r.id.clone()) {
                return Err(at("id", "this id is used twice".into()));
            }
            let metric = metrics.get(&r.metric).ok_or_else(|| {
                at(
                    "metric",
                    format!(
                        "metric `{}` is not in {}; known: {}",
                        r.metric,
                        metrics.path.display(),
                        metrics
                            .metrics
                            .iter()
                            .map(|m| m.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?;
            let kind = build_kind(&r, metric, metrics).map_err(|(key, m)| at(key, m))?;
            if let Some(min) = r.guards.min_value {
                if !min.is_finite() {
                    return Err(at("min_value", "guards.min_value must be a number".into()));
                }
            }
            let placeholders = &kind.placeholders();
            let check_text = |key: &str, text: &Text| -> Result<(), ConfigError> {
                for lang_text in [&text.en, &text.ko] {
                    check_template(lang_text, placeholders).map_err(|m| at(key, m))?;
                }
                Ok(())
            };
            check_text("title", &r.title)?;
            if let Some(explain) = &r.explain {
                check_text("explain", explain)?;
            }
            if r.actions.is_empty() {
                return Err(at(
                    "actions",
                    "give at least one action: a data product must lead to an action".into(),
                ));
            }
            let mut actions = Vec::new();
            for a in &r.actions {
                check_text("do", &a.text)?;
                let owner = if a.owner == "region_desk" {
                    OwnerRef::RegionDesk
                } else if file.owners.contains_key(&a.owner) {
                    OwnerRef::Team(a.owner.clone())
                } else {
                    return Err(at(
                        "owner",
                        format!(
                            "owner `{}` is not a key of `owners` (nor `region_desk`); known: {}",
                            a.owner,
                            file.owners.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                };
                actions.push(ActionTemplate {
                    text: a.text.clone(),
                    owner,
                    due_days: a.due_days,
                });
            }
            rules.push(Rule {
                id: r.id.clone(),
                name: r.name.clone(),
                title: r.title.clone(),
                explain: r.explain.clone(),
                kind,
                metric: r.metric.clone(),
                severity: r.severity,
                guards: r.guards.clone(),
                auto_resolve: r.auto_resolve,
                actions,
                line: start,
            });
        }
        Ok(Rules {
            path: path.to_path_buf(),
            rules,
            severity_weights,
            owners: file.owners,
            region_desks: file.region_desks,
            digest: crate::base::files::sha256_hex(text.as_bytes()),
        })
    }
}

type KeyedError = (&'static str, String);

/// `baseline:` of a revision rule comparing a source's runs rather than two editions.
pub const PREVIOUS_RUN: &str = "previous_run";

fn build_kind(r: &RuleFile, metric: &Metric, metrics: &Metrics) -> Result<Kind, KeyedError> {
    // Parameters given, so the ones that do not belong to the kind can be named.
    let given: Vec<(&'static str, bool)> = vec![
        ("above", r.above.is_some()),
        ("below", r.below.is_some()),
        ("crossing", r.crossing.is_some()),
        ("fall_at_least", r.fall_at_least.is_some()),
        ("rise_at_least", r.rise_at_least.is_some()),
        ("z_at_least", r.z_at_least.is_some()),
        ("window", r.window.is_some()),
        ("min_points", r.min_points.is_some()),
        ("moved_at_least", r.moved_at_least.is_some()),
        ("top", r.top.is_some()),
        ("reject_rate_above", r.reject_rate_above.is_some()),
        ("check", r.check.is_some()),
        ("older_than_days", r.older_than_days.is_some()),
        ("baseline", r.baseline.is_some()),
        ("revised_by_at_least", r.revised_by_at_least.is_some()),
        ("period", r.period.is_some()),
    ];
    let allowed: &[&str] = match r.kind.as_str() {
        "threshold" => &["above", "below", "crossing"],
        "change" => &["fall_at_least", "rise_at_least"],
        "anomaly" => &["z_at_least", "window", "min_points"],
        "rank_change" => &["moved_at_least", "top"],
        "absence" => &[],
        "data_quality" => &["reject_rate_above"],
        "pipeline" => &["check", "older_than_days"],
        "revision" => &["baseline", "revised_by_at_least", "period"],
        "withdrawn" => &[],
        other => {
            return Err((
                "kind",
                format!(
                    "unknown kind `{other}`; use threshold, change, anomaly, rank_change, absence, \
                     data_quality, pipeline, revision or withdrawn"
                ),
            ))
        }
    };
    if let Some((key, _)) = given
        .iter()
        .find(|(key, set)| *set && !allowed.contains(key))
    {
        return Err((
            key,
            format!(
                "`{key}` does not apply to `{}` rules; they take: {}",
                r.kind,
                if allowed.is_empty() {
                    "no parameters".to_string()
                } else {
                    allowed.join(", ")
                }
            ),
        ));
    }
    let positive = |key: &'static str, v: f64| -> Result<f64, KeyedError> {
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err((key, format!("`{key}` is {v}; use a number above 0")))
        }
    };
    let series_metric = |what: &str| -> Result<(), KeyedError> {
        if metric.scope == Scope::Global && matches!(r.kind.as_str(), "rank_change") {
            return Err(("metric", format!("{what} needs a per-country metric")));
        }
        Ok(())
    };
    Ok(match r.kind.as_str() {
        "threshold" => {
            let (limit, above) = match (r.above, r.below) {
                (Some(v), None) => (v, true),
                (None, Some(v)) => (v, false),
                _ => {
                    return Err((
                        "kind",
                        "a threshold rule needs exactly one of `above` or `below`".into(),
                    ))
                }
            };
            if !limit.is_finite() {
                return Err(("above", "the limit must be a number".into()));
            }
            Kind::Threshold {
                limit,
                above,
                crossing: r.crossing.unwrap_or(false),
            }
        }
        "change" => {
            match (r.fall_at_least, r.rise_at_least) {
                (Some(p), None) => Kind::Change {
                    direction: Direction::Fall,
                    percent: positive("fall_at_least", p)?,
                },
                (None, Some(p)) => Kind::Change {
                    direction: Direction::Rise,
                    percent: positive("rise_at_least", p)?,
                },
                _ => return Err((
                    "kind",
                    "a change rule needs exactly one of `fall_at_least` or `rise_at_least` (in %)"
                        .into(),
                )),
            }
        }
        "anomaly" => {
            let window = r.window.unwrap_or(10);
            let min_points = r.min_points.unwrap_or(5);
            if window < 3 {
                return Err(("window", "`window` must be at least 3 changes".into()));
            }
            if min_points < 3 || min_points > window {
                return Err((
                    "min_points",
                    format!("`min_points` must be between 3 and the window ({window})"),
                ));
            }
            Kind::Anomaly {
                z: positive("z_at_least", r.z_at_least.unwrap_or(3.0))?,
                window,
                min_points,
            }
        }
        "rank_change" => {
            series_metric("rank_change")?;
            if !matches!(
                metric.def,
                MetricDef::Column {
                    column: Column::Rank,
                    ..
                }
            ) {
                return Err((
                    "metric",
                    format!(
                        "rank_change needs a rank metric (`column: rank`); `{}` is not one",
                        metric.id
                    ),
                ));
            }
            if r.moved_at_least.is_none() && r.top.is_none() {
                return Err((
                    "kind",
                    "a rank_change rule needs `moved_at_least`, `top`, or both".into(),
                ));
            }
            if r.moved_at_least == Some(0) || r.top == Some(0) {
                return Err(("top", "`moved_at_least` and `top` must be above 0".into()));
            }
            Kind::RankChange {
                moved_at_least: r.moved_at_least,
                top: r.top,
            }
        }
        "absence" => Kind::Absence,
        "data_quality" => {
            let rate = r.reject_rate_above.unwrap_or(0.0);
            if !(0.0..1.0).contains(&rate) {
                return Err((
                    "reject_rate_above",
                    format!("`reject_rate_above` is {rate}; use a fraction from 0 to below 1"),
                ));
            }
            Kind::DataQuality {
                reject_rate_above: rate,
            }
        }
        "pipeline" => {
            let check = r.check.ok_or((
                "check",
                "a pipeline rule needs `check: failed_run` or `check: stale`".to_string(),
            ))?;
            if check == PipelineCheck::Stale && r.older_than_days.unwrap_or(0) == 0 {
                return Err((
                    "older_than_days",
                    "`check: stale` needs `older_than_days` above 0".into(),
                ));
            }
            Kind::Pipeline {
                check,
                older_than_days: r.older_than_days.unwrap_or(0),
            }
        }
        "revision" | "withdrawn"
            if r.kind == "withdrawn" || r.baseline.as_deref() == Some(PREVIOUS_RUN) =>
        {
            // Between runs of one source: the metric must be a source's values.
            if !matches!(
                metric.def,
                MetricDef::Column {
                    column: Column::Value,
                    ..
                }
            ) {
                return Err((
                    "metric",
                    format!(
                        "`{}` rules between runs compare a source's values: use a metric with `column: value`",
                        r.kind
                    ),
                ));
            }
            if r.kind == "withdrawn" {
                Kind::Withdrawn
            } else {
                if r.period.is_some() {
                    return Err((
                        "period",
                        "`baseline: previous_run` compares every period the runs share; remove `period`".into(),
                    ));
                }
                Kind::RunRevision {
                    percent: positive("revised_by_at_least", r.revised_by_at_least.unwrap_or(0.0))?,
                }
            }
        }
        "revision" => {
            let baseline = r.baseline.clone().ok_or((
                "baseline",
                "a revision rule needs `baseline: METRIC` (the earlier edition) or `baseline: previous_run` (the same source's previous published run)".to_string(),
            ))?;
            let base = metrics.get(&baseline).ok_or_else(|| {
                (
                    "baseline",
                    format!("baseline `{baseline}` is not in {}", metrics.path.display()),
                )
            })?;
            if base.id == metric.id {
                return Err((
                    "baseline",
                    "the baseline must be another edition than `metric`".into(),
                ));
            }
            if base.scope != Scope::Country || metric.scope != Scope::Country {
                return Err((
                    "baseline",
                    "revision compares two per-country metrics".into(),
                ));
            }
            Kind::Revision {
                baseline,
                percent: positive("revised_by_at_least", r.revised_by_at_least.unwrap_or(0.0))?,
                period: r.period,
            }
        }
        _ => unreachable!("kinds are matched above"),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    severity_weights: BTreeMap<String, f64>,
    owners: BTreeMap<String, Text>,
    #[serde(default)]
    region_desks: BTreeMap<String, String>,
    rules: Vec<RuleFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    id: String,
    name: Text,
    title: Text,
    explain: Option<Text>,
    kind: String,
    metric: String,
    severity: Severity,
    #[serde(default)]
    guards: Guards,
    #[serde(default)]
    auto_resolve: bool,
    #[serde(default)]
    actions: Vec<ActionFile>,
    above: Option<f64>,
    below: Option<f64>,
    crossing: Option<bool>,
    fall_at_least: Option<f64>,
    rise_at_least: Option<f64>,
    z_at_least: Option<f64>,
    window: Option<u32>,
    min_points: Option<u32>,
    moved_at_least: Option<u32>,
    top: Option<u32>,
    reject_rate_above: Option<f64>,
    check: Option<PipelineCheck>,
    older_than_days: Option<u32>,
    baseline: Option<String>,
    revised_by_at_least: Option<f64>,
    period: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionFile {
    #[serde(rename = "do")]
    text: Text,
    owner: String,
    due_days: u32,
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn parse_yaml<T: serde::de::DeserializeOwned>(text: &str, path: &Path) -> Result<T, ConfigError> {
    serde_yaml_ng::from_str(text).map_err(|e| ConfigError::Invalid {
        path: path.to_path_buf(),
        line: e.location().map(|l| l.line()),
        message: e.to_string(),
    })
}

fn check_id(id: &str) -> Result<(), String> {
    if !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        Ok(())
    } else {
        Err("ids use lowercase letters, digits and '_' only".into())
    }
}

/// Checks that every `{placeholder}` of `template` is one of `known`, and that braces pair up.
pub fn check_template(template: &str, known: &[&str]) -> Result<(), String> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("template `{template}` has a `{{` without a closing `}}`"))?;
        let name = &after[..close];
        if !known.contains(&name) {
            return Err(format!(
                "template `{template}` uses `{{{name}}}`, which this kind of rule does not have; it has: {}",
                known.join(", ")
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

/// The 1-based line of the list item `- id: ID`.
fn item_line(text: &str, id: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            let line = line.trim_start();
            line.strip_prefix("- id:")
                .map(|rest| rest.trim().trim_matches(['"', '\'']) == id)
                .unwrap_or(false)
        })
        .map(|i| i + 1)
}

/// The 1-based line of `key:` from line index `from` to the next list item.
fn key_line(text: &str, from: usize, key: &str) -> Option<usize> {
    let pattern = format!("{key}:");
    for (i, line) in text.lines().enumerate().skip(from) {
        let trimmed = line.trim_start();
        if i > from && trimmed.starts_with("- id:") {
            return None;
        }
        let body = trimmed.trim_start_matches("- ");
        if body.starts_with(&pattern)
            || line.contains(&format!(" {pattern}"))
            || line.contains(&format!("{{ {pattern}"))
        {
            return Some(i + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources() -> Sources {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        Sources::load(&root.join("config/sources.yml"), Path::new("/m")).unwrap()
    }

    fn metrics() -> Metrics {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        Metrics::load(&root.join("config/metrics.yml"), &sources()).unwrap()
    }

    fn default_rules_text() -> String {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        std::fs::read_to_string(root.join("config/rules.yml")).unwrap()
    }

    fn parse_rules(text: &str) -> Result<Rules, String> {
        Rules::parse(text, Path::new("config/rules.yml"), &metrics()).map_err(|e| e.to_string())
    }

    #[test]
    fn the_default_files_are_valid() {
        let m = metrics();
        assert!(m.get("gdp").is_some());
        assert_eq!(m.get("region_top5_average").unwrap().scope, Scope::Region);
        assert_eq!(m.source_of(m.get("world_gdp").unwrap()), Some("wb_gdp"));
        let rules = parse_rules(&default_rules_text()).unwrap();
        for kind in [
            "threshold",
            "change",
            "anomaly",
            "rank_change",
            "absence",
            "data_quality",
            "pipeline",
            "revision",
        ] {
            assert!(
                rules.rules.iter().any(|r| r.kind.name() == kind),
                "the default rules have no `{kind}` rule"
            );
        }
    }

    #[test]
    fn an_unknown_metric_is_named_with_the_rule_line() {
        let text = default_rules_text().replacen("metric: gdp\n", "metric: gpd\n", 1);
        let err = parse_rules(&text).unwrap_err();
        let line = text
            .lines()
            .position(|l| l.contains("metric: gpd"))
            .unwrap()
            + 1;
        assert!(
            err.starts_with(&format!("config/rules.yml, line {line}: rule `gdp_fall`")),
            "{err}"
        );
        assert!(err.contains("metric `gpd` is not in"), "{err}");
    }

    #[test]
    fn a_parameter_of_another_kind_is_refused() {
        let text =
            default_rules_text().replacen("fall_at_least: 5", "fall_at_least: 5\n    window: 3", 1);
        let err = parse_rules(&text).unwrap_err();
        let line = text.lines().position(|l| l.contains("window: 3")).unwrap() + 1;
        assert!(err.contains(&format!("line {line}")), "{err}");
        assert!(
            err.contains("`window` does not apply to `change` rules"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_placeholder_is_refused() {
        let text = default_rules_text().replacen("{change} YoY", "{chnge} YoY", 1);
        let err = parse_rules(&text).unwrap_err();
        assert!(err.contains("uses `{chnge}`"), "{err}");
        assert!(err.contains("it has: name, code"), "{err}");
    }

    #[test]
    fn syntax_errors_and_unknown_keys_give_the_line() {
        let text = default_rules_text().replacen(
            "    severity: high\n",
            "    severity: high\n    colour: red\n",
            1,
        );
        let err = parse_rules(&text).unwrap_err();
        let line = text
            .lines()
            .position(|l| l.contains("colour: red"))
            .unwrap()
            + 1;
        assert!(err.contains(&format!("line {line}")), "{err}");
        assert!(err.contains("unknown field `colour`"), "{err}");

        let err = parse_rules("rules: [").unwrap_err();
        assert!(err.starts_with("config/rules.yml, line 2"), "{err}");
    }

    #[test]
    fn bad_values_are_explained() {
        let cases = [
            (
                "fall_at_least: 5",
                "fall_at_least: -5",
                "use a number above 0",
            ),
            (
                "owner: treasury",
                "owner: finance",
                "owner `finance` is not a key of `owners`",
            ),
            (
                "severity: high",
                "severity: urgent",
                "unknown variant `urgent`",
            ),
            ("kind: absence", "kind: absense", "unknown kind `absense`"),
            (
                "metric: gdp_rank\n    top: 10",
                "metric: gdp\n    top: 10",
                "needs a rank metric",
            ),
            (
                "baseline: imf_gdp_2024oct",
                "baseline: imf_gdp_2026apr",
                "another edition",
            ),
        ];
        for (from, to, expected) in cases {
            let text = default_rules_text().replacen(from, to, 1);
            assert_ne!(text, default_rules_text(), "{from}");
            let err = parse_rules(&text).unwrap_err();
            assert!(err.contains(expected), "{from} → {to}: {err}");
            assert!(err.contains(", line "), "{err}");
        }
    }

    #[test]
    fn metric_errors_name_the_metric() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let text = std::fs::read_to_string(root.join("config/metrics.yml")).unwrap();
        let bad = text.replacen(
            "source: wb_gdp, column: value",
            "source: wb_gpd, column: value",
            1,
        );
        let err = Metrics::parse(&bad, Path::new("config/metrics.yml"), &sources())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("metric `gdp`: source `wb_gpd` is not in"),
            "{err}"
        );
        assert!(err.contains("line 14"), "{err}");

        let bad = text.replacen("of: gdp, n: 5", "of: region_top5_average, n: 5", 1);
        let err = Metrics::parse(&bad, Path::new("config/metrics.yml"), &sources())
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a metric defined above it"), "{err}");
    }

    #[test]
    fn templates_check_braces() {
        assert!(check_template("{name} {value}", &["name", "value"]).is_ok());
        assert!(check_template("{name", &["name"])
            .unwrap_err()
            .contains("without a closing"));
        assert!(check_template("{x}", &["name"]).is_err());
    }
}

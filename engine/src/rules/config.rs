//! `config/rules.yml`: serde types mirroring the file, built and validated into [`Rules`]. A
//! rule's common fields are read here; its `kind:` and the kind's parameters by the kind's
//! module ([`super::kinds`]), which refuses a field it does not take. Every error names the file,
//! the line and what to change.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml_ng::{Mapping, Value};

use super::guards::Guards;
use super::kinds::{registry, Build, Kind, KindParams};
use super::metrics::Metrics;
use super::sql::{Periods, Query};
use super::yaml::{check_id, check_template, field_names, item_line, key_line, parse_yaml, read};
use crate::base::sql::Dialect;
use crate::config::ConfigError;

pub use display::alert::{Scope, Severity};
pub use display::Text;

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
    /// Above this share of the entities it looked at (in %, 0–100), the rule's alerts send no
    /// notifications and one notice is raised instead (its own `max_fire_share`, else the
    /// file's, else [`DEFAULT_MAX_FIRE_SHARE`]).
    pub max_fire_share: f64,
    /// Where the rule starts in its file, for messages.
    pub line: Option<usize>,
}

impl Rule {
    /// The rule's query in `d`'s dialect: one row per firing (entity, period). `None` for kinds
    /// that read no metric (data quality, pipeline) and for those without a form in `d` (the
    /// changes between runs read the snapshot's `revisions`, which the lake does not carry).
    pub fn sql(&self, d: Dialect, metrics: &Metrics, periods: Periods) -> Option<String> {
        let metric = metrics.get(&self.metric)?;
        self.kind.get().sql(&Query {
            d,
            metrics,
            metric,
            guards: &self.guards,
            periods,
            counting: None,
        })
    }

    /// The rule's DuckDB query at `period` with the entities of that period and the one before
    /// counted by its own join of the two ([`super::entities::counted_rule_sql`]); `None` when
    /// its kind does not join them (its entities are then counted on their own).
    pub(crate) fn counted_sql(&self, metrics: &Metrics, period: i32) -> Option<String> {
        let metric = metrics.get(&self.metric)?;
        let pair = std::cell::RefCell::new(None);
        self.kind.get().sql(&Query {
            d: Dialect::DuckDb,
            metrics,
            metric,
            guards: &self.guards,
            periods: Periods::At(period),
            counting: Some(&pair),
        })?;
        let pair = pair.into_inner()?;
        Some(super::entities::counted_rule_sql(
            metrics, metric, period, &pair,
        ))
    }
}

/// The share of entities (in %) above which a rule's firings are held back when neither the rule
/// nor the file's top-level `max_fire_share` says otherwise.
pub const DEFAULT_MAX_FIRE_SHARE: f64 = 20.0;

/// A `max_fire_share` as written, checked: a percent from 0 to 100.
fn check_fire_share(value: f64) -> Result<f64, String> {
    if value.is_finite() && (0.0..=100.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "max_fire_share is {value}; give a percent of entities from 0 to 100 (20 means 20 %)"
        ))
    }
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

        let default_fire_share = match file.max_fire_share {
            Some(v) => check_fire_share(v).map_err(|m| file_err("max_fire_share", m))?,
            None => DEFAULT_MAX_FIRE_SHARE,
        };
        let mut seen = HashSet::new();
        let mut rules = Vec::new();
        for item in file.rules {
            let id = item
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let start = item_line(text, &id);
            let at = |key: &str, message: String| ConfigError::Invalid {
                path: path.to_path_buf(),
                line: start.and_then(|s| key_line(text, s - 1, key)).or(start),
                message: format!("rule `{id}`: {message}"),
            };
            let (r, params) = split_rule(item).map_err(|(key, m)| at(&key, m))?;
            check_id(&r.id).map_err(|e| at("id", e.to_string()))?;
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
            let kind = kind_params(params)
                .map_err(|(key, m)| at(&key, m))?
                .build(&Build { metric, metrics })
                .map_err(|e| at(e.key, e.message))?;
            if let Some(min) = r.guards.min_value {
                if !min.is_finite() {
                    return Err(at("min_value", "guards.min_value must be a number".into()));
                }
            }
            let max_fire_share = match r.max_fire_share {
                Some(v) => check_fire_share(v).map_err(|m| at("max_fire_share", m))?,
                None => default_fire_share,
            };
            let placeholders = &kind.placeholders();
            let check_text = |key: &str, text: &Text| -> Result<(), ConfigError> {
                for lang_text in [&text.en, &text.ko] {
                    check_template(lang_text, placeholders).map_err(|e| at(key, e.to_string()))?;
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
                id: r.id,
                name: r.name,
                title: r.title,
                explain: r.explain,
                kind,
                metric: r.metric,
                severity: r.severity,
                guards: r.guards,
                auto_resolve: r.auto_resolve,
                actions,
                max_fire_share,
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

/// A key of a rule (for the line) and what is wrong with it.
type KeyedError = (String, String);

/// The first key on a serde error's path, if any.
fn key_of<E>(e: &serde_path_to_error::Error<E>) -> String {
    match e.path().iter().next() {
        Some(serde_path_to_error::Segment::Map { key }) => key.clone(),
        _ => "kind".to_string(),
    }
}

/// A rule's common fields, and the rest (`kind:` and the kind's parameters).
fn split_rule(item: Mapping) -> Result<(RuleFile, Mapping), KeyedError> {
    let common_fields = field_names::<RuleFile>();
    let (mut common, mut params) = (Mapping::new(), Mapping::new());
    for (key, value) in item {
        if key.as_str().is_some_and(|k| common_fields.contains(&k)) {
            common.insert(key, value);
        } else {
            params.insert(key, value);
        }
    }
    let rule = serde_path_to_error::deserialize(Value::Mapping(common))
        .map_err(|e| (key_of(&e), e.into_inner().to_string()))?;
    Ok((rule, params))
}

/// `kind:` and its parameters, read by the kind: a field of another kind, or of none, is named.
fn kind_params(params: Mapping) -> Result<KindParams, KeyedError> {
    let kinds = registry();
    let names: Vec<&str> = kinds.iter().map(|(name, _)| *name).collect();
    let use_one = format!(
        "use {} or {}",
        names[..names.len() - 1].join(", "),
        names[names.len() - 1]
    );
    let name = match params.get("kind") {
        Some(Value::String(name)) => name.as_str(),
        Some(_) => return Err(("kind".into(), format!("`kind` is not a name; {use_one}"))),
        None => return Err(("kind".into(), format!("missing field `kind`; {use_one}"))),
    };
    let Some((name, fields)) = kinds.iter().find(|(n, _)| *n == name) else {
        return Err(("kind".into(), format!("unknown kind `{name}`; {use_one}")));
    };
    for key in params.keys().filter_map(Value::as_str) {
        if key == "kind" || fields.contains(&key) {
            continue;
        }
        let takes = if fields.is_empty() {
            "no parameters".to_string()
        } else {
            fields.join(", ")
        };
        let message = if kinds.iter().any(|(_, f)| f.contains(&key)) {
            format!("`{key}` does not apply to `{name}` rules; they take: {takes}")
        } else {
            format!(
                "unknown field `{key}`; a rule has {}, and `{name}` rules take: {takes}",
                field_names::<RuleFile>().join(", ")
            )
        };
        return Err((key.to_string(), message));
    }
    serde_yaml_ng::from_value(Value::Mapping(params.clone())).map_err(|e| {
        // The kind's struct is read from a buffer, which keeps no path: the key at fault is
        // the one that fails alone.
        let alone = |key: &Value| {
            let mut one = Mapping::new();
            one.insert("kind".into(), Value::String(name.to_string()));
            one.insert(key.clone(), params[key].clone());
            serde_yaml_ng::from_value::<KindParams>(Value::Mapping(one)).is_err()
        };
        let key = params
            .keys()
            .filter(|k| k.as_str() != Some("kind"))
            .find(|k| alone(k))
            .and_then(Value::as_str)
            .unwrap_or("kind");
        (key.to_string(), e.to_string())
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    severity_weights: BTreeMap<String, f64>,
    owners: BTreeMap<String, Text>,
    #[serde(default)]
    region_desks: BTreeMap<String, String>,
    /// The default of every rule's `max_fire_share`, in %.
    #[serde(default)]
    max_fire_share: Option<f64>,
    rules: Vec<Mapping>,
}

/// The fields every rule has; `kind:` and the kind's parameters are read by [`KindParams`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    id: String,
    name: Text,
    title: Text,
    explain: Option<Text>,
    metric: String,
    severity: Severity,
    #[serde(default)]
    guards: Guards,
    #[serde(default)]
    auto_resolve: bool,
    #[serde(default)]
    actions: Vec<ActionFile>,
    #[serde(default)]
    max_fire_share: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionFile {
    #[serde(rename = "do")]
    text: Text,
    owner: String,
    due_days: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Sources;
    use crate::rules::metrics::Scope;

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
    fn one_generator_writes_both_dialects_of_every_rule() {
        use crate::rules::kinds::Reads;
        let metrics = metrics();
        let rules = parse_rules(&default_rules_text()).unwrap();
        let mut spark_rules = 0;
        for rule in &rules.rules {
            for periods in [Periods::At(2024), Periods::All] {
                let duck = rule.sql(Dialect::DuckDb, &metrics, periods);
                // The DuckDB text is the dialect's (byte for byte what it was before Spark).
                assert_eq!(duck, rule.sql(Dialect::DuckDb, &metrics, periods));
                let spark = rule.sql(Dialect::Spark, &metrics, periods);
                match rule.kind.get().reads() {
                    // They read the snapshot's `revisions`, which the lake does not carry.
                    Reads::BetweenRuns => {
                        assert!(duck.is_some() && spark.is_none(), "{}", rule.id)
                    }
                    Reads::System => {
                        assert!(duck.is_none() && spark.is_none(), "{}", rule.id)
                    }
                    Reads::Periods => {
                        let (duck, spark) = (duck.unwrap(), spark.unwrap());
                        spark_rules += 1;
                        // Spark has no typed bare NULL, no any_value before 3.4, and reads
                        // `''` as two literals.
                        let untyped = spark.replace("CAST(NULL AS DOUBLE)", "");
                        assert!(!untyped.contains("NULL AS"), "{}: {spark}", rule.id);
                        assert!(
                            !spark.contains("any_value(") && !spark.contains("''"),
                            "{spark}"
                        );
                        assert!(!spark.contains("QUALIFY") && !duck.contains("QUALIFY"));
                        // Same structure: only literals and those functions differ.
                        assert_eq!(
                            duck.matches("SELECT").count(),
                            spark.matches("SELECT").count(),
                            "{}",
                            rule.id
                        );
                    }
                }
            }
        }
        assert!(spark_rules >= 16, "{spark_rules}");
    }

    #[test]
    fn max_fire_share_defaults_to_20_and_out_of_range_is_named() {
        let rules = parse_rules(&default_rules_text()).unwrap();
        let surge = rules.get("gdp_surge").unwrap();
        assert_eq!(surge.max_fire_share, DEFAULT_MAX_FIRE_SHARE);
        assert_eq!(DEFAULT_MAX_FIRE_SHARE, 20.0);

        // Per rule, and the file's default for the others.
        let text = default_rules_text()
            .replacen(
                "rise_at_least: 15",
                "rise_at_least: 15\n    max_fire_share: 35",
                1,
            )
            .replacen("\nmax_fire_share: 20\n", "\nmax_fire_share: 10\n", 1);
        let rules = parse_rules(&text).unwrap();
        assert_eq!(rules.get("gdp_surge").unwrap().max_fire_share, 35.0);
        assert_eq!(rules.get("gdp_fall").unwrap().max_fire_share, 10.0);

        for bad in ["150", "-1", ".nan"] {
            let text = default_rules_text().replacen(
                "rise_at_least: 15",
                &format!("rise_at_least: 15\n    max_fire_share: {bad}"),
                1,
            );
            let err = parse_rules(&text).unwrap_err();
            let line = text
                .lines()
                .position(|l| l.trim() == format!("max_fire_share: {bad}"))
                .unwrap()
                + 1;
            assert!(
                err.starts_with(&format!("config/rules.yml, line {line}: rule `gdp_surge`")),
                "{bad}: {err}"
            );
            assert!(err.contains("max_fire_share"), "{bad}: {err}");
        }
        let text =
            default_rules_text().replacen("\nmax_fire_share: 20\n", "\nmax_fire_share: 101\n", 1);
        let err = parse_rules(&text).unwrap_err();
        assert!(err.starts_with("config/rules.yml, line "), "{err}");
        assert!(
            err.contains("max_fire_share is 101; give a percent of entities from 0 to 100"),
            "{err}"
        );
    }

    #[test]
    fn a_parameter_of_the_wrong_type_names_its_line() {
        let text = default_rules_text().replacen("fall_at_least: 5", "fall_at_least: lots", 1);
        let err = parse_rules(&text).unwrap_err();
        let line = text
            .lines()
            .position(|l| l.contains("fall_at_least: lots"))
            .unwrap()
            + 1;
        assert!(err.contains(&format!("line {line}")), "{err}");
        assert!(err.contains("rule `gdp_fall`"), "{err}");
        let text = default_rules_text().replacen("    kind: absence\n", "", 1);
        let err = parse_rules(&text).unwrap_err();
        assert!(
            err.contains("missing field `kind`; use threshold, change"),
            "{err}"
        );
    }

    #[test]
    fn every_kind_is_registered_with_its_parameters() {
        let kinds = crate::rules::kinds::registry();
        let change = kinds.iter().find(|(n, _)| *n == "change").unwrap();
        assert_eq!(change.1, &["fall_at_least", "rise_at_least"]);
        let absence = kinds.iter().find(|(n, _)| *n == "absence").unwrap();
        assert!(absence.1.is_empty());
        assert_eq!(kinds.len(), 9);
    }
}

//! Evaluating rules over a snapshot: each rule's SQL finds what fires, then every finding is
//! rendered into an [`Alert`] (in parallel: findings are independent).

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};

use display::alert::RuleFiring;
use display::Text;
use duckdb::Connection;
use rayon::prelude::*;

use super::alert::{Action, Alert, Vars};
use super::config::{Rule, Rules};
use super::entities::{count_distinct, count_entities, count_from_summary, Span, TwoPeriods};
pub use super::facts::WithdrawnFigure;
use super::facts::{read_snapshot, PipelineFacts, SnapshotFacts};
use super::findings::{rule_findings_counted, rule_periods, series_of};
use super::kinds::{Grouped, Partial, Reads, System, SystemFinding};
use super::metrics::{Metric, Metrics, Scope};
use super::render::{fire_share_notice, per_entity, points_of, system_alert, Batch, Renderer};
use super::sql::{self, Periods};

pub use super::findings::{
    fires_on_partial_periods, latest_period, rule_findings, rule_findings_from, RowSource,
    RuleQuery, RulesError,
};
pub use super::sql::Finding;

/// The alerts of one evaluation, ordered by priority (highest first).
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub run_id: String,
    pub rules_digest: String,
    pub alerts: Vec<Alert>,
    /// Each rule's firing, in the rules file's order (rules that raised nothing included): its
    /// alerts, over how many entities, and whether it was over its `max_fire_share` (then its
    /// alerts are `held_back` from notifications by the merge, and [`Evaluation::alerts`] holds
    /// one notice for it, fingerprint [`fire_share_fingerprint`]).
    pub per_rule: Vec<RuleFiring>,
    /// The periods each metric-based rule was evaluated at. An alert of a period its rule did
    /// not look at this time (an earlier period, once a newer one is complete) stays as it is:
    /// a newer period appearing never clears the alerts of an earlier one. Rules absent here
    /// (pipeline, data quality, rules no longer in the file) may clear any of their alerts.
    pub evaluated_periods: BTreeMap<String, std::collections::BTreeSet<String>>,
    /// Figures withdrawn by their publisher since the previous run: an alert about one of them
    /// that stops firing did not recover, and is not resolved by the merge.
    pub withdrawn: std::collections::BTreeSet<WithdrawnFigure>,
}

impl Evaluation {
    /// Whether an alert that fired before and not in this evaluation may be cleared: only
    /// when its rule looked at its period.
    pub fn may_clear(&self, fingerprint: &str) -> bool {
        let (Some((rule, _)), Some((_, period))) =
            (fingerprint.split_once(':'), fingerprint.rsplit_once(':'))
        else {
            return true;
        };
        self.evaluated_periods
            .get(rule)
            .is_none_or(|periods| periods.contains(period))
    }
}

/// Evaluates every rule against the snapshot behind `conn`.
pub fn evaluate(
    conn: &Connection,
    metrics: &Metrics,
    rules: &Rules,
    facts: &PipelineFacts,
) -> Result<Evaluation, RulesError> {
    evaluate_from(conn, metrics, rules, facts, &RowSource::DuckDb)
}

/// [`evaluate`] with the firing rows of metric-based rules from `source`.
pub fn evaluate_from(
    conn: &Connection,
    metrics: &Metrics,
    rules: &Rules,
    facts: &PipelineFacts,
    source: &RowSource,
) -> Result<Evaluation, RulesError> {
    let snapshot = read_snapshot(conn)?;
    let mut latest: HashMap<&str, (Option<i32>, Vec<i32>)> = HashMap::new();
    let mut alerts = Vec::new();
    let mut per_rule = Vec::new();
    let mut evaluated_periods: BTreeMap<String, std::collections::BTreeSet<String>> =
        BTreeMap::new();
    // Entities with a value of a metric over a span of periods, counted by DuckDB once per span.
    let mut entity_counts: HashMap<(&str, Span), usize> = HashMap::new();
    let mut notices = Vec::new();
    for rule in &rules.rules {
        let before = alerts.len();
        // The periods whose entities the rule looked at (`None`: every period).
        let mut span: Option<Span> = None;
        let metric = metrics
            .get(&rule.metric)
            .expect("rules are validated against the metrics");
        let kind = rule.kind.get();
        match kind.reads() {
            Reads::System => {
                let cx = System {
                    conn,
                    snapshot: &snapshot,
                    facts,
                };
                let found = kind.system(&cx).map_err(|source| RulesError::Query {
                    rule: rule.id.clone(),
                    source,
                })?;
                alerts.extend(
                    found
                        .into_iter()
                        .map(|f| system_alert(rules, rule, &snapshot, f)),
                );
            }
            Reads::BetweenRuns => {
                // Changes between runs are about the data, not a period: a later run without
                // the change never clears them (empty scope); a person closes them.
                evaluated_periods.entry(rule.id.clone()).or_default();
                span = Some(None);
                if snapshot.has_revisions {
                    let found = rule_findings_from(conn, metrics, rule, Periods::All, source)?;
                    let renderer = Renderer::new(rules, rule, metrics, metric, &snapshot);
                    let render =
                        |f: &Finding, batch: Option<&Batch>| renderer.alert(f, Vec::new(), batch);
                    let rendered: Vec<Alert> = if kind.one_alert_per_entity() {
                        per_entity(&found)
                            .par_iter()
                            .map(|(f, batch)| render(f, Some(batch)))
                            .collect()
                    } else {
                        found.par_iter().map(|f| render(f, None)).collect()
                    };
                    alerts.extend(rendered);
                }
            }
            Reads::Periods => {
                let (complete, partial) = match latest.get(metric.id.as_str()) {
                    Some(p) => p.clone(),
                    None => {
                        let p = rule_periods(conn, &snapshot.catalog, metrics, metric).map_err(
                            |source| RulesError::Query {
                                rule: rule.id.clone(),
                                source,
                            },
                        )?;
                        latest.insert(&metric.id, p.clone());
                        p
                    }
                };
                let Some(complete) = complete else {
                    per_rule.push(RuleFiring {
                        rule_id: rule.id.clone(),
                        rule_name: rule.name.clone(),
                        alerts: 0,
                        fired_entities: 0,
                        entities: Some(0),
                        max_fire_share_pct: rule.max_fire_share,
                        held_back: 0,
                    });
                    continue;
                };
                // Editions are compared at the latest period as before; other rules at the
                // latest complete period, and at the partial periods after it when they judge a
                // country's own figures (absence: one grouped notice per partial period).
                let mut plan = vec![(complete, false)];
                for &p in &partial {
                    match kind.partial() {
                        Partial::PerCountry if fires_on_partial_periods(metric, rule) => {
                            plan.push((p, false))
                        }
                        Partial::Grouped => plan.push((p, true)),
                        _ => {}
                    }
                }
                let last = plan.iter().map(|(p, _)| *p).max().unwrap_or(complete);
                // A change or an absence compares with the period before: its entities count.
                let looked_at = Some((complete - 1, last));
                span = Some(looked_at);
                // Counted from the snapshot's summary when it can; else, one period and the one
                // before are counted with the rule's own join of the two when its kind joins
                // them (DuckDB's rows only).
                if let Entry::Vacant(slot) = entity_counts.entry((metric.id.as_str(), looked_at)) {
                    let summarised = count_from_summary(conn, &snapshot.catalog, metric, looked_at)
                        .map_err(|source| RulesError::Query {
                            rule: rule.id.clone(),
                            source,
                        })?;
                    if let Some(n) = summarised {
                        slot.insert(n);
                    }
                }
                let count_here = plan.len() == 1
                    && matches!(source, RowSource::DuckDb)
                    && !entity_counts.contains_key(&(metric.id.as_str(), looked_at));
                for (period, grouped) in plan {
                    evaluated_periods
                        .entry(rule.id.clone())
                        .or_default()
                        .insert(period.to_string());
                    if grouped {
                        alerts.extend(grouped_notice(
                            conn, metrics, rules, rule, metric, &snapshot, period, source,
                        )?);
                        continue;
                    }
                    let (raised, counts) = evaluate_at(
                        conn, metrics, rules, rule, metric, &snapshot, period, source, count_here,
                    )?;
                    alerts.extend(raised);
                    if let Some(counts) = counts {
                        let n = match counts.entities() {
                            Some(n) => n,
                            None => count_distinct(conn, metrics, metric, looked_at).map_err(
                                |source| RulesError::Query {
                                    rule: rule.id.clone(),
                                    source,
                                },
                            )?,
                        };
                        entity_counts.insert((metric.id.as_str(), looked_at), n);
                    }
                }
            }
        }
        let entities = match span {
            None => None,
            Some(span) => Some(match entity_counts.get(&(metric.id.as_str(), span)) {
                Some(n) => *n,
                None => {
                    let n = count_entities(conn, &snapshot.catalog, metrics, metric, span)
                        .map_err(|source| RulesError::Query {
                            rule: rule.id.clone(),
                            source,
                        })?;
                    entity_counts.insert((metric.id.as_str(), span), n);
                    n
                }
            }),
        };
        let raised = &alerts[before..];
        let fired_entities = raised
            .iter()
            .map(|a| a.entity.as_str())
            .collect::<std::collections::HashSet<_>>()
            .len();
        let mut firing = RuleFiring {
            rule_id: rule.id.clone(),
            rule_name: rule.name.clone(),
            alerts: raised.len(),
            fired_entities,
            entities,
            max_fire_share_pct: rule.max_fire_share,
            held_back: 0,
        };
        if firing.over_limit() {
            firing.held_back = firing.alerts;
            let periods = match evaluated_periods.get(&rule.id) {
                Some(p) if !p.is_empty() => p.iter().cloned().collect::<Vec<_>>().join(", "),
                _ => snapshot.run_id.clone(),
            };
            notices.push(fire_share_notice(
                rules, rule, metric, &snapshot, &firing, &periods,
            ));
        }
        per_rule.push(firing);
    }
    alerts.extend(notices);
    alerts.sort_by(|a, b| {
        b.priority
            .total_cmp(&a.priority)
            .then_with(|| a.fingerprint.cmp(&b.fingerprint))
    });
    Ok(Evaluation {
        run_id: snapshot.run_id,
        rules_digest: rules.digest.clone(),
        alerts,
        per_rule,
        evaluated_periods,
        withdrawn: snapshot.withdrawn,
    })
}

/// The alerts of a metric-based rule at one period; with `count`, and when its kind joins the
/// period with the one before, the counts of their entities taken from that join.
#[allow(clippy::too_many_arguments)]
fn evaluate_at(
    conn: &Connection,
    metrics: &Metrics,
    rules: &Rules,
    rule: &Rule,
    metric: &Metric,
    snapshot: &SnapshotFacts,
    period: i32,
    source: &RowSource,
    count: bool,
) -> Result<(Vec<Alert>, Option<TwoPeriods>), RulesError> {
    let counted = match count {
        true => rule_findings_counted(conn, metrics, rule, period)?,
        false => None,
    };
    let (found, counts) = match counted {
        Some((found, counts)) => (found, Some(counts)),
        None => (
            rule_findings_from(conn, metrics, rule, Periods::At(period), source)?,
            None,
        ),
    };
    // The anomaly rule's input is the entity's history; other kinds' inputs are the
    // finding's own points. The UI draws longer charts from the snapshot (run id).
    let series = match rule.kind.get().history() {
        Some(periods) => series_of(conn, metrics, metric, &found, rule, periods)?,
        None => HashMap::new(),
    };
    let renderer = Renderer::new(rules, rule, metrics, metric, snapshot);
    let alerts = found
        .par_iter()
        .map(|f| {
            let points = series
                .get(&f.entity)
                .cloned()
                .unwrap_or_else(|| points_of(rule, f));
            renderer.alert(f, points, None)
        })
        .collect();
    Ok((alerts, counts))
}

/// The entities that reported the period before a partial `period` and not yet `period`: one
/// notice for all of them, in the kind's words ([`super::kinds::RuleKind::grouped_notice`]).
#[allow(clippy::too_many_arguments)]
fn grouped_notice(
    conn: &Connection,
    metrics: &Metrics,
    rules: &Rules,
    rule: &Rule,
    metric: &Metric,
    snapshot: &SnapshotFacts,
    period: i32,
    source: &RowSource,
) -> Result<Option<Alert>, RulesError> {
    // Every country not yet reporting counts, whatever the per-country guard on its size.
    let mut all = rule.clone();
    all.guards.min_value = None;
    let mut found = rule_findings_from(conn, metrics, &all, Periods::At(period), source)?;
    if found.is_empty() {
        return Ok(None);
    }
    found.sort_by(|a, b| {
        b.prev_value
            .unwrap_or(0.0)
            .total_cmp(&a.prev_value.unwrap_or(0.0))
            .then_with(|| a.entity.cmp(&b.entity))
    });
    let n = found.len();
    let largest: Vec<String> = found
        .iter()
        .take(5)
        .map(|f| f.name.clone().unwrap_or_else(|| f.entity.clone()))
        .collect();
    let source_id = metrics.source_of(metric).unwrap_or_default().to_string();
    let coverage = crate::snapshot::coverage::periods(conn, &snapshot.catalog, &source_id)
        .map_err(|source| RulesError::Query {
            rule: rule.id.clone(),
            source,
        })?
        .into_iter()
        .find(|p| p.year == period);
    let reported = coverage.as_ref().map_or(0, |c| c.countries);
    let reference = coverage
        .as_ref()
        .and_then(|c| c.reference_year)
        .unwrap_or(period - 1);
    let Some(notice) = rule.kind.get().grouped_notice(&Grouped {
        period,
        count: n,
        largest: &largest,
        more: n > largest.len(),
        reported,
        reference,
        metric_label: &metric.label,
    }) else {
        return Ok(None);
    };
    let mut vars = Vars::default();
    vars.same("period", period.to_string());
    let found = SystemFinding {
        entity: "WLD".into(),
        entity_name: "World".into(),
        period: period.to_string(),
        vars,
        values: notice.values,
        source: snapshot.sources.get(&source_id).cloned(),
    };
    let mut alert = system_alert(rules, rule, snapshot, found);
    alert.entity_name = Text::new("World", "세계").en;
    alert.title = notice.title;
    alert.explanation = notice.explanation;
    alert.evidence.metric_label = metric.label.clone();
    alert.scope = Scope::Global;
    let owner = alert
        .actions
        .first()
        .map(|a| (a.owner.clone(), a.owner_label.clone(), a.due_days));
    alert.actions = owner
        .map(|(owner, owner_label, due_days)| {
            vec![Action {
                text: notice.action,
                owner,
                owner_label,
                due_days,
            }]
        })
        .unwrap_or_default();
    Ok(Some(alert))
}

/// Alerts a rule would have raised in every period of the snapshot's history, oldest first.
/// Pipeline and data-quality rules have no history in a snapshot: they give an empty list.
pub fn backtest(
    conn: &Connection,
    metrics: &Metrics,
    rules: &Rules,
    rule_id: &str,
) -> Result<Vec<(i32, usize)>, RulesError> {
    let rule = rules
        .get(rule_id)
        .ok_or_else(|| RulesError::UnknownRule(rule_id.to_string()))?;
    let found = rule_findings(conn, metrics, rule, Periods::All)?;
    let metric = metrics
        .get(&rule.metric)
        .expect("rules are validated against the metrics");
    // Every period of the metric is listed, those with no alert too.
    let periods: Vec<i32> = conn
        .prepare(&format!(
            "SELECT DISTINCT period FROM ({}) ORDER BY period",
            sql::metric_sql(metrics, metric, None)
        ))
        .and_then(|mut stmt| stmt.query_map([], |r| r.get(0))?.collect())
        .map_err(|source| RulesError::Query {
            rule: rule.id.clone(),
            source,
        })?;
    let mut per_period: BTreeMap<i32, usize> = periods.into_iter().map(|p| (p, 0)).collect();
    for f in &found {
        *per_period.entry(f.period).or_default() += 1;
    }
    Ok(per_period.into_iter().collect())
}

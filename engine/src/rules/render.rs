//! Putting findings into words: each alert's title, explanation, actions and evidence in both
//! languages, from its rule's texts (split into parts once per rule) and the snapshot's facts.

use std::collections::BTreeMap;

use display::alert::RuleFiring;
use display::{Format, Text};

use super::alert::{
    fingerprint, fire_share_fingerprint, priority, Action, Alert, Evidence, Point, TextTemplate,
    Vars,
};
use super::config::{Rule, Rules};
use super::facts::SnapshotFacts;
use super::kinds::{Render, SystemFinding};
use super::metrics::{Metric, Metrics, Scope};
use super::sql::Finding;

/// The one notice of a rule that fired for more than its `max_fire_share` of the entities it
/// looked at: a data-quality alert about the rule, which pages those its alerts would have
/// paged (same rule, same severity) while its alerts are held back.
pub(super) fn fire_share_notice(
    rules: &Rules,
    rule: &Rule,
    metric: &Metric,
    snapshot: &SnapshotFacts,
    firing: &RuleFiring,
    periods: &str,
) -> Alert {
    let notice = firing.notice(&rule.id, periods);
    use display::evidence::Quantity;
    let values: BTreeMap<String, f64> = [
        (Quantity::FiredEntities, firing.fired_entities as f64),
        (Quantity::Entities, firing.entities.unwrap_or(0) as f64),
        (Quantity::FireSharePct, firing.share_pct().unwrap_or(0.0)),
        (Quantity::MaxFireSharePct, firing.max_fire_share_pct),
        (Quantity::HeldBack, firing.held_back as f64),
    ]
    .into_iter()
    .map(|(q, v)| (q.name().to_string(), v))
    .collect();
    let owner = rule
        .actions
        .first()
        .map(|a| rules.owner_key(&a.owner, None).to_string())
        .unwrap_or_else(|| "data_team".to_string());
    let owner_label = rules
        .owners
        .get(&owner)
        .cloned()
        .unwrap_or_else(|| Text::new(owner.clone(), owner.clone()));
    let due_days = rule.actions.first().map_or(7, |a| a.due_days);
    Alert {
        fingerprint: fire_share_fingerprint(&rule.id),
        rule_id: rule.id.clone(),
        rule_name: rule.name.clone(),
        kind: super::kinds::data_quality::NAME.into(),
        severity: rule.severity,
        priority: priority(rules.weight(rule.severity), Some(100.0)),
        scope: Scope::Global,
        entity: "WLD".into(),
        entity_name: "World".into(),
        region: None,
        period: periods.to_string(),
        title: notice.title,
        explanation: notice.explanation,
        evidence: Evidence {
            metric: metric.id.clone(),
            metric_label: metric.label.clone(),
            format: Format::Count,
            values,
            series: Vec::new(),
            source: None,
            run_id: snapshot.run_id.clone(),
            projection: false,
            data_issue_reason: None,
        },
        actions: vec![Action {
            text: notice.action,
            owner,
            owner_label,
            due_days,
        }],
        data_issue: true,
        auto_resolve: true,
    }
}

/// The periods one change between runs touched for one entity
/// ([`super::kinds::RuleKind::one_alert_per_entity`]).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Batch {
    /// The periods as people read them: `2023–2025`, `2019, 2023–2025`.
    periods: String,
    /// Each period's change in %, oldest first.
    changes: Vec<(i32, f64)>,
}

/// The findings of each entity as one batch, represented by its largest change (the figures
/// the title quotes). Findings arrive ordered by entity and period.
pub(super) fn per_entity(found: &[Finding]) -> Vec<(&Finding, Batch)> {
    let mut out: Vec<(&Finding, Batch)> = Vec::new();
    for group in found.chunk_by(|a, b| a.entity == b.entity) {
        let size = |f: &Finding| f.extra[0].map_or(0.0, f64::abs);
        let largest = group
            .iter()
            .max_by(|a, b| size(a).total_cmp(&size(b)).then(b.period.cmp(&a.period)))
            .expect("chunks are never empty");
        let mut periods: Vec<i32> = group.iter().map(|f| f.period).collect();
        periods.sort_unstable();
        periods.dedup();
        let changes = group
            .iter()
            .filter_map(|f| f.extra[0].filter(|v| v.is_finite()).map(|v| (f.period, v)))
            .collect();
        out.push((
            largest,
            Batch {
                periods: period_ranges(&periods),
                changes,
            },
        ));
    }
    out
}

/// Sorted periods as runs: `[2019, 2023, 2024, 2025]` → `2019, 2023–2025`.
fn period_ranges(periods: &[i32]) -> String {
    let mut parts = Vec::new();
    for run in periods.chunk_by(|a, b| b - a == 1) {
        match run {
            [one] => parts.push(one.to_string()),
            [first, .., last] => parts.push(format!("{first}–{last}")),
            [] => {}
        }
    }
    parts.join(", ")
}

/// The points a finding compared: the previous period's and its own (a revision compares
/// editions, not periods, so its values are in the evidence's `values`).
pub(super) fn points_of(rule: &Rule, f: &Finding) -> Vec<Point> {
    if !rule.kind.get().compares_periods() {
        return Vec::new();
    }
    let point = |period: Option<i32>, value: Option<f64>, projection: bool| {
        Some(Point {
            period: period?,
            value: value.filter(|v| v.is_finite())?,
            projection,
        })
    };
    [
        point(f.prev_period, f.prev_value, false),
        point(Some(f.period), f.value, f.is_projection),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn entity_name(
    scope: Scope,
    f: &Finding,
    region_codes: &display::names::RegionCodes,
) -> (String, Option<String>, Text) {
    match scope {
        Scope::Country => {
            let name = f.name.clone().unwrap_or_else(|| f.entity.clone());
            // Korean text names the country as CLDR does, by its code.
            let ko = display::names::country(&f.entity, &name, display::Lang::Ko).into_owned();
            (name.clone(), f.region.clone(), Text::new(name, ko))
        }
        Scope::Region => (
            f.entity.clone(),
            Some(f.entity.clone()),
            Text::new(
                f.entity.clone(),
                display::names::region_in(region_codes, &f.entity, display::Lang::Ko),
            ),
        ),
        Scope::Global => ("World".into(), None, Text::new("World", "세계")),
    }
}

/// A rule's texts split into parts once, for every alert it raises.
struct RuleTexts {
    title: TextTemplate,
    explanation: TextTemplate,
    actions: Vec<TextTemplate>,
}

impl RuleTexts {
    fn of(rule: &Rule) -> Self {
        RuleTexts {
            title: TextTemplate::new(&rule.title),
            explanation: TextTemplate::new(
                rule.explain
                    .as_ref()
                    .unwrap_or(&rule.kind.get().explanation()),
            ),
            actions: rule
                .actions
                .iter()
                .map(|a| TextTemplate::new(&a.text))
                .collect(),
        }
    }
}

/// What putting a metric-based rule's findings into words needs, gathered once per rule.
pub(super) struct Renderer<'a> {
    rules: &'a Rules,
    rule: &'a Rule,
    metrics: &'a Metrics,
    metric: &'a Metric,
    snapshot: &'a SnapshotFacts,
    texts: RuleTexts,
}

impl<'a> Renderer<'a> {
    pub(super) fn new(
        rules: &'a Rules,
        rule: &'a Rule,
        metrics: &'a Metrics,
        metric: &'a Metric,
        snapshot: &'a SnapshotFacts,
    ) -> Self {
        Renderer {
            rules,
            rule,
            metrics,
            metric,
            snapshot,
            texts: RuleTexts::of(rule),
        }
    }

    /// The alert of one finding; `batch`: the periods one change between runs touched.
    pub(super) fn alert(&self, f: &Finding, series: Vec<Point>, batch: Option<&Batch>) -> Alert {
        let Renderer {
            rules,
            rule,
            metrics,
            metric,
            snapshot,
            ref texts,
        } = *self;
        let format = metric.format;
        let (entity_name, region, name_text) = entity_name(metric.scope, f, &snapshot.region_codes);
        let mut vars = Vars::with_capacity(16);
        vars.set("name", name_text.en, name_text.ko);
        vars.same("code", &f.entity);
        match &region {
            Some(r) => vars.set(
                "region",
                r,
                display::names::region_in(&snapshot.region_codes, r, display::Lang::Ko),
            ),
            None => vars.same("region", "—"),
        }
        vars.same("period", f.period.to_string());
        vars.same("period_next", (f.period + 1).to_string());
        vars.set("metric", &metric.label.en, &metric.label.ko);
        let mut values = BTreeMap::new();
        let mut put = |k: &str, v: Option<f64>| {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                values.insert(k.to_string(), v);
            }
        };
        put("value", f.value);
        put("previous", f.prev_value);
        put("share_pct", f.share);
        if let Some(v) = f.value {
            vars.value("value", format, v);
        }
        if let Some(p) = f.prev_value {
            vars.value("previous", format, p);
        }
        if let Some(p) = f.prev_period {
            vars.same("previous_period", p.to_string());
        }
        let kind = rule.kind.get();
        kind.render(
            f,
            &mut Render::new(
                metrics,
                format,
                snapshot.revised_from.as_deref(),
                &mut vars,
                &mut values,
            ),
        );
        // A batch names every period it touched; its alert is the entity's, whatever the years.
        let (period, fingerprint) = match batch {
            Some(b) => {
                vars.same("period", &b.periods);
                for (p, pct) in &b.changes {
                    values.insert(format!("revised_pct_{p}"), *pct);
                }
                (b.periods.clone(), format!("{}:{}", rule.id, f.entity))
            }
            None => {
                let period = f.period.to_string();
                let fingerprint = fingerprint(&rule.id, &f.entity, &period);
                (period, fingerprint)
            }
        };
        let title = vars.fill_template(&texts.title);
        let explanation = vars.fill_template(&texts.explanation);
        let actions = actions(rules, rule, &texts.actions, &vars, region.as_deref());
        let source = f
            .source_id
            .as_ref()
            .and_then(|s| snapshot.sources.get(s))
            .cloned();
        let share = match metric.scope {
            Scope::Global => Some(100.0),
            _ => f.share,
        };
        let data_issue_reason = (f.rejected_inputs > 0).then(|| {
        let source = f.source_id.as_deref().unwrap_or("?");
        let years = match f.prev_period {
            Some(p) if p != f.period => format!("{p}–{}", f.period),
            _ => f.period.to_string(),
        };
        let reason = f.reject_reason.clone().unwrap_or_default();
        Text::new(
            format!(
                "{} input row(s) of {source} for {years} were rejected by validation ({reason}): check the data before acting on this change.",
                f.rejected_inputs
            ),
            format!(
                "{source}의 {years} 입력 {}행이 검증에서 거부되었습니다({reason}). 조치 전에 데이터를 확인하세요.",
                f.rejected_inputs
            ),
        )
    });
        Alert {
            fingerprint,
            rule_id: rule.id.clone(),
            rule_name: rule.name.clone(),
            kind: rule.kind.name().into(),
            severity: rule.severity,
            priority: priority(rules.weight(rule.severity), share),
            scope: metric.scope,
            entity: f.entity.clone(),
            entity_name,
            region,
            period,
            title,
            explanation,
            evidence: Evidence {
                metric: metric.id.clone(),
                metric_label: metric.label.clone(),
                format,
                values,
                series,
                source,
                run_id: snapshot.run_id.clone(),
                projection: f.is_projection,
                data_issue_reason: data_issue_reason.clone(),
            },
            actions,
            // A withdrawn value is a data issue by definition.
            data_issue: data_issue_reason.is_some() || kind.data_issue(),
            auto_resolve: rule.auto_resolve,
        }
    }
}

fn actions(
    rules: &Rules,
    rule: &Rule,
    texts: &[TextTemplate],
    vars: &Vars,
    region: Option<&str>,
) -> Vec<Action> {
    rule.actions
        .iter()
        .zip(texts)
        .map(|(a, text)| {
            let owner = rules.owner_key(&a.owner, region).to_string();
            let owner_label = rules
                .owners
                .get(&owner)
                .cloned()
                .unwrap_or_else(|| Text::new(owner.clone(), owner.clone()));
            Action {
                text: vars.fill_template(text),
                owner,
                owner_label,
                due_days: a.due_days,
            }
        })
        .collect()
}

/// An alert about the data or the pipeline rather than an entity's figures.
pub(super) fn system_alert(
    rules: &Rules,
    rule: &Rule,
    snapshot: &SnapshotFacts,
    f: SystemFinding,
) -> Alert {
    let kind = rule.kind.get();
    let texts = RuleTexts::of(rule);
    Alert {
        fingerprint: fingerprint(&rule.id, &f.entity, &f.period),
        rule_id: rule.id.clone(),
        rule_name: rule.name.clone(),
        kind: kind.name().into(),
        severity: rule.severity,
        priority: priority(rules.weight(rule.severity), Some(100.0)),
        scope: Scope::Global,
        entity: f.entity,
        entity_name: f.entity_name,
        region: None,
        period: f.period,
        title: f.vars.fill_template(&texts.title),
        explanation: f.vars.fill_template(&texts.explanation),
        evidence: Evidence {
            metric: rule.metric.clone(),
            metric_label: Text::new("", ""),
            format: Format::Count,
            values: f.values,
            series: Vec::new(),
            source: f.source,
            run_id: snapshot.run_id.clone(),
            projection: false,
            data_issue_reason: None,
        },
        actions: actions(rules, rule, &texts.actions, &f.vars, None),
        data_issue: kind.data_issue(),
        auto_resolve: rule.auto_resolve,
    }
}

#[cfg(test)]
mod batch_tests {
    use super::*;

    fn finding(entity: &str, period: i32, pct: f64) -> Finding {
        Finding {
            entity: entity.into(),
            name: None,
            region: None,
            period,
            value: Some(1.0),
            prev_period: Some(period),
            prev_value: Some(1.0),
            extra: [Some(pct), None, None],
            share: None,
            source_id: None,
            is_projection: false,
            rejected_inputs: 0,
            reject_reason: None,
        }
    }

    #[test]
    fn periods_read_as_runs() {
        assert_eq!(period_ranges(&[2025]), "2025");
        assert_eq!(period_ranges(&[2023, 2024, 2025]), "2023–2025");
        assert_eq!(period_ranges(&[2019, 2023, 2024, 2025]), "2019, 2023–2025");
        assert_eq!(period_ranges(&[2019, 2021]), "2019, 2021");
        assert_eq!(period_ranges(&[]), "");
    }

    #[test]
    fn one_batch_per_entity_quoting_its_largest_change() {
        let found = vec![
            finding("AUS", 2023, 1.5),
            finding("AUS", 2024, -4.0),
            finding("AUS", 2025, 2.0),
            finding("KOR", 2025, -6.2),
        ];
        let batches = per_entity(&found);
        assert_eq!(batches.len(), 2);
        let (aus, batch) = &batches[0];
        assert_eq!((aus.entity.as_str(), aus.period), ("AUS", 2024));
        assert_eq!(batch.periods, "2023–2025");
        assert_eq!(batch.changes, vec![(2023, 1.5), (2024, -4.0), (2025, 2.0)]);
        assert_eq!(batches[1].1.periods, "2025");
    }
}

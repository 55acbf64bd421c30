//! `revision`: the same figure in two editions (`baseline: METRIC`, at `period` or the latest),
//! or revised by the source since the previous published run (`baseline: previous_run`, any
//! period), by at least `revised_by_at_least` %.

use display::Text;
use serde::{Deserialize, Serialize};

use super::{about_entity, positive, Build, ParamError, Reads, Render, RuleKind};
use crate::rules::metrics::{Column, MetricDef, Scope};
use crate::rules::sql::{Finding, Periods, Query};

/// `baseline:` of a revision rule comparing a source's runs rather than two editions.
pub const PREVIOUS_RUN: &str = "previous_run";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    baseline: Option<String>,
    revised_by_at_least: Option<f64>,
    period: Option<i32>,
}

/// What a revision compares the metric with.
#[derive(Debug, Clone, PartialEq)]
pub enum Baseline {
    /// Another edition's metric, at `period` (the latest evaluated when `None`).
    Edition { metric: String, period: Option<i32> },
    /// The same source's previous published run (the snapshot's `revisions` table).
    PreviousRun,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    pub baseline: Baseline,
    pub percent: f64,
}

/// The earlier figure and the revision in %.
#[derive(Debug, Serialize)]
struct Evidence {
    baseline_value: Option<f64>,
    revised_pct: Option<f64>,
}

/// Rules between runs compare a source's values: their metric must be a `column: value`.
pub(super) fn check_source_values(cx: &Build<'_>, kind: &str) -> Result<(), ParamError> {
    if matches!(
        cx.metric.def,
        MetricDef::Column {
            column: Column::Value,
            ..
        }
    ) {
        Ok(())
    } else {
        Err(ParamError::new(
            "metric",
            format!(
                "`{kind}` rules between runs compare a source's values: use a metric with `column: value`"
            ),
        ))
    }
}

impl super::Params for Params {
    type Kind = Revision;

    fn build(self, cx: &Build<'_>) -> Result<Revision, ParamError> {
        if self.baseline.as_deref() == Some(PREVIOUS_RUN) {
            check_source_values(cx, "revision")?;
            if self.period.is_some() {
                return Err(ParamError::new(
                    "period",
                    "`baseline: previous_run` compares every period the runs share; remove `period`",
                ));
            }
            return Ok(Revision {
                baseline: Baseline::PreviousRun,
                percent: positive(
                    "revised_by_at_least",
                    self.revised_by_at_least.unwrap_or(0.0),
                )?,
            });
        }
        let baseline = self.baseline.ok_or_else(|| ParamError::new(
            "baseline",
            "a revision rule needs `baseline: METRIC` (the earlier edition) or `baseline: previous_run` (the same source's previous published run)",
        ))?;
        let base = cx.metrics.get(&baseline).ok_or_else(|| {
            ParamError::new(
                "baseline",
                format!(
                    "baseline `{baseline}` is not in {}",
                    cx.metrics.path.display()
                ),
            )
        })?;
        if base.id == cx.metric.id {
            return Err(ParamError::new(
                "baseline",
                "the baseline must be another edition than `metric`",
            ));
        }
        if base.scope != Scope::Country || cx.metric.scope != Scope::Country {
            return Err(ParamError::new(
                "baseline",
                "revision compares two per-country metrics",
            ));
        }
        Ok(Revision {
            baseline: Baseline::Edition {
                metric: baseline,
                period: self.period,
            },
            percent: positive(
                "revised_by_at_least",
                self.revised_by_at_least.unwrap_or(0.0),
            )?,
        })
    }
}

impl RuleKind for Revision {
    fn name(&self) -> &'static str {
        "revision"
    }

    fn reads(&self) -> Reads {
        match self.baseline {
            Baseline::Edition { .. } => Reads::Periods,
            Baseline::PreviousRun => Reads::BetweenRuns,
        }
    }

    fn placeholders(&self) -> Vec<&'static str> {
        about_entity(
            true,
            &["baseline", "baseline_value", "revised_by", "limit", "largest_period"],
        )
    }

    fn sql(&self, q: &Query<'_>) -> Option<String> {
        let (metric, fixed) = match &self.baseline {
            Baseline::Edition { metric, period } => (metric, period),
            Baseline::PreviousRun => {
                return q.between_runs(
                    &format!(
                        "r.kind = 'revised' AND abs(r.change_pct) >= {}",
                        q.num(self.percent)
                    ),
                    false,
                )
            }
        };
        let (null, guards) = (q.null(), q.guards(false));
        let base = q.metrics.get(metric)?;
        let period = match (fixed, q.periods) {
            (_, Periods::All) => String::new(),
            (Some(p), Periods::At(_)) => format!(" AND period = {p}"),
            (None, Periods::At(p)) => format!(" AND period = {p}"),
        };
        Some(format!(
            "WITH b AS ({new}), a AS ({old}), \
             j AS (SELECT b.*, a.value AS prev_value, a.is_projection AS prev_projection, \
                    (b.value - a.value) / abs(a.value) * 100 AS x1 FROM b JOIN a USING (entity, period) WHERE a.value <> 0) \
             SELECT entity, period, value, period AS prev_period, prev_value, x1, {null} AS x2, {null} AS x3, share, source_id, \
             is_projection OR prev_projection AS is_projection FROM j WHERE abs(x1) >= {pct}{guards}{period}",
            new = q.series(None),
            old = crate::rules::sql::metric_sql_in(q.d, q.metrics, base, None),
            pct = q.num(self.percent),
        ))
    }

    /// Editions and runs are compared, not periods: the values are in the evidence.
    fn compares_periods(&self) -> bool {
        false
    }

    /// A source's revisions between two runs are one batch per country.
    fn one_alert_per_entity(&self) -> bool {
        self.baseline == Baseline::PreviousRun
    }

    fn render(&self, f: &Finding, r: &mut Render<'_>) {
        let [revised_pct, _, _] = f.extra;
        // The year whose figures the title quotes (`{period}` may name several, for a batch).
        r.vars.same("largest_period", f.period.to_string());
        match &self.baseline {
            Baseline::Edition { metric, .. } => {
                let label = r
                    .metrics
                    .get(metric)
                    .map_or_else(|| Text::new(metric, metric), |m| m.label.clone());
                r.vars.set("baseline", label.en, label.ko);
            }
            Baseline::PreviousRun => {
                let from = r.revised_from.unwrap_or("—");
                r.vars
                    .set("baseline", format!("run {from}"), format!("실행 {from}"));
            }
        }
        if let Some(p) = f.prev_value {
            r.vars.value("baseline_value", r.format, p);
        }
        r.vars.change("revised_by", revised_pct.unwrap_or(f64::NAN));
        r.vars.change("limit", self.percent);
        r.evidence(&Evidence {
            baseline_value: f.prev_value,
            revised_pct,
        });
    }

    fn explanation(&self) -> Text {
        match self.baseline {
            Baseline::PreviousRun => Text::new(
                "The source revised {name}'s {metric} for {period} from {baseline_value} ({baseline}) to {value} ({revised_by}). A revision is a data event, not a change in the economy: update plans that used the old figure.",
                "소스가 {name}의 {period}년 {metric}을(를) {baseline_value}({baseline})에서 {value}로 수정했습니다({revised_by}). 수정은 경제의 변화가 아닌 데이터 사건입니다. 이전 수치를 쓴 계획을 갱신하세요.",
            ),
            Baseline::Edition { .. } => Text::new(
                "{metric} of {name} for {period}: {baseline_value} in {baseline}, {value} in the newer edition ({revised_by}).",
                "{name}의 {period}년 {metric}: {baseline} {baseline_value} → 새 발표판 {value}({revised_by}).",
            ),
        }
    }
}

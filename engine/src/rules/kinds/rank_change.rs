//! `rank_change`: a rank moved at least `moved_at_least` places, and/or entered or left the
//! top `top`.

use display::Text;
use serde::{Deserialize, Serialize};

use super::{about_entity, Build, ParamError, Render, RuleKind};
use crate::rules::metrics::{Column, MetricDef, Scope};
use crate::rules::sql::{Finding, Pair, Query};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    moved_at_least: Option<u32>,
    top: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RankChange {
    pub moved_at_least: Option<u32>,
    pub top: Option<u32>,
}

/// The ranks compared and how many places the entity moved up (down when negative).
#[derive(Debug, Serialize)]
struct Evidence {
    rank: Option<f64>,
    previous_rank: Option<f64>,
    moved_up: Option<f64>,
}

impl super::Params for Params {
    type Kind = RankChange;

    fn build(self, cx: &Build<'_>) -> Result<RankChange, ParamError> {
        let metric = cx.metric;
        if metric.scope == Scope::Global {
            return Err(ParamError::new(
                "metric",
                "rank_change needs a per-country metric",
            ));
        }
        if !matches!(
            metric.def,
            MetricDef::Column {
                column: Column::Rank,
                ..
            }
        ) {
            return Err(ParamError::new(
                "metric",
                format!(
                    "rank_change needs a rank metric (`column: rank`); `{}` is not one",
                    metric.id
                ),
            ));
        }
        if self.moved_at_least.is_none() && self.top.is_none() {
            return Err(ParamError::new(
                "kind",
                "a rank_change rule needs `moved_at_least`, `top`, or both",
            ));
        }
        if self.moved_at_least == Some(0) || self.top == Some(0) {
            return Err(ParamError::new(
                "top",
                "`moved_at_least` and `top` must be above 0",
            ));
        }
        Ok(RankChange {
            moved_at_least: self.moved_at_least,
            top: self.top,
        })
    }
}

impl RuleKind for RankChange {
    fn name(&self) -> &'static str {
        "rank_change"
    }

    fn placeholders(&self) -> Vec<&'static str> {
        about_entity(
            true,
            &["rank", "previous_rank", "moved", "top", "previous_period"],
        )
    }

    fn sql(&self, q: &Query<'_>) -> Option<String> {
        let (null, guards, at) = (q.null(), q.guards(false), q.at());
        let mut conds = Vec::new();
        if let Some(k) = self.moved_at_least {
            conds.push(format!("abs(prev_value - value) >= {k}"));
        }
        if let Some(n) = self.top {
            conds.push(format!(
                "(value <= {n} AND prev_value > {n}) OR (prev_value <= {n} AND value > {n})"
            ));
        }
        Some(q.pair(Pair {
            needs_previous: true,
            pre: format!(
                "prev_period = period - 1 AND ({}){guards}{at}",
                conds.join(" OR ")
            ),
            x: ["prev_value - value".into(), null.into(), null.into()],
            fires: "true".into(),
        }))
    }

    fn render(&self, f: &Finding, r: &mut Render<'_>) {
        let [moved_up, _, _] = f.extra;
        let rank = f.value.unwrap_or(f64::NAN);
        let prev = f.prev_value.unwrap_or(f64::NAN);
        r.vars.same("rank", display::grouped(rank, 0));
        r.vars.same("previous_rank", display::grouped(prev, 0));
        let moved = moved_up.unwrap_or(f64::NAN);
        r.vars.set(
            "moved",
            format!(
                "{}{}",
                if moved > 0.0 { "+" } else { "−" },
                display::grouped(moved.abs(), 0)
            ),
            format!(
                "{}{}",
                if moved > 0.0 { "▲" } else { "▼" },
                display::grouped(moved.abs(), 0)
            ),
        );
        r.vars.same(
            "top",
            self.top.or(self.moved_at_least).unwrap_or(0).to_string(),
        );
        r.evidence(&Evidence {
            rank: f.value,
            previous_rank: f.prev_value,
            moved_up,
        });
    }

    fn explanation(&self) -> Text {
        Text::new(
            "{name} ranked {rank} in {period} by {metric}, against {previous_rank} in {previous_period}.",
            "{name}의 {metric}은(는) {period}년 {rank}위로, {previous_period}년 {previous_rank}위에서 바뀌었습니다.",
        )
    }
}

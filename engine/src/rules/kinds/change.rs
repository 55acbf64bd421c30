//! `change`: the change in % against the previous period, at least `fall_at_least` down or
//! `rise_at_least` up (both periods must exist).

use display::Text;
use serde::{Deserialize, Serialize};

use super::{about_entity, positive, Build, ParamError, Partial, Render, RuleKind};
use crate::rules::sql::{Finding, Pair, Query};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    fall_at_least: Option<f64>,
    rise_at_least: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Fall,
    Rise,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub direction: Direction,
    pub percent: f64,
}

impl Change {
    /// The limit with its sign: negative for a fall.
    fn signed(&self) -> f64 {
        match self.direction {
            Direction::Fall => -self.percent,
            Direction::Rise => self.percent,
        }
    }
}

/// The change against the previous period, and the limit, in %.
#[derive(Debug, Serialize)]
struct Evidence {
    change_pct: Option<f64>,
    limit_pct: f64,
}

impl super::Params for Params {
    type Kind = Change;

    fn build(self, _cx: &Build<'_>) -> Result<Change, ParamError> {
        match (self.fall_at_least, self.rise_at_least) {
            (Some(p), None) => Ok(Change {
                direction: Direction::Fall,
                percent: positive("fall_at_least", p)?,
            }),
            (None, Some(p)) => Ok(Change {
                direction: Direction::Rise,
                percent: positive("rise_at_least", p)?,
            }),
            _ => Err(ParamError::new(
                "kind",
                "a change rule needs exactly one of `fall_at_least` or `rise_at_least` (in %)",
            )),
        }
    }
}

impl RuleKind for Change {
    fn name(&self) -> &'static str {
        "change"
    }

    fn placeholders(&self) -> Vec<&'static str> {
        about_entity(true, &["previous", "previous_period", "change", "limit"])
    }

    fn sql(&self, q: &Query<'_>) -> Option<String> {
        let (null, guards, at) = (q.null(), q.guards(false), q.at());
        let fires = match self.direction {
            Direction::Fall => format!("x1 <= -{}", q.num(self.percent)),
            Direction::Rise => format!("x1 >= {}", q.num(self.percent)),
        };
        Some(q.pair(Pair {
            needs_previous: true,
            pre: format!("prev_period = period - 1 AND prev_value <> 0{guards}{at}"),
            x: [
                "(value - prev_value) / abs(prev_value) * 100".into(),
                null.into(),
                null.into(),
            ],
            fires,
        }))
    }

    fn partial(&self) -> Partial {
        Partial::PerCountry
    }

    fn render(&self, f: &Finding, r: &mut Render<'_>) {
        let [change_pct, _, _] = f.extra;
        r.vars.change("change", change_pct.unwrap_or(f64::NAN));
        r.vars.change("limit", self.signed());
        r.evidence(&Evidence {
            change_pct,
            limit_pct: self.signed(),
        });
    }

    fn explanation(&self) -> Text {
        Text::new(
            "{name}'s {metric} went from {previous} in {previous_period} to {value} in {period} ({change}); the rule fires at {limit} or beyond.",
            "{name}의 {metric}이(가) {previous_period}년 {previous}에서 {period}년 {value}로 변했습니다({change}). 규칙은 {limit} 이상 변하면 알립니다.",
        )
    }
}

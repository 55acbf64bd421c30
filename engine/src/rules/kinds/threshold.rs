//! `threshold`: the metric at or above (`above: X`) or below (`below: X`) a limit; with
//! `crossing: true`, only when the previous period was on the other side.

use display::Text;
use serde::{Deserialize, Serialize};

use super::{about_entity, Build, ParamError, Partial, Render, RuleKind};
use crate::rules::sql::{Finding, Pair, Query};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    above: Option<f64>,
    below: Option<f64>,
    crossing: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub limit: f64,
    pub above: bool,
    pub crossing: bool,
}

/// The limit the value was compared with.
#[derive(Debug, Serialize)]
struct Evidence {
    limit: f64,
}

impl super::Params for Params {
    type Kind = Threshold;

    fn build(self, _cx: &Build<'_>) -> Result<Threshold, ParamError> {
        let (limit, above) = match (self.above, self.below) {
            (Some(v), None) => (v, true),
            (None, Some(v)) => (v, false),
            _ => {
                return Err(ParamError::new(
                    "kind",
                    "a threshold rule needs exactly one of `above` or `below`",
                ))
            }
        };
        if !limit.is_finite() {
            return Err(ParamError::new("above", "the limit must be a number"));
        }
        Ok(Threshold {
            limit,
            above,
            crossing: self.crossing.unwrap_or(false),
        })
    }
}

impl RuleKind for Threshold {
    fn name(&self) -> &'static str {
        "threshold"
    }

    fn placeholders(&self) -> Vec<&'static str> {
        about_entity(true, &["limit", "previous", "previous_period"])
    }

    fn sql(&self, q: &Query<'_>) -> Option<String> {
        let (null, guards, at) = (q.null(), q.guards(false), q.at());
        let limit = q.num(self.limit);
        let (hit, was_not) = if self.above {
            (format!("value >= {limit}"), format!("prev_value < {limit}"))
        } else {
            (format!("value < {limit}"), format!("prev_value >= {limit}"))
        };
        let crossing = if self.crossing {
            format!(" AND prev_period = period - 1 AND {was_not}")
        } else {
            String::new()
        };
        Some(q.pair(Pair {
            needs_previous: self.crossing,
            pre: format!("{hit}{crossing}{guards}{at}"),
            x: [null.into(), null.into(), null.into()],
            fires: "true".into(),
        }))
    }

    fn partial(&self) -> Partial {
        Partial::PerCountry
    }

    fn render(&self, _f: &Finding, r: &mut Render<'_>) {
        r.vars.value("limit", r.format, self.limit);
        r.evidence(&Evidence { limit: self.limit });
    }

    fn explanation(&self) -> Text {
        let (en, ko) = match (self.above, self.crossing) {
            (true, true) => (
                "{name}'s {metric} reached {value} in {period}, at or above {limit}; it was {previous} in {previous_period}.",
                "{name}의 {metric}이(가) {period}년 {value}로 기준 {limit} 이상이 되었습니다({previous_period}년 {previous}).",
            ),
            (true, false) => (
                "{name}'s {metric} was {value} in {period}, at or above {limit}.",
                "{name}의 {metric}은(는) {period}년 {value}로 기준 {limit} 이상입니다.",
            ),
            (false, true) => (
                "{name}'s {metric} fell to {value} in {period}, below {limit}; it was {previous} in {previous_period}.",
                "{name}의 {metric}이(가) {period}년 {value}로 기준 {limit} 미만이 되었습니다({previous_period}년 {previous}).",
            ),
            (false, false) => (
                "{name}'s {metric} was {value} in {period}, below {limit}.",
                "{name}의 {metric}은(는) {period}년 {value}로 기준 {limit} 미만입니다.",
            ),
        };
        Text::new(en, ko)
    }
}

//! `withdrawn`: a value the previous published run had and this one has not — a data issue,
//! never a fall.

use display::Text;
use serde::Deserialize;

use super::revision::check_source_values;
use super::{about_entity, Build, ParamError, Reads, Render, RuleKind};
use crate::rules::sql::{Finding, Query};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

#[derive(Debug, Clone, PartialEq)]
pub struct Withdrawn;

impl super::Params for Params {
    type Kind = Withdrawn;

    fn build(self, cx: &Build<'_>) -> Result<Withdrawn, ParamError> {
        check_source_values(cx, "withdrawn")?;
        Ok(Withdrawn)
    }
}

impl RuleKind for Withdrawn {
    fn name(&self) -> &'static str {
        "withdrawn"
    }

    fn reads(&self) -> Reads {
        Reads::BetweenRuns
    }

    fn placeholders(&self) -> Vec<&'static str> {
        about_entity(false, &["previous", "previous_period", "baseline"])
    }

    /// The guards' `min_value` applies to the withdrawn (previous) value.
    fn sql(&self, q: &Query<'_>) -> Option<String> {
        q.between_runs("r.kind = 'withdrawn'", true)
    }

    fn compares_periods(&self) -> bool {
        false
    }

    fn render(&self, _f: &Finding, r: &mut Render<'_>) {
        let from = r.revised_from.unwrap_or("—");
        r.vars
            .set("baseline", format!("run {from}"), format!("실행 {from}"));
    }

    fn data_issue(&self) -> bool {
        true
    }

    fn explanation(&self) -> Text {
        Text::new(
            "{name}'s {metric} for {period} ({previous} in {baseline}) is no longer published by the source. A withdrawn value is a data issue, never a fall: no change is computed across it.",
            "{name}의 {period}년 {metric}({baseline}에서 {previous})이(가) 소스에서 더 이상 발표되지 않습니다. 철회된 수치는 데이터 문제이며 하락이 아니므로 변화율을 계산하지 않습니다.",
        )
    }
}

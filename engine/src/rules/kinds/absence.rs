//! `absence`: data for the previous period but none for the period: missing is not a fall. At a
//! partial period, one notice groups every country that has not published yet.

use display::Text;
use serde::{Deserialize, Serialize};

use super::{about_entity, Build, Grouped, Notice, ParamError, Partial, RuleKind};
use crate::rules::alert::put_evidence;
use crate::rules::sql::{Periods, Query};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

#[derive(Debug, Clone, PartialEq)]
pub struct Absence;

/// A partial period's notice: the countries not yet published, and those that have.
#[derive(Debug, Serialize)]
struct GroupedEvidence {
    not_yet_published: f64,
    reported: f64,
}

impl super::Params for Params {
    type Kind = Absence;

    fn build(self, _cx: &Build<'_>) -> Result<Absence, ParamError> {
        Ok(Absence)
    }
}

impl RuleKind for Absence {
    fn name(&self) -> &'static str {
        "absence"
    }

    /// No value for the period: that is what is missing.
    fn placeholders(&self) -> Vec<&'static str> {
        about_entity(false, &["previous", "previous_period"])
    }

    fn sql(&self, q: &Query<'_>) -> Option<String> {
        let null = q.null();
        let guards = q.guards(true);
        // The entity's last figure is for the period before; none for the period itself.
        let (which, latest) = match q.periods {
            Periods::At(p) => (format!(" AND a.period = {}", p - 1), String::new()),
            Periods::All => (
                String::new(),
                " AND a.period < (SELECT max(period) FROM s)".to_string(),
            ),
        };
        Some(format!(
            "WITH s AS ({base}) \
             SELECT a.entity, a.period + 1 AS period, {null} AS value, a.period AS prev_period, a.value AS prev_value, \
             {null} AS x1, {null} AS x2, {null} AS x3, a.share, a.source_id, false AS is_projection \
             FROM (SELECT *, value AS prev_value FROM s) a \
             WHERE NOT EXISTS (SELECT 1 FROM s b WHERE b.entity = a.entity AND b.period = a.period + 1){which}{latest}{guards}",
            base = q.series(q.from(1)),
        ))
    }

    fn partial(&self) -> Partial {
        Partial::Grouped
    }

    fn explanation(&self) -> Text {
        Text::new(
            "{name} has {metric} of {previous} for {previous_period} but no figure for {period} yet. A missing year is not a fall: no change is computed across it.",
            "{name}은(는) {previous_period}년 {metric} {previous} 이후 {period}년 수치가 아직 없습니다. 빠진 해는 하락이 아니므로 변화율을 계산하지 않습니다.",
        )
    }

    /// The countries that reported the period before a partial period and not yet the period:
    /// they have not published yet; none of them fell.
    fn grouped_notice(&self, g: &Grouped<'_>) -> Option<Notice> {
        let Grouped {
            period,
            count: n,
            reported,
            reference,
            metric_label: label,
            ..
        } = g;
        let more = if g.more { ", …" } else { "" };
        let largest = g.largest.join(", ");
        let mut values = Default::default();
        put_evidence(
            &mut values,
            &GroupedEvidence {
                not_yet_published: *n as f64,
                reported: *reported as f64,
            },
        );
        Some(Notice {
            values,
            title: Text::new(
                format!("{period}: {n} countries not yet published ({})", label.en),
                format!("{period}년: {n}개국 아직 미발표 ({})", label.ko),
            ),
            explanation: Text::new(
                format!(
                    "{period} is a partial period: {reported} countries have published it so far. {n} countries that published {reference} have not yet ({largest}{more}). This is not a fall: {period}'s figures are provisional, and headline figures stay on {reference}."
                ),
                format!(
                    "{period}년은 부분 기간입니다: 지금까지 {reported}개국이 발표했습니다. {reference}년에 발표한 {n}개국이 아직 발표하지 않았습니다({largest}{more}). 감소가 아닙니다: {period}년 수치는 잠정치이며, 주요 수치는 {reference}년 기준을 유지합니다."
                ),
            ),
            action: Text::new(
                format!("Keep {reference} as the reference year for plans until {period} is complete; check again after the next release"),
                format!("{period}년 자료가 완전해질 때까지 계획의 기준 연도는 {reference}년으로 유지하고, 다음 발표 후 다시 확인"),
            ),
        })
    }
}

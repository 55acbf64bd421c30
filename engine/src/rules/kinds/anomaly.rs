//! `anomaly`: the z-score of the latest change against the entity's last `window` changes
//! (at least `min_points` of them).

use display::Text;
use serde::{Deserialize, Serialize};

use super::{about_entity, positive, Build, ParamError, Partial, Render, RuleKind};
use crate::rules::sql::{Finding, Query};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    z_at_least: Option<f64>,
    window: Option<u32>,
    min_points: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Anomaly {
    pub z: f64,
    pub window: u32,
    pub min_points: u32,
}

/// The change, its z-score and the average change before it (in %).
#[derive(Debug, Serialize)]
struct Evidence {
    change_pct: Option<f64>,
    z: Option<f64>,
    mean_change_pct: Option<f64>,
}

impl super::Params for Params {
    type Kind = Anomaly;

    fn build(self, _cx: &Build<'_>) -> Result<Anomaly, ParamError> {
        let window = self.window.unwrap_or(10);
        let min_points = self.min_points.unwrap_or(5);
        if window < 3 {
            return Err(ParamError::new(
                "window",
                "`window` must be at least 3 changes",
            ));
        }
        if min_points < 3 || min_points > window {
            return Err(ParamError::new(
                "min_points",
                format!("`min_points` must be between 3 and the window ({window})"),
            ));
        }
        Ok(Anomaly {
            z: positive("z_at_least", self.z_at_least.unwrap_or(3.0))?,
            window,
            min_points,
        })
    }
}

impl RuleKind for Anomaly {
    fn name(&self) -> &'static str {
        "anomaly"
    }

    fn placeholders(&self) -> Vec<&'static str> {
        about_entity(
            true,
            &[
                "previous",
                "previous_period",
                "change",
                "z",
                "mean_change",
                "window",
            ],
        )
    }

    fn sql(&self, q: &Query<'_>) -> Option<String> {
        let (guards, at) = (q.guards(false), q.at());
        let (window, min_points) = (self.window, self.min_points);
        let back = window as i32 + 1;
        Some(format!(
            "WITH {lagged}, \
             c AS (SELECT *, CASE WHEN prev_period = period - 1 AND prev_value <> 0 \
                     THEN (value - prev_value) / abs(prev_value) * 100 END AS chg FROM w), \
             z AS (SELECT *, avg(chg) OVER t AS mean_chg, stddev_samp(chg) OVER t AS sd, count(chg) OVER t AS n \
                   FROM c WINDOW t AS (PARTITION BY entity ORDER BY period ROWS BETWEEN {window} PRECEDING AND 1 PRECEDING)) \
             SELECT entity, period, value, prev_period, prev_value, chg AS x1, (chg - mean_chg) / sd AS x2, mean_chg AS x3, \
             share, source_id, is_projection FROM z \
             WHERE chg IS NOT NULL AND n >= {min_points} AND sd > 0 AND abs((chg - mean_chg) / sd) >= {z}{guards}{at}",
            lagged = q.lagged(back, false),
            z = q.num(self.z),
        ))
    }

    fn partial(&self) -> Partial {
        Partial::PerCountry
    }

    /// The anomaly's input is the entity's history: the alert shows it.
    fn history(&self) -> Option<i32> {
        Some(self.window as i32 + 2)
    }

    fn render(&self, f: &Finding, r: &mut Render<'_>) {
        let [change_pct, z, mean_change_pct] = f.extra;
        r.vars.change("change", change_pct.unwrap_or(f64::NAN));
        let z_shown = z.unwrap_or(f64::NAN);
        r.vars
            .same("z", format!("{z_shown:+.1}").replace('-', "−"));
        r.vars
            .change("mean_change", mean_change_pct.unwrap_or(f64::NAN));
        r.vars.same("window", self.window.to_string());
        r.evidence(&Evidence {
            change_pct,
            z,
            mean_change_pct,
        });
    }

    fn explanation(&self) -> Text {
        Text::new(
            "{name}'s {metric} changed {change} in {period}, {z} standard deviations from its average change of {mean_change} over the previous {window} years.",
            "{name}의 {metric}은(는) {period}년 {change} 변해, 직전 {window}년 평균 변화 {mean_change}에서 표준편차 {z}배 벗어났습니다.",
        )
    }
}

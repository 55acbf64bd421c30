//! `data_quality`: a source's rejected rows / rows read above `reject_rate_above` (a fraction).

use display::{Lang, Text};
use serde::{Deserialize, Serialize};

use super::{Build, ParamError, Reads, RuleKind, System, SystemFinding};
use crate::rules::alert::{put_evidence, Vars};
use crate::rules::sql::REJECT_RATES_SQL;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    reject_rate_above: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DataQuality {
    pub reject_rate_above: f64,
}

/// A source's rejected rows, rows read, their rate and the rule's limit (fractions).
#[derive(Debug, Serialize)]
struct Evidence {
    rejected: f64,
    rows: f64,
    reject_rate: f64,
    limit: f64,
}

impl super::Params for Params {
    type Kind = DataQuality;

    fn build(self, _cx: &Build<'_>) -> Result<DataQuality, ParamError> {
        let rate = self.reject_rate_above.unwrap_or(0.0);
        if !(0.0..1.0).contains(&rate) {
            return Err(ParamError::new(
                "reject_rate_above",
                format!("`reject_rate_above` is {rate}; use a fraction from 0 to below 1"),
            ));
        }
        Ok(DataQuality {
            reject_rate_above: rate,
        })
    }
}

/// The kind's name; also the kind of a rule's notice that it fired for too many entities
/// (`max_fire_share`), which is a data-quality finding about the rule.
pub const NAME: &str = "data_quality";

impl RuleKind for DataQuality {
    fn name(&self) -> &'static str {
        NAME
    }

    fn reads(&self) -> Reads {
        Reads::System
    }

    fn placeholders(&self) -> Vec<&'static str> {
        vec!["source", "rejected", "rows", "reject_rate", "limit"]
    }

    fn data_issue(&self) -> bool {
        true
    }

    fn explanation(&self) -> Text {
        Text::new(
            "{rejected} of {rows} rows read from {source} were rejected ({reject_rate}); the rule fires above {limit}. Figures from this source may be incomplete.",
            "{source}에서 읽은 {rows}행 중 {rejected}행이 거부되었습니다({reject_rate}). 기준은 {limit} 초과이며, 이 소스의 수치가 불완전할 수 있습니다.",
        )
    }

    fn system(&self, cx: &System<'_>) -> Result<Vec<SystemFinding>, duckdb::Error> {
        let limit = self.reject_rate_above;
        let mut stmt = cx.conn.prepare(REJECT_RATES_SQL)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::new();
        for (source_id, rejected, kept) in rows {
            let read = rejected + kept;
            if read == 0 || rejected == 0 {
                continue;
            }
            let rate = rejected as f64 / read as f64;
            if rate <= limit {
                continue;
            }
            let source = cx.snapshot.sources.get(&source_id).cloned();
            let edition = source
                .as_ref()
                .map_or_else(|| cx.snapshot.run_id.clone(), |s| s.edition.clone());
            let mut vars = Vars::default();
            vars.same("source", &source_id);
            vars.same("rejected", display::grouped(rejected as f64, 0));
            vars.same("rows", display::grouped(read as f64, 0));
            vars.set(
                "reject_rate",
                display::fraction_pct(rate, Lang::En),
                display::fraction_pct(rate, Lang::Ko),
            );
            vars.set(
                "limit",
                display::fraction_pct(limit, Lang::En),
                display::fraction_pct(limit, Lang::Ko),
            );
            let mut values = Default::default();
            put_evidence(
                &mut values,
                &Evidence {
                    rejected: rejected as f64,
                    rows: read as f64,
                    reject_rate: rate,
                    limit,
                },
            );
            // Keyed by the source's edition: the same file keeps one alert across re-runs.
            out.push(SystemFinding {
                entity: source_id.clone(),
                entity_name: source_id,
                period: edition,
                vars,
                values,
                source,
            });
        }
        Ok(out)
    }
}

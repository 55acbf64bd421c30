//! `pipeline`: `check: failed_run` (the newest run failed after the current snapshot was
//! published) or `check: stale` (the snapshot is older than `older_than_days`).

use std::collections::BTreeMap;

use display::Text;
use serde::{Deserialize, Serialize};

use super::{Build, ParamError, Reads, RuleKind, System, SystemFinding};
use crate::rules::alert::{put_evidence, Vars};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    check: Option<PipelineCheck>,
    older_than_days: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PipelineCheck {
    /// The newest run failed after the current snapshot was published.
    FailedRun,
    /// The current snapshot was loaded more than `older_than_days` ago.
    Stale,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    pub check: PipelineCheck,
    pub older_than_days: u32,
}

/// How old the data is, and the limit, in days.
#[derive(Debug, Serialize)]
struct StaleEvidence {
    age_days: f64,
    limit_days: f64,
}

impl super::Params for Params {
    type Kind = Pipeline;

    fn build(self, _cx: &Build<'_>) -> Result<Pipeline, ParamError> {
        let check = self.check.ok_or_else(|| {
            ParamError::new(
                "check",
                "a pipeline rule needs `check: failed_run` or `check: stale`",
            )
        })?;
        if check == PipelineCheck::Stale && self.older_than_days.unwrap_or(0) == 0 {
            return Err(ParamError::new(
                "older_than_days",
                "`check: stale` needs `older_than_days` above 0",
            ));
        }
        Ok(Pipeline {
            check,
            older_than_days: self.older_than_days.unwrap_or(0),
        })
    }
}

impl RuleKind for Pipeline {
    fn name(&self) -> &'static str {
        "pipeline"
    }

    fn reads(&self) -> Reads {
        Reads::System
    }

    fn placeholders(&self) -> Vec<&'static str> {
        vec!["run", "stage", "error", "age_days", "limit"]
    }

    fn explanation(&self) -> Text {
        match self.check {
            PipelineCheck::FailedRun => Text::new(
                "Run {run} stopped in the {stage} stage: {error}. The dashboard still serves the previous snapshot.",
                "실행 {run}이(가) {stage} 단계에서 멈췄습니다: {error}. 대시보드는 이전 스냅샷을 계속 보여줍니다.",
            ),
            PipelineCheck::Stale => Text::new(
                "The data shown was loaded {age_days} days ago; the rule expects a load at least every {limit} days.",
                "표시 중인 데이터는 {age_days}일 전에 적재되었습니다. 규칙은 {limit}일마다 적재를 기대합니다.",
            ),
        }
    }

    fn system(&self, cx: &System<'_>) -> Result<Vec<SystemFinding>, duckdb::Error> {
        Ok(match self.check {
            PipelineCheck::FailedRun => cx
                .facts
                .failed_runs
                .iter()
                .map(|failed| {
                    let mut vars = Vars::default();
                    vars.same("run", &failed.run_id);
                    vars.same("stage", failed.stage.name());
                    vars.same("error", &failed.error);
                    SystemFinding::pipeline(&failed.run_id, vars, BTreeMap::new())
                })
                .collect(),
            PipelineCheck::Stale => {
                let age_days = (cx.facts.now - cx.snapshot.loaded_at).num_days();
                if age_days <= i64::from(self.older_than_days) {
                    return Ok(Vec::new());
                }
                let mut vars = Vars::default();
                vars.same("age_days", age_days.to_string());
                vars.same("limit", self.older_than_days.to_string());
                vars.same("run", &cx.snapshot.run_id);
                let mut values = BTreeMap::new();
                put_evidence(
                    &mut values,
                    &StaleEvidence {
                        age_days: age_days as f64,
                        limit_days: f64::from(self.older_than_days),
                    },
                );
                // Keyed by the snapshot: a new load clears it.
                vec![SystemFinding::pipeline(&cx.snapshot.run_id, vars, values)]
            }
        })
    }
}

//! Scheduled jobs (`config/schedule.yml`) as the engine records their ticks and the pipeline page
//! and `actionboard schedule list` show them: what each tick did and why, in both languages.

use serde::{Deserialize, Serialize};

use crate::Lang;

/// What became of one tick (a job at one scheduled time), as the tick table stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TickStatus {
    /// Claimed by a scheduler and still going.
    Running,
    /// The job ran: the pipeline published (or the digest was handed over).
    Ran,
    /// The job ran and failed, or the process running it stopped.
    Failed,
    /// Before a pipeline run, every source answered that it had not changed: no run started.
    Unchanged,
    /// The previous tick of the job was still going when this one was due.
    Overlap,
    /// Another pipeline run (started from the dashboard or the command line) held the lock.
    Busy,
    /// Due while no scheduler was running (the server was down), and not caught up.
    Missed,
}

impl TickStatus {
    pub const ALL: [TickStatus; 7] = [
        TickStatus::Running,
        TickStatus::Ran,
        TickStatus::Failed,
        TickStatus::Unchanged,
        TickStatus::Overlap,
        TickStatus::Busy,
        TickStatus::Missed,
    ];

    /// The name the tick table stores.
    pub fn as_str(self) -> &'static str {
        match self {
            TickStatus::Running => "running",
            TickStatus::Ran => "ran",
            TickStatus::Failed => "failed",
            TickStatus::Unchanged => "unchanged",
            TickStatus::Overlap => "overlap",
            TickStatus::Busy => "busy",
            TickStatus::Missed => "missed",
        }
    }

    pub fn parse(text: &str) -> Option<TickStatus> {
        TickStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// One tick as shown: times already in the job's zone, with the zone's abbreviation
/// (`2026-12-08 07:00 KST`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TickView {
    /// When the tick was due.
    pub scheduled_at: String,
    /// When a scheduler took it up (checked the sources, started the job, or found it missed).
    pub checked_at: String,
    pub finished_at: Option<String>,
    pub status: TickStatus,
    /// Run at start-up after the server was down at its time (`catch_up: latest`).
    pub caught_up: bool,
    /// The pipeline run it started.
    pub run_id: Option<String>,
    /// What the job or the check said (an error, the sources that changed).
    pub detail: Option<String>,
    /// The process that took it up (`process 1234 on board-a`): with several servers, which one.
    #[serde(default)]
    pub runner: Option<String>,
}

/// A scheduled job with its recent ticks (newest first) and the next one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    pub id: String,
    /// `pipeline` or `digest`.
    pub kind: String,
    pub cron: String,
    /// The IANA zone the cron expression is read in (`Asia/Seoul`).
    pub zone: String,
    /// `latest` or `skip`.
    pub catch_up: String,
    /// The next tick, in the job's zone.
    pub next_at: Option<String>,
    pub recent: Vec<TickView>,
}

/// Why a tick ran or did not, in one line (`checked 07:00 KST, unchanged`).
pub fn tick_text(lang: Lang, tick: &TickView) -> String {
    let detail = tick.detail.as_deref().unwrap_or("");
    let run = tick.run_id.as_deref().unwrap_or("");
    let at = &tick.checked_at;
    let mut text = match (tick.status, lang) {
        (TickStatus::Running, Lang::En) => format!("running since {at}"),
        (TickStatus::Running, Lang::Ko) => format!("{at}부터 실행 중"),
        (TickStatus::Ran, Lang::En) if !run.is_empty() => format!("ran at {at}: run {run}"),
        (TickStatus::Ran, Lang::Ko) if !run.is_empty() => format!("{at} 실행: 실행 {run}"),
        // A digest says what it did (e.g. that no sender is connected yet).
        (TickStatus::Ran, Lang::En) if !detail.is_empty() => format!("ran at {at}: {detail}"),
        (TickStatus::Ran, Lang::Ko) if !detail.is_empty() => format!("{at} 실행: {detail}"),
        (TickStatus::Ran, Lang::En) => format!("ran at {at}"),
        (TickStatus::Ran, Lang::Ko) => format!("{at} 실행"),
        (TickStatus::Failed, Lang::En) => format!("ran at {at} and failed: {detail}"),
        (TickStatus::Failed, Lang::Ko) => format!("{at} 실행, 실패: {detail}"),
        (TickStatus::Unchanged, Lang::En) => {
            format!("checked {at}, unchanged: no source changed since the last extract")
        }
        (TickStatus::Unchanged, Lang::Ko) => {
            format!("{at} 확인, 변경 없음: 마지막 추출 이후 바뀐 소스가 없습니다")
        }
        (TickStatus::Overlap, Lang::En) => "skipped: previous run still going".to_string(),
        (TickStatus::Overlap, Lang::Ko) => "건너뜀: 이전 실행이 아직 진행 중".to_string(),
        (TickStatus::Busy, Lang::En) => {
            "skipped: another run (dashboard or command line) was going".to_string()
        }
        (TickStatus::Busy, Lang::Ko) => {
            "건너뜀: 다른 실행(대시보드 또는 명령줄)이 진행 중이었습니다".to_string()
        }
        (TickStatus::Missed, Lang::En) => "missed while the server was down".to_string(),
        (TickStatus::Missed, Lang::Ko) => "서버가 꺼져 있는 동안 놓침".to_string(),
    };
    // Where it runs or failed, for whoever runs several servers (a missed or skipped tick ran
    // nowhere).
    if let (Some(runner), TickStatus::Running | TickStatus::Failed) = (&tick.runner, tick.status) {
        text.push_str(&match lang {
            Lang::En => format!(" ({runner})"),
            Lang::Ko => format!(" (실행한 곳: {runner})"),
        });
    }
    if tick.caught_up {
        text.push_str(match lang {
            Lang::En => " (caught up at start-up: missed while the server was down)",
            Lang::Ko => " (시작 시 따라잡음: 서버가 꺼져 있는 동안 놓친 실행)",
        });
    }
    text
}

/// The labels of the schedule section of the pipeline page.
pub fn label(lang: Lang, key: &str) -> &'static str {
    match (key, lang) {
        ("title", Lang::En) => "Schedule",
        ("title", Lang::Ko) => "일정",
        ("job", Lang::En) => "Job",
        ("job", Lang::Ko) => "작업",
        ("when", Lang::En) => "When",
        ("when", Lang::Ko) => "시각",
        ("last", Lang::En) => "Last",
        ("last", Lang::Ko) => "지난 실행",
        ("next", Lang::En) => "Next",
        ("next", Lang::Ko) => "다음 실행",
        ("none", Lang::En) => "not yet",
        ("none", Lang::Ko) => "아직 없음",
        ("empty", Lang::En) => {
            "No scheduled jobs: add config/schedule.yml to run the pipeline and digests on a schedule."
        }
        ("empty", Lang::Ko) => {
            "예약된 작업이 없습니다. config/schedule.yml을 추가하면 파이프라인과 요약을 일정에 따라 실행합니다."
        }
        ("kind_pipeline", Lang::En) => "pipeline",
        ("kind_pipeline", Lang::Ko) => "파이프라인",
        ("kind_digest", Lang::En) => "digest",
        ("kind_digest", Lang::Ko) => "요약",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tick(status: TickStatus) -> TickView {
        TickView {
            scheduled_at: "2026-12-08 07:00 KST".into(),
            checked_at: "07:00 KST".into(),
            finished_at: None,
            status,
            caught_up: false,
            run_id: None,
            detail: None,
            runner: None,
        }
    }

    #[test]
    fn every_status_reads_back_and_has_a_text_in_both_languages() {
        for status in TickStatus::ALL {
            assert_eq!(TickStatus::parse(status.as_str()), Some(status));
            for lang in Lang::ALL {
                assert!(!tick_text(lang, &tick(status)).is_empty());
            }
        }
        assert_eq!(
            tick_text(Lang::En, &tick(TickStatus::Unchanged)),
            "checked 07:00 KST, unchanged: no source changed since the last extract"
        );
        assert!(tick_text(Lang::Ko, &tick(TickStatus::Overlap)).contains("이전 실행"));
        let mut digest = tick(TickStatus::Ran);
        digest.detail = Some("nothing was sent".into());
        assert_eq!(
            tick_text(Lang::En, &digest),
            "ran at 07:00 KST: nothing was sent"
        );
        let mut run = tick(TickStatus::Ran);
        run.run_id = Some("20261207T220000.000Z".into());
        run.caught_up = true;
        assert_eq!(
            tick_text(Lang::En, &run),
            "ran at 07:00 KST: run 20261207T220000.000Z (caught up at start-up: missed while the server was down)"
        );
        // A running or failed tick says where it ran; the others do not.
        let mut running = tick(TickStatus::Running);
        running.runner = Some("process 1234 on board-a".into());
        assert_eq!(
            tick_text(Lang::En, &running),
            "running since 07:00 KST (process 1234 on board-a)"
        );
        assert!(tick_text(Lang::Ko, &running).ends_with("(실행한 곳: process 1234 on board-a)"));
        let mut unchanged = running.clone();
        unchanged.status = TickStatus::Unchanged;
        assert!(!tick_text(Lang::En, &unchanged).contains("board-a"));
        for key in ["title", "job", "when", "last", "next", "none", "empty"] {
            for lang in Lang::ALL {
                assert!(!label(lang, key).is_empty(), "{key}");
            }
        }
    }
}

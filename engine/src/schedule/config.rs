//! `config/schedule.yml`: the jobs the server runs on a schedule, validated once into
//! [`Schedule`]. No file means no jobs (the product works as without a scheduler).
//!
//! ```yaml
//! jobs:
//!   - id: morning_pipeline
//!     kind: pipeline            # pipeline | digest
//!     cron: "0 7 * * *"         # minute hour day-of-month month day-of-week
//!                               # (six fields: seconds first, "*/10 * * * * *")
//!     zone: Asia/Seoul          # an IANA zone; default Asia/Seoul
//!     catch_up: latest          # latest | skip; default latest
//! ```

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::config::ConfigError;
use crate::rules::yaml::{check_id, item_line, key_line, parse_yaml};

/// The zone a job's cron expression is read in when it names none.
pub const DEFAULT_ZONE: Tz = chrono_tz::Asia::Seoul;

/// At most this many jobs (each is checked on every pass of the scheduler).
pub const MAX_JOBS: usize = 64;

/// What a job does at its ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Asks each source whether it changed; when one did, runs the pipeline and the post-run flow.
    Pipeline,
    /// Hands the daily digest to the notifications (the hook [`super::DigestJob`]).
    Digest,
}

impl JobKind {
    pub fn name(self) -> &'static str {
        match self {
            JobKind::Pipeline => "pipeline",
            JobKind::Digest => "digest",
        }
    }
}

/// What to do with a tick that was due while no scheduler ran (the server was down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatchUp {
    /// Run the most recent missed tick once at start-up; older ones are recorded as missed.
    #[default]
    Latest,
    /// Record missed ticks as missed; run none of them.
    Skip,
}

impl CatchUp {
    pub fn name(self) -> &'static str {
        match self {
            CatchUp::Latest => "latest",
            CatchUp::Skip => "skip",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleFile {
    #[serde(default)]
    jobs: Vec<JobFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobFile {
    id: String,
    kind: JobKind,
    cron: String,
    #[serde(default)]
    zone: Option<String>,
    #[serde(default)]
    catch_up: CatchUp,
}

/// One validated job.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub kind: JobKind,
    /// The expression as written.
    pub cron_text: String,
    cron: croner::Cron,
    /// The expression has a seconds field: its times are shown to the second.
    seconds: bool,
    pub zone: Tz,
    pub catch_up: CatchUp,
}

impl Job {
    /// The first tick strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&t.with_timezone(&self.zone), false)
            .ok()
            .map(|at| at.with_timezone(&Utc))
    }

    /// The last tick at or before `t`.
    pub fn latest_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_previous_occurrence(&t.with_timezone(&self.zone), true)
            .ok()
            .map(|at| at.with_timezone(&Utc))
    }

    /// `t` in the job's zone, with the zone's abbreviation (`2026-12-08 07:00 KST`; to the
    /// second for a job with a seconds field).
    pub fn local(&self, t: DateTime<Utc>) -> String {
        let format = if self.seconds {
            "%Y-%m-%d %H:%M:%S %Z"
        } else {
            "%Y-%m-%d %H:%M %Z"
        };
        t.with_timezone(&self.zone).format(format).to_string()
    }
}

/// The validated schedule: its jobs, in file order.
#[derive(Debug, Clone, Default)]
pub struct Schedule {
    /// The file read (none when there was no file).
    pub path: Option<PathBuf>,
    pub jobs: Vec<Job>,
}

impl Schedule {
    /// Reads and validates `path`; no jobs when there is no such file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Schedule::default()),
            Err(source) => Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let file: ScheduleFile = if text.trim().is_empty() {
            ScheduleFile { jobs: Vec::new() }
        } else {
            parse_yaml(text, path)?
        };
        if file.jobs.len() > MAX_JOBS {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                line: None,
                message: format!(
                    "{} jobs; at most {MAX_JOBS} are allowed (a job can run at several times: one cron expression)",
                    file.jobs.len()
                ),
            });
        }
        let mut jobs: Vec<Job> = Vec::new();
        for j in file.jobs {
            let start = item_line(text, &j.id);
            let at = |key: &str, message: String| ConfigError::Invalid {
                path: path.to_path_buf(),
                line: start.and_then(|s| key_line(text, s - 1, key)).or(start),
                message: format!("job `{}`: {message}", j.id),
            };
            check_id(&j.id).map_err(|e| at("id", e.to_string()))?;
            if jobs.iter().any(|other| other.id == j.id) {
                return Err(at("id", "this id is used twice".into()));
            }
            let cron: croner::Cron = croner::parser::CronParser::builder()
                .seconds(croner::parser::Seconds::Optional)
                .year(croner::parser::Year::Disallowed)
                .build()
                .parse(&j.cron)
                .map_err(|e| {
                    at(
                        "cron",
                        format!(
                            "`cron: {}` is not a cron expression ({e}); write five fields: minute hour day-of-month month day-of-week, e.g. \"0 7 * * *\" for 07:00 every day (or six, seconds first: \"*/10 * * * * *\" every 10 seconds)",
                            j.cron
                        ),
                    )
                })?;
            let zone = match &j.zone {
                None => DEFAULT_ZONE,
                Some(name) => name.parse::<Tz>().map_err(|_| {
                    at(
                        "zone",
                        format!(
                            "`zone: {name}` is not an IANA time zone; write one like Asia/Seoul, Europe/Paris or America/New_York"
                        ),
                    )
                })?,
            };
            let job = Job {
                id: j.id.clone(),
                kind: j.kind,
                cron_text: j.cron.clone(),
                seconds: j.cron.split_whitespace().count() == 6,
                cron,
                zone,
                catch_up: j.catch_up,
            };
            // An expression that never matches (`0 0 30 2 *`) would never run.
            if job.next_after(Utc::now()).is_none() {
                return Err(at(
                    "cron",
                    format!(
                        "`cron: {}` never matches a date; check the day and month fields",
                        j.cron
                    ),
                ));
            }
            jobs.push(job);
        }
        Ok(Schedule {
            path: Some(path.to_path_buf()),
            jobs,
        })
    }

    pub fn job(&self, id: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Schedule, String> {
        Schedule::parse(text, Path::new("config/schedule.yml")).map_err(|e| e.to_string())
    }

    #[test]
    fn the_shipped_schedule_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/schedule.yml");
        let schedule = Schedule::load(&path).unwrap();
        assert!(schedule.jobs.iter().any(|j| j.kind == JobKind::Pipeline));
        assert!(schedule.jobs.iter().any(|j| j.kind == JobKind::Digest));
    }

    #[test]
    fn defaults_are_seoul_and_latest() {
        let s = parse("jobs:\n  - id: p\n    kind: pipeline\n    cron: \"0 7 * * *\"\n").unwrap();
        let job = &s.jobs[0];
        assert_eq!(job.zone, chrono_tz::Asia::Seoul);
        assert_eq!(job.catch_up, CatchUp::Latest);
        // 07:00 in Seoul is 22:00 UTC the day before.
        let t = DateTime::parse_from_rfc3339("2026-12-07T12:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            job.next_after(t).unwrap().to_rfc3339(),
            "2026-12-07T22:00:00+00:00"
        );
        assert_eq!(
            job.local(job.next_after(t).unwrap()),
            "2026-12-08 07:00 KST"
        );
    }

    #[test]
    fn a_missing_file_has_no_jobs() {
        let s = Schedule::load(Path::new("/nonexistent/schedule.yml")).unwrap();
        assert!(s.jobs.is_empty());
    }

    #[test]
    fn errors_name_the_file_the_line_and_the_field() {
        let text = "jobs:\n  - id: p\n    kind: pipeline\n    cron: \"0 7 * *\"\n";
        let err = parse(text).unwrap_err();
        assert!(
            err.starts_with("config/schedule.yml, line 4: job `p`: `cron: 0 7 * *`"),
            "{err}"
        );
        let text =
            "jobs:\n  - id: p\n    kind: pipeline\n    cron: \"0 7 * * *\"\n    zone: Asia/Soul\n";
        let err = parse(text).unwrap_err();
        assert!(
            err.starts_with("config/schedule.yml, line 5: job `p`: `zone: Asia/Soul`"),
            "{err}"
        );
        let err =
            parse("jobs:\n  - id: p\n    kind: backup\n    cron: \"0 7 * * *\"\n").unwrap_err();
        assert!(err.starts_with("config/schedule.yml, line 3"), "{err}");
        assert!(err.contains("backup"), "{err}");
        let err =
            parse("jobs:\n  - id: p\n    kind: pipeline\n    cron: \"0 7 * * *\"\n    when: now\n")
                .unwrap_err();
        assert!(err.contains("line 5") && err.contains("when"), "{err}");
        let err = parse("jobs:\n  - id: p\n    kind: pipeline\n    cron: \"0 7 * * *\"\n  - id: p\n    kind: digest\n    cron: \"0 8 * * *\"\n")
            .unwrap_err();
        assert!(err.contains("used twice"), "{err}");
        let err =
            parse("jobs:\n  - id: p\n    kind: pipeline\n    cron: \"0 0 30 2 *\"\n").unwrap_err();
        assert!(err.contains("never matches"), "{err}");
        // Six fields put seconds first; a seventh (a year) is not a field here.
        let s =
            parse("jobs:\n  - id: p\n    kind: digest\n    cron: \"*/10 * * * * *\"\n").unwrap();
        let t = DateTime::parse_from_rfc3339("2026-12-07T12:00:03Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            s.jobs[0].next_after(t).unwrap().to_rfc3339(),
            "2026-12-07T12:00:10+00:00"
        );
        let err = parse("jobs:\n  - id: p\n    kind: pipeline\n    cron: \"0 0 7 * * * 2027\"\n")
            .unwrap_err();
        assert!(err.contains("six, seconds first"), "{err}");
    }
}

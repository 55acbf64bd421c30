//! The scheduler's tick table, in the state file beside the alerts (its tables are created with
//! theirs, `alerts/schema.rs`). A tick is one job at one scheduled time; its row is the claim
//! to run it: the primary key (job, scheduled time) lets exactly one scheduler insert it, in an
//! immediate transaction, whichever process or restart asks. A running tick holds a lease that
//! its runner renews; a lease that ran out means the process running it stopped.

use std::path::{Path, PathBuf};

use crate::state::db::{params, Conn, OptionalExtension};
use chrono::{DateTime, Utc};

pub use display::schedule::TickStatus;

use super::StateError;
use crate::base::time::{parse_timestamp, timestamp};

/// One row of the tick table.
#[derive(Debug, Clone, PartialEq)]
pub struct TickRecord {
    pub job: String,
    pub scheduled_at: DateTime<Utc>,
    pub status: TickStatus,
    pub caught_up: bool,
    /// When a scheduler took the tick up.
    pub claimed_at: DateTime<Utc>,
    pub lease_until: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub run_id: Option<String>,
    pub detail: Option<String>,
    /// The process that claimed it (`process 1234 on board-a`): with several servers, which one
    /// runs or ran it.
    pub runner: Option<String>,
}

/// What asking to run a tick gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This caller runs it (its row says `running`).
    Claimed,
    /// The tick has a row already (another scheduler, or an earlier life of this one).
    Taken,
    /// Another tick of the job is still running: this one is recorded as `overlap`.
    Overlap,
}

pub struct TickStore {
    path: PathBuf,
    conn: Conn,
}

const COLUMNS: &str = "job, scheduled_at, status, caught_up, claimed_at, lease_until, \
                       finished_at, run_id, detail, runner";

impl TickStore {
    /// Opens (creating if needed) the state file of `data_dir`.
    pub fn open_in(data_dir: &Path) -> Result<Self, StateError> {
        let alerts = super::AlertStore::open_in(data_dir)?;
        let path = alerts.path().to_path_buf();
        Ok(TickStore {
            path,
            conn: alerts.into_connection(),
        })
    }

    fn err(&self) -> impl Fn(crate::state::db::Error) -> StateError + '_ {
        move |source| StateError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// When a scheduler first saw `job` (recorded now if never): ticks before it were never due.
    pub fn job_since(
        &mut self,
        job: &str,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, StateError> {
        self.conn
            .execute(
                "INSERT INTO schedule_jobs (job, since) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![job, timestamp(now)],
            )
            .map_err(self.err())?;
        let since: String = self
            .conn
            .query_row(
                "SELECT since FROM schedule_jobs WHERE job = ?1",
                params![job],
                |r| r.get(0),
            )
            .map_err(self.err())?;
        Ok(parse_timestamp(&since).unwrap_or(now))
    }

    /// The job's newest ticks, newest scheduled time first.
    pub fn recent(&self, job: &str, limit: usize) -> Result<Vec<TickRecord>, StateError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM schedule_ticks WHERE job = ?1 \
                 ORDER BY scheduled_at DESC LIMIT ?2"
            ))
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![job, limit as i64], read_row)
            .map_err(self.err())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.err())?;
        Ok(rows.into_iter().flatten().collect())
    }

    /// The job's tick at `at`, if it has a row.
    pub fn get(&self, job: &str, at: DateTime<Utc>) -> Result<Option<TickRecord>, StateError> {
        self.conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM schedule_ticks WHERE job = ?1 AND scheduled_at = ?2"
                ),
                params![job, timestamp(at)],
                read_row,
            )
            .optional()
            .map(Option::flatten)
            .map_err(self.err())
    }

    /// Asks to run the tick (`job`, `at`): one caller gets [`Claim::Claimed`] and a `running` row
    /// leased until `lease_until`. A running tick of the job whose lease ran out before `now` is
    /// closed as failed first (its process stopped).
    pub fn claim(
        &mut self,
        job: &str,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        caught_up: bool,
    ) -> Result<Claim, StateError> {
        let err = self.err();
        let tx = self.conn.begin_write().map_err(&err)?;
        let (at_text, now_text) = (timestamp(at), timestamp(now));
        let exists: bool = tx
            .query_row(
                "SELECT count(*) > 0 FROM schedule_ticks WHERE job = ?1 AND scheduled_at = ?2",
                params![job, at_text],
                |r| r.get(0),
            )
            .map_err(&err)?;
        if exists {
            return Ok(Claim::Taken);
        }
        tx.execute(
            "UPDATE schedule_ticks SET status = 'failed', finished_at = ?2, lease_until = NULL, \
             detail = 'interrupted: the process running it stopped before it finished' \
             WHERE job = ?1 AND status = 'running' AND (lease_until IS NULL OR lease_until < ?2)",
            params![job, now_text],
        )
        .map_err(&err)?;
        let running: bool = tx
            .query_row(
                "SELECT count(*) > 0 FROM schedule_ticks WHERE job = ?1 AND status = 'running'",
                params![job],
                |r| r.get(0),
            )
            .map_err(&err)?;
        let (status, lease, finished, claim) = if running {
            (
                TickStatus::Overlap,
                None,
                Some(now_text.clone()),
                Claim::Overlap,
            )
        } else {
            (
                TickStatus::Running,
                Some(timestamp(lease_until)),
                None,
                Claim::Claimed,
            )
        };
        tx.execute(
            "INSERT INTO schedule_ticks (job, scheduled_at, status, caught_up, claimed_at, \
             lease_until, finished_at, runner) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                job,
                at_text,
                status.as_str(),
                caught_up,
                now_text,
                lease,
                finished,
                crate::base::process::this_process()
            ],
        )
        .map_err(&err)?;
        tx.commit().map_err(&err)?;
        Ok(claim)
    }

    /// Records a tick that did not run (`missed`), unless it has a row already; whether it was
    /// recorded.
    pub fn record(
        &mut self,
        job: &str,
        at: DateTime<Utc>,
        status: TickStatus,
        now: DateTime<Utc>,
        detail: Option<&str>,
    ) -> Result<bool, StateError> {
        let n = self
            .conn
            .execute(
                "INSERT INTO schedule_ticks (job, scheduled_at, status, claimed_at, \
                 finished_at, detail) VALUES (?1, ?2, ?3, ?4, ?4, ?5) ON CONFLICT DO NOTHING",
                params![job, timestamp(at), status.as_str(), timestamp(now), detail],
            )
            .map_err(self.err())?;
        Ok(n == 1)
    }

    /// Extends the lease of a running tick.
    pub fn renew(
        &mut self,
        job: &str,
        at: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<(), StateError> {
        self.conn
            .execute(
                "UPDATE schedule_ticks SET lease_until = ?3 \
                 WHERE job = ?1 AND scheduled_at = ?2 AND status = 'running'",
                params![job, timestamp(at), timestamp(lease_until)],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Closes a running tick with what became of it.
    pub fn finish(
        &mut self,
        job: &str,
        at: DateTime<Utc>,
        status: TickStatus,
        now: DateTime<Utc>,
        run_id: Option<&str>,
        detail: Option<&str>,
    ) -> Result<(), StateError> {
        self.conn
            .execute(
                "UPDATE schedule_ticks SET status = ?3, finished_at = ?4, lease_until = NULL, \
                 run_id = ?5, detail = ?6 WHERE job = ?1 AND scheduled_at = ?2",
                params![
                    job,
                    timestamp(at),
                    status.as_str(),
                    timestamp(now),
                    run_id,
                    detail
                ],
            )
            .map_err(self.err())?;
        Ok(())
    }
}

/// A row, or `None` when it cannot be read (a status or time another version wrote).
fn read_row(r: &crate::state::db::Row<'_>) -> crate::state::db::Result<Option<TickRecord>> {
    let time = |i: usize| -> crate::state::db::Result<Option<DateTime<Utc>>> {
        Ok(r.get::<_, Option<String>>(i)?
            .as_deref()
            .and_then(parse_timestamp))
    };
    let status: String = r.get(2)?;
    let (Some(scheduled_at), Some(status), Some(claimed_at)) =
        (time(1)?, TickStatus::parse(&status), time(4)?)
    else {
        return Ok(None);
    };
    Ok(Some(TickRecord {
        job: r.get(0)?,
        scheduled_at,
        status,
        caught_up: r.get(3)?,
        claimed_at,
        lease_until: time(5)?,
        finished_at: time(6)?,
        run_id: r.get(7)?,
        detail: r.get(8)?,
        runner: r.get(9)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> DateTime<Utc> {
        parse_timestamp(text).unwrap()
    }

    #[test]
    fn a_tick_is_claimed_once_and_a_second_while_it_runs_is_an_overlap() {
        let dir = crate::state::shared::test_data_dir();
        let mut a = TickStore::open_in(dir.path()).unwrap();
        let mut b = TickStore::open_in(dir.path()).unwrap();
        let (at, now) = (t("2026-12-07T22:00:00Z"), t("2026-12-07T22:00:05Z"));
        let lease = t("2026-12-07T22:10:00Z");
        assert_eq!(a.claim("p", at, now, lease, false).unwrap(), Claim::Claimed);
        assert_eq!(b.claim("p", at, now, lease, false).unwrap(), Claim::Taken);
        let next = t("2026-12-07T22:05:00Z");
        assert_eq!(
            b.claim("p", next, next, lease, false).unwrap(),
            Claim::Overlap
        );
        assert_eq!(
            b.get("p", next).unwrap().unwrap().status,
            TickStatus::Overlap
        );
        a.finish("p", at, TickStatus::Ran, next, Some("r1"), None)
            .unwrap();
        let recent = b.recent("p", 5).unwrap();
        assert_eq!(recent.len(), 2);
        assert_eq!(recent[0].scheduled_at, next);
        assert_eq!(recent[1].status, TickStatus::Ran);
        assert_eq!(recent[1].run_id.as_deref(), Some("r1"));
    }

    #[test]
    fn a_running_tick_whose_lease_ran_out_is_closed_as_interrupted() {
        let dir = crate::state::shared::test_data_dir();
        let mut store = TickStore::open_in(dir.path()).unwrap();
        let at = t("2026-12-07T22:00:00Z");
        store
            .claim("p", at, at, t("2026-12-07T22:10:00Z"), false)
            .unwrap();
        let later = t("2026-12-08T22:00:00Z");
        assert_eq!(
            store
                .claim("p", later, later, t("2026-12-08T22:10:00Z"), false)
                .unwrap(),
            Claim::Claimed
        );
        let old = store.get("p", at).unwrap().unwrap();
        assert_eq!(old.status, TickStatus::Failed);
        assert!(old.detail.unwrap().contains("interrupted"));
        // A job first seen keeps the time it was first seen.
        assert_eq!(store.job_since("p", at).unwrap(), at);
        assert_eq!(store.job_since("p", later).unwrap(), at);
    }
}

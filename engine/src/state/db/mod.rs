//! The one connection type the state's stores use, whatever database holds the state.
//!
//! Every store (alerts, users, tokens, ticks) writes its SQL once, in the subset both backends
//! understand, and runs it through [`Conn`]: `?` placeholders, `execute`, `query_row`,
//! statements, and one kind of write transaction ([`Conn::begin_write`]: one writer at a time,
//! as SQLite's `BEGIN IMMEDIATE`). Values cross as [`Value`]s and are read back through
//! [`FromValue`], so an integer column reads as an `i64` on every backend. Schemas and their
//! migrations are the one part written per backend.

mod postgres;
mod value;

use std::cell::{Cell, RefCell};

pub use value::{FromValue, ToValue, Value, ValueRef};

pub(crate) use postgres::{pool as postgres_pool, Pool};

/// What a statement failed with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("{}", postgres_message(.0))]
    Postgres(#[from] ::postgres::Error),
    /// PostgreSQL refused a statement (its text names which).
    #[error("{} in `{sql}`", postgres_message(source))]
    Statement {
        sql: String,
        source: ::postgres::Error,
    },
    /// No connection of the pool came free in time (the database is down or overloaded).
    #[error("no connection to the state database: {0}")]
    Pool(#[from] r2d2::Error),
    /// A row was read while another statement of the same connection was still running.
    #[error("a statement ran inside another's rows on one connection")]
    Busy,
    /// A column held something the reader did not expect (written by another version).
    #[error("column {column}: expected {expected}, found {found}")]
    Conversion {
        column: usize,
        expected: &'static str,
        found: &'static str,
    },
    /// `query_row` found no row (see [`OptionalExtension::optional`]).
    #[error("the query returned no row")]
    NoRow,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What PostgreSQL said, not only that it said something ("db error").
fn postgres_message(e: &::postgres::Error) -> String {
    e.as_db_error().map_or_else(
        || e.to_string(),
        |d| format!("{}: {}", d.severity(), d.message()),
    )
}

/// Which database a connection talks to: the few statements that differ ask it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The text at the keys `path` of the JSON document `doc` (NULL when absent).
    pub fn json_text(self, doc: &str, path: &[&str]) -> String {
        match self {
            Dialect::Sqlite => format!("json_extract({doc}, '$.{}')", path.join(".")),
            Dialect::Postgres => format!("(({doc})::jsonb #>> '{{{}}}')", path.join(",")),
        }
    }

    /// Whether the JSON document `doc` holds `true` at the keys `path`.
    pub fn json_true(self, doc: &str, path: &[&str]) -> String {
        match self {
            Dialect::Sqlite => format!("COALESCE({} = 1, FALSE)", self.json_text(doc, path)),
            Dialect::Postgres => format!("COALESCE({} = 'true', FALSE)", self.json_text(doc, path)),
        }
    }

    /// The elements of the JSON array at `key` of `doc`, as rows named `alias` whose column
    /// `value` is each element (for [`Dialect::json_text`] of `alias.value`).
    pub fn json_elements(self, doc: &str, key: &str, alias: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json_each({doc}, '$.{key}') AS {alias}"),
            Dialect::Postgres => {
                format!("jsonb_array_elements(({doc})::jsonb -> '{key}') AS {alias}(value)")
            }
        }
    }

    /// Whether the text `needle` occurs in the text `haystack`.
    pub fn contains(self, haystack: &str, needle: &str) -> String {
        match self {
            Dialect::Sqlite => format!("instr({haystack}, {needle}) > 0"),
            Dialect::Postgres => format!("strpos({haystack}, {needle}) > 0"),
        }
    }

    /// Whether the timestamp `earlier` comes before the timestamp `at` (RFC 3339 text).
    pub fn before(self, earlier: &str, at: &str) -> String {
        match self {
            Dialect::Sqlite => format!("julianday({earlier}) < julianday({at})"),
            // Both sides as text first: a bare parameter would be taken for a timestamp.
            Dialect::Postgres => format!(
                "CAST(CAST({earlier} AS TEXT) AS timestamptz) < CAST(CAST({at} AS TEXT) AS timestamptz)"
            ),
        }
    }

    /// The timestamp `days` days after the timestamp `start`.
    pub fn plus_days(self, start: &str, days: &str) -> String {
        match self {
            Dialect::Sqlite => format!("datetime({start}, '+' || ({days}) || ' days')"),
            Dialect::Postgres => {
                format!(
                    "to_char((({start})::timestamptz + ({days}) * interval '1 day') \
                     AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
                )
            }
        }
    }

    /// `LIMIT` with no limit, for an `OFFSET` to follow (SQLite requires one).
    pub fn no_limit(self) -> &'static str {
        match self {
            Dialect::Sqlite => "LIMIT -1",
            Dialect::Postgres => "LIMIT ALL",
        }
    }

    /// After a `SELECT` of rows to claim: on PostgreSQL, lock the rows of `alias` and pass over
    /// rows another transaction holds (each claimer takes other rows, none waits); SQLite has
    /// no row locks (its transaction already holds the whole file).
    pub fn skip_locked(self, alias: &str) -> String {
        match self {
            Dialect::Sqlite => String::new(),
            Dialect::Postgres => format!("FOR UPDATE OF {alias} SKIP LOCKED"),
        }
    }

    /// An index hint after `FROM table` (SQLite's planner needs it for the inbox's order;
    /// PostgreSQL's chooses by itself).
    pub fn indexed_by(self, index: &str) -> String {
        match self {
            Dialect::Sqlite => format!("INDEXED BY {index}"),
            Dialect::Postgres => String::new(),
        }
    }
}

/// An open connection to the state.
pub struct Conn {
    backend: Backend,
    /// Whether a write transaction is open: on PostgreSQL a write outside one opens its own,
    /// so that it too waits for the one writer.
    in_write: Cell<bool>,
}

enum Backend {
    Sqlite(rusqlite::Connection),
    Postgres(Box<RefCell<postgres::PgConn>>),
}

impl Conn {
    /// Wraps a SQLite connection that has been set up (pragmas, schema).
    pub(crate) fn sqlite(sqlite: rusqlite::Connection) -> Self {
        Conn {
            backend: Backend::Sqlite(sqlite),
            in_write: Cell::new(false),
        }
    }

    /// A connection from the PostgreSQL pool.
    pub(crate) fn postgres(pool: &postgres::Pool) -> Result<Self> {
        Ok(Conn {
            backend: Backend::Postgres(Box::new(RefCell::new(postgres::PgConn::new(pool.get()?)))),
            in_write: Cell::new(false),
        })
    }

    pub fn dialect(&self) -> Dialect {
        match self.backend {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs `sql` with `params`; how many rows it changed.
    pub fn execute(&self, sql: &str, params: impl Params) -> Result<usize> {
        self.prepare(sql)?.execute(params)
    }

    /// Runs several statements without parameters (schemas, migrations).
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Backend::Postgres(pg) => Ok(pg
                .try_borrow_mut()
                .map_err(|_| Error::Busy)?
                .client
                .batch_execute(sql)?),
        }
    }

    /// The first row of `sql`, read by `read`; [`Error::NoRow`] when there is none.
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: impl Params,
        read: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        self.prepare(sql)?.query_row(params, read)
    }

    /// A statement to run once or a few times.
    pub fn prepare(&self, sql: &str) -> Result<Stmt<'_>> {
        self.statement(sql, false)
    }

    /// A statement kept prepared for the connection's next uses (the frequent queries).
    pub fn prepare_cached(&self, sql: &str) -> Result<Stmt<'_>> {
        self.statement(sql, true)
    }

    fn statement(&self, sql: &str, cache: bool) -> Result<Stmt<'_>> {
        let raw = match &self.backend {
            Backend::Sqlite(c) if cache => RawStmt::SqliteCached(c.prepare_cached(sql)?),
            Backend::Sqlite(c) => RawStmt::Sqlite(c.prepare(sql)?),
            Backend::Postgres(pg) => RawStmt::Postgres(
                pg.try_borrow_mut()
                    .map_err(|_| Error::Busy)?
                    .prepare(sql, cache)?,
            ),
        };
        Ok(Stmt { conn: self, raw })
    }

    /// Opens the write transaction: one writer at a time over the whole state (on PostgreSQL,
    /// across every instance), waiting for another to finish, so a read-then-write inside it
    /// sees what it writes over. Rolled back when dropped uncommitted. Not nested.
    pub fn begin_write(&self) -> Result<Tx<'_>> {
        match &self.backend {
            Backend::Sqlite(_) => self.execute_batch("BEGIN IMMEDIATE")?,
            Backend::Postgres(_) => self.execute_batch(&format!(
                "BEGIN; SELECT pg_advisory_xact_lock({})",
                postgres::WRITE_LOCK
            ))?,
        }
        self.in_write.set(true);
        Ok(Tx {
            conn: self,
            open: true,
        })
    }

    /// Opens a transaction for claiming rows with [`Dialect::skip_locked`]: on PostgreSQL it
    /// locks only the rows it selects, so claimers on every instance work side by side (not
    /// behind the one writer); on SQLite it is the write transaction.
    pub fn begin_claim(&self) -> Result<Tx<'_>> {
        match &self.backend {
            Backend::Sqlite(_) => return self.begin_write(),
            Backend::Postgres(_) => self.execute_batch("BEGIN")?,
        }
        self.in_write.set(true);
        Ok(Tx {
            conn: self,
            open: true,
        })
    }

    /// `work` inside a write transaction of its own, unless one is open already.
    fn writing<T>(&self, work: impl FnOnce() -> Result<T>) -> Result<T> {
        if self.in_write.get() || self.dialect() == Dialect::Sqlite {
            return work();
        }
        let tx = self.begin_write()?;
        let out = work()?;
        tx.commit()?;
        Ok(out)
    }
}

/// A write transaction ([`Conn::begin_write`]); everything a [`Conn`] does, inside it.
pub struct Tx<'c> {
    conn: &'c Conn,
    open: bool,
}

impl Tx<'_> {
    pub fn commit(mut self) -> Result<()> {
        self.open = false;
        self.conn.in_write.set(false);
        self.conn.execute_batch("COMMIT")?;
        LOCAL_COMMITS.fetch_add(1, std::sync::atomic::Ordering::Release);
        Ok(())
    }
}

/// Write transactions this process committed: a reader that caches what the database says
/// (the shared state's version) reads again after its own process wrote.
static LOCAL_COMMITS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many write transactions this process has committed so far.
pub fn local_commits() -> u64 {
    LOCAL_COMMITS.load(std::sync::atomic::Ordering::Acquire)
}

impl std::ops::Deref for Tx<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open {
            self.conn.in_write.set(false);
            // Nothing to report to: the work that failed already did; a failed rollback leaves
            // the database to roll back when the connection closes.
            if let Err(e) = self.conn.execute_batch("ROLLBACK") {
                tracing::warn!("rolling back a state transaction: {e}");
            }
        }
    }
}

/// A prepared statement.
pub struct Stmt<'c> {
    conn: &'c Conn,
    raw: RawStmt<'c>,
}

enum RawStmt<'c> {
    Sqlite(rusqlite::Statement<'c>),
    SqliteCached(rusqlite::CachedStatement<'c>),
    Postgres(::postgres::Statement),
}

/// What a PostgreSQL statement needs: its client, borrowed for the statement's run.
fn pg<'c>(conn: &'c Conn) -> Result<std::cell::RefMut<'c, postgres::PgConn>> {
    match &conn.backend {
        Backend::Postgres(pg) => pg.try_borrow_mut().map_err(|_| Error::Busy),
        Backend::Sqlite(_) => unreachable!("a PostgreSQL statement on a SQLite connection"),
    }
}

fn pg_params(values: &[Value]) -> Vec<&(dyn ::postgres::types::ToSql + Sync)> {
    values
        .iter()
        .map(|v| v as &(dyn ::postgres::types::ToSql + Sync))
        .collect()
}

impl<'c> Stmt<'c> {
    pub fn execute(&mut self, params: impl Params) -> Result<usize> {
        let values = params.into_values();
        let conn = self.conn;
        match &mut self.raw {
            RawStmt::Sqlite(s) => Ok(s.execute(rusqlite::params_from_iter(values.iter()))?),
            RawStmt::SqliteCached(s) => Ok(s.execute(rusqlite::params_from_iter(values.iter()))?),
            RawStmt::Postgres(s) => conn.writing(|| {
                let n = pg(conn)?.client.execute(&*s, &pg_params(&values))?;
                Ok(usize::try_from(n).unwrap_or(usize::MAX))
            }),
        }
    }

    /// Every row, read by `read`, in order (the state's answers are pages and lists: bounded).
    pub fn query_map<T>(
        &mut self,
        params: impl Params,
        mut read: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<std::vec::IntoIter<Result<T>>> {
        let mut out = Vec::new();
        self.for_each(params, |row| -> Result<()> {
            out.push(read(row));
            Ok(())
        })?;
        Ok(out.into_iter())
    }

    /// Calls `visit` with each row in turn, without holding them all (long exports).
    pub fn for_each<E: From<Error>>(
        &mut self,
        params: impl Params,
        mut visit: impl FnMut(&Row<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let values = params.into_values();
        let conn = self.conn;
        let sqlite = match &mut self.raw {
            RawStmt::Sqlite(s) => s,
            RawStmt::SqliteCached(s) => &mut **s,
            RawStmt::Postgres(s) => {
                // Rows come over the wire in one stream; a statement run while reading them
                // would find the connection busy ([`Error::Busy`]).
                let mut client = pg(conn)?;
                let mut rows = client
                    .client
                    .query_raw(&*s, values.iter())
                    .map_err(Error::from)?;
                use ::postgres::fallible_iterator::FallibleIterator;
                while let Some(row) = rows.next().map_err(Error::from)? {
                    visit(&Row(RowInner::Postgres(&row)))?;
                }
                return Ok(());
            }
        };
        let mut rows = sqlite
            .query(rusqlite::params_from_iter(values.iter()))
            .map_err(Error::from)?;
        while let Some(row) = rows.next().map_err(Error::from)? {
            visit(&Row(RowInner::Sqlite(row)))?;
        }
        Ok(())
    }

    pub fn query_row<T>(
        &mut self,
        params: impl Params,
        read: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut read = Some(read);
        let mut out = None;
        self.for_each(params, |row| -> Result<()> {
            if let Some(read) = read.take() {
                out = Some(read(row));
            }
            Ok(())
        })?;
        out.unwrap_or(Err(Error::NoRow))
    }

    /// Whether `sql` returns a row.
    pub fn exists(&mut self, params: impl Params) -> Result<bool> {
        self.query_row(params, |_| Ok(()))
            .optional()
            .map(|r| r.is_some())
    }
}

/// One row of an answer.
pub struct Row<'r>(RowInner<'r>);

enum RowInner<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    Postgres(&'r ::postgres::Row),
}

impl Row<'_> {
    /// Column `index` as it is stored.
    pub fn value(&self, index: usize) -> Result<ValueRef<'_>> {
        match &self.0 {
            RowInner::Sqlite(r) => Ok(ValueRef::from_sqlite(r.get_ref(index)?)),
            RowInner::Postgres(r) => Ok(r.try_get::<_, ValueRef<'_>>(index)?),
        }
    }

    /// Column `index` (from 0) as a `T`.
    pub fn get<I: RowIndex, T: FromValue>(&self, index: I) -> Result<T> {
        let column = index.index();
        T::from_value(self.value(column)?, column)
    }
}

/// A column's position (a number, as in `row.get(0)`).
pub trait RowIndex {
    fn index(self) -> usize;
}

impl RowIndex for usize {
    fn index(self) -> usize {
        self
    }
}

/// Parameters of a statement: `params![a, b]`, `[]`, or a list built at run time
/// ([`params_from_iter`]).
pub trait Params {
    fn into_values(self) -> Vec<Value>;
}

impl Params for &[&dyn ToValue] {
    fn into_values(self) -> Vec<Value> {
        self.iter().map(|p| p.to_value()).collect()
    }
}

impl<const N: usize> Params for [&dyn ToValue; N] {
    fn into_values(self) -> Vec<Value> {
        self.iter().map(|p| p.to_value()).collect()
    }
}

impl Params for Vec<Value> {
    fn into_values(self) -> Vec<Value> {
        self
    }
}

/// The parameters in `values`, in order.
pub fn params_from_iter<T: ToValue>(values: impl IntoIterator<Item = T>) -> Vec<Value> {
    values.into_iter().map(|v| v.to_value()).collect()
}

/// `params![a, b, c]`: the parameters of a statement, each anything [`ToValue`].
#[macro_export]
macro_rules! state_params {
    () => {
        [] as [&dyn $crate::state::db::ToValue; 0]
    };
    ($($param:expr),+ $(,)?) => {
        [$(&$param as &dyn $crate::state::db::ToValue),+]
    };
}
pub use crate::state_params as params;

/// `.optional()` on a `query_row`: `None` for no row instead of an error.
pub trait OptionalExtension<T> {
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(Error::NoRow) | Err(Error::Sqlite(rusqlite::Error::QueryReturnedNoRows)) => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Conn {
        let c = Conn::sqlite(rusqlite::Connection::open_in_memory().unwrap());
        c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL)")
            .unwrap();
        c
    }

    #[test]
    fn values_round_trip_and_missing_rows_are_none() {
        let c = conn();
        let none: Option<&str> = None;
        c.execute(
            "INSERT INTO t (id, name, score) VALUES (?, ?, ?)",
            params![7_i64, "seven", 7.5],
        )
        .unwrap();
        c.execute(
            "INSERT INTO t (id, name, score) VALUES (?, ?, ?)",
            params![8_u32, none, 1_i64],
        )
        .unwrap();
        let (name, score): (String, f64) = c
            .query_row("SELECT name, score FROM t WHERE id = ?", params![7], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((name.as_str(), score), ("seven", 7.5));
        let name: Option<String> = c
            .query_row("SELECT name FROM t WHERE id = 8", [], |r| r.get(0))
            .unwrap();
        assert_eq!(name, None);
        let missing = c
            .query_row("SELECT id FROM t WHERE id = 9", [], |r| r.get::<_, i64>(0))
            .optional()
            .unwrap();
        assert_eq!(missing, None);
        // A text column is not a number: the reader is told which column.
        let err = c
            .query_row("SELECT name FROM t WHERE id = 7", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap_err();
        assert!(matches!(err, Error::Conversion { column: 0, .. }), "{err}");
    }

    #[test]
    fn an_uncommitted_write_is_rolled_back_and_a_committed_one_stays() {
        let c = conn();
        {
            let tx = c.begin_write().unwrap();
            tx.execute("INSERT INTO t (id) VALUES (1)", []).unwrap();
        }
        let tx = c.begin_write().unwrap();
        tx.execute("INSERT INTO t (id) VALUES (2)", []).unwrap();
        tx.commit().unwrap();
        let ids: Vec<i64> = c
            .prepare("SELECT id FROM t ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(ids, vec![2]);
    }
}

//! The one connection type the state's stores use, whatever database holds the state.
//!
//! Every store (alerts, users, tokens, ticks) writes its SQL once, in the subset both backends
//! understand, and runs it through [`Conn`]: `?` placeholders, `execute`, `query_row`,
//! statements, and one kind of write transaction ([`Conn::begin_write`]: one writer at a time,
//! as SQLite's `BEGIN IMMEDIATE`). Values cross as [`Value`]s and are read back through
//! [`FromValue`], so an integer column reads as an `i64` on every backend. Schemas and their
//! migrations are the one part written per backend.

mod value;

pub use value::{FromValue, ToValue, Value, ValueRef};

/// What a statement failed with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
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

/// An open connection to the state.
pub struct Conn {
    sqlite: rusqlite::Connection,
}

impl Conn {
    /// Wraps a SQLite connection that has been set up (pragmas, schema).
    pub(crate) fn sqlite(sqlite: rusqlite::Connection) -> Self {
        Conn { sqlite }
    }

    /// Runs `sql` with `params`; how many rows it changed.
    pub fn execute(&self, sql: &str, params: impl Params) -> Result<usize> {
        let values = params.into_values();
        Ok(self
            .sqlite
            .execute(sql, rusqlite::params_from_iter(values.iter()))?)
    }

    /// Runs several statements without parameters (schemas, migrations).
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        Ok(self.sqlite.execute_batch(sql)?)
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
        Ok(Stmt::Plain(self.sqlite.prepare(sql)?))
    }

    /// A statement kept prepared for the connection's next uses (the frequent queries).
    pub fn prepare_cached(&self, sql: &str) -> Result<Stmt<'_>> {
        Ok(Stmt::Cached(self.sqlite.prepare_cached(sql)?))
    }

    /// Opens the write transaction: one writer at a time over the whole state, waiting (up to
    /// the busy timeout) for another to finish, so a read-then-write inside it sees what it
    /// writes over. Rolled back when dropped uncommitted. Not nested.
    pub fn begin_write(&self) -> Result<Tx<'_>> {
        self.sqlite.execute_batch("BEGIN IMMEDIATE")?;
        Ok(Tx {
            conn: self,
            open: true,
        })
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
        self.conn.sqlite.execute_batch("COMMIT")?;
        Ok(())
    }
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
            // Nothing to report to: the work that failed already did; a failed rollback leaves
            // SQLite to roll back when the connection closes.
            if let Err(e) = self.conn.sqlite.execute_batch("ROLLBACK") {
                tracing::warn!("rolling back a state transaction: {e}");
            }
        }
    }
}

/// A prepared statement.
pub enum Stmt<'c> {
    Plain(rusqlite::Statement<'c>),
    Cached(rusqlite::CachedStatement<'c>),
}

impl<'c> Stmt<'c> {
    fn raw(&mut self) -> &mut rusqlite::Statement<'c> {
        match self {
            Stmt::Plain(s) => s,
            Stmt::Cached(s) => s,
        }
    }

    pub fn execute(&mut self, params: impl Params) -> Result<usize> {
        let values = params.into_values();
        Ok(self
            .raw()
            .execute(rusqlite::params_from_iter(values.iter()))?)
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
        let mut rows = self
            .raw()
            .query(rusqlite::params_from_iter(values.iter()))
            .map_err(Error::from)?;
        while let Some(row) = rows.next().map_err(Error::from)? {
            visit(&Row { sqlite: row })?;
        }
        Ok(())
    }

    pub fn query_row<T>(
        &mut self,
        params: impl Params,
        read: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        let values = params.into_values();
        let mut rows = self
            .raw()
            .query(rusqlite::params_from_iter(values.iter()))?;
        match rows.next()? {
            Some(row) => read(&Row { sqlite: row }),
            None => Err(Error::NoRow),
        }
    }

    /// Whether `sql` returns a row.
    pub fn exists(&mut self, params: impl Params) -> Result<bool> {
        let values = params.into_values();
        Ok(self
            .raw()
            .exists(rusqlite::params_from_iter(values.iter()))?)
    }
}

/// One row of an answer.
pub struct Row<'r> {
    sqlite: &'r rusqlite::Row<'r>,
}

impl Row<'_> {
    /// Column `index` as it is stored.
    pub fn value(&self, index: usize) -> Result<ValueRef<'_>> {
        Ok(ValueRef::from_sqlite(self.sqlite.get_ref(index)?))
    }

    /// Column `index` (from 0) as a `T`.
    pub fn get<I: RowIndex, T: FromValue>(&self, index: I) -> Result<T> {
        let column = index.index();
        let value = self.sqlite.get_ref(column)?;
        T::from_value(ValueRef::from_sqlite(value), column)
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

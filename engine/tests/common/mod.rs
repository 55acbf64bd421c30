//! What the state's behaviour tests share: a data folder whose state lives on the backend this
//! run tests (SQLite files, or with `ACTIONBOARD_TEST_STATE=postgres` a fresh PostgreSQL
//! database), and a raw connection to it for what only a test does (break a table on purpose).
#![allow(dead_code)]

use std::path::Path;

/// A test's data folder, and the database its state is in when that is PostgreSQL.
pub struct StateDir {
    pub dir: tempfile::TempDir,
    pub postgres_url: Option<String>,
}

impl StateDir {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A connection of the test's own, past the stores.
    pub fn raw(&self) -> Raw {
        match &self.postgres_url {
            Some(url) => Raw::Postgres(postgres::Client::connect(url, postgres::NoTls).unwrap()),
            None => Raw::Sqlite(
                rusqlite::Connection::open(self.path().join(engine::state::alerts::STATE_FILE))
                    .unwrap(),
            ),
        }
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        if self.postgres_url.is_some() {
            engine::state::shared::stop_sharing(self.dir.path());
        }
    }
}

/// A new data folder; its state on the backend under test.
pub fn state_dir() -> StateDir {
    let dir = tempfile::tempdir().unwrap();
    let postgres_url = testkit::postgres::state_test_server().map(|pg| {
        let url = pg.fresh_database().unwrap();
        engine::state::use_postgres(dir.path(), &url).unwrap();
        url
    });
    StateDir { dir, postgres_url }
}

pub enum Raw {
    Sqlite(rusqlite::Connection),
    Postgres(postgres::Client),
}

impl Raw {
    /// Runs `sql`, or the error's text.
    pub fn batch(&mut self, sql: &str) -> Result<(), String> {
        match self {
            Raw::Sqlite(c) => c.execute_batch(sql).map_err(|e| e.to_string()),
            Raw::Postgres(c) => c.batch_execute(sql).map_err(|e| {
                e.as_db_error()
                    .map_or_else(|| e.to_string(), |d| d.message().to_string())
            }),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Raw::Postgres(_))
    }
}

//! People who sign in, their roles and their sessions, in `data/state/users.sqlite` (apart from
//! the alert state, so signing in never invalidates cached pages).
//!
//! Passwords are kept only as Argon2id hashes (PHC strings with their salt and parameters).
//! A session is a random 256-bit token in an HttpOnly cookie; the file keeps only its SHA-256,
//! so a copy of the file signs nobody in. Each session has its own CSRF token, which every form
//! that changes something must send back.
//!
//! Sessions are our own rows, not a session layer's (tower-sessions with its SQLite and
//! PostgreSQL stores was weighed): they live in the state's own database (a file, or the
//! PostgreSQL several servers share, through the same connection type), so one backup, one
//! migration and one write lock cover them with the people they belong to; removing a person or
//! changing a password ends their sessions in the same transaction; and a session carries what
//! the pages need (role, CSRF token, time zone, language) in one indexed read. A session layer
//! would add a second store with its own schema, expiry sweeper and serialisation for the same
//! few columns.

use std::path::{Path, PathBuf};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Utc};

use crate::base::sha256_hex;
use crate::base::time::timestamp;
use crate::state::db::{params, Conn, OptionalExtension};
use serde::{Deserialize, Serialize};

pub(crate) const USERS_FILE: &str = "state/users.sqlite";

/// How long a session lasts without signing in again.
pub const SESSION_DAYS: i64 = 7;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Longest password accepted, in bytes: a longer one is refused before any hashing, so nobody
/// makes the server hash megabytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Longest user name, in bytes.
pub const MAX_NAME_BYTES: usize = 64;

/// Failed sign-ins allowed per user name within [`FAILURE_WINDOW_MINUTES`]; then the name is
/// refused until the window has passed or an admin unlocks it (`actionboard users unlock`).
pub const MAX_FAILURES: i64 = 5;
pub const FAILURE_WINDOW_MINUTES: i64 = 15;

/// Names with recent failures kept at most (the oldest windows go first), so guessing at many
/// names cannot fill the disk.
const MAX_FAILURE_ROWS: i64 = 10_000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS user_settings (
    user_name TEXT PRIMARY KEY REFERENCES users(name) ON DELETE CASCADE,
    timezone TEXT,
    language TEXT
);
CREATE TABLE IF NOT EXISTS sign_in_failures (
    name TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    window_start TEXT NOT NULL
);
";

/// Whether a sign-in attempt may go on to the password check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Counted against the name's limit; checking the password may go on.
    Allowed,
    /// Too many failures: refused without checking, until `until`.
    Locked { until: DateTime<Utc> },
}

/// What a person may do. Each role may do what the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads the dashboard.
    Viewer,
    /// Also acts on alerts.
    Analyst,
    /// Also starts pipeline runs and manages people.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Analyst, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Whether this role may start a pipeline run.
    pub fn can_start_runs(self) -> bool {
        self >= Role::Admin
    }

    /// Whether this role may see the notifications' deliveries and resend them.
    pub fn can_manage_deliveries(self) -> bool {
        self >= Role::Admin
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("user store {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: crate::state::db::Error,
    },
    #[error("creating {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("user store: {0}")]
    Open(#[from] crate::state::sqlite::OpenError),
    #[error("user store {path}: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("`{0}` is not a valid user name: use 1–64 letters, digits, `.`, `_` or `-`")]
    BadName(String),
    #[error("the password is too short: use at least {MIN_PASSWORD_CHARS} characters")]
    ShortPassword,
    #[error("the password is too long: use at most {MAX_PASSWORD_BYTES} bytes")]
    LongPassword,
    #[error("the system's random number source failed: {0}")]
    Random(String),
    #[error("hashing the password failed: {0}")]
    Hash(String),
}

/// A person as the store knows them (never with the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub role: Role,
    pub created_at: String,
}

/// A signed-in person, as a request presents them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    pub name: String,
    pub role: Role,
    /// The token forms must send back with any change.
    pub csrf: String,
    /// The time zone they chose (`None`: the dashboard's, `config/display.yml`).
    pub timezone: Option<display::time::Zone>,
    /// The language of the messages sent to them (digests) they chose (`None`: the dashboard's).
    pub language: Option<display::Lang>,
}

/// A new session: `token` goes into the cookie, and is never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub token: String,
    pub user: SessionUser,
}

pub struct UserStore {
    path: PathBuf,
    conn: Conn,
    /// The folder of the state's own files (the first admin's initial password).
    files: PathBuf,
}

fn random_bytes(n: usize) -> Result<Vec<u8>, UserError> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).map_err(|e| UserError::Random(e.to_string()))?;
    Ok(buf)
}

fn random_hex(n: usize) -> Result<String, UserError> {
    Ok(hex::encode(random_bytes(n)?))
}

/// A fresh random 256-bit token, as 64 hex digits (sessions, form tokens).
pub fn new_token() -> Result<String, UserError> {
    random_hex(32)
}

/// Whether `name` can be a user name (1–64 letters, digits, `.`, `_`, `-`).
pub fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME_BYTES).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

impl UserStore {
    /// The store of the data folder `data_dir` (created when first opened).
    pub fn open_in(data_dir: &Path) -> Result<Self, UserError> {
        if let Some((path, conn)) = crate::state::shared::connect(data_dir) {
            return match conn {
                Ok(conn) => Ok(UserStore {
                    path,
                    conn,
                    files: data_dir.join("state"),
                }),
                Err(source) => Err(UserError::Sqlite { path, source }),
            };
        }
        Self::open(&data_dir.join(USERS_FILE))
    }

    pub fn open(path: &Path) -> Result<Self, UserError> {
        let conn = crate::state::sqlite::open(path, SCHEMA)?;
        // Files from before the per-person language: the column added, empty.
        let has_language: i64 = conn
            .query_row(
                "SELECT count(*) FROM pragma_table_info('user_settings') WHERE name = 'language'",
                [],
                |r| r.get(0),
            )
            .map_err(|source| UserError::Sqlite {
                path: path.to_path_buf(),
                source,
            })?;
        if has_language == 0 {
            conn.execute_batch("ALTER TABLE user_settings ADD COLUMN language TEXT")
                .map_err(|source| UserError::Sqlite {
                    path: path.to_path_buf(),
                    source,
                })?;
        }
        Ok(UserStore {
            path: path.to_path_buf(),
            conn,
            files: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        })
    }

    /// The open connection (moving the state elsewhere reads it whole).
    pub(crate) fn conn(&self) -> &Conn {
        &self.conn
    }

    fn sql_err(&self, source: crate::state::db::Error) -> UserError {
        UserError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn role_of(&self, text: &str) -> Result<Role, UserError> {
        Role::parse(text).ok_or_else(|| UserError::Corrupt {
            path: self.path.clone(),
            message: format!("unknown role `{text}`"),
        })
    }

    /// Adds `name`, or replaces their password and role when they exist. Returns whether the
    /// person is new.
    pub fn set_user(&self, name: &str, password: &str, role: Role) -> Result<bool, UserError> {
        if !valid_name(name) {
            return Err(UserError::BadName(name.to_string()));
        }
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(UserError::ShortPassword);
        }
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(UserError::LongPassword);
        }
        let salt = SaltString::encode_b64(&random_bytes(16)?)
            .map_err(|e| UserError::Hash(e.to_string()))?;
        let hash = Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| UserError::Hash(e.to_string()))?
            .to_string();
        let existed = self.user(name)?.is_some();
        self.conn
            .execute(
                "INSERT INTO users (name, password_hash, role, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO UPDATE SET password_hash = ?2, role = ?3",
                params![name, hash, role.as_str(), timestamp(Utc::now())],
            )
            .map_err(|e| self.sql_err(e))?;
        if existed {
            // A new password signs out every session of the old one.
            self.conn
                .execute("DELETE FROM sessions WHERE user_name = ?1", params![name])
                .map_err(|e| self.sql_err(e))?;
            forget_initial_password(&self.files, name);
        }
        Ok(!existed)
    }

    /// Removes `name` and their sessions; whether they existed.
    pub fn remove_user(&self, name: &str) -> Result<bool, UserError> {
        let n = self
            .conn
            .execute("DELETE FROM users WHERE name = ?1", params![name])
            .map_err(|e| self.sql_err(e))?;
        forget_initial_password(&self.files, name);
        Ok(n > 0)
    }

    pub fn user(&self, name: &str) -> Result<Option<User>, UserError> {
        let row = self
            .conn
            .query_row(
                "SELECT name, role, created_at FROM users WHERE name = ?1",
                params![name],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| self.sql_err(e))?;
        row.map(|(name, role, created_at)| {
            Ok(User {
                name,
                role: self.role_of(&role)?,
                created_at,
            })
        })
        .transpose()
    }

    pub fn users(&self) -> Result<Vec<User>, UserError> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, role, created_at FROM users ORDER BY name")
            .map_err(|e| self.sql_err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?))
            })
            .map_err(|e| self.sql_err(e))?
            .collect::<Result<Vec<(String, String, String)>, _>>()
            .map_err(|e| self.sql_err(e))?;
        rows.into_iter()
            .map(|(name, role, created_at)| {
                Ok(User {
                    name,
                    role: self.role_of(&role)?,
                    created_at,
                })
            })
            .collect()
    }

    /// Counts a sign-in attempt for `name` against its limit, in one write transaction with the
    /// check, so concurrent guesses (from any process) cannot get past [`MAX_FAILURES`]. A
    /// successful sign-in then clears the count ([`UserStore::clear_failures`]).
    pub fn begin_attempt(&self, name: &str, now: DateTime<Utc>) -> Result<Attempt, UserError> {
        let window = chrono::Duration::minutes(FAILURE_WINDOW_MINUTES);
        let tx = self.conn.begin_write().map_err(|e| self.sql_err(e))?;
        let row: Option<(i64, String)> = tx
            .query_row(
                "SELECT failures, window_start FROM sign_in_failures WHERE name = ?1",
                params![name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.sql_err(e))?;
        let current = row.and_then(|(n, start)| {
            let start = DateTime::parse_from_rfc3339(&start)
                .ok()?
                .with_timezone(&Utc);
            (now - start < window).then_some((n, start))
        });
        let outcome = match current {
            Some((n, start)) if n >= MAX_FAILURES => Attempt::Locked {
                until: start + window,
            },
            Some((n, start)) => {
                tx.execute(
                    "UPDATE sign_in_failures SET failures = ?2, window_start = ?3 WHERE name = ?1",
                    params![name, n + 1, timestamp(start)],
                )
                .map_err(|e| self.sql_err(e))?;
                Attempt::Allowed
            }
            None => {
                tx.execute(
                    "INSERT INTO sign_in_failures (name, failures, window_start) VALUES (?1, 1, ?2)
                     ON CONFLICT (name) DO UPDATE SET failures = 1, window_start = ?2",
                    params![name, timestamp(now)],
                )
                .map_err(|e| self.sql_err(e))?;
                // Bounded: past windows go, then beyond the cap the oldest names that are not
                // locked (flooding the table with new names must not unlock a guessed one).
                tx.execute(
                    "DELETE FROM sign_in_failures WHERE window_start <= ?1",
                    params![timestamp(now - window)],
                )
                .map_err(|e| self.sql_err(e))?;
                tx.execute(
                    &format!(
                        "DELETE FROM sign_in_failures WHERE name IN (SELECT name FROM \
                         sign_in_failures ORDER BY failures >= ?2 DESC, window_start DESC \
                         {} OFFSET ?1)",
                        tx.dialect().no_limit()
                    ),
                    params![MAX_FAILURE_ROWS, MAX_FAILURES],
                )
                .map_err(|e| self.sql_err(e))?;
                Attempt::Allowed
            }
        };
        tx.commit().map_err(|e| self.sql_err(e))?;
        Ok(outcome)
    }

    /// Forgets `name`'s failed sign-ins (after a success, or an admin's `users unlock`);
    /// whether there were any.
    pub fn clear_failures(&self, name: &str) -> Result<bool, UserError> {
        let n = self
            .conn
            .execute(
                "DELETE FROM sign_in_failures WHERE name = ?1",
                params![name],
            )
            .map_err(|e| self.sql_err(e))?;
        Ok(n > 0)
    }

    /// Names locked out now, with until when.
    pub fn locked_names(&self, now: DateTime<Utc>) -> Result<Vec<(String, String)>, UserError> {
        let window = chrono::Duration::minutes(FAILURE_WINDOW_MINUTES);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT name, window_start FROM sign_in_failures
                 WHERE failures >= ?1 AND window_start > ?2 ORDER BY name",
            )
            .map_err(|e| self.sql_err(e))?;
        let rows = stmt
            .query_map(params![MAX_FAILURES, timestamp(now - window)], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| self.sql_err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sql_err(e))?;
        Ok(rows
            .into_iter()
            .map(|(name, start)| {
                let until = DateTime::parse_from_rfc3339(&start)
                    .map(|s| timestamp(s.with_timezone(&Utc) + window))
                    .unwrap_or(start);
                (name, until)
            })
            .collect())
    }

    /// Checks `password` and opens a session; `None` for an unknown name or a wrong password
    /// (which one is not told). An unknown name costs a hash too, so timing does not tell.
    /// Limits on attempts are the caller's ([`UserStore::begin_attempt`]).
    pub fn sign_in(&self, name: &str, password: &str) -> Result<Option<NewSession>, UserError> {
        if name.len() > MAX_NAME_BYTES || password.len() > MAX_PASSWORD_BYTES {
            return Ok(None);
        }
        let stored: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT password_hash, role FROM users WHERE name = ?1",
                params![name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.sql_err(e))?;
        let Some((hash, role)) = stored else {
            let salt = SaltString::encode_b64(b"no such user, same cost")
                .map_err(|e| UserError::Hash(e.to_string()))?;
            let _ = Argon2::default().hash_password(password.as_bytes(), &salt);
            return Ok(None);
        };
        let parsed = PasswordHash::new(&hash).map_err(|e| UserError::Corrupt {
            path: self.path.clone(),
            message: format!("the password hash of `{name}` cannot be read: {e}"),
        })?;
        if Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_err()
        {
            return Ok(None);
        }
        let role = self.role_of(&role)?;
        let token = random_hex(32)?;
        let csrf = random_hex(32)?;
        let now = Utc::now();
        self.conn
            .execute(
                "INSERT INTO sessions (token_sha256, user_name, csrf, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    sha256_hex(token.as_bytes()),
                    name,
                    csrf,
                    timestamp(now),
                    timestamp(now + chrono::Duration::days(SESSION_DAYS))
                ],
            )
            .map_err(|e| self.sql_err(e))?;
        // Expired sessions are swept on the way.
        self.conn
            .execute(
                "DELETE FROM sessions WHERE expires_at <= ?1",
                params![timestamp(now)],
            )
            .map_err(|e| self.sql_err(e))?;
        Ok(Some(NewSession {
            token,
            user: SessionUser {
                name: name.to_string(),
                role,
                csrf,
                timezone: self.timezone(name)?,
                language: self.language(name)?,
            },
        }))
    }

    /// The person whose session `token` is, unless it expired or was ended.
    pub fn session(&self, token: &str) -> Result<Option<SessionUser>, UserError> {
        self.session_at(token, Utc::now())
    }

    fn session_at(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionUser>, UserError> {
        type Row = (String, String, String, Option<String>, Option<String>);
        let row: Option<Row> = self
            .conn
            .query_row(
                "SELECT s.user_name, u.role, s.csrf, t.timezone, t.language FROM sessions s
                 JOIN users u ON u.name = s.user_name
                 LEFT JOIN user_settings t ON t.user_name = s.user_name
                 WHERE s.token_sha256 = ?1 AND s.expires_at > ?2",
                params![sha256_hex(token.as_bytes()), timestamp(now)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()
            .map_err(|e| self.sql_err(e))?;
        row.map(|(name, role, csrf, timezone, language)| {
            Ok(SessionUser {
                role: self.role_of(&role)?,
                timezone: self.zone_of(&name, timezone.as_deref()),
                language: language.as_deref().and_then(display::Lang::parse),
                name,
                csrf,
            })
        })
        .transpose()
    }

    /// The stored zone name read; one the time zone database no longer knows is left out (the
    /// person sees the dashboard's zone and may choose again).
    fn zone_of(&self, name: &str, stored: Option<&str>) -> Option<display::time::Zone> {
        let stored = stored?;
        let zone = display::time::Zone::parse(stored);
        if zone.is_none() {
            tracing::warn!(
                "{}: `{name}` chose the time zone `{stored}`, which is not known; showing the dashboard's",
                self.path.display()
            );
        }
        zone
    }

    /// The time zone `name` chose, if any.
    pub fn timezone(&self, name: &str) -> Result<Option<display::time::Zone>, UserError> {
        let stored: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT timezone FROM user_settings WHERE user_name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql_err(e))?;
        Ok(self.zone_of(name, stored.flatten().as_deref()))
    }

    /// Sets the time zone `name` reads times in (`None`: the dashboard's). Whether the person
    /// exists.
    pub fn set_timezone(
        &self,
        name: &str,
        zone: Option<display::time::Zone>,
    ) -> Result<bool, UserError> {
        if self.user(name)?.is_none() {
            return Ok(false);
        }
        self.conn
            .execute(
                "INSERT INTO user_settings (user_name, timezone) VALUES (?1, ?2)
                 ON CONFLICT (user_name) DO UPDATE SET timezone = ?2",
                params![name, zone.map(|z| z.name())],
            )
            .map_err(|e| self.sql_err(e))?;
        Ok(true)
    }

    /// The language `name` chose for the messages sent to them, if any.
    pub fn language(&self, name: &str) -> Result<Option<display::Lang>, UserError> {
        let stored: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT language FROM user_settings WHERE user_name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql_err(e))?;
        Ok(stored.flatten().as_deref().and_then(display::Lang::parse))
    }

    /// Sets the language of the messages sent to `name` (`None`: the dashboard's). Whether the
    /// person exists.
    pub fn set_language(&self, name: &str, lang: Option<display::Lang>) -> Result<bool, UserError> {
        if self.user(name)?.is_none() {
            return Ok(false);
        }
        self.conn
            .execute(
                "INSERT INTO user_settings (user_name, language) VALUES (?1, ?2)
                 ON CONFLICT (user_name) DO UPDATE SET language = ?2",
                params![name, lang.map(|l| l.code())],
            )
            .map_err(|e| self.sql_err(e))?;
        Ok(true)
    }

    /// Ends the session `token` (signing out).
    pub fn end_session(&self, token: &str) -> Result<(), UserError> {
        self.conn
            .execute(
                "DELETE FROM sessions WHERE token_sha256 = ?1",
                params![sha256_hex(token.as_bytes())],
            )
            .map_err(|e| self.sql_err(e))?;
        Ok(())
    }
}

/// Whether `sent` is `expected`, in time that does not depend on where they differ.
pub fn same_token(sent: &str, expected: &str) -> bool {
    sent.len() == expected.len()
        && sent
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The user created on the first start.
pub const FIRST_ADMIN: &str = "admin";
/// The file beside the users file that holds the first admin's initial password until it changes.
pub const INITIAL_PASSWORD_FILE_NAME: &str = "initial-admin-password";

/// Called when `name`'s password changes or `name` is removed: the first admin's initial
/// password file in the state's folder `files` is deleted (it no longer signs in).
fn forget_initial_password(files: &Path, name: &str) {
    if name == FIRST_ADMIN {
        let _ = std::fs::remove_file(files.join(INITIAL_PASSWORD_FILE_NAME));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, UserStore) {
        let dir = crate::state::shared::test_data_dir();
        let store = UserStore::open_in(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn the_right_password_opens_a_session_and_nothing_else_does() {
        let (dir, users) = store();
        assert!(users
            .set_user("mina", "correct horse battery", Role::Admin)
            .unwrap());
        let stored: String = users
            .conn
            .query_row(
                "SELECT password_hash FROM users WHERE name = 'mina'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        if let Ok(file) = std::fs::read(dir.path().join(USERS_FILE)) {
            assert!(
                !String::from_utf8_lossy(&file).contains("correct horse battery"),
                "the password is stored only hashed"
            );
        }
        assert!(users.sign_in("mina", "wrong password!").unwrap().is_none());
        assert!(users
            .sign_in("nobody", "correct horse battery")
            .unwrap()
            .is_none());
        let s = users
            .sign_in("mina", "correct horse battery")
            .unwrap()
            .unwrap();
        assert_eq!(s.user.role, Role::Admin);
        assert_eq!(s.token.len(), 64);
        assert_ne!(s.token, s.user.csrf);
        assert_eq!(users.session(&s.token).unwrap(), Some(s.user.clone()));
        assert!(users.session("not a token").unwrap().is_none());
        users.end_session(&s.token).unwrap();
        assert!(users.session(&s.token).unwrap().is_none());
    }

    #[test]
    fn a_chosen_time_zone_comes_with_the_session_and_goes_with_the_person() {
        let (_dir, users) = store();
        users
            .set_user("mina", "a long password", Role::Analyst)
            .unwrap();
        let s = users.sign_in("mina", "a long password").unwrap().unwrap();
        assert_eq!(s.user.timezone, None, "the dashboard's zone until chosen");
        let ny = display::time::Zone::parse("America/New_York");
        assert!(users.set_timezone("mina", ny).unwrap());
        assert_eq!(users.session(&s.token).unwrap().unwrap().timezone, ny);
        assert_eq!(users.timezone("mina").unwrap(), ny);
        let again = users.sign_in("mina", "a long password").unwrap().unwrap();
        assert_eq!(again.user.timezone, ny);
        assert!(users.set_timezone("mina", None).unwrap());
        assert_eq!(users.session(&s.token).unwrap().unwrap().timezone, None);
        assert!(!users.set_timezone("nobody", ny).unwrap());
        // A name the database no longer knows reads as no choice.
        users
            .conn
            .execute(
                "UPDATE user_settings SET timezone = 'Mars/Olympus' WHERE user_name = 'mina'",
                [],
            )
            .unwrap();
        assert_eq!(users.session(&s.token).unwrap().unwrap().timezone, None);
        users.set_timezone("mina", ny).unwrap();
        assert!(users.remove_user("mina").unwrap());
        let left: i64 = users
            .conn
            .query_row("SELECT COUNT(*) FROM user_settings", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0, "the setting goes with the person");
    }

    #[test]
    fn attempts_are_counted_before_checking_and_lock_the_name() {
        let (_dir, users) = store();
        let t0 = Utc::now();
        for _ in 0..MAX_FAILURES {
            assert_eq!(users.begin_attempt("mina", t0).unwrap(), Attempt::Allowed);
        }
        let Attempt::Locked { until } = users.begin_attempt("mina", t0).unwrap() else {
            panic!("the sixth attempt must be refused");
        };
        assert!(until > t0);
        assert_eq!(users.locked_names(t0).unwrap().len(), 1);
        assert_eq!(
            users.begin_attempt("other", t0).unwrap(),
            Attempt::Allowed,
            "another name is not affected"
        );
        // The window passes: allowed again.
        let later = t0 + chrono::Duration::minutes(FAILURE_WINDOW_MINUTES + 1);
        assert_eq!(
            users.begin_attempt("mina", later).unwrap(),
            Attempt::Allowed
        );
        // An admin unlocks a locked name at once.
        for _ in 0..MAX_FAILURES {
            users.begin_attempt("mina", later).unwrap();
        }
        assert!(matches!(
            users.begin_attempt("mina", later).unwrap(),
            Attempt::Locked { .. }
        ));
        assert!(users.clear_failures("mina").unwrap());
        assert_eq!(
            users.begin_attempt("mina", later).unwrap(),
            Attempt::Allowed
        );
        assert!(!users.clear_failures("nobody").unwrap());
    }

    #[test]
    fn concurrent_attempts_never_exceed_the_limit() {
        let dir = crate::state::shared::test_data_dir();
        UserStore::open_in(dir.path()).unwrap();
        let now = Utc::now();
        let allowed: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..16)
                .map(|_| {
                    scope.spawn(|| {
                        let users = UserStore::open_in(dir.path()).unwrap();
                        (0..3)
                            .filter(|_| {
                                users.begin_attempt("mina", now).unwrap() == Attempt::Allowed
                            })
                            .count()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(allowed, MAX_FAILURES as usize);
    }

    #[test]
    fn failures_of_many_names_stay_bounded() {
        let (_dir, users) = store();
        let now = Utc::now();
        users
            .conn
            .execute_batch(&format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {MAX_FAILURE_ROWS})
                 INSERT INTO sign_in_failures SELECT 'u' || i, 1, '{}' FROM n",
                timestamp(now)
            ))
            .unwrap();
        users.begin_attempt("one-more", now).unwrap();
        let rows: i64 = users
            .conn
            .query_row("SELECT count(*) FROM sign_in_failures", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, MAX_FAILURE_ROWS);
    }

    #[test]
    fn overlong_passwords_are_refused_before_hashing() {
        let (_dir, users) = store();
        let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
        assert!(matches!(
            users.set_user("mina", &long, Role::Viewer),
            Err(UserError::LongPassword)
        ));
        assert!(users.sign_in("mina", &long).unwrap().is_none());
    }

    #[test]
    fn sessions_expire_and_a_new_password_or_removal_ends_them() {
        let (_dir, users) = store();
        users
            .set_user("jun", "first password", Role::Viewer)
            .unwrap();
        let s = users.sign_in("jun", "first password").unwrap().unwrap();
        let later =
            Utc::now() + chrono::Duration::days(SESSION_DAYS) + chrono::Duration::minutes(1);
        assert!(users.session_at(&s.token, later).unwrap().is_none());
        assert!(users.session(&s.token).unwrap().is_some());
        assert!(!users
            .set_user("jun", "second password", Role::Analyst)
            .unwrap());
        assert!(users.session(&s.token).unwrap().is_none());
        let s = users.sign_in("jun", "second password").unwrap().unwrap();
        assert_eq!(s.user.role, Role::Analyst);
        assert!(users.remove_user("jun").unwrap());
        assert!(users.session(&s.token).unwrap().is_none());
        assert!(users.users().unwrap().is_empty());
    }

    #[test]
    fn bad_names_and_short_passwords_are_refused_with_the_reason() {
        let (_dir, users) = store();
        let err = users
            .set_user("a b", "long enough pass", Role::Viewer)
            .unwrap_err();
        assert!(err.to_string().contains("not a valid user name"), "{err}");
        let err = users.set_user("ab", "short", Role::Viewer).unwrap_err();
        assert!(err.to_string().contains("at least 10 characters"), "{err}");
    }

    #[test]
    fn roles_order_and_parse() {
        assert!(Role::Admin.can_start_runs());
        assert!(!Role::Analyst.can_start_runs());
        assert!(!Role::Viewer.can_start_runs());
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn token_comparison() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "abcd"));
    }
}

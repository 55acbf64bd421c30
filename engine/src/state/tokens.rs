//! API tokens for scripts (`actionboard tokens add NAME --role analyst`): a random 256-bit
//! token shown once, kept only as its SHA-256 in `state/users.sqlite` (table `api_tokens`),
//! presented as `Authorization: Bearer TOKEN` to the JSON API. A token acts under its name.

use std::path::{Path, PathBuf};

use chrono::Utc;

use crate::base::sha256_hex;
use crate::base::time::timestamp;
use crate::state::db::{params, Conn, OptionalExtension};

use crate::state::users::{valid_name, Role, UserError};

const FILE: &str = "state/users.sqlite";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS api_tokens (
    name        TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
";

/// A token as listed (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub name: String,
    pub role: Role,
    pub created_at: String,
}

pub struct TokenStore {
    path: PathBuf,
    conn: Conn,
}

impl TokenStore {
    pub fn open_in(data_dir: &Path) -> Result<Self, UserError> {
        if let Some((path, conn)) = crate::state::shared::connect(data_dir) {
            return match conn {
                Ok(conn) => Ok(TokenStore { path, conn }),
                Err(source) => Err(UserError::Sqlite { path, source }),
            };
        }
        Self::open(&data_dir.join(FILE))
    }

    /// The tokens of the SQLite users file at `path`.
    pub fn open(path: &Path) -> Result<Self, UserError> {
        let conn = crate::state::sqlite::open(path, SCHEMA)?;
        Ok(TokenStore {
            path: path.to_path_buf(),
            conn,
        })
    }

    fn sql(&self, source: crate::state::db::Error) -> UserError {
        UserError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Creates (or replaces: the old token stops working) the token `name` with `role`;
    /// returns the token, which is not kept and cannot be shown again.
    pub fn add(&self, name: &str, role: Role) -> Result<String, UserError> {
        if !valid_name(name) {
            return Err(UserError::BadName(name.to_string()));
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| UserError::Random(e.to_string()))?;
        let token = format!("abt_{}", hex::encode(bytes));
        self.conn
            .execute(
                "INSERT INTO api_tokens (name, token_hash, role, created_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (name) DO UPDATE SET token_hash = ?2, role = ?3, created_at = ?4",
                params![
                    name,
                    sha256_hex(token.as_bytes()),
                    role.as_str(),
                    timestamp(Utc::now())
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(token)
    }

    /// Removes the token `name`; whether it existed.
    pub fn remove(&self, name: &str) -> Result<bool, UserError> {
        let n = self
            .conn
            .execute("DELETE FROM api_tokens WHERE name = ?1", params![name])
            .map_err(|e| self.sql(e))?;
        Ok(n > 0)
    }

    pub fn list(&self) -> Result<Vec<TokenInfo>, UserError> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, role, created_at FROM api_tokens ORDER BY name")
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| self.sql(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (name, role, created_at) = row.map_err(|e| self.sql(e))?;
            out.push(TokenInfo {
                name,
                role: Role::parse(&role).unwrap_or(Role::Viewer),
                created_at,
            });
        }
        Ok(out)
    }

    /// The name and role of the token `token`, if it is one (looked up by its hash).
    pub fn lookup(&self, token: &str) -> Result<Option<(String, Role)>, UserError> {
        let found: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT name, role FROM api_tokens WHERE token_hash = ?1",
                params![sha256_hex(token.as_bytes())],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        Ok(found.and_then(|(name, role)| Role::parse(&role).map(|r| (name, r))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_shown_once_kept_hashed_replaced_and_removed() {
        let dir = crate::state::shared::test_data_dir();
        let store = TokenStore::open_in(dir.path()).unwrap();
        let token = store.add("ci-bot", Role::Analyst).unwrap();
        assert!(token.starts_with("abt_") && token.len() == 68);
        assert_eq!(
            store.lookup(&token).unwrap(),
            Some(("ci-bot".to_string(), Role::Analyst))
        );
        assert_eq!(store.lookup("abt_guess").unwrap(), None);
        let stored: String = store
            .conn
            .query_row("SELECT token_hash FROM api_tokens", [], |r| r.get(0))
            .unwrap();
        assert_ne!(stored, token, "only the hash is kept");
        let again = store.add("ci-bot", Role::Viewer).unwrap();
        assert_eq!(
            store.lookup(&token).unwrap(),
            None,
            "the old token stops working"
        );
        assert_eq!(store.lookup(&again).unwrap().unwrap().1, Role::Viewer);
        assert_eq!(store.list().unwrap().len(), 1);
        assert!(store.remove("ci-bot").unwrap());
        assert_eq!(store.lookup(&again).unwrap(), None);
        assert!(matches!(
            store.add("bad name", Role::Admin),
            Err(UserError::BadName(_))
        ));
    }
}

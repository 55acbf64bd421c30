//! The PostgreSQL side of [`super::Conn`]: a pool of blocking clients, the state's SQL with its
//! `?` placeholders numbered as PostgreSQL wants them, and values converted by the column's or
//! parameter's own type (so an `i64` fits an `INTEGER` parameter and a `SUM` reads as a number).

use std::collections::HashMap;
use std::error::Error as StdError;
use std::time::Duration;

use bytes::BytesMut;
use postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use r2d2_postgres::PostgresConnectionManager;

use super::{Value, ValueRef};

type BoxError = Box<dyn StdError + Sync + Send>;

pub(crate) type Manager = PostgresConnectionManager<postgres::NoTls>;
pub(crate) type Pool = r2d2::Pool<Manager>;

/// The key of the advisory lock every write transaction holds: one writer at a time over the
/// whole state, across every instance, as SQLite's `BEGIN IMMEDIATE` gives on one machine.
pub(crate) const WRITE_LOCK: i64 = 0x4163_7469_6f6e_0001;

/// How many connections one process keeps open at most.
const POOL_SIZE: u32 = 16;

/// A pool for the database `config` describes: checked by opening one connection, so a wrong
/// address or password is reported at start.
pub(crate) fn pool(mut config: postgres::Config) -> Result<Pool, r2d2::Error> {
    config.connect_timeout(Duration::from_secs(10));
    config.application_name("actionboard");
    // Notices (a table that already exists) are not news to the operator.
    config.options("-c client_min_messages=warning");
    let manager = PostgresConnectionManager::new(config, postgres::NoTls);
    r2d2::Pool::builder()
        .max_size(POOL_SIZE)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(15))
        .build(manager)
}

/// One pooled client with the statements it has prepared.
pub(crate) struct PgConn {
    pub(crate) client: r2d2::PooledConnection<Manager>,
    prepared: HashMap<String, postgres::Statement>,
}

impl PgConn {
    pub(crate) fn new(client: r2d2::PooledConnection<Manager>) -> Self {
        PgConn {
            client,
            prepared: HashMap::new(),
        }
    }

    /// `sql` (with `?` placeholders) prepared, once per connection when `cache`.
    pub(crate) fn prepare(
        &mut self,
        sql: &str,
        cache: bool,
    ) -> Result<postgres::Statement, super::Error> {
        if let Some(stmt) = self.prepared.get(sql) {
            return Ok(stmt.clone());
        }
        let stmt = self
            .client
            .prepare(&numbered_placeholders(sql))
            .map_err(|source| super::Error::Statement {
                sql: sql.chars().take(300).collect(),
                source,
            })?;
        if cache {
            // Bounded: the state's statements are a fixed set of texts (and the filters' few
            // shapes); a long-lived connection never gathers more than that.
            if self.prepared.len() >= 512 {
                self.prepared.clear();
            }
            self.prepared.insert(sql.to_owned(), stmt.clone());
        }
        Ok(stmt)
    }
}

/// `sql` with SQLite's placeholders (`?`, `?NNN`) written as PostgreSQL's (`$N`), outside
/// quoted text, quoted names and comments. A bare `?` is one more than the largest so far,
/// as in SQLite.
pub(crate) fn numbered_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut largest = 0u32;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == '\n' {
                        break;
                    }
                }
            }
            '?' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                let n = digits.parse().unwrap_or(largest + 1);
                largest = largest.max(n);
                out.push('$');
                out.push_str(&n.to_string());
            }
            _ => out.push(c),
        }
    }
    out
}

fn unsupported(what: &str, ty: &Type) -> BoxError {
    format!("{what} cannot be stored in a column of type {ty}").into()
}

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Integer(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR | Type::UNKNOWN => i.to_string().to_sql(ty, out),
                _ => Err(unsupported("an integer", ty)),
            },
            Value::Real(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR | Type::UNKNOWN => f.to_string().to_sql(ty, out),
                _ => Err(unsupported("a real number", ty)),
            },
            Value::Text(s) => match *ty {
                // PostgreSQL's text cannot hold NUL (SQLite's can): a NUL someone sent becomes
                // U+FFFD, so a filter with one matches nothing instead of failing.
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
                    if s.contains('\0') =>
                {
                    s.replace('\0', "\u{FFFD}").as_str().to_sql(ty, out)
                }
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                    s.as_str().to_sql(ty, out)
                }
                _ => Err(unsupported("text", ty)),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for ValueRef<'a> {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(match *ty {
            Type::INT8 => ValueRef::Integer(i64::from_sql(ty, raw)?),
            Type::INT4 => ValueRef::Integer(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => ValueRef::Integer(i16::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => ValueRef::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => ValueRef::Real(f32::from_sql(ty, raw)?.into()),
            Type::BOOL => ValueRef::Integer(bool::from_sql(ty, raw)?.into()),
            Type::NUMERIC => numeric(raw)?,
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                ValueRef::Text(raw)
            }
            Type::BYTEA => ValueRef::Blob,
            _ => return Err(format!("a column of type {ty} is not read by the state").into()),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(ValueRef::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A `NUMERIC` (what `SUM` of integers gives): an integer when it is whole and fits, else a
/// real number. Its binary form: digit count, weight, sign, scale, then base-10000 digits.
fn numeric(raw: &[u8]) -> Result<ValueRef<'static>, BoxError> {
    let word = |i: usize| -> Result<u16, BoxError> {
        raw.get(i..i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "a NUMERIC value is cut short".into())
    };
    let ndigits = usize::from(word(0)?);
    let weight = i32::from(word(2)? as i16);
    let sign = word(4)?;
    let scale = word(6)?;
    if sign == 0xC000 {
        return Ok(ValueRef::Real(f64::NAN));
    }
    let mut value = 0f64;
    let mut whole: Option<i64> = Some(0);
    for k in 0..ndigits {
        let digit = word(8 + 2 * k)?;
        let power = weight - k as i32;
        value += f64::from(digit) * 10000f64.powi(power);
        whole = match (whole, u32::try_from(power)) {
            (Some(w), Ok(p)) => 10000i64
                .checked_pow(p)
                .and_then(|m| i64::from(digit).checked_mul(m))
                .and_then(|d| w.checked_add(d)),
            (w, Err(_)) if digit == 0 => w,
            _ => None,
        };
    }
    let negative = sign == 0x4000;
    Ok(match whole {
        Some(w) if scale == 0 || value.fract() == 0.0 => {
            ValueRef::Integer(if negative { -w } else { w })
        }
        _ => ValueRef::Real(if negative { -value } else { value }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_outside_text_names_and_comments() {
        assert_eq!(
            numbered_placeholders("SELECT a FROM t WHERE b = ? AND c = ? -- why?\n AND d = '?'"),
            "SELECT a FROM t WHERE b = $1 AND c = $2 -- why?\n AND d = '?'"
        );
        assert_eq!(
            numbered_placeholders("UPDATE t SET a = ?2 WHERE \"k?\" = ?1 AND x = ?"),
            "UPDATE t SET a = $2 WHERE \"k?\" = $1 AND x = $3"
        );
    }

    #[test]
    fn numerics_read_as_integers_when_whole() {
        // 12345678: two base-10000 digits, 1234 and 5678, weight 1.
        let raw = [0, 2, 0, 1, 0, 0, 0, 0, 0x04, 0xD2, 0x16, 0x2E];
        assert!(matches!(
            numeric(&raw).unwrap(),
            ValueRef::Integer(12345678)
        ));
        // -0.5: one digit 5000 at weight -1, scale 1.
        let raw = [0, 1, 0xFF, 0xFF, 0x40, 0, 0, 1, 0x13, 0x88];
        assert!(matches!(numeric(&raw).unwrap(), ValueRef::Real(v) if v == -0.5));
        // Zero has no digits.
        let raw = [0, 0, 0, 0, 0, 0, 0, 0];
        assert!(matches!(numeric(&raw).unwrap(), ValueRef::Integer(0)));
        assert!(numeric(&[0, 1]).is_err());
    }
}

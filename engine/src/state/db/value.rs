//! Values crossing into and out of the state's database, the same on every backend.

use super::{Error, Result};

/// A parameter's value, owned.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
}

/// A column's value as read, borrowed from the row.
#[derive(Debug, Clone, Copy)]
pub enum ValueRef<'a> {
    Null,
    Integer(i64),
    Real(f64),
    /// Text as stored, not yet checked to be UTF-8 (readers that want a `String` check it;
    /// the exports' JSON parser checks what it reads itself).
    Text(&'a [u8]),
    /// Bytes (the state stores none; reported, never read).
    Blob,
}

impl<'a> ValueRef<'a> {
    pub(super) fn from_sqlite(v: rusqlite::types::ValueRef<'a>) -> Self {
        use rusqlite::types::ValueRef as V;
        match v {
            V::Null => ValueRef::Null,
            V::Integer(i) => ValueRef::Integer(i),
            V::Real(f) => ValueRef::Real(f),
            V::Text(t) => ValueRef::Text(t),
            V::Blob(_) => ValueRef::Blob,
        }
    }

    fn kind(self) -> &'static str {
        match self {
            ValueRef::Null => "null",
            ValueRef::Integer(_) => "an integer",
            ValueRef::Real(_) => "a real number",
            ValueRef::Text(_) => "text",
            ValueRef::Blob => "bytes",
        }
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef as V};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => V::Null,
            Value::Integer(i) => V::Integer(*i),
            Value::Real(f) => V::Real(*f),
            Value::Text(t) => V::Text(t.as_bytes()),
        }))
    }
}

/// What can be a parameter.
pub trait ToValue {
    fn to_value(&self) -> Value;
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}

impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_owned())
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}

impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Integer(i64::from(*self))
    }
}

impl ToValue for f64 {
    fn to_value(&self) -> Value {
        Value::Real(*self)
    }
}

macro_rules! integer_to_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::Integer(i64::from(*self))
            }
        }
    )*};
}
integer_to_value!(i64, i32, u32, u16, u8);

impl ToValue for usize {
    fn to_value(&self) -> Value {
        // Counts and limits: far below i64::MAX; saturate rather than wrap.
        Value::Integer(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl ToValue for u64 {
    fn to_value(&self) -> Value {
        Value::Integer(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}

/// What a column can be read as.
pub trait FromValue: Sized {
    fn from_value(v: ValueRef<'_>, column: usize) -> Result<Self>;
}

fn mismatch<T>(v: ValueRef<'_>, column: usize, expected: &'static str) -> Result<T> {
    Err(Error::Conversion {
        column,
        expected,
        found: v.kind(),
    })
}

impl FromValue for i64 {
    fn from_value(v: ValueRef<'_>, column: usize) -> Result<Self> {
        match v {
            ValueRef::Integer(i) => Ok(i),
            _ => mismatch(v, column, "an integer"),
        }
    }
}

macro_rules! narrow_integer_from_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(v: ValueRef<'_>, column: usize) -> Result<Self> {
                match v {
                    ValueRef::Integer(i) => <$t>::try_from(i).or_else(|_| {
                        mismatch(v, column, concat!("an integer that fits ", stringify!($t)))
                    }),
                    _ => mismatch(v, column, "an integer"),
                }
            }
        }
    )*};
}
narrow_integer_from_value!(i32, u32, u64, usize, u16, u8);

impl FromValue for f64 {
    fn from_value(v: ValueRef<'_>, column: usize) -> Result<Self> {
        match v {
            ValueRef::Real(f) => Ok(f),
            // SQLite keeps a whole REAL as an integer when it can.
            ValueRef::Integer(i) => Ok(i as f64),
            _ => mismatch(v, column, "a number"),
        }
    }
}

impl FromValue for bool {
    fn from_value(v: ValueRef<'_>, column: usize) -> Result<Self> {
        match v {
            ValueRef::Integer(i) => Ok(i != 0),
            _ => mismatch(v, column, "a boolean"),
        }
    }
}

impl FromValue for String {
    fn from_value(v: ValueRef<'_>, column: usize) -> Result<Self> {
        match v {
            ValueRef::Text(t) => match std::str::from_utf8(t) {
                Ok(t) => Ok(t.to_owned()),
                Err(_) => mismatch(ValueRef::Blob, column, "UTF-8 text"),
            },
            _ => mismatch(v, column, "text"),
        }
    }
}

impl FromValue for Value {
    fn from_value(v: ValueRef<'_>, column: usize) -> Result<Self> {
        Ok(match v {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(f) => Value::Real(f),
            ValueRef::Text(_) => Value::Text(String::from_value(v, column)?),
            ValueRef::Blob => return mismatch(v, column, "a value"),
        })
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: ValueRef<'_>, column: usize) -> Result<Self> {
        match v {
            ValueRef::Null => Ok(None),
            _ => T::from_value(v, column).map(Some),
        }
    }
}

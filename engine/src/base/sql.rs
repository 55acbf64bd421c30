//! SQL text shared by every layer that writes queries: literals quoted for the dialect that reads
//! them, and the catalog look-ups older snapshots need.

pub fn quote(text: &str) -> String {
    Dialect::DuckDb.quote(text)
}

/// The SQL engine a query is written for. DuckDB's text is the reference; Spark's differs only
/// where Spark SQL reads the same text differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    #[default]
    DuckDb,
    Spark,
}

impl Dialect {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "duckdb" => Some(Dialect::DuckDb),
            "spark" => Some(Dialect::Spark),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dialect::DuckDb => "duckdb",
            Dialect::Spark => "spark",
        }
    }

    /// A string literal. Spark reads `\` as an escape and `'a''b'` as two adjacent literals
    /// (`ab`), so it escapes with backslashes instead of doubling the quote.
    pub fn quote(self, text: &str) -> String {
        match self {
            Dialect::DuckDb => format!("'{}'", text.replace('\'', "''")),
            Dialect::Spark => format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'")),
        }
    }

    /// A number literal at full precision (`{:?}` always writes a point or an exponent).
    /// Spark reads `0.1` as a DECIMAL: the `D` suffix makes it a DOUBLE, as DuckDB compares.
    pub fn num(self, v: f64) -> String {
        match self {
            Dialect::DuckDb => format!("{v:?}"),
            Dialect::Spark => format!("{v:?}D"),
        }
    }

    /// A NULL of type DOUBLE. Spark types a bare NULL as VOID, which Parquet cannot store.
    pub fn null_double(self) -> &'static str {
        match self {
            Dialect::DuckDb => "NULL",
            Dialect::Spark => "CAST(NULL AS DOUBLE)",
        }
    }

    /// Any value of a group (all equal where it is used). `any_value` is Spark ≥ 3.4 only.
    pub fn any_value(self, col: &str) -> String {
        match self {
            Dialect::DuckDb => format!("any_value({col})"),
            Dialect::Spark => format!("first({col}, true)"),
        }
    }

    /// `col DESC` with NULLs last: DuckDB's default, Spark's only when said.
    pub fn desc(self, col: &str) -> String {
        match self {
            Dialect::DuckDb => format!("{col} DESC"),
            Dialect::Spark => format!("{col} DESC NULLS LAST"),
        }
    }

    /// `col ASC` with NULLs last: DuckDB's default; Spark puts NULLs first unless told.
    pub fn asc(self, col: &str) -> String {
        match self {
            Dialect::DuckDb => col.to_string(),
            Dialect::Spark => format!("{col} ASC NULLS LAST"),
        }
    }
}

/// The tables and views of the database a connection is connected to (not those attached to
/// it), with their columns: snapshots loaded by older versions lack the newer summary tables and
/// columns. Read once by a reader that asks many questions (a rules evaluation asks about ten;
/// each question costs ~1 ms, a tenth of DuckDB's time on a small rule).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    /// (table or view, column).
    columns: std::collections::HashSet<(String, String)>,
}

impl Catalog {
    /// From DuckDB's own catalog function (`information_schema`'s views take twice as long).
    pub fn read(conn: &duckdb::Connection) -> Result<Self, duckdb::Error> {
        let mut stmt = conn.prepare(
            "SELECT table_name, column_name FROM duckdb_columns()
             WHERE database_name = current_database()",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(Catalog {
            columns: rows.collect::<Result<_, _>>()?,
        })
    }

    pub fn has_table(&self, name: &str) -> bool {
        self.columns.iter().any(|(table, _)| table == name)
    }

    pub fn has_column(&self, table: &str, column: &str) -> bool {
        self.columns
            .contains(&(table.to_string(), column.to_string()))
    }
}

/// Whether the database `conn` is connected to has a table or view `name` ([`Catalog`]).
pub fn has_table(conn: &duckdb::Connection, name: &str) -> Result<bool, duckdb::Error> {
    Ok(Catalog::read(conn)?.has_table(name))
}

/// Whether a table or view `table` of the database `conn` is connected to has a column
/// `column` ([`Catalog`]).
pub fn has_column(
    conn: &duckdb::Connection,
    table: &str,
    column: &str,
) -> Result<bool, duckdb::Error> {
    Ok(Catalog::read(conn)?.has_column(table, column))
}

/// [`has_table`] for the database attached to `conn` as `catalog`.
pub fn has_table_in(
    conn: &duckdb::Connection,
    catalog: &str,
    name: &str,
) -> Result<bool, duckdb::Error> {
    conn.query_row(
        "SELECT count(*) > 0 FROM (
             SELECT table_name AS name, database_name AS db FROM duckdb_tables()
             UNION ALL SELECT view_name, database_name FROM duckdb_views() WHERE NOT internal)
         WHERE name = ? AND db = ?",
        [name, catalog],
        |r| r.get(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_views_and_columns_are_found_in_the_right_database() {
        let conn = duckdb::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (a INTEGER); CREATE VIEW v AS SELECT a AS b FROM t;
             ATTACH ':memory:' AS other; CREATE TABLE other.u (c INTEGER);",
        )
        .unwrap();
        for (name, here) in [("t", true), ("v", true), ("u", false), ("tables", false)] {
            assert_eq!(has_table(&conn, name).unwrap(), here, "{name}");
        }
        assert!(has_table_in(&conn, "other", "u").unwrap());
        assert!(!has_table_in(&conn, "other", "t").unwrap());
        let catalog = Catalog::read(&conn).unwrap();
        for (table, column, has) in [
            ("t", "a", true),
            ("v", "b", true),
            ("t", "b", false),
            ("u", "c", false),
        ] {
            assert_eq!(
                has_column(&conn, table, column).unwrap(),
                has,
                "{table}.{column}"
            );
            assert_eq!(catalog.has_column(table, column), has, "{table}.{column}");
        }
        assert!(catalog.has_table("v") && !catalog.has_table("u"));
    }
}

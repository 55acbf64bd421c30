//! The first loader: World Bank GDP (current US$) and the UN M49 region table, straight into a
//! new snapshot. It validates every row and names the file, line and field of anything it
//! rejects; the staged pipeline with provenance and manifests builds on the same tables.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use duckdb::{params, Connection};

use crate::store::{RunId, SnapshotError, SnapshotStore};

/// Economies that UN M49 does not list but the World Bank reports, placed where the UN would.
const REGION_OVERRIDES: &[(&str, &str, &str, &str)] = &[
    ("XKX", "Kosovo", "Europe", "Southern Europe"),
    ("CHI", "Channel Islands", "Europe", "Northern Europe"),
];

/// CLDR short names read well ("South Korea", "Türkiye") except where CLDR abbreviates.
const NAME_OVERRIDES: &[(&str, &str)] = &[("USA", "United States"), ("GBR", "United Kingdom")];

pub const GDP_SOURCE_ID: &str = "wb_gdp";
pub const REGIONS_SOURCE_ID: &str = "un_m49_regions";

/// Where the two input files are.
#[derive(Debug, Clone)]
pub struct BootstrapSources {
    pub gdp_csv: PathBuf,
    pub regions_csv: PathBuf,
}

impl BootstrapSources {
    /// The files' places inside a mirror folder laid out like `../shared/data`.
    pub fn from_mirror(mirror: &Path) -> Self {
        BootstrapSources {
            gdp_csv: mirror.join("wb_wdi/ny.gdp.mktp.cd.csv"),
            regions_csv: mirror.join("regions/un_m49_country-codes.csv"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadSummary {
    pub run: RunId,
    pub countries: usize,
    pub gdp_rows: usize,
    pub aggregate_rows: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: the header has no `{column}` column; check that this is the right file")]
    MissingColumn { path: PathBuf, column: &'static str },
    #[error("{path}, line {line}: {message}")]
    Row {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{path} has no data rows")]
    Empty { path: PathBuf },
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error("loading into DuckDB: {0}")]
    Duckdb(#[from] duckdb::Error),
}

struct Country {
    code: String,
    name: String,
    region: String,
    sub_region: String,
}

struct GdpRow {
    code: String,
    name: String,
    year: i32,
    gdp_usd: f64,
}

fn open_csv(path: &Path) -> Result<(csv::Reader<std::fs::File>, csv::StringRecord), LoadError> {
    let file = std::fs::File::open(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new().from_reader(file);
    let headers = reader
        .headers()
        .map_err(|e| row_error(path, 1, format!("unreadable header: {e}")))?
        .clone();
    Ok((reader, headers))
}

fn column(
    path: &Path,
    headers: &csv::StringRecord,
    name: &'static str,
) -> Result<usize, LoadError> {
    headers
        .iter()
        .position(|h| h.trim_start_matches('\u{feff}') == name)
        .ok_or_else(|| LoadError::MissingColumn {
            path: path.to_path_buf(),
            column: name,
        })
}

fn row_error(path: &Path, line: u64, message: String) -> LoadError {
    LoadError::Row {
        path: path.to_path_buf(),
        line,
        message,
    }
}

fn read_regions(path: &Path) -> Result<Vec<Country>, LoadError> {
    let (mut reader, headers) = open_csv(path)?;
    let code_col = column(path, &headers, "ISO3166-1-Alpha-3")?;
    let name_col = column(path, &headers, "CLDR display name")?;
    let region_col = column(path, &headers, "Region Name")?;
    let sub_col = column(path, &headers, "Sub-region Name")?;
    let mut countries = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            row_error(path, line, e.to_string())
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize| record.get(i).unwrap_or("").trim().to_string();
        let (code, region) = (field(code_col), field(region_col));
        // Antarctica has no region: it is no economy and has no GDP.
        if region.is_empty() {
            continue;
        }
        if code.len() != 3 || !code.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(row_error(
                path,
                line,
                format!("`ISO3166-1-Alpha-3` is {code:?}, expected three capital letters"),
            ));
        }
        let name = NAME_OVERRIDES
            .iter()
            .find(|(c, _)| *c == code)
            .map_or_else(|| field(name_col), |(_, n)| n.to_string());
        countries.push(Country {
            code,
            name,
            region,
            sub_region: field(sub_col),
        });
    }
    for (code, name, region, sub_region) in REGION_OVERRIDES {
        if !countries.iter().any(|c| c.code == *code) {
            countries.push(Country {
                code: code.to_string(),
                name: name.to_string(),
                region: region.to_string(),
                sub_region: sub_region.to_string(),
            });
        }
    }
    if countries.is_empty() {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(countries)
}

fn read_gdp(path: &Path) -> Result<Vec<GdpRow>, LoadError> {
    let (mut reader, headers) = open_csv(path)?;
    let name_col = column(path, &headers, "Country Name")?;
    let code_col = column(path, &headers, "Country Code")?;
    let year_col = column(path, &headers, "Year")?;
    let value_col = column(path, &headers, "Value")?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            row_error(path, line, e.to_string())
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        let year: i32 = field(year_col).parse().map_err(|_| {
            row_error(
                path,
                line,
                format!("`Year` is {:?}, expected a whole number", field(year_col)),
            )
        })?;
        let gdp_usd: f64 = field(value_col).parse().map_err(|_| {
            row_error(
                path,
                line,
                format!("`Value` is {:?}, expected a number", field(value_col)),
            )
        })?;
        if !gdp_usd.is_finite() || gdp_usd < 0.0 {
            return Err(row_error(
                path,
                line,
                format!("`Value` is {gdp_usd}, expected a GDP of zero or more US dollars"),
            ));
        }
        rows.push(GdpRow {
            code: field(code_col).to_string(),
            name: field(name_col).to_string(),
            year,
            gdp_usd,
        });
    }
    if rows.is_empty() {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(rows)
}

const SCHEMA: &str = "
CREATE TABLE countries (
    code VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    region VARCHAR NOT NULL,
    sub_region VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL
);
CREATE TABLE gdp (
    code VARCHAR NOT NULL,
    source_name VARCHAR NOT NULL,
    year INTEGER NOT NULL,
    gdp_usd DOUBLE NOT NULL,
    is_aggregate BOOLEAN NOT NULL,
    run_id VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL,
    PRIMARY KEY (code, year)
);";

/// Reads, checks and loads both files into a new snapshot and publishes it. On any error
/// nothing is published and the previous snapshot keeps serving.
pub fn load(store: &SnapshotStore, sources: &BootstrapSources) -> Result<LoadSummary, LoadError> {
    let countries = read_regions(&sources.regions_csv)?;
    let gdp = read_gdp(&sources.gdp_csv)?;
    let country_codes: HashMap<&str, ()> =
        countries.iter().map(|c| (c.code.as_str(), ())).collect();

    let mut writer = store.begin(RunId::now())?;
    let run = writer.run().clone();
    let conn = writer.connection();
    conn.execute_batch(SCHEMA)?;
    let tx = conn.transaction()?;
    {
        let mut app = tx.appender("countries")?;
        for c in &countries {
            app.append_row(params![
                c.code,
                c.name,
                c.region,
                c.sub_region,
                REGIONS_SOURCE_ID
            ])?;
        }
        app.flush()?;
        let mut app = tx.appender("gdp")?;
        for row in &gdp {
            // Anything the region table does not know is a World Bank aggregate (World, income
            // groups, regions): kept for reference, never ranked as a country.
            let is_aggregate = !country_codes.contains_key(row.code.as_str());
            app.append_row(params![
                row.code,
                row.name,
                row.year,
                row.gdp_usd,
                is_aggregate,
                run.as_str(),
                GDP_SOURCE_ID
            ])?;
        }
        app.flush()?;
    }
    tx.commit()?;

    let aggregate_rows = gdp
        .iter()
        .filter(|r| !country_codes.contains_key(r.code.as_str()))
        .count();
    let expected_rows = gdp.len();
    writer.finish(|conn| check_loaded(conn, expected_rows))?;
    Ok(LoadSummary {
        run,
        countries: countries.len(),
        gdp_rows: gdp.len(),
        aggregate_rows,
    })
}

fn check_loaded(conn: &Connection, expected_rows: usize) -> Result<(), String> {
    let loaded: i64 = conn
        .query_row("SELECT count(*) FROM gdp", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if usize::try_from(loaded).ok() != Some(expected_rows) {
        return Err(format!("expected {expected_rows} GDP rows, found {loaded}"));
    }
    let countries: i64 = conn
        .query_row(
            "SELECT count(DISTINCT code) FROM gdp WHERE NOT is_aggregate",
            [],
            |r| r.get(0),
        )
        .map_err(|e| e.to_string())?;
    if countries == 0 {
        return Err("no GDP row belongs to a known country".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const REGIONS: &str = "ISO3166-1-Alpha-3,CLDR display name,Region Name,Sub-region Name\n\
        USA,US,Americas,Northern America\n\
        KOR,South Korea,Asia,Eastern Asia\n\
        ATA,Antarctica,,\n";

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::File::create(&path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        path
    }

    fn sources(dir: &Path, gdp: &str) -> BootstrapSources {
        BootstrapSources {
            gdp_csv: write(dir, "gdp.csv", gdp),
            regions_csv: write(dir, "regions.csv", REGIONS),
        }
    }

    #[test]
    fn aggregates_are_kept_apart_and_overrides_apply() {
        let dir = tempfile::tempdir().unwrap();
        let src = sources(
            dir.path(),
            "Country Name,Country Code,Year,Value\n\
             United States,USA,2024,2.9e13\n\
             \"Korea, Rep.\",KOR,2024,1.7e12\n\
             Kosovo,XKX,2024,1.1e10\n\
             World,WLD,2024,1.1e14\n",
        );
        let store = SnapshotStore::new(dir.path().join("data"));
        let summary = load(&store, &src).unwrap();
        assert_eq!(summary.gdp_rows, 4);
        assert_eq!(summary.aggregate_rows, 1);
        let (_, conn) = store.open_current().unwrap();
        let ov = crate::store::queries::overview(&conn, None).unwrap();
        assert_eq!(ov.year, 2024);
        assert_eq!(ov.countries_with_data, 3);
        let codes: Vec<_> = ov.large_economies.iter().map(|c| c.code.as_str()).collect();
        assert_eq!(codes, ["USA", "KOR"]);
        let europe = ov
            .region_top5
            .iter()
            .find(|r| r.region == "Europe")
            .unwrap();
        assert_eq!(europe.countries, ["Kosovo"]);
    }

    #[test]
    fn bad_value_names_file_line_and_field_and_publishes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let src = sources(
            dir.path(),
            "Country Name,Country Code,Year,Value\nUnited States,USA,2024,2.9e13\nKorea,KOR,2024,lots\n",
        );
        let store = SnapshotStore::new(dir.path().join("data"));
        let err = load(&store, &src).unwrap_err().to_string();
        assert!(
            err.contains("gdp.csv, line 3") && err.contains("`Value`"),
            "{err}"
        );
        assert_eq!(store.current().unwrap(), None);
    }

    #[test]
    fn renamed_column_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let src = sources(
            dir.path(),
            "Country Name,Code,Year,Value\nUnited States,USA,2024,1\n",
        );
        let store = SnapshotStore::new(dir.path().join("data"));
        let err = load(&store, &src).unwrap_err().to_string();
        assert!(err.contains("no `Country Code` column"), "{err}");
    }

    #[test]
    fn negative_gdp_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let src = sources(
            dir.path(),
            "Country Name,Country Code,Year,Value\nUnited States,USA,2024,-5\n",
        );
        let store = SnapshotStore::new(dir.path().join("data"));
        let err = load(&store, &src).unwrap_err().to_string();
        assert!(
            err.contains("line 2") && err.contains("zero or more"),
            "{err}"
        );
    }
}

//! Volume and coverage checks before publishing: a source that suddenly has far fewer rows,
//! countries, or countries reporting its latest period than in the last published run is a broken
//! delivery until someone says otherwise (`--accept-shrink SOURCE`). The run fails before its
//! snapshot is published, so the previous one keeps serving.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use duckdb::Connection;

/// What one source delivered: every row (aggregates too), the distinct countries, and how many
/// countries report each year.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceVolume {
    pub rows: u64,
    pub countries: u64,
    pub countries_by_year: BTreeMap<i32, u64>,
}

impl SourceVolume {
    /// The newest year with any country.
    pub fn latest_year(&self) -> Option<i32> {
        self.countries_by_year.keys().next_back().copied()
    }
}

/// The volumes of every source in a connection whose `observations` (a table or view) has the
/// snapshot's columns: from the transform's summaries (`source_volumes`, `period_volumes`) when
/// it has them, else by scanning the rows (snapshots of older versions).
pub fn volumes(conn: &Connection) -> Result<BTreeMap<String, SourceVolume>, duckdb::Error> {
    let summarised = crate::base::sql::has_table(conn, "period_volumes")?;
    let mut out: BTreeMap<String, SourceVolume> = BTreeMap::new();
    let mut stmt = conn.prepare(if summarised {
        "SELECT source_id, CAST(rows AS BIGINT), CAST(countries AS BIGINT) FROM source_volumes"
    } else {
        "SELECT source_id, count(*), count(DISTINCT code) FILTER (WHERE NOT is_aggregate)
         FROM observations GROUP BY source_id"
    })?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    for row in rows {
        let (source, rows, countries) = row?;
        let v = out.entry(source).or_default();
        v.rows = u64::try_from(rows).unwrap_or(0);
        v.countries = u64::try_from(countries).unwrap_or(0);
    }
    let mut stmt = conn.prepare(if summarised {
        "SELECT source_id, year, CAST(countries AS BIGINT) FROM period_volumes WHERE countries > 0"
    } else {
        "SELECT source_id, year, count(DISTINCT code) FROM observations
         WHERE NOT is_aggregate GROUP BY source_id, year"
    })?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i32>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    for row in rows {
        let (source, year, countries) = row?;
        out.entry(source)
            .or_default()
            .countries_by_year
            .insert(year, u64::try_from(countries).unwrap_or(0));
    }
    Ok(out)
}

/// The volumes of a transform folder's observation files (before any snapshot exists).
pub fn transform_volumes(
    transform_dir: &Path,
) -> Result<BTreeMap<String, SourceVolume>, duckdb::Error> {
    let obs = transform_dir.join("observations");
    let has_files = std::fs::read_dir(&obs)
        .map(|mut d| d.next().is_some())
        .unwrap_or(false);
    if !has_files {
        return Ok(BTreeMap::new());
    }
    let conn = Connection::open_in_memory()?;
    let summaries = ["source_volumes", "period_volumes"]
        .map(|name| transform_dir.join(format!("{name}.parquet")));
    if summaries.iter().all(|f| f.is_file()) {
        for (name, file) in ["source_volumes", "period_volumes"].iter().zip(&summaries) {
            let file = file.to_string_lossy().replace('\'', "''");
            conn.execute_batch(&format!(
                "CREATE VIEW {name} AS SELECT * FROM read_parquet('{file}');"
            ))?;
        }
        return volumes(&conn);
    }
    let glob = obs
        .join("*/*.parquet")
        .to_string_lossy()
        .replace('\'', "''");
    conn.execute_batch(&format!(
        "CREATE VIEW observations AS SELECT * FROM read_parquet('{glob}',
             hive_partitioning = true, hive_types = {{'source_id': VARCHAR}});"
    ))?;
    volumes(&conn)
}

/// One measure of a source that dropped by more than its `max_shrink`.
#[derive(Debug, Clone, PartialEq)]
pub struct Drop {
    /// `rows`, `countries`, or `countries reporting <year>`.
    pub measure: String,
    pub before: u64,
    pub after: u64,
}

impl Drop {
    pub fn percent(&self) -> f64 {
        if self.before == 0 {
            0.0
        } else {
            (self.before as f64 - self.after as f64) / self.before as f64 * 100.0
        }
    }
}

/// A source that shrank beyond its limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Shrink {
    pub source_id: String,
    pub max_shrink: f64,
    pub drops: Vec<Drop>,
}

impl Shrink {
    /// "rows 14743 → 100 (−99.3 %), countries 217 → 100 (−53.9 %)".
    pub fn describe(&self) -> String {
        self.drops
            .iter()
            .map(|d| {
                format!(
                    "{} {} → {} (−{:.1} %)",
                    d.measure,
                    d.before,
                    d.after,
                    d.percent()
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The sources of `checked` (id → its `max_shrink`) that shrank beyond their limit between
/// `before` (the last published run) and `after` (this run). A source absent from `before` is
/// new and never shrinks; one absent from `after` delivered nothing.
pub fn shrinks(
    checked: &BTreeMap<String, f64>,
    before: &BTreeMap<String, SourceVolume>,
    after: &BTreeMap<String, SourceVolume>,
) -> Vec<Shrink> {
    let empty = SourceVolume::default();
    let mut out = Vec::new();
    for (id, &max_shrink) in checked {
        let Some(b) = before.get(id) else { continue };
        let a = after.get(id).unwrap_or(&empty);
        let mut measures = vec![
            ("rows".to_string(), b.rows, a.rows),
            ("countries".to_string(), b.countries, a.countries),
        ];
        if let Some(year) = b.latest_year() {
            measures.push((
                format!("countries reporting {year}"),
                b.countries_by_year.get(&year).copied().unwrap_or(0),
                a.countries_by_year.get(&year).copied().unwrap_or(0),
            ));
        }
        let drops: Vec<Drop> = measures
            .into_iter()
            .filter(|(_, before, after)| {
                *before > 0 && (*before as f64 - *after as f64) / (*before as f64) > max_shrink
            })
            .map(|(measure, before, after)| Drop {
                measure,
                before,
                after,
            })
            .collect();
        if !drops.is_empty() {
            out.push(Shrink {
                source_id: id.clone(),
                max_shrink,
                drops,
            });
        }
    }
    out
}

/// The sources named with `--accept-shrink` that are not sources of the configuration.
pub fn unknown_accepted<'a>(
    accepted: &'a BTreeSet<String>,
    known: &BTreeSet<&str>,
) -> Vec<&'a str> {
    accepted
        .iter()
        .map(String::as_str)
        .filter(|id| !known.contains(id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vol(rows: u64, countries: u64, by_year: &[(i32, u64)]) -> SourceVolume {
        SourceVolume {
            rows,
            countries,
            countries_by_year: by_year.iter().copied().collect(),
        }
    }

    #[test]
    fn a_drop_beyond_the_limit_is_named_with_its_counts() {
        let checked = BTreeMap::from([("wb".to_string(), 0.1), ("imf".to_string(), 0.1)]);
        let before = BTreeMap::from([
            (
                "wb".to_string(),
                vol(1000, 200, &[(2024, 190), (2025, 180)]),
            ),
            ("imf".to_string(), vol(100, 10, &[(2025, 10)])),
        ]);
        let after = BTreeMap::from([
            // 9 % fewer rows: within the limit; 2025 reported by half the countries: not.
            ("wb".to_string(), vol(910, 200, &[(2024, 190), (2025, 90)])),
        ]);
        let found = shrinks(&checked, &before, &after);
        assert_eq!(found.len(), 2);
        let imf = &found[0];
        assert_eq!(imf.source_id, "imf");
        assert_eq!(imf.drops.len(), 3, "a source that delivered nothing");
        let wb = &found[1];
        assert_eq!(
            wb.drops,
            vec![Drop {
                measure: "countries reporting 2025".into(),
                before: 180,
                after: 90
            }]
        );
        assert_eq!(wb.describe(), "countries reporting 2025 180 → 90 (−50.0 %)");
        // A new source, or growth, never fails.
        let grown = BTreeMap::from([("wb".to_string(), vol(2000, 210, &[(2025, 200)]))]);
        assert!(shrinks(&checked, &BTreeMap::new(), &grown).is_empty());
        assert!(shrinks(&checked, &grown, &grown).is_empty());
    }
}

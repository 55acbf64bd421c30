//! Two IMF World Economic Outlook editions side by side: the same year's GDP in each, for the
//! countries both list, biggest revisions first.

use duckdb::{params, Connection, OptionalExt};

/// The IMF editions loaded as separate sources, oldest first.
pub const IMF_EDITIONS: [&str; 2] = ["imf_weo_2024oct", "imf_weo_2026apr"];

/// The year compared when none is asked for: the latest year both editions cover with figures
/// the newer one has as actuals.
pub const DEFAULT_YEAR: i32 = 2025;

pub use display::editions::{EditionComparison, EditionInfo, Revision};

#[derive(Debug, thiserror::Error)]
pub enum EditionsError {
    #[error("the snapshot does not have both IMF editions ({}, {}) loaded", IMF_EDITIONS[0], IMF_EDITIONS[1])]
    Missing,
    #[error("`{0}` is not a year")]
    BadYear(String),
    #[error(
        "the two editions have no common figures for {year}; pick a year from {first} to {last}"
    )]
    NoSuchYear { year: i32, first: i32, last: i32 },
    #[error("query failed: {0}")]
    Duckdb(#[from] duckdb::Error),
}

impl EditionsError {
    /// The message for people, in both languages (`Display` is the English one, for logs).
    pub fn text(&self) -> display::Text {
        let ko = match self {
            EditionsError::Missing => format!(
                "스냅샷에 두 IMF 발표판({}, {})이 모두 적재되어 있지 않습니다",
                IMF_EDITIONS[0], IMF_EDITIONS[1]
            ),
            EditionsError::BadYear(y) => format!("`{y}`은(는) 연도가 아닙니다"),
            EditionsError::NoSuchYear { year, first, last } => {
                format!(
                    "두 발표판에 {year}년 공통 수치가 없습니다. {first}–{last}년 중에서 고르세요"
                )
            }
            EditionsError::Duckdb(e) => format!("조회 실패: {e}"),
        };
        display::Text::new(self.to_string(), ko)
    }
}

fn info(conn: &Connection, source_id: &str) -> Result<EditionInfo, EditionsError> {
    let row = conn
        .query_row(
            "SELECT coalesce(p.edition, any_value(o.edition)), coalesce(p.title, '')
             FROM observations o LEFT JOIN provenance p USING (source_id)
             WHERE o.source_id = ? GROUP BY p.edition, p.title",
            params![source_id],
            |r| Ok((r.get::<_, Option<String>>(0)?, r.get::<_, String>(1)?)),
        )
        .optional()?;
    let (edition, title) = row.ok_or(EditionsError::Missing)?;
    Ok(EditionInfo {
        source_id: source_id.to_string(),
        edition: edition.unwrap_or_else(|| source_id.to_string()),
        title,
    })
}

/// The comparison for `year` as typed in the URL (default [`DEFAULT_YEAR`], or the latest common
/// year when that one is not covered).
pub fn compare(conn: &Connection, year: Option<&str>) -> Result<EditionComparison, EditionsError> {
    let [old_id, new_id] = IMF_EDITIONS;
    let old = info(conn, old_id)?;
    let new = info(conn, new_id)?;
    let mut stmt = conn.prepare(
        "SELECT DISTINCT a.year FROM observations a JOIN observations b USING (code, year)
         WHERE a.source_id = ? AND b.source_id = ? AND NOT a.is_aggregate
           AND a.value IS NOT NULL AND b.value IS NOT NULL
         ORDER BY a.year DESC",
    )?;
    let years = stmt
        .query_map(params![old_id, new_id], |r| r.get(0))?
        .collect::<Result<Vec<i32>, _>>()?;
    let (Some(&last), Some(&first)) = (years.first(), years.last()) else {
        return Err(EditionsError::Missing);
    };
    let year = match year.map(str::trim).filter(|y| !y.is_empty()) {
        Some(text) => {
            let y: i32 = text
                .parse()
                .map_err(|_| EditionsError::BadYear(text.into()))?;
            if !years.contains(&y) {
                return Err(EditionsError::NoSuchYear {
                    year: y,
                    first,
                    last,
                });
            }
            y
        }
        None if years.contains(&DEFAULT_YEAR) => DEFAULT_YEAR,
        None => last,
    };

    let mut stmt = conn.prepare(
        "SELECT a.code, coalesce(c.name, a.name_in_source), coalesce(c.region, ''),
                a.value, b.value, a.is_projection, b.is_projection,
                CASE WHEN a.value <> 0 THEN (b.value - a.value) / a.value * 100 END AS revision_pct
         FROM observations a
         JOIN observations b USING (code, year)
         LEFT JOIN countries c USING (code)
         WHERE a.source_id = ? AND b.source_id = ? AND a.year = ?
           AND NOT a.is_aggregate AND NOT b.is_aggregate
           AND a.value IS NOT NULL AND b.value IS NOT NULL
         ORDER BY abs(revision_pct) DESC NULLS LAST, a.code",
    )?;
    let rows = stmt
        .query_map(params![old_id, new_id, year], |r| {
            Ok(Revision {
                code: r.get(0)?,
                name: r.get(1)?,
                region: r.get(2)?,
                old_usd: r.get(3)?,
                new_usd: r.get(4)?,
                old_projection: r.get(5)?,
                new_projection: r.get(6)?,
                change_pct: r.get(7)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(EditionComparison {
        year,
        years,
        old,
        new,
        rows,
        region_codes: crate::query::queries::region_codes(conn)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::explore::test_snapshot;

    #[test]
    fn common_countries_biggest_revision_first() {
        let conn = test_snapshot();
        let c = compare(&conn, None).unwrap();
        assert_eq!(c.year, 2025);
        assert_eq!(c.years, vec![2026, 2025]);
        assert_eq!(c.old.edition, "WEO October 2024");
        assert_eq!(c.new.edition, "WEO April 2026");
        // KOR 1800 → 1710 (−5 %), JPN 4100 → 4150 (+1.2 %); FRA and DEU are in one edition only.
        let codes: Vec<_> = c.rows.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(codes, vec!["KOR", "JPN"]);
        assert!((c.rows[0].change_pct.unwrap() + 5.0).abs() < 1e-9);
        assert!(c.rows[0].old_projection && !c.rows[0].new_projection);
        assert_eq!(c.rows[0].name, "South Korea");
    }

    #[test]
    fn years_are_checked() {
        let conn = test_snapshot();
        assert_eq!(compare(&conn, Some("2026")).unwrap().rows.len(), 1);
        let err = compare(&conn, Some("1999")).unwrap_err().to_string();
        assert!(err.contains("pick a year from 2025 to 2026"), "{err}");
        let err = compare(&conn, Some("soon")).unwrap_err();
        assert!(err.to_string().contains("`soon` is not a year"), "{err}");
        assert_eq!(err.text().ko, "`soon`은(는) 연도가 아닙니다");
    }
}

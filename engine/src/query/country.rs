//! One country's page: its series (GDP, GDP per capita, rank) from the primary GDP source, and
//! the IMF's projections after the last actual year, each point with the source and run it
//! came from.

use duckdb::{params, Connection, OptionalExt};

use crate::query::editions::IMF_EDITIONS;

pub use display::country::{CountryProfile, SeriesPoint, SourceLabel};

/// A code as typed in a URL: letters and digits only, upper-cased (`kor` finds `KOR`).
pub fn normalize_code(code: &str) -> Option<String> {
    let code = code.trim();
    (!code.is_empty() && code.len() <= 8 && code.chars().all(|c| c.is_ascii_alphanumeric()))
        .then(|| code.to_ascii_uppercase())
}

/// The profile of `code`, or `None` when the region table has no such country.
pub fn country(conn: &Connection, code: &str) -> Result<Option<CountryProfile>, duckdb::Error> {
    let Some(code) = normalize_code(code) else {
        return Ok(None);
    };
    let info = conn
        .query_row(
            "SELECT code, name, coalesce(region, ''), coalesce(sub_region, '') FROM countries WHERE code = ?",
            params![code],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((code, name, region, sub_region)) = info else {
        return Ok(None);
    };

    let mut stmt = conn.prepare(
        "SELECT year, value, per_capita, rank, is_projection, source_id, run_id
         FROM observations
         WHERE source_id = (SELECT min(source_id) FROM gdp) AND code = ? AND value IS NOT NULL
         ORDER BY year",
    )?;
    let partial = match crate::snapshot::coverage::gdp_source(conn)? {
        Some(source) => crate::snapshot::coverage::partial_years(conn, &source)?,
        None => Vec::new(),
    };
    let mut gdp = Vec::new();
    let mut gdp_per_capita = Vec::new();
    let mut rank = Vec::new();
    let rows = stmt.query_map(params![code], |r| {
        Ok((
            r.get::<_, i32>(0)?,
            r.get::<_, f64>(1)?,
            r.get::<_, Option<f64>>(2)?,
            r.get::<_, Option<i64>>(3)?,
            r.get::<_, bool>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, String>(6)?,
        ))
    })?;
    for row in rows {
        let (year, value, per_capita, r, projection, source_id, run_id) = row?;
        let point = |value: f64| SeriesPoint {
            year,
            value,
            projection,
            provisional: partial.contains(&year),
            source_id: source_id.clone(),
            run_id: run_id.clone(),
        };
        gdp.push(point(value));
        if let Some(v) = per_capita {
            gdp_per_capita.push(point(v));
        }
        if let Some(r) = r {
            rank.push(point(r as f64));
        }
    }

    // The newest edition listing the country; only its projections after the last actual year,
    // so a year never has two GDP figures on the chart.
    let last_actual = gdp
        .iter()
        .filter(|p| !p.projection)
        .map(|p| p.year)
        .max()
        .unwrap_or(i32::MIN);
    let mut projections = Vec::new();
    for edition in IMF_EDITIONS.iter().rev() {
        let mut stmt = conn.prepare(
            "SELECT year, value, source_id, run_id FROM observations
             WHERE source_id = ? AND code = ? AND is_projection AND year > ? AND value IS NOT NULL
             ORDER BY year",
        )?;
        projections = stmt
            .query_map(params![edition, code, last_actual], |r| {
                Ok(SeriesPoint {
                    provisional: false,
                    year: r.get(0)?,
                    value: r.get(1)?,
                    projection: true,
                    source_id: r.get(2)?,
                    run_id: r.get(3)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        if !projections.is_empty() {
            break;
        }
    }

    let mut ids: Vec<&str> = gdp
        .iter()
        .chain(&projections)
        .map(|p| p.source_id.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut sources = Vec::new();
    let catalog = crate::base::sql::Catalog::read(conn)?;
    let url = crate::query::queries::provenance_url(&catalog);
    for id in ids {
        let label = conn
            .query_row(
                &format!(
                    "SELECT source_id, coalesce(title, ''), coalesce(publisher, ''),
                            coalesce(edition, ''), {url}
                     FROM provenance WHERE source_id = ?"
                ),
                params![id],
                |r| {
                    Ok(SourceLabel {
                        source_id: r.get(0)?,
                        title: r.get(1)?,
                        publisher: r.get(2)?,
                        edition: r.get(3)?,
                        url: r.get(4)?,
                    })
                },
            )
            .optional()?;
        sources.push(label.unwrap_or_else(|| SourceLabel {
            source_id: id.to_string(),
            title: id.to_string(),
            publisher: String::new(),
            edition: String::new(),
            url: None,
        }));
    }

    Ok(Some(CountryProfile {
        code,
        name,
        region,
        sub_region,
        gdp,
        gdp_per_capita,
        rank,
        projections,
        sources,
        region_codes: crate::query::queries::region_codes_in(conn, &catalog)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::explore::test_snapshot;

    #[test]
    fn series_and_the_newest_editions_projections_after_the_actuals() {
        let conn = test_snapshot();
        let c = country(&conn, "kor").unwrap().unwrap();
        assert_eq!((c.code.as_str(), c.name.as_str()), ("KOR", "South Korea"));
        assert_eq!(c.region, "Asia");
        let years = |s: &[SeriesPoint]| s.iter().map(|p| p.year).collect::<Vec<_>>();
        assert_eq!(years(&c.gdp), vec![2023, 2024]);
        assert_eq!(c.gdp[1].value, 1870e9);
        assert_eq!(c.gdp[1].run_id, "r1");
        assert_eq!(c.gdp_per_capita.len(), 2);
        assert_eq!(c.rank[0].value, 3.0);
        // The April 2026 edition projects 2026 only (2025 is an actual there); after 2024.
        assert_eq!(years(&c.projections), vec![2026]);
        assert_eq!(c.projections[0].source_id, "imf_weo_2026apr");
        assert_eq!(c.projections[0].value, 1900e9);
        assert!(c.projections.iter().all(|p| p.projection));
        let ids: Vec<_> = c.sources.iter().map(|s| s.source_id.as_str()).collect();
        assert_eq!(ids, vec!["imf_weo_2026apr", "wb_gdp"]);
        assert_eq!(c.sources[1].publisher, "The World Bank");
    }

    #[test]
    fn an_older_edition_serves_when_the_newest_lacks_the_country() {
        let conn = test_snapshot();
        let c = country(&conn, "FRA").unwrap().unwrap();
        assert_eq!(c.projections.len(), 1);
        assert_eq!(c.projections[0].source_id, "imf_weo_2024oct");
        assert_eq!(c.projections[0].year, 2025);
    }

    #[test]
    fn unknown_and_malformed_codes_are_none() {
        let conn = test_snapshot();
        for code in ["XYZ", "", "K'OR", "../x", "<script>"] {
            assert!(country(&conn, code).unwrap().is_none(), "{code}");
        }
        // A country in the region table without any figure still has a page.
        let deu = country(&conn, "DEU").unwrap().unwrap();
        assert!(deu.gdp.is_empty());
    }
}

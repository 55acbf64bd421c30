//! Validate + transform: typed records from each source's raw rows, declarative checks from
//! `config/sources.yml`, rejects with their reason, derived values, written as partitioned
//! Parquet. Sources, row chunks and entity series are independent partitions: rayon runs them
//! in parallel.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

use super::extract::{extractor_for, Location, ParseError, Provenance, RawRow, RawTable};
use super::manifest::SourceCounts;
use super::progress::{NoProgress, Progress};
use crate::config::{Role, Source, Sources};

/// Rows validated per rayon task: large enough to amortise scheduling, small enough to balance.
const CHUNK_ROWS: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Region {
    pub code: String,
    pub name: String,
    pub region: String,
    pub sub_region: String,
    pub source_id: String,
}

/// One validated value: an entity (country or aggregate), a year, a series, a source.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    // Shared by every row of a source: a reference count, not a copy per row.
    pub source_id: Arc<str>,
    pub series: Arc<str>,
    pub edition: Arc<str>,
    pub code: String,
    pub name_in_source: String,
    pub year: i32,
    /// In the canonical unit (US dollars, persons), full precision.
    pub value: f64,
    pub is_aggregate: bool,
    pub is_projection: bool,
    pub location: Location,
    /// Change vs the previous year of the same entity and source, in %; only when that year exists.
    pub change_pct: Option<f64>,
    /// Rank among countries (not aggregates) for the year, source and series; 1 = largest.
    pub rank: Option<u32>,
    /// Share of the sum over countries for the year, source and series, in %.
    pub share_pct: Option<f64>,
    /// `gdp_usd` divided by the population of the same entity and year, when both exist.
    pub per_capita: Option<f64>,
}

/// A row that failed a check, with everything needed to find and fix it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reject {
    pub source_id: String,
    pub file: String,
    pub location: String,
    pub field: String,
    pub value: String,
    pub rule: String,
    pub message: String,
}

impl Reject {
    fn at(
        source: &Source,
        file: &str,
        row: &RawRow,
        field: &str,
        value: &str,
        rule: &str,
        message: String,
    ) -> Self {
        Reject {
            source_id: source.id.clone(),
            file: file.to_string(),
            location: row.location.to_string(),
            field: field.to_string(),
            value: value.to_string(),
            rule: rule.to_string(),
            message,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    #[error(
        "source `{source_id}` was not extracted in this run; run `actionboard etl extract` again"
    )]
    NotExtracted { source_id: String },
    #[error("cannot read {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(
        "source `{source_id}`: {rejected} of {rows_in} rows rejected ({rate:.2} %), above the limit of {limit:.2} %. \
         Most common: {top}. See {rejects_file} and fix the source, or raise `checks.max_reject_rate` in config/sources.yml"
    )]
    TooManyRejects {
        source_id: String,
        rejected: u64,
        rows_in: u64,
        rate: f64,
        limit: f64,
        top: String,
        rejects_file: String,
    },
    #[error("the region table `{0}` has no usable rows; every country needs a region (enable the `role: regions` source in config/sources.yml)")]
    NoRegions(String),
}

/// Everything the transform produced, before it is written.
#[derive(Debug, Default)]
pub struct Transformed {
    pub regions: Vec<Region>,
    pub observations: Vec<Observation>,
    pub rejects: Vec<Reject>,
    pub counts: std::collections::BTreeMap<String, SourceCounts>,
}

/// Parses every extracted source in parallel.
fn parse_all(
    sources: &Sources,
    extract_dir: &Path,
    provenance: &[Provenance],
) -> Result<Vec<(Source, RawTable, String)>, TransformError> {
    sources
        .enabled()
        .collect::<Vec<_>>()
        .par_iter()
        .map(|source| {
            let prov = provenance
                .iter()
                .find(|p| p.source_id == source.id)
                .ok_or_else(|| TransformError::NotExtracted {
                    source_id: source.id.clone(),
                })?;
            let path = extract_dir.join(&prov.raw_file);
            let bytes = std::fs::read(&path).map_err(|e| TransformError::Read {
                path: path.clone(),
                message: e.to_string(),
            })?;
            let file = format!("{} (raw copy of {})", prov.raw_file, prov.location);
            let table = extractor_for(source.kind).parse(source, &file, &bytes)?;
            Ok(((*source).clone(), table, prov.location.clone()))
        })
        .collect()
}

fn cell(row: &RawRow, column: Option<usize>) -> &str {
    column
        .and_then(|i| row.cells.get(i))
        .map_or("", |s| s.trim())
}

/// Column index of a canonical field: the configured source column, or the field itself.
fn field_index(source: &Source, table: &RawTable, field: &str) -> Option<usize> {
    let name = source.columns.get(field).map_or(field, String::as_str);
    table.column(name)
}

fn regions_from(
    sources: &Sources,
    source: &Source,
    table: &RawTable,
    file: &str,
) -> (Vec<Region>, Vec<Reject>) {
    let idx = |f: &str| field_index(source, table, f);
    let (code_i, name_i, region_i, sub_i) =
        (idx("code"), idx("name"), idx("region"), idx("sub_region"));
    let mut regions = Vec::new();
    let mut rejects = Vec::new();
    let mut seen = HashSet::new();
    for row in &table.rows {
        let reject = |field: &str, value: &str, rule: &str, message: String| {
            Reject::at(source, file, row, field, value, rule, message)
        };
        if let Some(problem) = &row.problem {
            rejects.push(reject("", "", "row_shape", problem.clone()));
            continue;
        }
        let code = cell(row, code_i);
        let region = cell(row, region_i);
        // Antarctica has no region and no economy: not an error.
        if region.is_empty() {
            continue;
        }
        if !is_code(code) {
            rejects.push(reject(
                "code",
                code,
                "code_format",
                format!("`{code}` is not a three-letter code"),
            ));
            continue;
        }
        if !seen.insert(code.to_string()) {
            rejects.push(reject(
                "code",
                code,
                "unique",
                format!("`{code}` appears twice in the region table"),
            ));
            continue;
        }
        let name = sources
            .display_names
            .get(code)
            .cloned()
            .unwrap_or_else(|| cell(row, name_i).to_string());
        regions.push(Region {
            code: code.to_string(),
            name,
            region: region.to_string(),
            sub_region: cell(row, sub_i).to_string(),
            source_id: source.id.clone(),
        });
    }
    for o in &sources.region_overrides {
        if seen.insert(o.code.clone()) {
            regions.push(Region {
                code: o.code.clone(),
                name: o.name.clone(),
                region: o.region.clone(),
                sub_region: o.sub_region.clone(),
                source_id: "config/sources.yml".to_string(),
            });
        }
    }
    (regions, rejects)
}

fn is_code(code: &str) -> bool {
    (2..=10).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

enum RowOutcome {
    Kept(Observation),
    Missing,
    Rejected(Reject),
}

fn validate_row(
    sources: &Sources,
    source: &Source,
    file: &str,
    row: &RawRow,
    cols: &ObservationColumns,
    lookups: &Lookups,
    shared: &SharedStrings,
) -> RowOutcome {
    let Lookups { countries, names } = *lookups;
    let reject = |field: &str, value: &str, rule: &str, message: String| {
        RowOutcome::Rejected(Reject::at(source, file, row, field, value, rule, message))
    };
    if let Some(problem) = &row.problem {
        return reject("", "", "row_shape", problem.clone());
    }
    let raw_code = match cols.code {
        Some(_) => cell(row, cols.code),
        // Sources without codes (the Wikipedia table) are matched on names, never guessed.
        None => {
            let name = cell(row, cols.name);
            match names.get(&name.to_lowercase()) {
                Some(code) => code.as_str(),
                None => {
                    return reject(
                        "name",
                        name,
                        "known_name",
                        format!(
                            "unknown country name `{name}`; add it to `regions.name_aliases` in config/sources.yml"
                        ),
                    )
                }
            }
        }
    };
    if raw_code.is_empty() {
        return reject(
            "code",
            raw_code,
            "required",
            "the country code is empty".into(),
        );
    }
    let code = sources.canonical_code(raw_code);
    let is_aggregate = source.aggregates.contains(raw_code);
    if !is_aggregate && !countries.contains(code) {
        return reject(
            "code",
            raw_code,
            "known_code",
            format!(
                "unknown country code `{raw_code}`: it is neither in the region table nor a known aggregate; \
                 add it to `regions.overrides` or `aggregate_sets` in config/sources.yml"
            ),
        );
    }
    let year_text = cell(row, cols.year);
    let Ok(year) = year_text.parse::<i32>() else {
        return reject(
            "year",
            year_text,
            "type",
            format!("year `{year_text}` is not a whole number"),
        );
    };
    if !(1900..=2100).contains(&year) {
        return reject(
            "year",
            year_text,
            "range",
            format!("year {year} is outside 1900–2100"),
        );
    }
    let value_text = cell(row, cols.value);
    if value_text.is_empty() {
        return RowOutcome::Missing;
    }
    let Ok(raw_value) = value_text.parse::<f64>() else {
        return reject(
            "value",
            value_text,
            "type",
            format!("value `{value_text}` is not a number"),
        );
    };
    if !raw_value.is_finite() {
        return reject(
            "value",
            value_text,
            "finite",
            format!("value `{value_text}` is not a finite number"),
        );
    }
    let value = raw_value * source.unit.factor();
    if let Some(min) = source.min {
        if value < min {
            return reject(
                "value",
                value_text,
                "range",
                format!("value {value} is below the minimum {min}"),
            );
        }
    }
    if let Some(max) = source.max {
        if value > max {
            return reject(
                "value",
                value_text,
                "range",
                format!("value {value} is above the maximum {max} (wrong unit?)"),
            );
        }
    }
    let flagged = cell(row, cols.is_projection) == "true";
    let is_projection = flagged || source.projection_from.is_some_and(|from| year >= from);
    RowOutcome::Kept(Observation {
        source_id: shared.id.clone(),
        series: shared.series.clone(),
        edition: shared.edition.clone(),
        code: code.to_string(),
        name_in_source: cell(row, cols.name).to_string(),
        year,
        value,
        is_aggregate,
        is_projection,
        location: row.location.clone(),
        change_pct: None,
        rank: None,
        share_pct: None,
        per_capita: None,
    })
}

/// What codes and names are checked against.
#[derive(Clone, Copy)]
struct Lookups<'a> {
    countries: &'a HashSet<String>,
    names: &'a HashMap<String, String>,
}

/// A source's strings that every one of its observations carries.
struct SharedStrings {
    id: Arc<str>,
    series: Arc<str>,
    edition: Arc<str>,
}

struct ObservationColumns {
    code: Option<usize>,
    name: Option<usize>,
    year: Option<usize>,
    value: Option<usize>,
    is_projection: Option<usize>,
}

/// Validates one source's rows in parallel chunks, then the whole-source checks (unique keys).
fn observations_from(
    sources: &Sources,
    source: &Source,
    table: &RawTable,
    file: &str,
    countries: &HashSet<String>,
    names: &HashMap<String, String>,
    progress: &dyn Progress,
) -> (Vec<Observation>, Vec<Reject>, SourceCounts) {
    let cols = ObservationColumns {
        code: field_index(source, table, "code"),
        name: field_index(source, table, "name"),
        year: field_index(source, table, "year"),
        value: field_index(source, table, "value"),
        is_projection: field_index(source, table, "is_projection"),
    };
    let lookups = Lookups { countries, names };
    let shared = SharedStrings {
        id: Arc::from(source.id.as_str()),
        series: Arc::from(source.series.as_deref().unwrap_or_default()),
        edition: Arc::from(source.edition.as_str()),
    };
    let chunks: Vec<(Vec<Observation>, Vec<Reject>, u64)> = table
        .rows
        .par_chunks(CHUNK_ROWS)
        .map(|rows| {
            let mut kept = Vec::with_capacity(rows.len());
            let mut rejected = Vec::new();
            let mut missing = 0;
            for row in rows {
                match validate_row(sources, source, file, row, &cols, &lookups, &shared) {
                    RowOutcome::Kept(o) => kept.push(o),
                    RowOutcome::Missing => missing += 1,
                    RowOutcome::Rejected(r) => rejected.push(r),
                }
            }
            progress.advance(rows.len() as u64);
            (kept, rejected, missing)
        })
        .collect();
    let mut observations = Vec::with_capacity(table.rows.len());
    let mut rejects = Vec::new();
    let mut missing = 0;
    for (k, r, m) in chunks {
        observations.extend(k);
        rejects.extend(r);
        missing += m;
    }
    // Unique key (code, year): the first row wins, later ones are rejected naming it. A stable
    // sort keeps rows with the same key in file order, so duplicates follow their first.
    observations.par_sort_by(|a, b| (&a.code, a.year).cmp(&(&b.code, b.year)));
    let mut unique: Vec<Observation> = Vec::with_capacity(observations.len());
    for o in observations {
        match unique.last() {
            Some(first) if first.code == o.code && first.year == o.year => rejects.push(Reject {
                source_id: source.id.clone(),
                file: file.to_string(),
                location: o.location.to_string(),
                field: "code, year".into(),
                value: format!("{}, {}", o.code, o.year),
                rule: "unique".into(),
                message: format!(
                    "{} {} appears again; the first is at {}",
                    o.code, o.year, first.location
                ),
            }),
            _ => unique.push(o),
        }
    }
    let counts = SourceCounts {
        rows_in: table.rows.len() as u64,
        rows_out: unique.len() as u64,
        rejected: rejects.len() as u64,
        missing,
    };
    (unique, rejects, counts)
}

/// Change vs previous year, rank, share and per capita: each over its own independent group.
fn derive(observations: &mut [Observation]) {
    // Rows arrive grouped by source and, within a source, sorted by (code, year) (the dedupe
    // sort): each entity series is already contiguous and in year order.
    debug_assert!(observations.windows(2).all(|w| {
        w[0].source_id != w[1].source_id || (&w[0].code, w[0].year) < (&w[1].code, w[1].year)
    }));
    let series_groups = group_bounds(observations, |a, b| {
        a.source_id == b.source_id && a.code == b.code
    });
    split_groups(observations, &series_groups)
        .into_par_iter()
        .for_each(|group| {
            for i in 1..group.len() {
                let (prev, cur) = (&group[i - 1], &group[i]);
                if cur.year == prev.year + 1 && prev.value > 0.0 {
                    let change = (cur.value / prev.value - 1.0) * 100.0;
                    group[i].change_pct = Some(change);
                }
            }
        });

    // Population by (code, year), for per capita.
    let mut population: HashMap<&str, HashMap<i32, f64>> = HashMap::new();
    for o in observations
        .iter()
        .filter(|o| &*o.series == "population" && o.value > 0.0)
    {
        population
            .entry(o.code.as_str())
            .or_default()
            .insert(o.year, o.value);
    }

    // Rank and share per (source, year) among countries. Compact keys are sorted, not the rows
    // (which are large and would be read at random), and the results applied in row order.
    let rows: &[Observation] = observations;
    let source_groups = group_bounds(rows, |a, b| a.source_id == b.source_id);
    let mut keys: Vec<RankKey> = source_groups
        .par_windows(2)
        .enumerate()
        .flat_map_iter(|(source, w)| {
            (w[0]..w[1]).map(move |i| RankKey {
                source: source as u32,
                year: rows[i].year,
                is_aggregate: rows[i].is_aggregate,
                value: rows[i].value,
                row: i as u32,
            })
        })
        .collect();
    keys.par_sort_unstable_by(|a, b| {
        (a.source, a.year, a.is_aggregate)
            .cmp(&(b.source, b.year, b.is_aggregate))
            .then(b.value.total_cmp(&a.value))
    });
    let year_groups = group_bounds(&keys, |a, b| a.source == b.source && a.year == b.year);
    let mut ranked: Vec<(u32, u32, Option<f64>)> = year_groups
        .par_windows(2)
        .flat_map_iter(|w| {
            let countries = keys[w[0]..w[1]].iter().filter(|k| !k.is_aggregate);
            let total: f64 = countries.clone().map(|k| k.value).sum();
            countries.enumerate().map(move |(rank, k)| {
                let share = (total > 0.0).then(|| k.value / total * 100.0);
                (k.row, rank as u32 + 1, share)
            })
        })
        .collect();
    drop(keys);
    ranked.par_sort_unstable_by_key(|r| r.0);
    let per_capita: Vec<Option<f64>> = rows
        .par_iter()
        .map(|o| {
            (&*o.series == "gdp_usd")
                .then(|| {
                    population
                        .get(o.code.as_str())?
                        .get(&o.year)
                        .map(|p| o.value / p)
                })
                .flatten()
        })
        .collect();
    drop(population);

    let mut ranked = ranked.into_iter().peekable();
    for (i, (o, per_capita)) in observations.iter_mut().zip(per_capita).enumerate() {
        o.per_capita = per_capita;
        if let Some((_, rank, share)) = ranked.next_if(|r| r.0 as usize == i) {
            o.rank = Some(rank);
            o.share_pct = share;
        }
    }
}

/// What ranking needs of a row, small enough to sort 10 million of quickly.
struct RankKey {
    source: u32,
    year: i32,
    is_aggregate: bool,
    value: f64,
    row: u32,
}

fn group_bounds<T>(items: &[T], same: impl Fn(&T, &T) -> bool) -> Vec<usize> {
    let mut bounds = vec![0];
    for i in 1..items.len() {
        if !same(&items[i - 1], &items[i]) {
            bounds.push(i);
        }
    }
    bounds.push(items.len());
    bounds
}

/// Disjoint mutable slices between consecutive `bounds`, so groups can be processed in parallel.
fn split_groups<'a, T>(mut items: &'a mut [T], bounds: &[usize]) -> Vec<&'a mut [T]> {
    let mut groups = Vec::with_capacity(bounds.len());
    for w in bounds.windows(2) {
        let (group, rest) = std::mem::take(&mut items).split_at_mut(w[1] - w[0]);
        groups.push(group);
        items = rest;
    }
    groups
}

/// Runs validation and transformation over the extracted sources.
pub fn transform(
    sources: &Sources,
    extract_dir: &Path,
    provenance: &[Provenance],
) -> Result<Transformed, TransformError> {
    transform_with_progress(sources, extract_dir, provenance, &NoProgress)
}

/// [`transform`], reporting validated rows to `progress`.
pub fn transform_with_progress(
    sources: &Sources,
    extract_dir: &Path,
    provenance: &[Provenance],
    progress: &dyn Progress,
) -> Result<Transformed, TransformError> {
    let parsed = parse_all(sources, extract_dir, provenance)?;
    progress.begin(
        "validating rows",
        parsed.iter().map(|(_, t, _)| t.rows.len() as u64).sum(),
    );
    let mut out = Transformed::default();

    let (region_source, region_table, region_file) = parsed
        .iter()
        .find(|(s, _, _)| s.role == Role::Regions)
        .ok_or_else(|| TransformError::NoRegions("(none enabled)".into()))?;
    let (regions, region_rejects) = regions_from(sources, region_source, region_table, region_file);
    if regions.is_empty() {
        return Err(TransformError::NoRegions(region_source.id.clone()));
    }
    out.counts.insert(
        region_source.id.clone(),
        SourceCounts {
            rows_in: region_table.rows.len() as u64,
            rows_out: regions.len() as u64,
            rejected: region_rejects.len() as u64,
            missing: 0,
        },
    );
    out.rejects.extend(region_rejects);
    let countries: HashSet<String> = regions.iter().map(|r| r.code.clone()).collect();
    let mut names: HashMap<String, String> = regions
        .iter()
        .map(|r| (r.name.to_lowercase(), r.code.clone()))
        .collect();
    for (name, code) in &sources.name_aliases {
        names.insert(name.to_lowercase(), code.clone());
    }
    out.regions = regions;

    let per_source: Vec<_> = parsed
        .par_iter()
        .filter(|(s, _, _)| s.role == Role::Observations)
        .map(|(source, table, file)| {
            let (obs, rejects, counts) =
                observations_from(sources, source, table, file, &countries, &names, progress);
            (source.id.clone(), obs, rejects, counts)
        })
        .collect();
    for (id, obs, rejects, counts) in per_source {
        out.observations.extend(obs);
        out.rejects.extend(rejects);
        out.counts.insert(id, counts);
    }
    // The raw rows are no longer needed: free them before the derive step allocates.
    drop(parsed);
    derive(&mut out.observations);
    progress.end();
    Ok(out)
}

/// The first source whose reject rate is above its limit, as an error naming the rejects file.
pub fn check_reject_rates(
    sources: &Sources,
    transformed: &Transformed,
    rejects_file: &str,
) -> Result<(), TransformError> {
    for (id, counts) in &transformed.counts {
        let Some(source) = sources.get(id) else {
            continue;
        };
        if counts.rows_in == 0 {
            continue;
        }
        let rate = counts.rejected as f64 / counts.rows_in as f64;
        if rate > source.max_reject_rate {
            let mut reasons: HashMap<&str, u64> = HashMap::new();
            for r in transformed.rejects.iter().filter(|r| &r.source_id == id) {
                *reasons.entry(r.rule.as_str()).or_default() += 1;
            }
            let mut reasons: Vec<_> = reasons.into_iter().collect();
            reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            let example = transformed
                .rejects
                .iter()
                .find(|r| &r.source_id == id)
                .map(|r| format!(" (e.g. {} at {}: {})", r.rule, r.location, r.message))
                .unwrap_or_default();
            let top = reasons
                .iter()
                .take(3)
                .map(|(rule, n)| format!("{rule} × {n}"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(TransformError::TooManyRejects {
                source_id: id.clone(),
                rejected: counts.rejected,
                rows_in: counts.rows_in,
                rate: rate * 100.0,
                limit: source.max_reject_rate * 100.0,
                top: format!("{top}{example}"),
                rejects_file: rejects_file.to_string(),
            });
        }
    }
    Ok(())
}

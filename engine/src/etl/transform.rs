//! Validate + transform: typed records from each source's raw rows, declarative checks from
//! `config/sources.yml`, rejects with their reason, derived values, written as partitioned
//! Parquet. Sources, row chunks and entity series are independent partitions: rayon runs them
//! in parallel. Rows are kept as typed columns (interned codes, numbers), never as row structs
//! of strings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
// Codes and names are hashed 10^5–10^7 times per run: Fx, not SipHash (the inputs are the
// configured sources, not requests from strangers).
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use serde::Serialize;

use super::extract::csv::{CsvBody, Fields, CHUNK_BYTES as CSV_CHUNK_BYTES};
use super::extract::{extractor_for, Location, ParseError, Provenance, RawRow, RawTable};
use super::manifest::SourceCounts;
use super::progress::{NoProgress, Progress};
use crate::config::{Role, Source, SourceKind, Sources};

/// Rows validated per rayon task: large enough to amortise scheduling, small enough to balance.
const CHUNK_ROWS: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Region {
    pub code: String,
    pub name: String,
    pub region: String,
    pub sub_region: String,
    /// UN M49 codes, three digits (`142`, `030`), or empty when the source has none.
    pub region_code: String,
    pub sub_region_code: String,
    pub source_id: String,
}

/// The validated observations of one source, as columns: row `i` of every column is one
/// observation. Rows are in (code, year) order, so each entity's series is contiguous and in
/// year order. Columns, not row structs: 10 million rows stay compact and are never moved as
/// strings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceObservations {
    pub source_id: Arc<str>,
    pub series: Arc<str>,
    pub edition: Arc<str>,
    /// Index into [`Transformed::codes`]: the canonical code.
    pub code: Vec<u32>,
    /// Index into `names`: the entity's name as the source spells it.
    pub name: Vec<u32>,
    pub names: Vec<Box<str>>,
    pub year: Vec<i32>,
    /// In the canonical unit (US dollars, persons), full precision.
    pub value: Vec<f64>,
    pub is_aggregate: Vec<bool>,
    pub is_projection: Vec<bool>,
    /// Change vs the previous year of the same entity and source, in %; only when that year exists.
    pub change_pct: Vec<Option<f64>>,
    /// Rank among countries (not aggregates) for the year, source and series; 1 = largest.
    pub rank: Vec<Option<u32>>,
    /// Share of the sum over countries for the year, source and series, in %.
    pub share_pct: Vec<Option<f64>>,
    /// `gdp_usd` divided by the population of the same entity and year, when both exist. Empty
    /// when the source can have none (not GDP, or no population source): see `per_capita_at`.
    pub per_capita: Vec<Option<f64>>,
}

impl SourceObservations {
    /// Row `i`'s GDP per capita.
    pub fn per_capita_at(&self, i: usize) -> Option<f64> {
        self.per_capita.get(i).copied().flatten()
    }

    pub fn len(&self) -> usize {
        self.code.len()
    }

    pub fn is_empty(&self) -> bool {
        self.code.is_empty()
    }

    /// The name in the source of row `i`.
    pub fn name_of(&self, i: usize) -> &str {
        &self.names[self.name[i] as usize]
    }

    /// The distinct countries (aggregates excluded) among the rows. Rows are in code order and
    /// a code is a country or an aggregate throughout, so a country starts where the code changes.
    pub fn countries(&self) -> u64 {
        let (code, is_aggregate) = (&self.code, &self.is_aggregate);
        (0..self.len())
            .into_par_iter()
            .filter(|&i| !is_aggregate[i] && (i == 0 || code[i] != code[i - 1]))
            .count() as u64
    }

    /// What each year holds, oldest first: the summary the load and the next run's volume check
    /// read instead of scanning every row again.
    pub fn periods(&self) -> Vec<PeriodVolume> {
        let (Some(&lo), Some(&hi)) = (self.year.par_iter().min(), self.year.par_iter().max())
        else {
            return Vec::new();
        };
        let years = (hi - lo) as usize + 1;
        let empty = |y: usize| PeriodVolume {
            year: lo + y as i32,
            rows: 0,
            countries: 0,
            actual_countries: 0,
            country_total: 0.0,
        };
        // Per block of rows, then summed block by block in row order: the totals do not depend
        // on the number of threads.
        let block_rows = 64 * 1024;
        let blocks: Vec<Vec<PeriodVolume>> = (0..self.len())
            .into_par_iter()
            .step_by(block_rows)
            .map(|start| {
                let mut per_year: Vec<PeriodVolume> = (0..years).map(empty).collect();
                for i in start..(start + block_rows).min(self.len()) {
                    let p = &mut per_year[(self.year[i] - lo) as usize];
                    p.rows += 1;
                    if !self.is_aggregate[i] {
                        p.countries += 1;
                        p.actual_countries += u64::from(!self.is_projection[i]);
                        p.country_total += self.value[i];
                    }
                }
                per_year
            })
            .collect();
        let mut out: Vec<PeriodVolume> = (0..years).map(empty).collect();
        for block in blocks {
            for (total, part) in out.iter_mut().zip(block) {
                total.rows += part.rows;
                total.countries += part.countries;
                total.actual_countries += part.actual_countries;
                total.country_total += part.country_total;
            }
        }
        out.retain(|p| p.rows > 0);
        out
    }
}

/// One year of one source's observations. Keys are unique, so a year's country rows are its
/// countries reporting.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodVolume {
    pub year: i32,
    /// Every row, aggregates too.
    pub rows: u64,
    /// Country rows (aggregates excluded).
    pub countries: u64,
    /// Country rows that are actual figures, not projections.
    pub actual_countries: u64,
    /// The sum of the country rows' values.
    pub country_total: f64,
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
    /// The entity and year of the row when they were readable: alerts on that figure are then
    /// marked as data issues.
    pub code: String,
    pub year: Option<i32>,
}

impl Reject {
    fn at(
        source: &Source,
        file: &str,
        location: &Location,
        field: &str,
        value: &str,
        rule: &str,
        message: String,
    ) -> Self {
        Reject {
            source_id: source.id.clone(),
            file: file.to_string(),
            location: location.to_string(),
            field: field.to_string(),
            value: value.to_string(),
            rule: rule.to_string(),
            message,
            code: String::new(),
            year: None,
        }
    }

    fn for_entity(mut self, code: &str, year: i32) -> Self {
        self.code = code.to_string();
        self.year = Some(year);
        self
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
    /// Every code an observation can carry, sorted; observations refer to them by index.
    pub codes: Vec<String>,
    /// One entry per observation source, in configuration order.
    pub observations: Vec<SourceObservations>,
    pub rejects: Vec<Reject>,
    pub counts: BTreeMap<String, SourceCounts>,
    /// Wall time of each step (read, validate, derive), for the manifest and the benchmark.
    pub timings: Vec<(&'static str, std::time::Duration)>,
}

impl Transformed {
    /// "read 310 ms, validate 2,140 ms, derive 620 ms".
    pub fn timings_text(&self) -> String {
        self.timings
            .iter()
            .map(|(step, d)| format!("{step} {} ms", d.as_millis()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Observations over all sources.
    pub fn observation_count(&self) -> usize {
        self.observations.iter().map(SourceObservations::len).sum()
    }
}

fn cell(row: &RawRow, column: Option<usize>) -> &str {
    column
        .and_then(|i| row.cells.get(i))
        .map_or("", |s| s.trim())
}

/// Column index of a canonical field: the configured source column, or the field itself.
fn field_index(source: &Source, columns: &[String], field: &str) -> Option<usize> {
    let name = source.columns.get(field).map_or(field, String::as_str);
    columns.iter().position(|c| c == name)
}

fn regions_from(
    sources: &Sources,
    source: &Source,
    table: &RawTable,
    file: &str,
) -> (Vec<Region>, Vec<Reject>, SourceCounts) {
    let idx = |f: &str| field_index(source, &table.columns, f);
    let (code_i, name_i, region_i, sub_i) =
        (idx("code"), idx("name"), idx("region"), idx("sub_region"));
    // Optional: without them names stay as the source gives them.
    let (region_code_i, sub_code_i) = (idx("region_code"), idx("sub_region_code"));
    // Rows are checked side by side; then, in file order, the first row of a code wins.
    let checked: Vec<Option<Result<Region, Reject>>> = table
        .rows
        .par_iter()
        .map(|row| {
            let reject = |field: &str, value: &str, rule: &str, message: String| {
                Reject::at(source, file, &row.location, field, value, rule, message)
            };
            if let Some(problem) = &row.problem {
                return Some(Err(reject("", "", "row_shape", problem.clone())));
            }
            let code = cell(row, code_i);
            let region = cell(row, region_i);
            // Antarctica has no region and no economy: missing, not an error.
            if region.is_empty() {
                return None;
            }
            if !is_code(code) {
                return Some(Err(reject(
                    "code",
                    code,
                    "code_format",
                    format!("`{code}` is not a three-letter code"),
                )));
            }
            for (field, text) in [
                ("name", cell(row, name_i)),
                ("region", region),
                ("sub_region", cell(row, sub_i)),
            ] {
                if let Some(c) = control_character(text) {
                    return Some(Err(reject(
                        field,
                        &visible_controls(text),
                        "control_character",
                        control_character_message(field, c),
                    )));
                }
            }
            let mut m49 = [String::new(), String::new()];
            for (slot, (field, text)) in m49.iter_mut().zip([
                ("region_code", cell(row, region_code_i)),
                ("sub_region_code", cell(row, sub_code_i)),
            ]) {
                match m49_code(text) {
                    Some(code) => *slot = code,
                    None => {
                        return Some(Err(reject(
                            field,
                            &visible_controls(text),
                            "m49_code",
                            format!(
                                "`{}` is not a UN M49 code (one to three digits, e.g. 142 or 030)",
                                visible_controls(text)
                            ),
                        )))
                    }
                }
            }
            let [region_code, sub_region_code] = m49;
            let name = sources
                .display_names
                .get(code)
                .cloned()
                .unwrap_or_else(|| cell(row, name_i).to_string());
            Some(Ok(Region {
                code: code.to_string(),
                name,
                region: region.to_string(),
                sub_region: cell(row, sub_i).to_string(),
                region_code,
                sub_region_code,
                source_id: source.id.clone(),
            }))
        })
        .collect();
    let mut regions = Vec::with_capacity(checked.len());
    let mut rejects = Vec::new();
    let mut seen: HashSet<&str> = HashSet::default();
    let mut missing = 0;
    for (row, result) in table.rows.iter().zip(checked) {
        match result {
            None => missing += 1,
            Some(Err(reject)) => rejects.push(reject),
            Some(Ok(region)) => {
                if !seen.insert(cell(row, code_i)) {
                    rejects.push(Reject::at(
                        source,
                        file,
                        &row.location,
                        "code",
                        &region.code,
                        "unique",
                        format!("`{}` appears twice in the region table", region.code),
                    ));
                } else {
                    regions.push(region);
                }
            }
        }
    }
    let from_table = regions.len();
    for o in &sources.region_overrides {
        if seen.insert(o.code.as_str()) {
            regions.push(Region {
                code: o.code.clone(),
                name: o.name.clone(),
                region: o.region.clone(),
                sub_region: o.sub_region.clone(),
                region_code: o
                    .region_code
                    .as_deref()
                    .and_then(m49_code)
                    .unwrap_or_default(),
                sub_region_code: o
                    .sub_region_code
                    .as_deref()
                    .and_then(m49_code)
                    .unwrap_or_default(),
                source_id: "config/sources.yml".to_string(),
            });
        }
    }
    let counts = SourceCounts {
        rows_in: table.rows.len() as u64,
        rows_out: regions.len() as u64,
        rejected: rejects.len() as u64,
        missing,
        added: (regions.len() - from_table) as u64,
    };
    (regions, rejects, counts)
}

/// The first control character (NUL, tab, newline, C1 …) of `text`: names are shown on pages
/// and exported, where such a character hides text or breaks a file, so it is never stored.
fn control_character(text: &str) -> Option<char> {
    text.chars().find(|c| c.is_control())
}

/// `text` with each control character written as `\u{…}`, so a reject shows where it was
/// without carrying it.
fn visible_controls(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                format!("\\u{{{:04X}}}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn control_character_message(field: &str, c: char) -> String {
    format!(
        "the {field} contains the control character U+{:04X}; remove it from the source file",
        u32::from(c)
    )
}

/// A UN M49 code as three digits (`34` → `034`); empty stays empty; `None` if it is not one.
fn m49_code(text: &str) -> Option<String> {
    match text.len() {
        0 => Some(String::new()),
        1..=3 if text.bytes().all(|b| b.is_ascii_digit()) => Some(format!("{text:0>3}")),
        _ => None,
    }
}

fn is_code(code: &str) -> bool {
    (2..=10).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// A source's raw copy, read from the extract stage folder.
struct RawSource {
    source: Source,
    /// The raw copy, named in parse errors.
    file: String,
    /// Where the source was read from, named in rejects.
    location: String,
    bytes: RawBytes,
}

/// A raw file's bytes. A large file is mapped: the extract stage has just written it, so its
/// pages are in the page cache, and reading it would copy them into freshly allocated memory
/// (on a VM, first-touch page faults cost more than parsing the file). Small files are read.
enum RawBytes {
    Read(Vec<u8>),
    Mapped(memmap2::Mmap),
}

/// Files at least this large are mapped rather than read.
const MAP_FROM_BYTES: u64 = 16 << 20;

impl RawBytes {
    fn open(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::File::open(path)?;
        if file.metadata()?.len() < MAP_FROM_BYTES {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut &file, &mut bytes)?;
            return Ok(RawBytes::Read(bytes));
        }
        // SAFETY: the file is the extract stage's raw copy inside this run's folder. A completed
        // stage's files are never written again (a re-run writes a new `.tmp` folder and renames
        // it), so the mapping cannot change or shrink while it is read.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Ok(RawBytes::Mapped(map))
    }
}

/// Pages of a mapping are released in whole units of this size (any page size divides it).
const RELEASE_ALIGN: usize = 64 << 10;

impl RawBytes {
    /// Drops the mapped pages wholly inside `part` (a slice of these bytes) from this process's
    /// memory: they stay in the page cache, and are mapped again from it if read again. A pass
    /// over a large file would otherwise leave all of it counted in the process's resident
    /// memory (the 10M-row file is half a gigabyte). Read bytes stay as they are.
    fn release(&self, part: &[u8]) {
        let RawBytes::Mapped(map) = self else {
            return;
        };
        let base = map.as_ptr() as usize;
        let start = (part.as_ptr() as usize).saturating_sub(base);
        let end = (start + part.len()).min(map.len());
        let (from, to) = (
            start.next_multiple_of(RELEASE_ALIGN),
            end / RELEASE_ALIGN * RELEASE_ALIGN,
        );
        if part.is_empty() || from >= to || (part.as_ptr() as usize) < base {
            return;
        }
        // SAFETY: the mapping is a read-only shared mapping of a file that never changes (see
        // `open`): dropping its pages loses nothing, a later read maps them again from the file.
        // It is only advice: a failure leaves the pages mapped.
        let _ = unsafe {
            map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, from, to - from)
        };
    }
}

impl std::ops::Deref for RawBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            RawBytes::Read(bytes) => bytes,
            RawBytes::Mapped(map) => map,
        }
    }
}

/// A source ready to validate. CSV observation sources stay bytes, read chunk by chunk straight
/// into columns (no row of strings is ever built); the rest (region tables, JSON, HTML: small)
/// are parsed into rows first.
enum Parsed<'a> {
    Csv(CsvBody<'a>),
    Table(RawTable),
}

impl Parsed<'_> {
    /// Progress units: rows, or lines of a CSV file.
    fn units(&self) -> u64 {
        match self {
            Parsed::Csv(body) => body.chunks.iter().map(|c| c.lines).sum(),
            Parsed::Table(t) => t.rows.len() as u64,
        }
    }

    fn columns(&self) -> &[String] {
        match self {
            Parsed::Csv(body) => &body.columns,
            Parsed::Table(t) => &t.columns,
        }
    }
}

/// Reads every extracted source in parallel.
fn read_all(
    sources: &Sources,
    extract_dir: &Path,
    provenance: &[Provenance],
) -> Result<Vec<RawSource>, TransformError> {
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
            let bytes = RawBytes::open(&path).map_err(|e| TransformError::Read {
                path: path.clone(),
                message: e.to_string(),
            })?;
            Ok(RawSource {
                source: (*source).clone(),
                file: format!("{} (raw copy of {})", prov.raw_file, prov.location),
                location: prov.location.clone(),
                bytes,
            })
        })
        .collect()
}

impl RawSource {
    fn parse(&self) -> Result<Parsed<'_>, TransformError> {
        let source = &self.source;
        if source.role == Role::Observations && source.kind == SourceKind::Csv {
            let body = CsvBody::open(source, &self.file, &self.bytes, CSV_CHUNK_BYTES)?;
            return Ok(Parsed::Csv(body));
        }
        Ok(Parsed::Table(self.parse_table()?))
    }

    /// The source parsed into rows (small sources: region tables, JSON, HTML).
    fn parse_table(&self) -> Result<RawTable, TransformError> {
        Ok(extractor_for(self.source.kind).parse(&self.source, &self.file, &self.bytes)?)
    }
}

/// The region table's countries, what it rejected and its counts, and the dictionary of every
/// code an observation may carry.
struct RegionTable {
    regions: Vec<Region>,
    rejects: Vec<Reject>,
    counts: SourceCounts,
    dict: CodeDictionary,
}

fn region_table(sources: &Sources, raw: &RawSource) -> Result<RegionTable, TransformError> {
    let table = raw.parse_table()?;
    let (regions, rejects, counts) = regions_from(sources, &raw.source, &table, &raw.location);
    if regions.is_empty() {
        return Err(TransformError::NoRegions(raw.source.id.clone()));
    }
    let dict = {
        let countries: HashSet<&str> = regions.iter().map(|r| r.code.as_str()).collect();
        CodeDictionary::new(sources, &countries)
    };
    Ok(RegionTable {
        regions,
        rejects,
        counts,
        dict,
    })
}

/// One row's cells, whichever way the source was read.
trait Cells {
    /// The trimmed cell of `column`; empty when the column or the cell is absent.
    fn cell(&self, column: Option<usize>) -> &str;
}

impl Cells for RawRow {
    fn cell(&self, column: Option<usize>) -> &str {
        cell(self, column)
    }
}

impl Cells for Fields<'_> {
    fn cell(&self, column: Option<usize>) -> &str {
        column.and_then(|i| self.get(i)).map_or("", str::trim)
    }
}

/// Every code an observation can carry (the region table's countries and each source's
/// aggregates), sorted so that ordering ids orders codes.
struct CodeDictionary {
    codes: Vec<String>,
    ids: HashMap<String, u32>,
    /// By id: in the region table (else only an aggregate of some source).
    is_country: Vec<bool>,
}

impl CodeDictionary {
    fn new(sources: &Sources, countries: &HashSet<&str>) -> Self {
        let aggregates = sources
            .enabled()
            .filter(|s| s.role == Role::Observations)
            .flat_map(|s| s.aggregates.iter())
            .map(|a| sources.canonical_code(a).to_string());
        let mut codes: Vec<String> = countries
            .iter()
            .map(|c| c.to_string())
            .chain(aggregates)
            .collect();
        codes.par_sort_unstable();
        codes.dedup();
        let ids = codes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), i as u32))
            .collect();
        let is_country = codes
            .par_iter()
            .map(|c| countries.contains(c.as_str()))
            .collect();
        CodeDictionary {
            codes,
            ids,
            is_country,
        }
    }
}

/// Where kept rows came from, for the messages of duplicate keys.
#[derive(Debug)]
enum Locations {
    /// Lines of a text file: 8 bytes a row instead of a `Location`.
    Lines(Vec<u64>),
    Any(Vec<Location>),
}

impl Locations {
    fn push(&mut self, location: &Location) {
        match (&mut *self, location) {
            (Locations::Lines(lines), Location::Line(n)) => lines.push(*n),
            (Locations::Any(all), l) => all.push(l.clone()),
            (Locations::Lines(_), l) => {
                self.make_any();
                self.push(l);
            }
        }
    }

    fn get(&self, i: usize) -> Location {
        match self {
            Locations::Lines(lines) => Location::Line(lines[i]),
            Locations::Any(all) => all[i].clone(),
        }
    }

    fn make_any(&mut self) {
        if let Locations::Lines(lines) = self {
            *self = Locations::Any(lines.drain(..).map(Location::Line).collect());
        }
    }
}

/// The kept rows of a run of source rows (a chunk, then a whole source), in source order, as
/// columns; with that run's rejects and counts.
#[derive(Debug)]
struct Chunk {
    rows: u64,
    missing: u64,
    rejects: Vec<Reject>,
    code: Vec<u32>,
    name: Vec<u32>,
    names: Vec<Box<str>>,
    year: Vec<i32>,
    value: Vec<f64>,
    is_aggregate: Vec<bool>,
    is_projection: Vec<bool>,
    locations: Locations,
    /// The last raw code and what it resolved to: sources list an entity's rows together, so
    /// most rows skip the code lookups.
    last_code: String,
    last_resolved: Option<Option<(u32, bool)>>,
}

impl Chunk {
    fn new(locations: Locations) -> Self {
        Chunk {
            rows: 0,
            missing: 0,
            rejects: Vec::new(),
            code: Vec::new(),
            name: Vec::new(),
            names: Vec::new(),
            year: Vec::new(),
            value: Vec::new(),
            is_aggregate: Vec::new(),
            is_projection: Vec::new(),
            locations,
            last_code: String::new(),
            last_resolved: None,
        }
    }

    fn kept(&self) -> usize {
        self.code.len()
    }

    /// Room for `rows` more kept rows: a chunk's columns are filled without reallocating.
    fn reserve(&mut self, rows: usize) {
        self.name.reserve_exact(rows);
        self.code.reserve_exact(rows);
        self.year.reserve_exact(rows);
        self.value.reserve_exact(rows);
        self.is_aggregate.reserve_exact(rows);
        self.is_projection.reserve_exact(rows);
        if let Locations::Lines(lines) = &mut self.locations {
            lines.reserve_exact(rows);
        }
    }
}

/// What a row of one observation source is checked against.
struct Validator<'a> {
    sources: &'a Sources,
    source: &'a Source,
    file: &'a str,
    cols: ObservationColumns,
    dict: &'a CodeDictionary,
    /// Lower-case name → code, for sources without codes.
    names: &'a HashMap<String, String>,
}

struct ObservationColumns {
    code: Option<usize>,
    name: Option<usize>,
    year: Option<usize>,
    value: Option<usize>,
    is_projection: Option<usize>,
}

impl ObservationColumns {
    /// Where the source's configured columns are among the file's `columns`.
    fn find(source: &Source, columns: &[String]) -> Self {
        let field = |f: &str| field_index(source, columns, f);
        ObservationColumns {
            code: field("code"),
            name: field("name"),
            year: field("year"),
            value: field("value"),
            is_projection: field("is_projection"),
        }
    }
}

impl Validator<'_> {
    /// Code id and whether it is an aggregate of this source; `None` for an unknown code.
    fn resolve(&self, raw_code: &str) -> Option<(u32, bool)> {
        let code = self.sources.canonical_code(raw_code);
        let is_aggregate = self.source.aggregates.contains(raw_code);
        let id = *self.dict.ids.get(code)?;
        let known = is_aggregate || self.dict.is_country.get(id as usize) == Some(&true);
        known.then_some((id, is_aggregate))
    }

    /// Checks one row: appends it to `out` as kept, missing or rejected.
    fn validate(
        &self,
        out: &mut Chunk,
        location: &Location,
        row: &impl Cells,
        problem: Option<String>,
    ) {
        out.rows += 1;
        let (source, file) = (self.source, self.file);
        let reject = |field: &str, value: &str, rule: &str, message: String| {
            Reject::at(source, file, location, field, value, rule, message)
        };
        if let Some(problem) = problem {
            out.rejects.push(reject("", "", "row_shape", problem));
            return;
        }
        let raw_code = match self.cols.code {
            Some(_) => row.cell(self.cols.code),
            // Sources without codes (the Wikipedia table) are matched on names, never guessed.
            None => {
                let name = row.cell(self.cols.name);
                match self.names.get(&name.to_lowercase()) {
                    Some(code) => code.as_str(),
                    None => {
                        out.rejects.push(reject(
                            "name",
                            name,
                            "known_name",
                            format!(
                                "unknown country name `{name}`; add it to `regions.name_aliases` in config/sources.yml"
                            ),
                        ));
                        return;
                    }
                }
            }
        };
        if raw_code.is_empty() {
            out.rejects.push(reject(
                "code",
                raw_code,
                "required",
                "the country code is empty".into(),
            ));
            return;
        }
        let resolved = match out.last_resolved {
            Some(resolved) if out.last_code == raw_code => resolved,
            _ => {
                let resolved = self.resolve(raw_code);
                out.last_code.clear();
                out.last_code.push_str(raw_code);
                out.last_resolved = Some(resolved);
                resolved
            }
        };
        let Some((code, is_aggregate)) = resolved else {
            out.rejects.push(reject(
                "code",
                raw_code,
                "known_code",
                format!(
                    "unknown country code `{raw_code}`: it is neither in the region table nor a known aggregate; \
                     add it to `regions.overrides` or `aggregate_sets` in config/sources.yml"
                ),
            ));
            return;
        };
        let year_text = row.cell(self.cols.year);
        let Ok(year) = year_text.parse::<i32>() else {
            out.rejects.push(reject(
                "year",
                year_text,
                "type",
                format!("year `{year_text}` is not a whole number"),
            ));
            return;
        };
        if !(1900..=2100).contains(&year) {
            out.rejects.push(reject(
                "year",
                year_text,
                "range",
                format!("year {year} is outside 1900–2100"),
            ));
            return;
        }
        let value_text = row.cell(self.cols.value);
        let canonical = &self.dict.codes[code as usize];
        if value_text.is_empty() {
            out.missing += 1;
            return;
        }
        let Ok(raw_value) = value_text.parse::<f64>() else {
            out.rejects.push(
                reject(
                    "value",
                    value_text,
                    "type",
                    format!("value `{value_text}` is not a number"),
                )
                .for_entity(canonical, year),
            );
            return;
        };
        if !raw_value.is_finite() {
            out.rejects.push(
                reject(
                    "value",
                    value_text,
                    "finite",
                    format!("value `{value_text}` is not a finite number"),
                )
                .for_entity(canonical, year),
            );
            return;
        }
        let value = raw_value * source.unit.factor();
        if let Some(min) = source.min {
            if value < min {
                out.rejects.push(
                    reject(
                        "value",
                        value_text,
                        "range",
                        format!("value {value} is below the minimum {min}"),
                    )
                    .for_entity(canonical, year),
                );
                return;
            }
        }
        if let Some(max) = source.max {
            if value > max {
                out.rejects.push(
                    reject(
                        "value",
                        value_text,
                        "range",
                        format!("value {value} is above the maximum {max} (wrong unit?)"),
                    )
                    .for_entity(canonical, year),
                );
                return;
            }
        }
        let flagged = row.cell(self.cols.is_projection) == "true";
        let is_projection = flagged || source.projection_from.is_some_and(|from| year >= from);
        // Consecutive rows of an entity share its name: stored (and checked) once per run of rows.
        let name = row.cell(self.cols.name);
        if out.names.last().map(|n| &**n) != Some(name) {
            if let Some(c) = control_character(name) {
                out.rejects.push(
                    reject(
                        "name",
                        &visible_controls(name),
                        "control_character",
                        control_character_message("name", c),
                    )
                    .for_entity(canonical, year),
                );
                return;
            }
            out.names.push(name.into());
        }
        out.name.push(out.names.len() as u32 - 1);
        out.code.push(code);
        out.year.push(year);
        out.value.push(value);
        out.is_aggregate.push(is_aggregate);
        out.is_projection.push(is_projection);
        out.locations.push(location);
    }
}

/// A kept row as one sortable number: its chunk in the high half, its place in the chunk in the
/// low half. Chunks are in file order, so ordering these orders rows as in the file. A chunk is
/// at most a few MB of text, so its rows always fit in 32 bits.
fn row_ref(chunk: usize, row: usize) -> u64 {
    ((chunk as u64) << 32) | row as u64
}

fn split_row_ref(r: u64) -> (usize, usize) {
    ((r >> 32) as usize, (r & u64::from(u32::MAX)) as usize)
}

/// One column of the rows `order` (row refs into `chunks`), in that order.
fn gather<T: Copy + Send + Sync>(
    chunks: &[Chunk],
    column: impl Fn(&Chunk) -> &[T] + Sync,
    order: &[u64],
) -> Vec<T> {
    order
        .par_iter()
        .map(|&r| {
            let (c, i) = split_row_ref(r);
            column(&chunks[c])[i]
        })
        .collect()
}

/// Sort key of an entity-year: code id, then year.
fn code_year_key(code: u32, year: i32) -> u64 {
    (u64::from(code) << 32) | u64::from(year as u32)
}

/// The kept rows of `chunks` (as row refs) in (code, year) order, rows with the same key in
/// file order. Rows usually come entity by entity: a counting sort on the code id (ids are dense,
/// one per dictionary code) puts them in code order with two sequential passes, then each
/// code's few rows are put in year order (a stable sort, only where they are not in order).
/// That is 8 bytes a row, where sorting (key, row) pairs took 16 and a comparison sort's time.
fn key_order(chunks: &[Chunk], codes: usize) -> Vec<u64> {
    let key = |c: usize, i: usize| code_year_key(chunks[c].code[i], chunks[c].year[i]);
    let n: usize = chunks.iter().map(Chunk::kept).sum();
    // A file already in (code, year) order (the usual case) needs no sort at all.
    let in_order = chunks
        .par_iter()
        .enumerate()
        .all(|(c, chunk)| (1..chunk.kept()).all(|i| key(c, i - 1) <= key(c, i)))
        && {
            let ends: Vec<u64> = chunks
                .iter()
                .enumerate()
                .filter(|(_, chunk)| chunk.kept() > 0)
                .flat_map(|(c, chunk)| [key(c, 0), key(c, chunk.kept() - 1)])
                .collect();
            ends.windows(2).all(|w| w[0] <= w[1])
        };
    if in_order {
        return chunks
            .iter()
            .enumerate()
            .flat_map(|(c, chunk)| (0..chunk.kept()).map(move |i| row_ref(c, i)))
            .collect();
    }
    let counts: Vec<usize> = chunks
        .par_iter()
        .fold(
            || vec![0usize; codes],
            |mut counts, chunk| {
                for &code in &chunk.code {
                    counts[code as usize] += 1;
                }
                counts
            },
        )
        .reduce_with(|mut a, b| {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
            a
        })
        .unwrap_or_else(|| vec![0; codes]);
    let mut next: Vec<usize> = counts
        .iter()
        .scan(0, |sum, &count| {
            let start = *sum;
            *sum += count;
            Some(start)
        })
        .collect();
    // In file order, so each code's rows stay in file order.
    let mut order = vec![0u64; n];
    for (c, chunk) in chunks.iter().enumerate() {
        for (i, &code) in chunk.code.iter().enumerate() {
            let slot = &mut next[code as usize];
            order[*slot] = row_ref(c, i);
            *slot += 1;
        }
    }
    let year = |r: u64| {
        let (c, i) = split_row_ref(r);
        chunks[c].year[i]
    };
    split_by_lengths(&mut order, &counts)
        .into_par_iter()
        .with_min_len(256)
        .for_each(|rows| {
            if !rows.windows(2).all(|w| year(w[0]) <= year(w[1])) {
                // Stable: rows of the same year keep their file order.
                rows.sort_by_key(|&r| year(r));
            }
        });
    order
}

/// `out` cut into consecutive pieces of the given lengths (which sum to at most its length).
fn split_by_lengths<'a, T>(mut out: &'a mut [T], lengths: &[usize]) -> Vec<&'a mut [T]> {
    let mut pieces = Vec::with_capacity(lengths.len());
    for &len in lengths {
        let (piece, rest) = std::mem::take(&mut out).split_at_mut(len);
        pieces.push(piece);
        out = rest;
    }
    pieces
}

/// Validates one source's rows in parallel chunks, then the whole-source checks (unique keys),
/// and puts the kept rows in (code, year) order with their change vs the previous year. The
/// chunks are never concatenated: rows are sorted as references into them, then each column is
/// gathered once, in parallel, into its final order.
fn observations_from(
    v: &Validator,
    input: &Parsed,
    release: &(dyn Fn(&str) + Sync),
    progress: &dyn Progress,
) -> (SourceObservations, Vec<Reject>, SourceCounts) {
    let mut chunks: Vec<Chunk> = match input {
        Parsed::Csv(body) => {
            let width = body.columns.len();
            body.chunks
                .par_iter()
                .map(|chunk| {
                    let mut out = Chunk::new(Locations::Lines(Vec::new()));
                    // A line holds at most one row: the columns never grow by copying.
                    out.reserve(chunk.lines as usize);
                    chunk.for_each_record(width, |line, record, problem| {
                        v.validate(&mut out, &Location::Line(line), record, problem)
                    });
                    // Everything kept was copied out: the chunk's text is not read again.
                    release(chunk.text);
                    progress.advance(chunk.lines);
                    out
                })
                .collect()
        }
        Parsed::Table(table) => table
            .rows
            .par_chunks(CHUNK_ROWS)
            .map(|rows| {
                let mut out = Chunk::new(Locations::Any(Vec::new()));
                out.reserve(rows.len());
                for row in rows {
                    v.validate(&mut out, &row.location, row, row.problem.clone());
                }
                progress.advance(rows.len() as u64);
                out
            })
            .collect(),
    };
    let n: usize = chunks.iter().map(Chunk::kept).sum();

    // Unique key (code, year): the first row wins, later ones are rejected naming it.
    let sorted = key_order(&chunks, v.dict.codes.len());
    let key = |r: u64| {
        let (c, i) = split_row_ref(r);
        code_year_key(chunks[c].code[i], chunks[c].year[i])
    };
    let is_repeat = |p: usize| p > 0 && key(sorted[p - 1]) == key(sorted[p]);
    let repeats: Vec<usize> = (1..n).into_par_iter().filter(|&p| is_repeat(p)).collect();
    let location = |r: u64| {
        let (c, i) = split_row_ref(r);
        chunks[c].locations.get(i)
    };
    let repeat_rejects: Vec<Reject> = repeats
        .par_iter()
        .map(|&p| {
            let first = (0..p).rev().find(|&q| !is_repeat(q)).unwrap_or(0);
            let (c, i) = split_row_ref(sorted[p]);
            let code = &v.dict.codes[chunks[c].code[i] as usize];
            let year = chunks[c].year[i];
            Reject {
                source_id: v.source.id.clone(),
                file: v.file.to_string(),
                location: location(sorted[p]).to_string(),
                field: "code, year".into(),
                value: format!("{code}, {year}"),
                rule: "unique".into(),
                message: format!(
                    "{code} {year} appears again; the first is at {}",
                    location(sorted[first])
                ),
                code: code.clone(),
                year: Some(year),
            }
        })
        .collect();
    let order: Vec<u64> = if repeats.is_empty() {
        sorted
    } else {
        sorted
            .par_iter()
            .enumerate()
            .filter(|&(p, _)| !is_repeat(p))
            .map(|(_, &r)| r)
            .collect()
    };

    // Each chunk column is freed once gathered: the chunks and the gathered columns are never
    // all in memory at once (the peak of the run was here).
    let free = |chunks: &mut [Chunk], column: fn(&mut Chunk)| chunks.iter_mut().for_each(column);
    free(&mut chunks, |c| c.locations = Locations::Lines(Vec::new()));
    let code = gather(&chunks, |c| &c.code, &order);
    free(&mut chunks, |c| c.code = Vec::new());
    let year = gather(&chunks, |c| &c.year, &order);
    free(&mut chunks, |c| c.year = Vec::new());
    let value = gather(&chunks, |c| &c.value, &order);
    free(&mut chunks, |c| c.value = Vec::new());
    let change_pct = (0..order.len())
        .into_par_iter()
        .map(|p| {
            let prev = p.checked_sub(1)?;
            (code[p] == code[prev] && year[p] == year[prev] + 1 && value[prev] > 0.0)
                .then(|| (value[p] / value[prev] - 1.0) * 100.0)
        })
        .collect();
    // Names are numbered per chunk: chunk `c`'s name `k` is `name_offsets[c] + k` overall.
    let name_offsets: Vec<u32> = chunks
        .iter()
        .scan(0u32, |next, chunk| {
            let offset = *next;
            *next += chunk.names.len() as u32;
            Some(offset)
        })
        .collect();
    let name = order
        .par_iter()
        .map(|&r| {
            let (c, i) = split_row_ref(r);
            name_offsets[c] + chunks[c].name[i]
        })
        .collect();
    free(&mut chunks, |c| c.name = Vec::new());
    let is_aggregate = gather(&chunks, |c| &c.is_aggregate, &order);
    let is_projection = gather(&chunks, |c| &c.is_projection, &order);
    drop(order);

    let mut rows_in = 0;
    let mut missing = 0;
    let mut rejects = Vec::new();
    let mut names = Vec::new();
    for chunk in chunks {
        rows_in += chunk.rows;
        missing += chunk.missing;
        rejects.extend(chunk.rejects);
        names.extend(chunk.names);
    }
    rejects.extend(repeat_rejects);
    let counts = SourceCounts {
        rows_in,
        rows_out: code.len() as u64,
        rejected: rejects.len() as u64,
        missing,
        added: 0,
    };
    let observations = SourceObservations {
        source_id: Arc::from(v.source.id.as_str()),
        series: Arc::from(v.source.series.as_deref().unwrap_or_default()),
        edition: Arc::from(v.source.edition.as_str()),
        name,
        names,
        is_aggregate,
        is_projection,
        rank: Vec::new(),
        share_pct: Vec::new(),
        per_capita: Vec::new(),
        code,
        year,
        value,
        change_pct,
    };
    (observations, rejects, counts)
}

/// Per capita (across sources), rank and share (within each source).
fn derive(observations: &mut [SourceObservations]) {
    // Population by (code, year); a later population source overrides an earlier one.
    let mut population: HashMap<u64, f64> = HashMap::default();
    for s in observations.iter().filter(|s| &*s.series == "population") {
        for i in 0..s.len() {
            if s.value[i] > 0.0 {
                population.insert(code_year_key(s.code[i], s.year[i]), s.value[i]);
            }
        }
    }
    for s in observations.iter_mut() {
        s.per_capita = if &*s.series == "gdp_usd" && !population.is_empty() {
            (0..s.len())
                .into_par_iter()
                .map(|i| {
                    population
                        .get(&code_year_key(s.code[i], s.year[i]))
                        .map(|p| s.value[i] / p)
                })
                .collect()
        } else {
            // Nothing to divide: no column of millions of `None`s.
            Vec::new()
        };
        rank_and_share(s);
    }
}

/// Largest first in `f64::total_cmp` order, as an integer key.
fn descending_key(value: f64) -> u64 {
    let bits = value.to_bits() as i64;
    // total_cmp's mapping to a signed integer, then to unsigned order, then reversed.
    let ordered = bits ^ ((((bits >> 63) as u64) >> 1) as i64);
    !((ordered as u64) ^ (1 << 63))
}

/// Sorts `rows` by their key, keeping rows with equal keys in their order (a least significant
/// digit radix sort, a byte a pass; a byte that is the same in every key is skipped). About 3×
/// faster than a comparison sort on the 10^5 values of a year.
fn radix_sort_by_key(rows: &mut Vec<(u64, usize)>) {
    let n = rows.len();
    if n < 256 {
        rows.sort_by_key(|r| r.0);
        return;
    }
    let mut counts = [[0usize; 256]; 8];
    for &(key, _) in rows.iter() {
        for (byte, count) in counts.iter_mut().enumerate() {
            count[((key >> (8 * byte)) & 0xFF) as usize] += 1;
        }
    }
    let mut scratch = vec![(0u64, 0usize); n];
    for (byte, count) in counts.iter().enumerate() {
        if count.contains(&n) {
            continue;
        }
        let mut next = [0usize; 256];
        let mut sum = 0;
        for (slot, &c) in next.iter_mut().zip(count) {
            *slot = sum;
            sum += c;
        }
        for &row in rows.iter() {
            let digit = ((row.0 >> (8 * byte)) & 0xFF) as usize;
            scratch[next[digit]] = row;
            next[digit] += 1;
        }
        std::mem::swap(rows, &mut scratch);
    }
}

/// The value whose [`descending_key`] is `key`.
fn value_of_key(key: u64) -> f64 {
    let ordered = (!key ^ (1 << 63)) as i64;
    // The sign bit is unchanged by the mapping: applying it again undoes it.
    let bits = ordered ^ ((((ordered >> 63) as u64) >> 1) as i64);
    f64::from_bits(bits as u64)
}

/// Rank and share of each country row among the source's countries of the same year.
fn rank_and_share(s: &mut SourceObservations) {
    let n = s.len();
    let (Some(&lo), Some(&hi)) = (s.year.par_iter().min(), s.year.par_iter().max()) else {
        s.rank = Vec::new();
        s.share_pct = Vec::new();
        return;
    };
    // Years are few (1900–2100). Rows are cut into blocks; each block lists, per year, the keys
    // of its country rows in row order (counted first, so each list is allocated once). Each
    // year then joins its blocks' lists, sorts them (ties keep row order, i.e. code order) and
    // gives each position its rank and share; each block finally reads its rows' results back
    // in row order. Nothing is written at random places of the 10^7-row columns: that
    // scattering cost more than all the sorting.
    let years = (hi - lo) as usize + 1;
    let (year, value, is_aggregate) = (&s.year, &s.value, &s.is_aggregate);
    let year_of = |i: usize| (year[i] - lo) as usize;
    let block_rows = n.div_ceil(rayon::current_num_threads() * 4).max(1);
    let starts: Vec<usize> = (0..n).step_by(block_rows).collect();
    let blocks: Vec<Vec<Vec<u64>>> = starts
        .par_iter()
        .map(|&start| {
            let rows = start..(start + block_rows).min(n);
            let mut counts = vec![0usize; years];
            for i in rows.clone().filter(|&i| !is_aggregate[i]) {
                counts[year_of(i)] += 1;
            }
            let mut keys: Vec<Vec<u64>> = counts.into_iter().map(Vec::with_capacity).collect();
            for i in rows.filter(|&i| !is_aggregate[i]) {
                keys[year_of(i)].push(descending_key(value[i]));
            }
            keys
        })
        .collect();
    let per_year: Vec<(Vec<u32>, Vec<f64>)> = (0..years)
        .into_par_iter()
        .map(|y| {
            let mut order: Vec<(u64, usize)> = blocks
                .iter()
                .flat_map(|block| &block[y])
                .enumerate()
                .map(|(position, &key)| (key, position))
                .collect();
            radix_sort_by_key(&mut order);
            // Summed largest first, as ever, so the totals are the same to the last bit.
            let total: f64 = order.iter().map(|&(key, _)| value_of_key(key)).sum();
            let mut rank = vec![0u32; order.len()];
            let mut share = vec![f64::NAN; order.len()];
            for (r, &(key, position)) in order.iter().enumerate() {
                rank[position] = r as u32 + 1;
                if total > 0.0 {
                    share[position] = value_of_key(key) / total * 100.0;
                }
            }
            (rank, share)
        })
        .collect();
    // Where each block's rows start in each year's lists.
    let mut next = vec![0usize; years];
    let firsts: Vec<Vec<usize>> = blocks
        .iter()
        .map(|block| {
            let first = next.clone();
            for (y, keys) in block.iter().enumerate() {
                next[y] += keys.len();
            }
            first
        })
        .collect();
    drop(blocks);
    let mut rank: Vec<Option<u32>> = (0..n).into_par_iter().map(|_| None).collect();
    let mut share: Vec<Option<f64>> = (0..n).into_par_iter().map(|_| None).collect();
    rank.par_chunks_mut(block_rows)
        .zip(share.par_chunks_mut(block_rows))
        .zip(starts.par_iter().zip(firsts))
        .for_each(|((rank, share), (&start, mut next))| {
            for (k, (rank, share)) in rank.iter_mut().zip(share.iter_mut()).enumerate() {
                let i = start + k;
                if is_aggregate[i] {
                    continue;
                }
                let y = year_of(i);
                let (ranks, shares) = &per_year[y];
                *rank = Some(ranks[next[y]]);
                *share = Some(shares[next[y]]).filter(|v| !v.is_nan());
                next[y] += 1;
            }
        });
    s.rank = rank;
    s.share_pct = share;
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
    let clock = std::time::Instant::now();
    let raw = read_all(sources, extract_dir, provenance)?;
    let read = clock.elapsed();
    // Codes are checked against the region table: it is read and checked while the other
    // sources are parsed (a large CSV body is checked and split side by side meanwhile).
    let region_at = raw
        .iter()
        .position(|r| r.source.role == Role::Regions)
        .ok_or_else(|| TransformError::NoRegions("(none enabled)".into()))?;
    let (parsed, region_table) = rayon::join(
        || {
            raw.par_iter()
                .enumerate()
                .map(|(k, r)| (k != region_at).then(|| r.parse()).transpose())
                .collect::<Result<Vec<Option<Parsed>>, _>>()
        },
        || region_table(sources, &raw[region_at]),
    );
    let (parsed, region_table) = (parsed?, region_table?);
    let observed: Vec<(&RawSource, &Parsed)> = raw
        .iter()
        .zip(&parsed)
        .filter_map(|(r, p)| Some((r, p.as_ref()?)))
        .filter(|(r, _)| r.source.role == Role::Observations)
        .collect();
    progress.begin(
        "validating rows",
        observed.iter().map(|(_, p)| p.units()).sum(),
    );
    let mut out = Transformed::default();
    let RegionTable {
        regions,
        rejects: region_rejects,
        counts: region_counts,
        dict,
    } = region_table;
    out.counts
        .insert(raw[region_at].source.id.clone(), region_counts);
    out.rejects.extend(region_rejects);
    // Only sources without a code column (the Wikipedia table) are matched on names.
    let matched_on_names = observed
        .iter()
        .any(|(r, p)| field_index(&r.source, p.columns(), "code").is_none());
    let mut names: HashMap<String, String> = HashMap::default();
    if matched_on_names {
        names.extend(
            regions
                .iter()
                .map(|r| (r.name.to_lowercase(), r.code.clone())),
        );
        for (name, code) in &sources.name_aliases {
            names.insert(name.to_lowercase(), code.clone());
        }
    }
    out.regions = regions;

    let per_source: Vec<_> = observed
        .par_iter()
        .map(|&(r, input)| {
            let validator = Validator {
                sources,
                source: &r.source,
                file: &r.location,
                cols: ObservationColumns::find(&r.source, input.columns()),
                dict: &dict,
                names: &names,
            };
            let release = |text: &str| r.bytes.release(text.as_bytes());
            let (obs, rejects, counts) = observations_from(&validator, input, &release, progress);
            (r.source.id.clone(), obs, rejects, counts)
        })
        .collect();
    for (id, obs, rejects, counts) in per_source {
        out.observations.push(obs);
        out.rejects.extend(rejects);
        out.counts.insert(id, counts);
    }
    // The raw bytes and rows are no longer needed: free them before the derive step allocates.
    drop(observed);
    drop(parsed);
    drop(raw);
    let validated = clock.elapsed();
    derive(&mut out.observations);
    out.timings = vec![
        ("read", read),
        ("validate", validated - read),
        ("derive", clock.elapsed() - validated),
    ];
    out.codes = dict.codes;
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
            let mut reasons: HashMap<&str, u64> = HashMap::default();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::etl::extract::{extract_source, FetchSettings};

    #[test]
    fn large_raw_files_are_mapped_small_ones_read_both_with_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small.csv");
        std::fs::write(&small, b"a,b\n1,2\n").unwrap();
        let bytes = RawBytes::open(&small).unwrap();
        assert!(matches!(bytes, RawBytes::Read(_)));
        assert_eq!(&*bytes, b"a,b\n1,2\n");

        let large = dir.path().join("large.csv");
        let content: Vec<u8> = (0..MAP_FROM_BYTES as usize + 3)
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(&large, &content).unwrap();
        let bytes = RawBytes::open(&large).unwrap();
        assert!(matches!(bytes, RawBytes::Mapped(_)));
        assert_eq!(&*bytes, &content[..]);

        let missing = RawBytes::open(&dir.path().join("missing.csv"));
        assert_eq!(
            missing.err().map(|e| e.kind()),
            Some(std::io::ErrorKind::NotFound)
        );
    }

    const SOURCES_YML: &str = "defaults: { fetch: mirror }
aggregate_sets:
  t: [WLD]
sources:
  - { id: regions, role: regions, kind: csv, title: t, publisher: p, licence: l, edition: e, mirror: regions.csv,
      columns: { code: ISO3166-1-Alpha-3, name: CLDR display name, region: Region Name, sub_region: Sub-region Name } }
  - { id: gdp, kind: csv, series: gdp_usd, title: t, publisher: p, licence: l, edition: e, mirror: gdp.csv,
      columns: { code: Country Code, name: Country Name, year: Year, value: Value }, unit: usd, aggregates: t,
      checks: { min: 0, max: 1.0e15 } }
  - { id: pop, kind: csv, series: population, title: t, publisher: p, licence: l, edition: e, mirror: pop.csv,
      columns: { code: Country Code, name: Country Name, year: Year, value: Value }, unit: persons, aggregates: t,
      checks: { min: 0 } }
";

    const REGIONS: &str = "ISO3166-1-Alpha-3,CLDR display name,Region Name,Sub-region Name\n\
        AAA,Aland,Europe,Northern Europe\nBBB,Bravo,Asia,Eastern Asia\nCCC,Charlie,Asia,Eastern Asia\n";

    /// The sources, extracted from `gdp` and `pop` into a temporary folder, and transformed.
    fn run(gdp: &str, pop: &str) -> Transformed {
        run_with(REGIONS, gdp, pop)
    }

    fn run_with(regions: &str, gdp: &str, pop: &str) -> Transformed {
        let dir = tempfile::tempdir().unwrap();
        let mirror = dir.path().join("mirror");
        std::fs::create_dir_all(&mirror).unwrap();
        std::fs::write(mirror.join("regions.csv"), regions).unwrap();
        std::fs::write(mirror.join("gdp.csv"), gdp).unwrap();
        std::fs::write(mirror.join("pop.csv"), pop).unwrap();
        std::fs::write(dir.path().join("sources.yml"), SOURCES_YML).unwrap();
        let sources = Sources::load(&dir.path().join("sources.yml"), &mirror).unwrap();
        let extract = dir.path().join("extract");
        std::fs::create_dir_all(extract.join("raw")).unwrap();
        let settings = FetchSettings::from_config(&sources);
        let provenance: Vec<Provenance> = sources
            .enabled()
            .map(|s| extract_source(s, &settings, &extract.join("raw")).unwrap())
            .collect();
        transform(&sources, &extract, &provenance).unwrap()
    }

    const HEADER: &str = "Country Name,Country Code,Year,Value\n";

    /// (code, year) → (value, change, rank, share, per capita) of a source.
    type Row = (
        String,
        i32,
        f64,
        Option<f64>,
        Option<u32>,
        Option<f64>,
        Option<f64>,
    );

    fn rows(t: &Transformed, source: &str) -> Vec<Row> {
        let s = t
            .observations
            .iter()
            .find(|s| &*s.source_id == source)
            .unwrap();
        (0..s.len())
            .map(|i| {
                (
                    t.codes[s.code[i] as usize].clone(),
                    s.year[i],
                    s.value[i],
                    s.change_pct[i],
                    s.rank[i],
                    s.share_pct[i],
                    s.per_capita_at(i),
                )
            })
            .collect()
    }

    #[test]
    fn rows_are_sorted_deduplicated_and_derived() {
        let gdp = format!(
            "{HEADER}Charlie,CCC,2001,300\nBravo,BBB,2000,100\nBravo,BBB,2001,150\nBravo,BBB,2003,300\n\
             Aland,AAA,2001,300\nWorld,WLD,2001,900\nBravo,BBB,2000,999\n\"Aland, Rep.\",AAA,2000,0\n"
        );
        let pop = format!("{HEADER}Bravo,BBB,2001,10\nAland,AAA,2001,0\n");
        let t = run(&gdp, &pop);
        assert_eq!(t.codes, ["AAA", "BBB", "CCC", "WLD"]);
        let r = |code: &str, year, value, change, rank, share, per_capita| -> Row {
            (code.into(), year, value, change, rank, share, per_capita)
        };
        assert_eq!(
            rows(&t, "gdp"),
            [
                r("AAA", 2000, 0.0, None, Some(2), Some(0.0), None),
                // The previous year's value is 0: no change.
                r("AAA", 2001, 300.0, None, Some(1), Some(40.0), None),
                r("BBB", 2000, 100.0, None, Some(1), Some(100.0), None),
                r(
                    "BBB",
                    2001,
                    150.0,
                    Some(50.0),
                    Some(3),
                    Some(20.0),
                    Some(15.0)
                ),
                // 2002 is missing: no change for 2003.
                r("BBB", 2003, 300.0, None, Some(1), Some(100.0), None),
                // A tie with AAA: ranked in code order.
                r("CCC", 2001, 300.0, None, Some(2), Some(40.0), None),
                // Aggregates are neither ranked nor shared.
                r("WLD", 2001, 900.0, None, None, None, None),
            ]
        );
        let gdp_obs = &t.observations[0];
        assert_eq!(gdp_obs.name_of(0), "Aland, Rep.");
        assert_eq!(gdp_obs.name_of(1), "Aland");
        assert_eq!(
            gdp_obs.is_aggregate,
            [false, false, false, false, false, false, true]
        );
        let dup = t.rejects.iter().find(|r| r.rule == "unique").unwrap();
        assert_eq!(
            (
                dup.location.as_str(),
                dup.value.as_str(),
                dup.message.as_str()
            ),
            (
                "line 8",
                "BBB, 2000",
                "BBB 2000 appears again; the first is at line 3"
            )
        );
        assert_eq!(t.counts["gdp"].rows_out, 7);
        assert_eq!(t.counts["pop"].rows_out, 2);
        assert_eq!(t.observation_count(), 9);
    }

    #[test]
    fn names_with_control_characters_are_rejected_never_stored() {
        let regions = format!(
            "{}DDD,\"Del\u{0}ta\",Asia,Eastern Asia\nEEE,Echo,\"Eu\u{1b}[31mrope\",Southern Europe\n",
            REGIONS
        );
        let gdp = format!(
            "{HEADER}Bravo,BBB,2000,1\n\"Br\u{0}avo\",BBB,2001,2\n\"Aland\ttab\",AAA,2000,3\nAland,AAA,2001,4\n"
        );
        let t = run_with(&regions, &gdp, &format!("{HEADER}Bravo,BBB,2000,5\n"));
        let found: Vec<(&str, &str, &str)> = t
            .rejects
            .iter()
            .filter(|r| r.rule == "control_character")
            .map(|r| (r.source_id.as_str(), r.field.as_str(), r.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "regions",
                    "name",
                    "the name contains the control character U+0000; remove it from the source file"
                ),
                (
                    "regions",
                    "region",
                    "the region contains the control character U+001B; remove it from the source file"
                ),
                (
                    "gdp",
                    "name",
                    "the name contains the control character U+0000; remove it from the source file"
                ),
                (
                    "gdp",
                    "name",
                    "the name contains the control character U+0009; remove it from the source file"
                ),
            ]
        );
        assert!(t.regions.iter().all(|r| !r.name.contains('\u{0}')));
        assert!(t
            .rejects
            .iter()
            .all(|r| !r.value.chars().any(char::is_control)));
        assert!(t.rejects.iter().any(|r| r.value == "Del\\u{0000}ta"));
        assert!(!t.regions.iter().any(|r| r.code == "DDD" || r.code == "EEE"));
        let gdp_obs = t
            .observations
            .iter()
            .find(|s| &*s.source_id == "gdp")
            .unwrap();
        assert!(gdp_obs
            .names
            .iter()
            .all(|n| !n.chars().any(char::is_control)));
        assert_eq!(gdp_obs.len(), 2, "the two clean rows are kept");
    }

    #[test]
    fn rejects_keep_file_order_then_duplicates_in_key_order() {
        let gdp = format!(
            "{HEADER}Bravo,BBB,2000,1\nBravo,BBB,2000,2\nAland,AAA,2000,1\nAland,AAA,2000,2\n\
             Zed,ZZZ,2000,1\nBravo,BBB,20x0,1\nBravo,BBB,2001,-1\nBravo,BBB,2002,\nBravo,BBB,2003\n"
        );
        let t = run(&gdp, &format!("{HEADER}Bravo,BBB,1990,5\n"));
        let got: Vec<(&str, &str)> = t
            .rejects
            .iter()
            .map(|r| (r.location.as_str(), r.rule.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("line 6", "known_code"),
                ("line 7", "type"),
                ("line 8", "range"),
                ("line 10", "row_shape"),
                ("line 5", "unique"),
                ("line 3", "unique"),
            ]
        );
        let c = &t.counts["gdp"];
        assert_eq!((c.rows_in, c.rows_out, c.rejected, c.missing), (9, 2, 6, 1));
    }

    /// The CSV fast path (any chunk size) and the row path give the same columns and rejects.
    #[test]
    fn csv_chunks_and_parsed_rows_agree() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sources.yml"), SOURCES_YML).unwrap();
        let sources = Sources::load(&dir.path().join("sources.yml"), dir.path()).unwrap();
        let source = sources.get("gdp").unwrap();
        let gdp = format!(
            "{HEADER}\"Two\nLines\",BBB,2000,1\nBravo,BBB,2000,2\nAland,AAA,1999,1\nWorld,WLD,1999,5\n\
             Zed,ZZZ,2000,1\nBravo,BBB,20x0,1\n\"Say \"\"hi\"\"\",CCC,2001,-1\nBravo,BBB,2002,\nBravo,BBB,20"
        );
        let countries: HashSet<&str> = ["AAA", "BBB", "CCC"].into_iter().collect();
        let dict = CodeDictionary::new(&sources, &countries);
        let names = HashMap::default();
        let table = extractor_for(SourceKind::Csv)
            .parse(source, "gdp.csv", gdp.as_bytes())
            .unwrap();
        let v = Validator {
            sources: &sources,
            source,
            file: "gdp.csv",
            cols: ObservationColumns::find(source, &table.columns),
            dict: &dict,
            names: &names,
        };
        let from_rows = observations_from(&v, &Parsed::Table(table), &|_| {}, &NoProgress);
        assert_eq!(from_rows.0.len(), 3);
        assert_eq!(from_rows.1.len(), 5);
        for chunk_bytes in [1, 10, 40, 1 << 20] {
            let body = CsvBody::open(source, "gdp.csv", gdp.as_bytes(), chunk_bytes).unwrap();
            assert_eq!(body.chunks.iter().map(|c| c.lines).sum::<u64>(), 10);
            let from_chunks = observations_from(&v, &Parsed::Csv(body), &|_| {}, &NoProgress);
            assert_eq!(from_chunks.0.code, from_rows.0.code, "{chunk_bytes}");
            assert_eq!(from_chunks.0.value, from_rows.0.value);
            assert_eq!(from_chunks.0.change_pct, from_rows.0.change_pct);
            let names = |o: &SourceObservations| -> Vec<String> {
                (0..o.len()).map(|i| o.name_of(i).to_string()).collect()
            };
            assert_eq!(names(&from_chunks.0), names(&from_rows.0));
            assert_eq!(from_chunks.1, from_rows.1);
            assert_eq!(from_chunks.2, from_rows.2);
        }
    }

    /// A messy, unsorted file (shuffled keys, duplicates, quoted names with commas and quotes,
    /// bad values, short rows), read in chunks of every size, keeps exactly the rows
    /// and rejects of an independent reading: the `csv` crate row by row, first row of a key wins.
    #[test]
    fn unsorted_messy_file_matches_an_independent_reading() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sources.yml"), SOURCES_YML).unwrap();
        let sources = Sources::load(&dir.path().join("sources.yml"), dir.path()).unwrap();
        let source = sources.get("gdp").unwrap();
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let mut gdp = String::from(HEADER);
        for _ in 0..3000 {
            let code = ["AAA", "BBB", "CCC", "WLD", "ZZZ"][next(5) as usize];
            let name = match next(4) {
                0 => format!("\"{code}, \"\"Rep.\"\"\""),
                1 => format!(" {code} "),
                _ => code.to_string(),
            };
            let year = match next(50) {
                0 => "19x5".to_string(),
                1 => "1850".to_string(),
                _ => (1950 + next(100)).to_string(),
            };
            let value = match next(20) {
                0 => String::new(),
                1 => "NaN".into(),
                2 => format!("-{}", next(1000)),
                3 => "1e20".into(),
                4 => format!("{:e}", next(1 << 40) as f64 / 7.0),
                _ => format!("{}", next(1 << 50) as f64 / 3.0),
            };
            // (CRLF lines are left to the reader's own test: the `csv` crate numbers the line
            // after one differently when it reads a whole file than when it starts there.)
            if next(100) == 0 {
                gdp.push_str(&format!("{name},{code},{year}\n"));
            } else {
                gdp.push_str(&format!("{name},{code},{year},{value}\n"));
            }
        }

        // The independent reading.
        let known = ["AAA", "BBB", "CCC", "WLD"];
        let mut first: BTreeMap<(String, i32), (f64, u64)> = BTreeMap::new();
        let (mut expected_rejects, mut missing, mut rows_in) = (Vec::new(), 0, 0);
        let mut reader = ::csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(gdp.as_bytes());
        for record in reader.records() {
            let record = record.unwrap();
            let line = record.position().unwrap().line();
            rows_in += 1;
            let cell = |i: usize| record.get(i).unwrap_or("").trim();
            let (code, year, value) = (cell(1), cell(2), cell(3));
            let rule = if record.len() != 4 {
                "row_shape"
            } else if !known.contains(&code) {
                "known_code"
            } else if let Ok(year) = year.parse::<i32>() {
                if !(1900..=2100).contains(&year) {
                    "range"
                } else if value.is_empty() {
                    missing += 1;
                    continue;
                } else {
                    match value.parse::<f64>() {
                        Err(_) => "type",
                        Ok(v) if !v.is_finite() => "finite",
                        Ok(v) if !(0.0..=1.0e15).contains(&v) => "range",
                        Ok(v) => match first.entry((code.to_string(), year)) {
                            std::collections::btree_map::Entry::Occupied(_) => "unique",
                            std::collections::btree_map::Entry::Vacant(slot) => {
                                slot.insert((v, line));
                                continue;
                            }
                        },
                    }
                }
            } else {
                "type"
            };
            expected_rejects.push((format!("line {line}"), rule.to_string()));
        }
        let expected_rows: Vec<(String, i32, u64)> = first
            .iter()
            .map(|((code, year), (value, _))| (code.clone(), *year, value.to_bits()))
            .collect();
        expected_rejects.sort();
        assert!(expected_rows.len() > 100 && expected_rejects.len() > 100);

        let countries: HashSet<&str> = ["AAA", "BBB", "CCC"].into_iter().collect();
        let dict = CodeDictionary::new(&sources, &countries);
        let names = HashMap::default();
        for chunk_bytes in [1, 64, 1000, 1 << 20] {
            let body = CsvBody::open(source, "gdp.csv", gdp.as_bytes(), chunk_bytes).unwrap();
            let v = Validator {
                sources: &sources,
                source,
                file: "gdp.csv",
                cols: ObservationColumns::find(source, &body.columns),
                dict: &dict,
                names: &names,
            };
            let (obs, rejects, counts) =
                observations_from(&v, &Parsed::Csv(body), &|_| {}, &NoProgress);
            let got_rows: Vec<(String, i32, u64)> = (0..obs.len())
                .map(|i| {
                    let code = dict.codes[obs.code[i] as usize].clone();
                    (code, obs.year[i], obs.value[i].to_bits())
                })
                .collect();
            assert_eq!(got_rows, expected_rows, "chunks of {chunk_bytes} bytes");
            let mut got_rejects: Vec<(String, String)> = rejects
                .iter()
                .map(|r| (r.location.clone(), r.rule.clone()))
                .collect();
            got_rejects.sort();
            assert_eq!(
                got_rejects, expected_rejects,
                "chunks of {chunk_bytes} bytes"
            );
            // Each duplicate names the line of the row kept for its key.
            for r in rejects.iter().filter(|r| r.rule == "unique") {
                let (_, kept_line) = first[&(r.code.clone(), r.year.unwrap())];
                assert!(
                    r.message.ends_with(&format!("line {kept_line}")),
                    "{}",
                    r.message
                );
            }
            assert_eq!(
                (counts.rows_in, counts.missing, counts.rows_out),
                (rows_in, missing, expected_rows.len() as u64)
            );
        }
    }

    #[test]
    fn radix_sort_orders_by_key_and_keeps_ties_in_place() {
        for n in [0, 1, 255, 256, 5000] {
            // Few distinct keys (many ties), spread over every byte.
            let mut rows: Vec<(u64, usize)> = (0..n)
                .map(|i| {
                    (
                        (i as u64 * 7919 % 61).wrapping_mul(0x0101_0101_0101_0101),
                        i,
                    )
                })
                .collect();
            let mut expected = rows.clone();
            expected.sort_unstable();
            radix_sort_by_key(&mut rows);
            assert_eq!(rows, expected, "{n} rows");
        }
    }

    #[test]
    fn value_of_key_undoes_descending_key() {
        for v in [
            0.0,
            -0.0,
            1.5,
            -1.5,
            1e300,
            -1e-300,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            assert_eq!(
                value_of_key(descending_key(v)).to_bits(),
                v.to_bits(),
                "{v}"
            );
        }
    }

    #[test]
    fn descending_key_orders_like_total_cmp_reversed() {
        let values = [
            f64::NEG_INFINITY,
            -1e300,
            -1.5,
            -0.0,
            0.0,
            f64::MIN_POSITIVE,
            1.0,
            2.5e10,
            f64::INFINITY,
        ];
        for a in values {
            for b in values {
                assert_eq!(
                    descending_key(a).cmp(&descending_key(b)),
                    b.total_cmp(&a),
                    "{a} vs {b}"
                );
            }
        }
    }
}

#[cfg(test)]
mod m49_tests {
    use super::m49_code;

    #[test]
    fn m49_codes_are_three_digits_or_refused() {
        assert_eq!(m49_code("142").as_deref(), Some("142"));
        assert_eq!(
            m49_code("34").as_deref(),
            Some("034"),
            "the CSV drops zeros"
        );
        assert_eq!(m49_code("2").as_deref(), Some("002"));
        assert_eq!(m49_code("").as_deref(), Some(""), "no code: names as given");
        for bad in ["1420", "Asia", "-1", "1.5", " 34"] {
            assert_eq!(m49_code(bad), None, "{bad}");
        }
    }
}

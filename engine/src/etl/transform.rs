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
use super::progress::{NoProgress, Progress};
use crate::base::run::SourceCounts;
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

/// The validated observations of one source. Rows stay where validation put them (chunks, in
/// file order); `order` lists them in (code, year) order, repeats removed, and every reader goes
/// through it, a batch of rows at a time ([`SourceObservations::fill`]), with the derived figures
/// (change, rank, share, per capita) computed as the batch is filled. Moving 10^7 rows into
/// sorted and derived columns cost more (in freshly faulted memory) than all the checks.
#[derive(Debug, Default)]
pub struct SourceObservations {
    pub source_id: Arc<str>,
    pub series: Arc<str>,
    pub edition: Arc<str>,
    /// Every name as the source spells it; rows refer to them by index.
    pub names: Vec<Box<str>>,
    chunks: Vec<Chunk>,
    /// Chunk `c`'s name `k` is `names[name_offsets[c] + k]`.
    name_offsets: Vec<u32>,
    /// Row refs ([`row_ref`]) in (code, year) order, one per key.
    order: Vec<u64>,
    ranks: Ranks,
    /// Population by [`code_year_key`], for GDP per capita: only on `gdp_usd` sources, when a
    /// population source has rows.
    population: Option<Arc<HashMap<u64, f64>>>,
    countries: u64,
    periods: Vec<PeriodVolume>,
}

/// Rows of a source in (code, year) order, as columns. Figures that do not exist are NaN (change,
/// share, per capita) or 0 (rank): every real one is finite, or at least 1.
#[derive(Debug, Default)]
pub struct ObservationBatch {
    /// Index into [`Transformed::codes`]: the canonical code.
    pub code: Vec<u32>,
    /// Index into [`SourceObservations::names`].
    pub name: Vec<u32>,
    pub year: Vec<i32>,
    /// In the canonical unit (US dollars, persons), full precision.
    pub value: Vec<f64>,
    pub is_aggregate: Vec<bool>,
    pub is_projection: Vec<bool>,
    /// Change vs the previous year of the same entity and source, in %.
    pub change_pct: Vec<f64>,
    /// Rank among countries (not aggregates) for the year and source; 1 = largest.
    pub rank: Vec<u32>,
    /// Share of the sum over countries for the year and source, in %.
    pub share_pct: Vec<f64>,
    /// GDP divided by the population of the same entity and year. Empty when the source can
    /// have none (not GDP, or no population source).
    pub per_capita: Vec<f64>,
}

impl ObservationBatch {
    pub fn len(&self) -> usize {
        self.code.len()
    }

    pub fn is_empty(&self) -> bool {
        self.code.is_empty()
    }

    pub fn change_at(&self, i: usize) -> Option<f64> {
        Some(self.change_pct[i]).filter(|v| !v.is_nan())
    }

    pub fn rank_at(&self, i: usize) -> Option<u32> {
        Some(self.rank[i]).filter(|&r| r > 0)
    }

    pub fn share_at(&self, i: usize) -> Option<f64> {
        Some(self.share_pct[i]).filter(|v| !v.is_nan())
    }

    pub fn per_capita_at(&self, i: usize) -> Option<f64> {
        self.per_capita.get(i).copied().filter(|v| !v.is_nan())
    }
}

impl SourceObservations {
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The distinct countries (aggregates excluded) among the rows.
    pub fn countries(&self) -> u64 {
        self.countries
    }

    /// What each year holds, oldest first: the summary the load and the next run's volume check
    /// read instead of scanning every row again.
    pub fn periods(&self) -> &[PeriodVolume] {
        &self.periods
    }

    /// The chunk and place of the row at position `p` of the (code, year) order.
    fn at(&self, p: usize) -> (&Chunk, usize) {
        let (c, i) = split_row_ref(self.order[p]);
        (&self.chunks[c], i)
    }

    /// Rows `rows` of the (code, year) order, with their derived figures.
    pub fn fill(&self, rows: std::ops::Range<usize>) -> ObservationBatch {
        let n = rows.len();
        let mut b = ObservationBatch {
            code: Vec::with_capacity(n),
            name: Vec::with_capacity(n),
            year: Vec::with_capacity(n),
            value: Vec::with_capacity(n),
            is_aggregate: Vec::with_capacity(n),
            is_projection: Vec::with_capacity(n),
            change_pct: Vec::with_capacity(n),
            rank: Vec::with_capacity(n),
            share_pct: Vec::with_capacity(n),
            per_capita: Vec::with_capacity(if self.population.is_some() { n } else { 0 }),
        };
        let mut next = self.ranks.cursor_at(rows.start, |p| {
            let (chunk, i) = self.at(p);
            (!chunk.is_aggregate[i]).then_some(chunk.year[i])
        });
        let mut prev = rows.start.checked_sub(1).map(|p| {
            let (chunk, i) = self.at(p);
            (chunk.code[i], chunk.year[i], chunk.value[i])
        });
        for p in rows {
            // Unsorted sources scatter the order's rows over the chunks: ask for a row's
            // columns a few rows before they are read.
            if let Some(&ahead) = self.order.get(p + 8) {
                let (c, i) = split_row_ref(ahead);
                self.chunks[c].prefetch(i);
                prefetch(&self.chunks[c].name, i);
                prefetch(&self.chunks[c].is_projection, i);
            }
            let (c, i) = split_row_ref(self.order[p]);
            let chunk = &self.chunks[c];
            let (code, year, value) = (chunk.code[i], chunk.year[i], chunk.value[i]);
            let is_aggregate = chunk.is_aggregate[i];
            b.code.push(code);
            b.name.push(self.name_offsets[c] + chunk.name[i]);
            b.year.push(year);
            b.value.push(value);
            b.is_aggregate.push(is_aggregate);
            b.is_projection.push(chunk.is_projection[i]);
            b.change_pct.push(match prev {
                Some((c, y, v)) if c == code && y + 1 == year && v > 0.0 => {
                    (value / v - 1.0) * 100.0
                }
                _ => f64::NAN,
            });
            // Before `derive` (only in tests) there are no ranks yet.
            if is_aggregate || next.is_empty() {
                b.rank.push(0);
                b.share_pct.push(f64::NAN);
            } else {
                let y = (year - self.ranks.lo) as usize;
                let (ranks, shares) = &self.ranks.per_year[y];
                // The years' lists are read as many streams at once, too many for the CPU to
                // see coming: ask for the line after this one now (40 % of the fill was these
                // two reads waiting on memory).
                prefetch(ranks, next[y] + 16);
                prefetch(shares, next[y] + 8);
                b.rank.push(ranks[next[y]]);
                b.share_pct.push(shares[next[y]]);
                next[y] += 1;
            }
            if let Some(population) = &self.population {
                let per_capita = population
                    .get(&code_year_key(code, year))
                    .map(|p| value / p);
                b.per_capita.push(per_capita.unwrap_or(f64::NAN));
            }
            prev = Some((code, year, value));
        }
        b
    }
}

/// Asks the CPU to bring `v[i]` into its cache (a hint; nothing happens past the end).
#[inline(always)]
fn prefetch<T>(v: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(x) = v.get(i) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: SSE is part of every x86_64 CPU, and a prefetch neither reads nor faults.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((x as *const T).cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (v, i);
}

/// Rank and share of each country row among the source's countries of the same year.
#[derive(Debug, Default)]
struct Ranks {
    /// The first year.
    lo: i32,
    /// Per year from `lo`: the rank and share of its country rows, in (code, year) order.
    per_year: Vec<(Vec<u32>, Vec<f64>)>,
    /// Positions of the order are cut into blocks of this many rows, and
    block_rows: usize,
    /// the country rows of each year before block `b` are `firsts[b][year - lo]`.
    firsts: Vec<Vec<usize>>,
}

impl Ranks {
    /// Where each year's next country row is in `per_year`, for the row at position `start`;
    /// `country_year(p)` is the year of position `p` when it is a country row.
    fn cursor_at(&self, start: usize, country_year: impl Fn(usize) -> Option<i32>) -> Vec<usize> {
        if self.block_rows == 0 {
            return Vec::new();
        }
        let block = start / self.block_rows;
        let Some(first) = self.firsts.get(block) else {
            return Vec::new();
        };
        let mut next = first.clone();
        for p in block * self.block_rows..start {
            if let Some(year) = country_year(p) {
                next[(year - self.lo) as usize] += 1;
            }
        }
        next
    }
}

/// One year of one source's observations. Keys are unique, so a year's country rows are its
/// countries reporting.
#[derive(Debug, Clone, PartialEq, Default)]
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

/// A row that failed a check, with everything needed to find and fix it: the same record the
/// pipeline page reads back from the rejects file.
pub use display::pipeline::RejectRow as Reject;

/// A reject of `source`'s `file` at `location`.
fn reject_at(
    source: &Source,
    file: &str,
    location: &Location,
    field: &str,
    value: &str,
    rule: &str,
    message: String,
) -> Reject {
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

/// A reject that names the entity and year of its row: alerts on that figure are then marked
/// as data issues.
trait ForEntity {
    fn for_entity(self, code: &str, year: i32) -> Self;
}

impl ForEntity for Reject {
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

/// Where a region table's fields are, and what its rows are checked against.
struct RegionColumns<'a> {
    sources: &'a Sources,
    source: &'a Source,
    file: &'a str,
    code: Option<usize>,
    name: Option<usize>,
    region: Option<usize>,
    sub_region: Option<usize>,
    /// Optional: without them names stay as the source gives them.
    region_code: Option<usize>,
    sub_region_code: Option<usize>,
}

impl<'a> RegionColumns<'a> {
    fn find(sources: &'a Sources, source: &'a Source, columns: &[String], file: &'a str) -> Self {
        let idx = |f: &str| field_index(source, columns, f);
        RegionColumns {
            sources,
            source,
            file,
            code: idx("code"),
            name: idx("name"),
            region: idx("region"),
            sub_region: idx("sub_region"),
            region_code: idx("region_code"),
            sub_region_code: idx("sub_region_code"),
        }
    }

    /// One row checked on its own: `None` when it has no region (missing), else its region or
    /// why it is rejected.
    fn check(
        &self,
        row: &impl Cells,
        location: &Location,
        problem: Option<&str>,
    ) -> Option<Result<Region, Reject>> {
        let reject = |field: &str, value: &str, rule: &str, message: String| {
            reject_at(
                self.source,
                self.file,
                location,
                field,
                value,
                rule,
                message,
            )
        };
        if let Some(problem) = problem {
            return Some(Err(reject("", "", "row_shape", problem.to_string())));
        }
        let code = row.cell(self.code);
        let region = row.cell(self.region);
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
            ("name", row.cell(self.name)),
            ("region", region),
            ("sub_region", row.cell(self.sub_region)),
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
            ("region_code", row.cell(self.region_code)),
            ("sub_region_code", row.cell(self.sub_region_code)),
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
        let name = self
            .sources
            .display_names
            .get(code)
            .cloned()
            .unwrap_or_else(|| row.cell(self.name).to_string());
        Some(Ok(Region {
            code: code.to_string(),
            name,
            region: region.to_string(),
            sub_region: row.cell(self.sub_region).to_string(),
            region_code,
            sub_region_code,
            source_id: self.source.id.clone(),
        }))
    }
}

/// The region table from its rows checked one by one ([`RegionColumns::check`], with each
/// row's place): in file order, the first row of a code wins; then the configured overrides.
fn regions_from(
    sources: &Sources,
    source: &Source,
    checked: Vec<(Location, Option<Result<Region, Reject>>)>,
    file: &str,
) -> (Vec<Region>, Vec<Reject>, SourceCounts) {
    let rows_in = checked.len() as u64;
    // Which rows and overrides come first with their code (the codes borrowed, not copied).
    let (keep, add): (Vec<bool>, Vec<bool>) = {
        let mut seen: HashSet<&str> =
            HashSet::with_capacity_and_hasher(checked.len(), Default::default());
        let keep = checked
            .iter()
            .map(|(_, r)| matches!(r, Some(Ok(region)) if seen.insert(region.code.as_str())))
            .collect();
        let add = sources
            .region_overrides
            .iter()
            .map(|o| seen.insert(o.code.as_str()))
            .collect();
        (keep, add)
    };
    let mut regions: Vec<Region> = Vec::with_capacity(checked.len());
    let mut rejects = Vec::new();
    let mut missing = 0;
    for ((location, result), first) in checked.into_iter().zip(keep) {
        match result {
            None => missing += 1,
            Some(Err(reject)) => rejects.push(reject),
            Some(Ok(region)) if first => regions.push(region),
            Some(Ok(region)) => rejects.push(reject_at(
                source,
                file,
                &location,
                "code",
                &region.code,
                "unique",
                format!("`{}` appears twice in the region table", region.code),
            )),
        }
    }
    let from_table = regions.len();
    for (o, _) in sources
        .region_overrides
        .iter()
        .zip(add)
        .filter(|(_, add)| *add)
    {
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
    let counts = SourceCounts {
        rows_in,
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
    let source = &raw.source;
    // A CSV table is checked record by record as it is read (as observations are): no table of
    // strings is built first, which took as long as the checks.
    let checked: Vec<(Location, Option<Result<Region, Reject>>)> = if source.kind == SourceKind::Csv
    {
        let body = CsvBody::open(source, &raw.file, &raw.bytes, CSV_CHUNK_BYTES)?;
        let columns = RegionColumns::find(sources, source, &body.columns, &raw.location);
        let width = body.columns.len();
        body.chunks
            .par_iter()
            .map(|chunk| {
                let mut rows = Vec::new();
                chunk.for_each_record(width, |line, fields, problem| {
                    let location = Location::Line(line);
                    let checked = columns.check(fields, &location, problem.as_deref());
                    rows.push((location, checked));
                });
                rows
            })
            .collect::<Vec<_>>()
            .concat()
    } else {
        let table = raw.parse_table()?;
        let columns = RegionColumns::find(sources, source, &table.columns, &raw.location);
        table
            .rows
            .par_iter()
            .map(|row| {
                let checked = columns.check(row, &row.location, row.problem.as_deref());
                (row.location.clone(), checked)
            })
            .collect()
    };
    let (regions, rejects, counts) = regions_from(sources, source, checked, &raw.location);
    if regions.is_empty() {
        return Err(TransformError::NoRegions(raw.source.id.clone()));
    }
    let dict = CodeDictionary::new(sources, regions.iter().map(|r| r.code.as_str()));
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
    fn new<'c>(sources: &Sources, countries: impl Iterator<Item = &'c str>) -> Self {
        let aggregates = sources
            .enabled()
            .filter(|s| s.role == Role::Observations)
            .flat_map(|s| s.aggregates.iter())
            .map(|a| (sources.canonical_code(a).to_string(), false));
        // Each code with whether it is a country; a code both an aggregate and in the region
        // table is a country (sorted after its aggregate entry, the two are merged).
        let mut entries: Vec<(String, bool)> = countries
            .map(|c| (c.to_string(), true))
            .chain(aggregates)
            .collect();
        entries.par_sort_unstable();
        entries.dedup_by(|next, kept| {
            let same = next.0 == kept.0;
            kept.1 |= same && next.1;
            same
        });
        let is_country = entries.iter().map(|e| e.1).collect();
        let codes: Vec<String> = entries.into_iter().map(|e| e.0).collect();
        let ids = codes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), i as u32))
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
    /// Asks for the columns of row `i` that are read through the (code, year) order, before
    /// they are read.
    #[inline(always)]
    fn prefetch(&self, i: usize) {
        prefetch(&self.code, i);
        prefetch(&self.year, i);
        prefetch(&self.value, i);
        prefetch(&self.is_aggregate, i);
    }

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
            reject_at(source, file, location, field, value, rule, message)
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

/// Sort key of an entity-year: code id, then year.
fn code_year_key(code: u32, year: i32) -> u64 {
    (u64::from(code) << 32) | u64::from(year as u32)
}

/// The kept rows of `chunks` (as row refs) in (code, year) order, rows with the same key in
/// file order; and the positions in that order of the repeats (a row whose key the row before
/// it has). Rows usually come entity by entity: a counting sort on the code id (ids are dense,
/// one per dictionary code) puts them in code order with two sequential passes, one per half of
/// the chunks side by side, then each code's few rows are put in year order (a stable sort,
/// only where they are not in order), where its repeats are found too. That is 8 bytes a row,
/// where sorting (key, row) pairs took 16 and a comparison sort's time.
fn key_order(chunks: &[Chunk], codes: usize) -> (Vec<u64>, Vec<usize>) {
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
        let order: Vec<u64> = chunks
            .iter()
            .enumerate()
            .flat_map(|(c, chunk)| (0..chunk.kept()).map(move |i| row_ref(c, i)))
            .collect();
        let key_at = |p: usize| {
            let (c, i) = split_row_ref(order[p]);
            key(c, i)
        };
        let repeats = (1..n)
            .into_par_iter()
            .filter(|&p| key_at(p - 1) == key_at(p))
            .collect();
        return (order, repeats);
    }
    // Rows of each code in each half of the chunks: the halves are scattered side by side.
    let half = chunks.len() / 2;
    let count = |part: &[Chunk]| {
        let mut counts = vec![0usize; codes];
        for chunk in part {
            for &code in &chunk.code {
                counts[code as usize] += 1;
            }
        }
        counts
    };
    let (first_half, second_half) =
        rayon::join(|| count(&chunks[..half]), || count(&chunks[half..]));
    let counts: Vec<usize> = first_half
        .iter()
        .zip(&second_half)
        .map(|(a, b)| a + b)
        .collect();
    let starts: Vec<usize> = counts
        .iter()
        .scan(0, |sum, &count| {
            let start = *sum;
            *sum += count;
            Some(start)
        })
        .collect();
    // Each code's rows of the second half go after its rows of the first: file order kept.
    let second_starts: Vec<usize> = starts.iter().zip(&first_half).map(|(s, f)| s + f).collect();
    drop(second_half);
    let mut order = vec![0u64; n];
    {
        struct Slots(*mut u64);
        // SAFETY (of the sharing): the two halves write disjoint slots (each code's slots are
        // split between them by the counts), every slot exactly once.
        unsafe impl Sync for Slots {}
        let slots = Slots(order.as_mut_ptr());
        let scatter = |from: usize, part: &[Chunk], mut next: Vec<usize>| {
            let slots = &slots;
            for (k, chunk) in part.iter().enumerate() {
                for (i, &code) in chunk.code.iter().enumerate() {
                    let slot = &mut next[code as usize];
                    // SAFETY: `*slot` < n (the counts sum to n) and belongs to this half alone.
                    unsafe { *slots.0.add(*slot) = row_ref(from + k, i) };
                    *slot += 1;
                }
            }
        };
        rayon::join(
            || scatter(0, &chunks[..half], starts.clone()),
            || scatter(half, &chunks[half..], second_starts),
        );
    }
    let year = |r: u64| {
        let (c, i) = split_row_ref(r);
        chunks[c].year[i]
    };
    let repeats: Vec<usize> = split_by_lengths(&mut order, &counts)
        .into_par_iter()
        .zip(starts)
        .with_min_len(256)
        .flat_map_iter(|(rows, start)| {
            if !rows.windows(2).all(|w| year(w[0]) < year(w[1])) {
                // Stable: rows of the same year keep their file order.
                rows.sort_by_key(|&r| year(r));
            }
            (1..rows.len())
                .filter(|&k| year(rows[k - 1]) == year(rows[k]))
                .map(move |k| start + k)
                .collect::<Vec<_>>()
        })
        .collect();
    (order, repeats)
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

    // Unique key (code, year): the first row wins, later ones are rejected naming it.
    let (mut order, repeats) = key_order(&chunks, v.dict.codes.len());
    let location = |r: u64| {
        let (c, i) = split_row_ref(r);
        chunks[c].locations.get(i)
    };
    // Repeats of one key are consecutive: the first row is the one before the run of them.
    let firsts: Vec<usize> = repeats
        .iter()
        .scan((0usize, 0usize), |(run_start, last), &p| {
            if p != *last + 1 || *run_start == 0 {
                *run_start = p;
            }
            *last = p;
            Some(*run_start - 1)
        })
        .collect();
    let order_ref = &order;
    let repeat_rejects: Vec<Reject> = repeats
        .par_iter()
        .zip(&firsts)
        .map(|(&p, &first)| {
            let (c, i) = split_row_ref(order_ref[p]);
            let code = &v.dict.codes[chunks[c].code[i] as usize];
            let year = chunks[c].year[i];
            Reject {
                source_id: v.source.id.clone(),
                file: v.file.to_string(),
                location: location(order_ref[p]).to_string(),
                field: "code, year".into(),
                value: format!("{code}, {year}"),
                rule: "unique".into(),
                message: format!(
                    "{code} {year} appears again; the first is at {}",
                    location(order_ref[first])
                ),
                code: code.clone(),
                year: Some(year),
            }
        })
        .collect();
    // The repeats leave the order, in place: the rows between them move down.
    let mut kept = 0;
    let mut from = 0;
    for &p in repeats.iter().chain(std::iter::once(&order.len())) {
        order.copy_within(from..p, kept);
        kept += p - from;
        from = p + 1;
    }
    order.truncate(kept);

    // Where kept rows came from is only needed for the messages of repeats, written above.
    for chunk in &mut chunks {
        chunk.locations = Locations::Lines(Vec::new());
    }
    let mut rows_in = 0;
    let mut missing = 0;
    let mut rejects = Vec::new();
    let mut names = Vec::new();
    let mut name_offsets = Vec::with_capacity(chunks.len());
    for chunk in &mut chunks {
        rows_in += chunk.rows;
        missing += chunk.missing;
        rejects.append(&mut chunk.rejects);
        name_offsets.push(names.len() as u32);
        names.append(&mut chunk.names);
    }
    rejects.extend(repeat_rejects);
    let counts = SourceCounts {
        rows_in,
        rows_out: order.len() as u64,
        rejected: rejects.len() as u64,
        missing,
        added: 0,
    };
    let observations = SourceObservations {
        source_id: Arc::from(v.source.id.as_str()),
        series: Arc::from(v.source.series.as_deref().unwrap_or_default()),
        edition: Arc::from(v.source.edition.as_str()),
        names,
        chunks,
        name_offsets,
        order,
        ..Default::default()
    };
    (observations, rejects, counts)
}

/// Per capita (across sources), then each source's ranks, shares and summaries.
fn derive(observations: &mut [SourceObservations]) {
    // Population by (code, year); a later population source overrides an earlier one.
    let mut population: HashMap<u64, f64> = HashMap::default();
    for s in observations.iter().filter(|s| &*s.series == "population") {
        for p in 0..s.len() {
            let (chunk, i) = s.at(p);
            if chunk.value[i] > 0.0 {
                population.insert(code_year_key(chunk.code[i], chunk.year[i]), chunk.value[i]);
            }
        }
    }
    // Nothing to divide: no column of millions of missing figures.
    let population = (!population.is_empty()).then(|| Arc::new(population));
    for s in observations.iter_mut() {
        if &*s.series == "gdp_usd" {
            s.population = population.clone();
        }
        rank_and_summarise(s);
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

/// What one block of positions holds: per year, its country rows' keys in order and the
/// year's counts; and the countries that start in it.
struct BlockSummary {
    keys: Vec<Vec<u64>>,
    periods: Vec<PeriodVolume>,
    countries: u64,
}

/// Positions per block of [`Ranks`]: small enough that finding a cursor inside one is cheap.
const RANK_BLOCK_ROWS: usize = 64 * 1024;

/// Ranks and shares of each year's country rows, and the source's summaries. The (code, year)
/// order is cut into blocks; each block lists, per year, the keys of its country rows in order
/// (counted first, so each list is allocated once). Each year then joins its blocks' lists,
/// sorts them (ties keep row order, i.e. code order) and gives each position its rank and share,
/// kept per year: [`SourceObservations::fill`] reads them back in row order. Nothing is written
/// at random places of 10^7-row columns: that scattering cost more than all the sorting.
fn rank_and_summarise(s: &mut SourceObservations) {
    let n = s.len();
    // Read from the chunks in file order: every row of the order is in them, and the rows it
    // left out repeat a key it has (so the same years).
    let year_range = s
        .chunks
        .par_iter()
        .filter_map(|c| Some((*c.year.iter().min()?, *c.year.iter().max()?)))
        .reduce_with(|a, b| (a.0.min(b.0), a.1.max(b.1)));
    let (Some((lo, hi)), false) = (year_range, n == 0) else {
        s.ranks = Ranks::default();
        s.periods = Vec::new();
        s.countries = 0;
        return;
    };
    let years = (hi - lo) as usize + 1;
    let starts: Vec<usize> = (0..n).step_by(RANK_BLOCK_ROWS).collect();
    let empty_periods = || -> Vec<PeriodVolume> {
        (0..years)
            .map(|y| PeriodVolume {
                year: lo + y as i32,
                ..PeriodVolume::default()
            })
            .collect()
    };
    let this = &*s;
    let blocks: Vec<BlockSummary> = starts
        .par_iter()
        .map(|&start| {
            let rows = start..(start + RANK_BLOCK_ROWS).min(n);
            let mut periods = empty_periods();
            let mut countries = 0;
            let mut previous_code = start.checked_sub(1).map(|p| {
                let (chunk, i) = this.at(p);
                chunk.code[i]
            });
            // The block's country rows (year, key), read from the chunks once: the rows are
            // scattered over them when the source was unsorted.
            let mut country_rows: Vec<(u32, u64)> = Vec::with_capacity(rows.len());
            for p in rows {
                if let Some(&ahead) = this.order.get(p + 8) {
                    let (c, i) = split_row_ref(ahead);
                    this.chunks[c].prefetch(i);
                }
                let (chunk, i) = this.at(p);
                let y = (chunk.year[i] - lo) as usize;
                let period = &mut periods[y];
                period.rows += 1;
                if !chunk.is_aggregate[i] {
                    period.countries += 1;
                    period.actual_countries += u64::from(!chunk.is_projection[i]);
                    period.country_total += chunk.value[i];
                    // A code is a country or an aggregate throughout, and its rows are
                    // together: a country starts where the code changes.
                    countries += u64::from(previous_code != Some(chunk.code[i]));
                    country_rows.push((y as u32, descending_key(chunk.value[i])));
                }
                previous_code = Some(chunk.code[i]);
            }
            let mut keys: Vec<Vec<u64>> = periods
                .iter()
                .map(|p| Vec::with_capacity(p.countries as usize))
                .collect();
            for (y, key) in country_rows {
                keys[y as usize].push(key);
            }
            BlockSummary {
                keys,
                periods,
                countries,
            }
        })
        .collect();
    let per_year: Vec<(Vec<u32>, Vec<f64>)> = (0..years)
        .into_par_iter()
        .map(|y| {
            let mut order: Vec<(u64, usize)> = blocks
                .iter()
                .flat_map(|block| &block.keys[y])
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
    // Where each block's rows start in each year's lists; the counts summed block by block in
    // row order (the totals do not depend on the number of threads).
    let mut next = vec![0usize; years];
    let mut firsts = Vec::with_capacity(blocks.len() + 1);
    let mut periods = empty_periods();
    let mut countries = 0;
    for block in &blocks {
        firsts.push(next.clone());
        for (y, keys) in block.keys.iter().enumerate() {
            next[y] += keys.len();
        }
        for (total, part) in periods.iter_mut().zip(&block.periods) {
            total.rows += part.rows;
            total.countries += part.countries;
            total.actual_countries += part.actual_countries;
            total.country_total += part.country_total;
        }
        countries += block.countries;
    }
    firsts.push(next);
    periods.retain(|p| p.rows > 0);
    s.ranks = Ranks {
        lo,
        per_year,
        block_rows: RANK_BLOCK_ROWS,
        firsts,
    };
    s.periods = periods;
    s.countries = countries;
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
        let b = s.fill(0..s.len());
        (0..b.len())
            .map(|i| {
                (
                    t.codes[b.code[i] as usize].clone(),
                    b.year[i],
                    b.value[i],
                    b.change_at(i),
                    b.rank_at(i),
                    b.share_at(i),
                    b.per_capita_at(i),
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
        let b = gdp_obs.fill(0..gdp_obs.len());
        assert_eq!(&*gdp_obs.names[b.name[0] as usize], "Aland, Rep.");
        assert_eq!(&*gdp_obs.names[b.name[1] as usize], "Aland");
        assert_eq!(
            b.is_aggregate,
            [false, false, false, false, false, false, true]
        );
        // Filled from any row on, a batch is the same rows as the whole.
        for start in 0..=gdp_obs.len() {
            let part = gdp_obs.fill(start..gdp_obs.len());
            assert_eq!(part.code, b.code[start..]);
            assert_eq!(part.rank, b.rank[start..]);
            assert_eq!(
                part.change_pct
                    .iter()
                    .map(|v| v.to_bits())
                    .collect::<Vec<_>>(),
                b.change_pct[start..]
                    .iter()
                    .map(|v| v.to_bits())
                    .collect::<Vec<_>>()
            );
        }
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

    /// Over several of the blocks ranks are kept in, with entities in shuffled order, ties,
    /// zeros, gaps and a population source: every derived figure equals a plain computation, and
    /// a batch filled from any position (block edges included) equals the same rows of the whole.
    #[test]
    fn derived_figures_over_many_blocks_match_a_plain_computation() {
        let entities = 3200u64;
        let mut regions =
            String::from("ISO3166-1-Alpha-3,CLDR display name,Region Name,Sub-region Name\n");
        let mut order: Vec<u64> = (0..entities).collect();
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 33
        };
        for i in (1..order.len()).rev() {
            order.swap(i, (next() % (i as u64 + 1)) as usize);
        }
        let (mut gdp, mut pop) = (String::from(HEADER), String::from(HEADER));
        // (code, year) → value, as the file holds them.
        let mut values: BTreeMap<(String, i32), f64> = BTreeMap::new();
        let mut population: HashMap<(String, i32), f64> = HashMap::default();
        for &e in &order {
            let code = format!("E{e:04}");
            regions.push_str(&format!("{code},Name {e},Asia,Eastern Asia\n"));
            for year in 1960..2026 {
                if next() % 50 == 0 {
                    continue;
                }
                // Few distinct values: many ties; some zeros.
                let value = (next() % 40) as f64 * 1000.0;
                gdp.push_str(&format!("Name {e},{code},{year},{value}\n"));
                values.insert((code.clone(), year), value);
                if e % 3 == 0 {
                    let people = (1 + next() % 9) as f64;
                    pop.push_str(&format!("Name {e},{code},{year},{people}\n"));
                    population.insert((code.clone(), year), people);
                }
            }
        }
        gdp.push_str("World,WLD,2000,5\n");
        let t = run_with(&regions, &gdp, &pop);
        let got = rows(&t, "gdp");
        assert!(got.len() > 3 * RANK_BLOCK_ROWS, "{} rows", got.len());

        let mut expected: Vec<Row> = Vec::new();
        let mut by_year: BTreeMap<i32, Vec<(String, f64)>> = BTreeMap::new();
        for ((code, year), &value) in &values {
            by_year
                .entry(*year)
                .or_default()
                .push((code.clone(), value));
        }
        let mut rank_share: HashMap<(String, i32), (u32, Option<f64>)> = HashMap::default();
        for (year, mut rows) in by_year {
            // Largest first; ties in code order (the sort is stable over code order).
            rows.sort_by(|a, b| b.1.total_cmp(&a.1));
            let total: f64 = rows.iter().map(|r| r.1).sum();
            for (k, (code, value)) in rows.into_iter().enumerate() {
                let share = (total > 0.0).then(|| value / total * 100.0);
                rank_share.insert((code, year), (k as u32 + 1, share));
            }
        }
        for ((code, year), &value) in &values {
            let prev = values.get(&(code.clone(), year - 1));
            let change = prev
                .filter(|&&p| p > 0.0)
                .map(|p| (value / p - 1.0) * 100.0);
            let (rank, share) = rank_share[&(code.clone(), *year)];
            let per_capita = population.get(&(code.clone(), *year)).map(|p| value / p);
            expected.push((
                code.clone(),
                *year,
                value,
                change,
                Some(rank),
                share,
                per_capita,
            ));
        }
        expected.push(("WLD".into(), 2000, 5.0, None, None, None, None));
        expected.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        assert_eq!(got.len(), expected.len());
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(g, e);
        }

        let s = t
            .observations
            .iter()
            .find(|s| &*s.source_id == "gdp")
            .unwrap();
        let whole = s.fill(0..s.len());
        for start in [
            1,
            RANK_BLOCK_ROWS - 1,
            RANK_BLOCK_ROWS,
            RANK_BLOCK_ROWS + 1,
            2 * RANK_BLOCK_ROWS + 77,
            s.len() - 1,
        ] {
            let end = (start + RANK_BLOCK_ROWS / 2).min(s.len());
            let part = s.fill(start..end);
            assert_eq!(part.rank, whole.rank[start..end], "from {start}");
            assert_eq!(part.code, whole.code[start..end], "from {start}");
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&part.share_pct), bits(&whole.share_pct[start..end]));
            assert_eq!(bits(&part.change_pct), bits(&whole.change_pct[start..end]));
        }
        // The summaries count the same rows.
        assert_eq!(s.countries(), entities);
        let periods = s.periods();
        assert_eq!(periods.iter().map(|p| p.rows).sum::<u64>(), s.len() as u64);
        let y2000 = periods.iter().find(|p| p.year == 2000).unwrap();
        let countries_2000 = values.keys().filter(|k| k.1 == 2000).count() as u64;
        assert_eq!(
            (y2000.rows, y2000.countries),
            (countries_2000 + 1, countries_2000)
        );
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
        let dict = CodeDictionary::new(&sources, countries.iter().copied());
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
            let (a, b) = (
                from_chunks.0.fill(0..from_chunks.0.len()),
                from_rows.0.fill(0..from_rows.0.len()),
            );
            assert_eq!(a.code, b.code, "{chunk_bytes}");
            assert_eq!(a.value, b.value);
            assert_eq!(
                (0..a.len()).map(|i| a.change_at(i)).collect::<Vec<_>>(),
                (0..b.len()).map(|i| b.change_at(i)).collect::<Vec<_>>()
            );
            let names = |o: &SourceObservations| -> Vec<String> {
                let b = o.fill(0..o.len());
                b.name
                    .iter()
                    .map(|&n| o.names[n as usize].to_string())
                    .collect()
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
        let dict = CodeDictionary::new(&sources, countries.iter().copied());
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
            let b = obs.fill(0..obs.len());
            let got_rows: Vec<(String, i32, u64)> = (0..b.len())
                .map(|i| {
                    let code = dict.codes[b.code[i] as usize].clone();
                    (code, b.year[i], b.value[i].to_bits())
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

//! The validated observations of a source as columns in chunks, read back in (code, year)
//! order a batch at a time with the derived figures; the row references that order them.

use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

use super::reject::Reject;
use crate::etl::extract::Location;

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
    pub(super) chunks: Vec<Chunk>,
    /// Chunk `c`'s name `k` is `names[name_offsets[c] + k]`.
    pub(super) name_offsets: Vec<u32>,
    /// Row refs ([`row_ref`]) in (code, year) order, one per key.
    pub(super) order: Vec<u64>,
    pub(super) ranks: Ranks,
    /// Population by [`code_year_key`], for GDP per capita: only on `gdp_usd` sources, when a
    /// population source has rows.
    pub(super) population: Option<Arc<HashMap<u64, f64>>>,
    pub(super) countries: u64,
    pub(super) periods: Vec<PeriodVolume>,
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
    #[inline]
    pub(super) fn at(&self, p: usize) -> (&Chunk, usize) {
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
pub(super) fn prefetch<T>(v: &[T], i: usize) {
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
pub(super) struct Ranks {
    /// The first year.
    pub(super) lo: i32,
    /// Per year from `lo`: the rank and share of its country rows, in (code, year) order.
    pub(super) per_year: Vec<(Vec<u32>, Vec<f64>)>,
    /// Positions of the order are cut into blocks of this many rows, and
    pub(super) block_rows: usize,
    /// the country rows of each year before block `b` are `firsts[b][year - lo]`.
    pub(super) firsts: Vec<Vec<usize>>,
}

impl Ranks {
    /// Where each year's next country row is in `per_year`, for the row at position `start`;
    /// `country_year(p)` is the year of position `p` when it is a country row.
    pub(super) fn cursor_at(
        &self,
        start: usize,
        country_year: impl Fn(usize) -> Option<i32>,
    ) -> Vec<usize> {
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
    /// Country rows whose country has a row the year before too: with the two years'
    /// `countries`, how many countries either year has (a rule comparing the two looks at them).
    pub countries_with_previous: u64,
    /// The sum of the country rows' values.
    pub country_total: f64,
}

/// Where kept rows came from, for the messages of duplicate keys.
#[derive(Debug)]
pub(super) enum Locations {
    /// Lines of a text file: 8 bytes a row instead of a `Location`.
    Lines(Vec<u64>),
    Any(Vec<Location>),
}

impl Locations {
    #[inline]
    pub(super) fn push(&mut self, location: &Location) {
        match (&mut *self, location) {
            (Locations::Lines(lines), Location::Line(n)) => lines.push(*n),
            (Locations::Any(all), l) => all.push(l.clone()),
            (Locations::Lines(_), l) => {
                self.make_any();
                self.push(l);
            }
        }
    }

    #[inline]
    pub(super) fn get(&self, i: usize) -> Location {
        match self {
            Locations::Lines(lines) => Location::Line(lines[i]),
            Locations::Any(all) => all[i].clone(),
        }
    }

    pub(super) fn make_any(&mut self) {
        if let Locations::Lines(lines) = self {
            *self = Locations::Any(lines.drain(..).map(Location::Line).collect());
        }
    }
}

/// The kept rows of a run of source rows (a chunk, then a whole source), in source order, as
/// columns; with that run's rejects and counts.
#[derive(Debug)]
pub(super) struct Chunk {
    pub(super) rows: u64,
    pub(super) missing: u64,
    pub(super) rejects: Vec<Reject>,
    pub(super) code: Vec<u32>,
    pub(super) name: Vec<u32>,
    pub(super) names: Vec<Box<str>>,
    pub(super) year: Vec<i32>,
    pub(super) value: Vec<f64>,
    pub(super) is_aggregate: Vec<bool>,
    pub(super) is_projection: Vec<bool>,
    pub(super) locations: Locations,
    /// The last raw code and what it resolved to: sources list an entity's rows together, so
    /// most rows skip the code lookups.
    pub(super) last_code: String,
    pub(super) last_resolved: Option<Option<(u32, bool)>>,
}

impl Chunk {
    /// Asks for the columns of row `i` that are read through the (code, year) order, before
    /// they are read.
    #[inline(always)]
    pub(super) fn prefetch(&self, i: usize) {
        prefetch(&self.code, i);
        prefetch(&self.year, i);
        prefetch(&self.value, i);
        prefetch(&self.is_aggregate, i);
    }

    pub(super) fn new(locations: Locations) -> Self {
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

    #[inline]
    pub(super) fn kept(&self) -> usize {
        self.code.len()
    }

    /// Room for `rows` more kept rows: a chunk's columns are filled without reallocating.
    pub(super) fn reserve(&mut self, rows: usize) {
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

/// A kept row as one sortable number: its chunk in the high half, its place in the chunk in the
/// low half. Chunks are in file order, so ordering these orders rows as in the file. A chunk is
/// at most a few MB of text, so its rows always fit in 32 bits.
#[inline]
pub(super) fn row_ref(chunk: usize, row: usize) -> u64 {
    ((chunk as u64) << 32) | row as u64
}

#[inline]
pub(super) fn split_row_ref(r: u64) -> (usize, usize) {
    ((r >> 32) as usize, (r & u64::from(u32::MAX)) as usize)
}

/// Sort key of an entity-year: code id, then year.
#[inline]
pub(super) fn code_year_key(code: u32, year: i32) -> u64 {
    (u64::from(code) << 32) | u64::from(year as u32)
}

//! The derived figures: per capita across sources, then each source's ranks, shares and
//! per-year summaries.

use std::sync::Arc;

use rayon::prelude::*;
use rustc_hash::FxHashMap as HashMap;

use super::observations::{code_year_key, split_row_ref, PeriodVolume, Ranks, SourceObservations};
use super::sort::{descending_key, radix_sort_by_key, value_of_key};

/// Per capita (across sources), then each source's ranks, shares and summaries.
pub(super) fn derive(observations: &mut [SourceObservations]) {
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

/// What one block of positions holds: per year, its country rows' keys in order and the
/// year's counts; and the countries that start in it.
pub(super) struct BlockSummary {
    pub(super) keys: Vec<Vec<u64>>,
    pub(super) periods: Vec<PeriodVolume>,
    pub(super) countries: u64,
}

/// Positions per block of [`Ranks`]: small enough that finding a cursor inside one is cheap.
pub(super) const RANK_BLOCK_ROWS: usize = 64 * 1024;

/// Ranks and shares of each year's country rows, and the source's summaries. The (code, year)
/// order is cut into blocks; each block lists, per year, the keys of its country rows in order
/// (counted first, so each list is allocated once). Each year then joins its blocks' lists,
/// sorts them (ties keep row order, i.e. code order) and gives each position its rank and share,
/// kept per year: [`SourceObservations::fill`] reads them back in row order. Nothing is written
/// at random places of 10^7-row columns: that scattering cost more than all the sorting.
pub(super) fn rank_and_summarise(s: &mut SourceObservations) {
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
            // The row before in (code, year) order: keys are unique, so a country's row has
            // one the year before exactly when that row is it.
            let mut previous = start.checked_sub(1).map(|p| {
                let (chunk, i) = this.at(p);
                (chunk.code[i], chunk.year[i])
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
                    let previous_code = previous.map(|(code, _)| code);
                    countries += u64::from(previous_code != Some(chunk.code[i]));
                    period.countries_with_previous +=
                        u64::from(previous == Some((chunk.code[i], chunk.year[i] - 1)));
                    country_rows.push((y as u32, descending_key(chunk.value[i])));
                }
                previous = Some((chunk.code[i], chunk.year[i]));
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
            total.countries_with_previous += part.countries_with_previous;
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

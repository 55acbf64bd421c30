//! Validate + transform: typed records from each source's raw rows, declarative checks from
//! `config/sources.yml`, rejects with their reason, derived values, written as partitioned
//! Parquet. Sources, row chunks and entity series are independent partitions: rayon runs them
//! in parallel. Rows are kept as typed columns (interned codes, numbers), never as row structs
//! of strings.
//!
//! The steps, one module each: [`raw`] reads (or maps) the extracted files and parses them,
//! [`regions`] checks the region table and builds the code dictionary, [`validate`] checks each
//! observation source's rows into column chunks ([`columns`] finds the fields, [`checks`] checks
//! single fields), [`sort`] puts them in (code, year) order, [`rank`] derives per capita, ranks
//! and shares; [`observations`] holds the result, read back a batch at a time.

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;
// Codes and names are hashed 10^5–10^7 times per run: Fx, not SipHash (the inputs are the
// configured sources, not requests from strangers).
use rustc_hash::FxHashMap as HashMap;

use super::extract::Provenance;
use super::progress::{NoProgress, Progress};
use crate::base::run::SourceCounts;
use crate::config::{Role, Sources};

mod checks;
mod columns;
mod observations;
mod rank;
mod raw;
mod regions;
mod reject;
mod sort;
#[cfg(test)]
mod tests;
mod validate;

pub use observations::{ObservationBatch, PeriodVolume, SourceObservations};
pub use regions::Region;
pub use reject::{Reject, TransformError};

use columns::{field_index, ObservationColumns};
use rank::derive;
use raw::{read_all, Parsed, RawSource};
use regions::{region_table, RegionTable};
use validate::{observations_from, Validator};

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

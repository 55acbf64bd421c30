//! Validation of one observation source: each row checked against the configuration into
//! column chunks (in parallel), then the whole-source checks (unique keys) and the (code, year)
//! order.

use std::sync::Arc;

use rayon::prelude::*;
use rustc_hash::FxHashMap as HashMap;

use super::checks::{control_character, control_character_message, visible_controls};
use super::columns::{Cells, ObservationColumns};
use super::observations::{split_row_ref, Chunk, Locations, SourceObservations};
use super::raw::Parsed;
use super::regions::CodeDictionary;
use super::reject::{reject_at, ForEntity, Reject};
use super::sort::key_order;
use crate::base::run::SourceCounts;
use crate::config::{Source, Sources};
use crate::etl::extract::Location;
use crate::etl::progress::Progress;

/// Rows validated per rayon task: large enough to amortise scheduling, small enough to balance.
pub(super) const CHUNK_ROWS: usize = 16 * 1024;

/// What a row of one observation source is checked against.
pub(super) struct Validator<'a> {
    pub(super) sources: &'a Sources,
    pub(super) source: &'a Source,
    pub(super) file: &'a str,
    pub(super) cols: ObservationColumns,
    pub(super) dict: &'a CodeDictionary,
    /// Lower-case name → code, for sources without codes.
    pub(super) names: &'a HashMap<String, String>,
}

impl Validator<'_> {
    /// Code id and whether it is an aggregate of this source; `None` for an unknown code.
    pub(super) fn resolve(&self, raw_code: &str) -> Option<(u32, bool)> {
        let code = self.sources.canonical_code(raw_code);
        let is_aggregate = self.source.aggregates.contains(raw_code);
        let id = *self.dict.ids.get(code)?;
        let known = is_aggregate || self.dict.is_country.get(id as usize) == Some(&true);
        known.then_some((id, is_aggregate))
    }

    /// Checks one row: appends it to `out` as kept, missing or rejected.
    pub(super) fn validate(
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

/// Validates one source's rows in parallel chunks, then the whole-source checks (unique keys),
/// and puts the kept rows in (code, year) order with their change vs the previous year. The
/// chunks are never concatenated: rows are sorted as references into them, then each column is
/// gathered once, in parallel, into its final order.
pub(super) fn observations_from(
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

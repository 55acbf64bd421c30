//! The region table: every country with its region, checked row by row, and the dictionary of
//! every code an observation may carry.

use rayon::prelude::*;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use serde::Serialize;

use super::checks::{
    control_character, control_character_message, is_code, m49_code, visible_controls,
};
use super::columns::{field_index, Cells};
use super::raw::RawSource;
use super::reject::{reject_at, Reject, TransformError};
use crate::base::run::SourceCounts;
use crate::config::{Role, Source, SourceKind, Sources};
use crate::etl::extract::csv::{CsvBody, CHUNK_BYTES as CSV_CHUNK_BYTES};
use crate::etl::extract::Location;

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

/// Where a region table's fields are, and what its rows are checked against.
pub(super) struct RegionColumns<'a> {
    pub(super) sources: &'a Sources,
    pub(super) source: &'a Source,
    pub(super) file: &'a str,
    pub(super) code: Option<usize>,
    pub(super) name: Option<usize>,
    pub(super) region: Option<usize>,
    pub(super) sub_region: Option<usize>,
    /// Optional: without them names stay as the source gives them.
    pub(super) region_code: Option<usize>,
    pub(super) sub_region_code: Option<usize>,
}

impl<'a> RegionColumns<'a> {
    pub(super) fn find(
        sources: &'a Sources,
        source: &'a Source,
        columns: &[String],
        file: &'a str,
    ) -> Self {
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
    pub(super) fn check(
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
pub(super) fn regions_from(
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

/// The region table's countries, what it rejected and its counts, and the dictionary of every
/// code an observation may carry.
pub(super) struct RegionTable {
    pub(super) regions: Vec<Region>,
    pub(super) rejects: Vec<Reject>,
    pub(super) counts: SourceCounts,
    pub(super) dict: CodeDictionary,
}

pub(super) fn region_table(
    sources: &Sources,
    raw: &RawSource,
) -> Result<RegionTable, TransformError> {
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

/// Every code an observation can carry (the region table's countries and each source's
/// aggregates), sorted so that ordering ids orders codes.
pub(super) struct CodeDictionary {
    pub(super) codes: Vec<String>,
    pub(super) ids: HashMap<String, u32>,
    /// By id: in the region table (else only an aggregate of some source).
    pub(super) is_country: Vec<bool>,
}

impl CodeDictionary {
    pub(super) fn new<'c>(sources: &Sources, countries: impl Iterator<Item = &'c str>) -> Self {
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

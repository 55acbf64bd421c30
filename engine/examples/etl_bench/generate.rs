//! The benchmark's input: an N-row GDP file in the World Bank long format, its region table and
//! a `sources.yml`, sorted or as messy as files from elsewhere (see `main.rs`).

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::Error;

const FIRST_YEAR: u64 = 1960;
/// 1960–2025.
pub(super) const YEARS: u64 = 66;
/// One row in this many is a bad one (about 0.1 %).
const BAD_ONE_IN: u64 = 1000;

const REGIONS: [(&str, &[&str]); 5] = [
    ("Africa", &["Northern Africa", "Sub-Saharan Africa"]),
    (
        "Americas",
        &["Latin America and the Caribbean", "Northern America"],
    ),
    (
        "Asia",
        &[
            "Central Asia",
            "Eastern Asia",
            "South-eastern Asia",
            "Southern Asia",
            "Western Asia",
        ],
    ),
    (
        "Europe",
        &[
            "Eastern Europe",
            "Northern Europe",
            "Southern Europe",
            "Western Europe",
        ],
    ),
    (
        "Oceania",
        &[
            "Australia and New Zealand",
            "Melanesia",
            "Micronesia",
            "Polynesia",
        ],
    ),
];

const SOURCES_YML: &str = "# Written by engine/examples/etl_bench: the benchmark's synthetic sources.
defaults: { fetch: mirror }
aggregate_sets:
  bench: [WLD]
sources:
  - id: regions
    role: regions
    kind: csv
    title: Synthetic region table (UN M49 layout)
    publisher: etl_bench
    licence: none
    edition: bench
    mirror: regions.csv
    columns: { code: ISO3166-1-Alpha-3, name: CLDR display name, region: Region Name, sub_region: Sub-region Name }
  - id: gdp
    kind: csv
    series: gdp_usd
    title: Synthetic GDP (World Bank long format)
    publisher: etl_bench
    licence: none
    edition: bench
    mirror: gdp.csv
    columns: { code: Country Code, name: Country Name, year: Year, value: Value }
    unit: usd
    aggregates: bench
    checks: { min: 0, max: 1.0e15, max_reject_rate: 0.01 }
";

/// xorshift64*: small, deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // splitmix64 of the seed, so small and zero seeds give a good (non-zero) state.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Clone, Copy)]
enum Bad {
    Negative,
    NaN,
    Absurd,
    UnknownCode,
    Duplicate,
    NonNumericYear,
}

const BAD_KINDS: [Bad; 6] = [
    Bad::Negative,
    Bad::NaN,
    Bad::Absurd,
    Bad::UnknownCode,
    Bad::Duplicate,
    Bad::NonNumericYear,
];

impl Bad {
    fn label(self) -> &'static str {
        match self {
            Bad::Negative => "negative",
            Bad::NaN => "NaN",
            Bad::Absurd => "1e20",
            Bad::UnknownCode => "unknown code",
            Bad::Duplicate => "duplicate",
            Bad::NonNumericYear => "non-numeric year",
        }
    }
}

pub(super) struct Generated {
    pub(super) gdp: PathBuf,
    pub(super) regions: PathBuf,
    pub(super) sources: PathBuf,
    /// Data rows written (the unsorted case appends corrections beyond `--rows`).
    pub(super) rows: u64,
    pub(super) entities: u64,
    pub(super) aggregate_rows: u64,
    pub(super) bad: [u64; 6],
    /// Rows with an empty value (missing, never stored).
    pub(super) missing: u64,
    /// Late corrections appended at the end: their keys appeared before, so they are rejected.
    pub(super) corrections: u64,
}

impl Generated {
    pub(super) fn bad_total(&self) -> u64 {
        self.bad.iter().sum()
    }

    pub(super) fn rejected(&self) -> u64 {
        self.bad_total() + self.corrections
    }

    /// "12 negative, 9 NaN, …": the bad rows written, by kind.
    pub(super) fn bad_by_kind(&self) -> String {
        BAD_KINDS
            .iter()
            .map(|k| format!("{} {}", self.bad[*k as usize], k.label()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn entity_code(e: u64) -> String {
    format!("X{e:06}")
}

/// Every tenth entity has a quoted name with a comma, as the World Bank's "Korea, Rep.".
fn entity_name(e: u64) -> String {
    if e.is_multiple_of(10) {
        format!("\"Entity {e}, Rep.\"")
    } else {
        format!("Entity {e}")
    }
}

/// Writes the region table of `entities` (named by `name`) and the `sources.yml` into `dir`.
fn write_regions_and_sources(
    dir: &Path,
    entities: u64,
    name: fn(u64) -> String,
) -> Result<(PathBuf, PathBuf), Error> {
    let regions = dir.join("regions.csv");
    let mut w = BufWriter::with_capacity(1 << 20, fs::File::create(&regions)?);
    writeln!(
        w,
        "ISO3166-1-Alpha-3,CLDR display name,Region Name,Sub-region Name"
    )?;
    for e in 1..=entities {
        let (region, subs) = REGIONS[(e % REGIONS.len() as u64) as usize];
        let sub = subs[((e / REGIONS.len() as u64) % subs.len() as u64) as usize];
        writeln!(w, "{},{},{region},{sub}", entity_code(e), name(e))?;
    }
    w.flush()?;
    let sources = dir.join("sources.yml");
    fs::write(&sources, SOURCES_YML)?;
    Ok((regions, sources))
}

/// Writes `gdp.csv`, `regions.csv` and `sources.yml` into `dir`: exactly `rows` data rows.
pub(super) fn generate(dir: &Path, rows: u64, seed: u64) -> Result<Generated, Error> {
    let mut rng = Rng::new(seed);
    let aggregate_rows = YEARS;
    let rest = rows - aggregate_rows;
    let partial = rest % YEARS;
    let entities = rest / YEARS + u64::from(partial > 0);
    let mut bad = [0u64; 6];

    let gdp = dir.join("gdp.csv");
    let mut w = BufWriter::with_capacity(1 << 20, fs::File::create(&gdp)?);
    writeln!(w, "Country Name,Country Code,Year,Value")?;
    for y in 0..aggregate_rows {
        let value = 1.0e13 * (1.0 + 0.1 * y as f64);
        writeln!(w, "World,WLD,{},{value:.2}", FIRST_YEAR + y)?;
    }
    for e in 1..=entities {
        let years = if e == entities && partial > 0 {
            partial
        } else {
            YEARS
        };
        let (code, name) = (entity_code(e), entity_name(e));
        let base = 10f64.powf(6.0 + 6.0 * rng.unit());
        let mut prev_good = false;
        for y in 0..years {
            let year = FIRST_YEAR + y;
            let value = base * (1.0 + 0.05 * y as f64) * (0.9 + 0.2 * rng.unit());
            if rng.below(BAD_ONE_IN) != 0 {
                writeln!(w, "{name},{code},{year},{value:.2}")?;
                prev_good = true;
                continue;
            }
            let mut kind = BAD_KINDS[rng.below(BAD_KINDS.len() as u64) as usize];
            // A duplicate repeats the previous year's key, which must have been kept.
            if matches!(kind, Bad::Duplicate) && !prev_good {
                kind = Bad::Negative;
            }
            match kind {
                Bad::Negative => writeln!(w, "{name},{code},{year},-{value:.2}")?,
                Bad::NaN => writeln!(w, "{name},{code},{year},NaN")?,
                Bad::Absurd => writeln!(w, "{name},{code},{year},1e20")?,
                Bad::UnknownCode => writeln!(w, "Nowhere,ZZZ999,{year},{value:.2}")?,
                Bad::Duplicate => writeln!(w, "{name},{code},{},{value:.2}", year - 1)?,
                Bad::NonNumericYear => writeln!(w, "{name},{code},19x{y},{value:.2}")?,
            }
            bad[kind as usize] += 1;
            prev_good = false;
        }
    }
    w.flush()?;

    let (regions, sources) = write_regions_and_sources(dir, entities, entity_name)?;
    Ok(Generated {
        gdp,
        regions,
        sources,
        rows,
        entities,
        aggregate_rows,
        bad,
        missing: 0,
        corrections: 0,
    })
}

/// A name as real files have them: every tenth quoted with a comma and quotes inside (CSV
/// escaped), every seventh long; the same text goes into the region table.
fn messy_name(e: u64) -> String {
    if e.is_multiple_of(10) {
        format!("\"Entity {e}, \"\"Big\"\" Rep.\"")
    } else if e.is_multiple_of(7) {
        format!("Entity {e} of the United Provinces and Dependent Territories of the Far Southern Ocean Rim")
    } else {
        format!("Entity {e}")
    }
}

/// A value as a statistics office writes it: the shortest text that reads back to the same
/// double (up to 17 significant digits), one in five in exponent form.
fn messy_value(value: f64, rng: &mut Rng) -> String {
    if rng.below(5) == 0 {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

/// Writes the unsorted case: entity blocks in shuffled order (years shuffled in 30 % of them),
/// the aggregate rows in the middle, ~8 % missing values, the same bad rows as the sorted case,
/// and ~0.5 % late corrections (a key seen before, with a new value) appended at the end.
pub(super) fn generate_unsorted(dir: &Path, rows: u64, seed: u64) -> Result<Generated, Error> {
    let mut rng = Rng::new(seed);
    let aggregate_rows = YEARS;
    let rest = rows - aggregate_rows;
    let partial = rest % YEARS;
    let entities = rest / YEARS + u64::from(partial > 0);
    let mut order: Vec<u64> = (1..=entities).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let (mut bad, mut missing) = ([0u64; 6], 0u64);
    let mut corrections: Vec<String> = Vec::new();

    let gdp = dir.join("gdp.csv");
    let mut w = BufWriter::with_capacity(1 << 20, fs::File::create(&gdp)?);
    writeln!(w, "Country Name,Country Code,Year,Value")?;
    for (i, &e) in order.iter().enumerate() {
        if i == order.len() / 2 {
            for y in 0..aggregate_rows {
                let value = 1.0e13 * (1.0 + 0.1 * y as f64) * (1.0 + rng.unit() * 1e-6);
                writeln!(
                    w,
                    "World,WLD,{},{}",
                    FIRST_YEAR + y,
                    messy_value(value, &mut rng)
                )?;
            }
        }
        let years = if e == entities && partial > 0 {
            partial
        } else {
            YEARS
        };
        let mut year_order: Vec<u64> = (0..years).collect();
        if rng.below(10) < 3 {
            for k in (1..year_order.len()).rev() {
                year_order.swap(k, rng.below(k as u64 + 1) as usize);
            }
        }
        let (code, name) = (entity_code(e), messy_name(e));
        let base = 10f64.powf(6.0 + 6.0 * rng.unit());
        let mut last_good: Option<u64> = None;
        for y in year_order {
            let year = FIRST_YEAR + y;
            let value = base * (1.0 + 0.05 * y as f64) * (0.9 + 0.2 * rng.unit());
            if rng.below(100) < 8 {
                writeln!(w, "{name},{code},{year},")?;
                missing += 1;
                continue;
            }
            if rng.below(BAD_ONE_IN) != 0 {
                writeln!(w, "{name},{code},{year},{}", messy_value(value, &mut rng))?;
                if rng.below(200) == 0 {
                    let fixed = messy_value(value * 1.01, &mut rng);
                    corrections.push(format!("{name},{code},{year},{fixed}"));
                    // A corrected key is not also repeated as a bad duplicate.
                    last_good = None;
                } else {
                    last_good = Some(year);
                }
                continue;
            }
            let mut kind = BAD_KINDS[rng.below(BAD_KINDS.len() as u64) as usize];
            if matches!(kind, Bad::Duplicate) && last_good.is_none() {
                kind = Bad::Negative;
            }
            match kind {
                Bad::Negative => writeln!(w, "{name},{code},{year},-{value}")?,
                Bad::NaN => writeln!(w, "{name},{code},{year},NaN")?,
                Bad::Absurd => writeln!(w, "{name},{code},{year},1e20")?,
                Bad::UnknownCode => writeln!(w, "Nowhere,ZZZ999,{year},{value}")?,
                Bad::Duplicate => {
                    let dup = last_good.unwrap_or(year);
                    writeln!(w, "{name},{code},{dup},{}", messy_value(value, &mut rng))?
                }
                Bad::NonNumericYear => writeln!(w, "{name},{code},19x{y},{value}")?,
            }
            bad[kind as usize] += 1;
            last_good = None;
        }
    }
    for row in &corrections {
        writeln!(w, "{row}")?;
    }
    w.flush()?;

    let (regions, sources) = write_regions_and_sources(dir, entities, messy_name)?;
    Ok(Generated {
        gdp,
        regions,
        sources,
        rows: rows + corrections.len() as u64,
        entities,
        aggregate_rows,
        bad,
        missing,
        corrections: corrections.len() as u64,
    })
}

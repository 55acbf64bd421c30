//! A World Bank–shaped source at a size the default data never reaches: a GDP file in the World
//! Bank long format (`Country Name,Country Code,Year,Value`), its region table in the UN M49
//! layout, and a `sources.yml` naming them as the default configuration's `wb_gdp` and region
//! table, so the default metrics and rules (the IMF ones left out, [`without_imf`]) run on it
//! unchanged. For the tests and benchmarks of the pages, the API and the inbox at scale: the real
//! pipeline loads it and the real rules raise tens of thousands of alerts.
//!
//! What each entity does in the last year is fixed by its number, so the alerts are known in
//! advance (see [`LargeWorld::expected_alerts`]): one in ten falls 8–12 % (`gdp_fall`, and
//! `gdp_anomaly`), one in twenty surges 20–25 % (`gdp_surge`, `gdp_anomaly`), one in twelve has
//! no figure for the last year (`gdp_missing`), the rest grow 2 % a year within ±1.5 %. No rule
//! fires for more than a fifth of the entities.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::Xorshift;

/// A name with its UN M49 code.
type Coded = (&'static str, &'static str);

/// Regions and sub-regions with their M49 codes (the names the product translates).
const REGIONS: [(&str, &str, &[Coded]); 5] = [
    (
        "Africa",
        "002",
        &[("Northern Africa", "015"), ("Sub-Saharan Africa", "202")],
    ),
    (
        "Americas",
        "019",
        &[
            ("Latin America and the Caribbean", "419"),
            ("Northern America", "021"),
        ],
    ),
    (
        "Asia",
        "142",
        &[
            ("Central Asia", "143"),
            ("Eastern Asia", "030"),
            ("South-eastern Asia", "035"),
            ("Southern Asia", "034"),
            ("Western Asia", "145"),
        ],
    ),
    (
        "Europe",
        "150",
        &[
            ("Eastern Europe", "151"),
            ("Northern Europe", "154"),
            ("Southern Europe", "039"),
            ("Western Europe", "155"),
        ],
    ),
    (
        "Oceania",
        "009",
        &[("Australia and New Zealand", "053"), ("Melanesia", "054")],
    ),
];

/// The last year's story of entity `e` (see the module's comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Story {
    Falls,
    Surges,
    Missing,
    Grows,
}

/// What to generate: `entities` economies over `first_year..=last_year`.
#[derive(Debug, Clone, Copy)]
pub struct LargeWorld {
    pub entities: u64,
    pub first_year: u32,
    pub last_year: u32,
    pub seed: u64,
}

/// The files written, for a `sources.yml` and the tests' expectations.
#[derive(Debug, Clone)]
pub struct Written {
    pub sources: PathBuf,
    pub gdp: PathBuf,
    pub regions: PathBuf,
    /// Data rows in the GDP file (the header not counted).
    pub rows: u64,
}

impl LargeWorld {
    /// `entities` economies over the ten years 2016–2025.
    pub fn new(entities: u64) -> Self {
        LargeWorld {
            entities,
            first_year: 2016,
            last_year: 2025,
            seed: 0x5EED_0F0A,
        }
    }

    /// The code of entity `e` (1-based): `Q000001`, … (no real ISO code starts with Q but QAT,
    /// and the numbers keep them apart).
    pub fn code(e: u64) -> String {
        format!("Q{e:06}")
    }

    /// Every tenth name is quoted with a comma, as the World Bank's "Korea, Rep.", and one has an
    /// apostrophe.
    pub fn name(e: u64) -> String {
        if e == 7 {
            "O'Hara Isles".to_string()
        } else if e.is_multiple_of(10) {
            format!("Land {e}, Rep.")
        } else {
            format!("Land {e}")
        }
    }

    pub fn region(e: u64) -> &'static str {
        REGIONS[(e % REGIONS.len() as u64) as usize].0
    }

    pub fn story(e: u64) -> Story {
        match e % 120 {
            0..=11 => Story::Falls,
            12..=17 => Story::Surges,
            18..=27 => Story::Missing,
            _ => Story::Grows,
        }
    }

    /// How many entities tell `story`.
    pub fn count(&self, story: Story) -> u64 {
        (1..=self.entities)
            .filter(|&e| Self::story(e) == story)
            .count() as u64
    }

    /// The alerts the default rules (without the IMF ones) raise on a first load, at least: a
    /// fall, a surge or a missing year each raise one, and a fall or a surge also an anomaly.
    /// (Rank moves among the top 40 add a few more.)
    pub fn expected_alerts(&self) -> u64 {
        2 * (self.count(Story::Falls) + self.count(Story::Surges)) + self.count(Story::Missing)
    }

    /// Writes `gdp.csv`, `regions.csv` and `sources.yml` into `dir` (made if missing).
    pub fn write(&self, dir: &Path) -> io::Result<Written> {
        fs::create_dir_all(dir)?;
        let mut rng = Xorshift(self.seed | 1);
        let gdp = dir.join("gdp.csv");
        let mut w = BufWriter::with_capacity(1 << 20, fs::File::create(&gdp)?);
        writeln!(w, "Country Name,Country Code,Year,Value")?;
        let mut rows = 0u64;
        let unit = |rng: &mut Xorshift| (rng.below(1_000_000) as f64) / 1_000_000.0;
        for e in 1..=self.entities {
            let (code, name) = (Self::code(e), Self::name(e));
            let quoted = if name.contains(',') {
                format!("\"{name}\"")
            } else {
                name
            };
            // 150 B – 3 T USD: every economy passes the default rules' size guards.
            let mut value = 1.5e11 * (1.0 + 19.0 * unit(&mut rng));
            let story = Self::story(e);
            for year in self.first_year..=self.last_year {
                let last = year == self.last_year;
                if year > self.first_year {
                    let change = match story {
                        Story::Falls if last => -0.08 - 0.04 * unit(&mut rng),
                        Story::Surges if last => 0.20 + 0.05 * unit(&mut rng),
                        _ => 0.02 + 0.03 * (unit(&mut rng) - 0.5),
                    };
                    value *= 1.0 + change;
                }
                if last && story == Story::Missing {
                    continue;
                }
                writeln!(w, "{quoted},{code},{year},{value:.2}")?;
                rows += 1;
            }
        }
        w.flush()?;

        let regions = dir.join("regions.csv");
        let mut w = BufWriter::with_capacity(1 << 20, fs::File::create(&regions)?);
        writeln!(
            w,
            "ISO3166-1-Alpha-3,CLDR display name,Region Name,Sub-region Name,Region Code,Sub-region Code"
        )?;
        for e in 1..=self.entities {
            let (region, region_code, subs) = REGIONS[(e % REGIONS.len() as u64) as usize];
            let (sub, sub_code) = subs[((e / REGIONS.len() as u64) % subs.len() as u64) as usize];
            let name = Self::name(e);
            let name = if name.contains(',') {
                format!("\"{name}\"")
            } else {
                name
            };
            writeln!(
                w,
                "{},{name},{region},{sub},{region_code},{sub_code}",
                Self::code(e)
            )?;
        }
        w.flush()?;

        let sources = dir.join("sources.yml");
        fs::write(&sources, SOURCES_YML)?;
        Ok(Written {
            sources,
            gdp,
            regions,
            rows,
        })
    }
}

const SOURCES_YML: &str = "# Written by testkit::world: a generated World Bank–shaped source (tests and benchmarks).
defaults: { fetch: mirror, max_reject_rate: 0.01 }
sources:
  - id: un_m49_regions
    role: regions
    kind: csv
    title: Generated region table (UN M49 layout)
    publisher: testkit
    licence: none
    edition: generated
    mirror: regions.csv
    columns: { code: ISO3166-1-Alpha-3, name: CLDR display name, region: Region Name, sub_region: Sub-region Name,
               region_code: Region Code, sub_region_code: Sub-region Code }
  - id: wb_gdp
    kind: csv
    series: gdp_usd
    title: Generated GDP (World Bank long format)
    publisher: testkit
    licence: none
    edition: generated
    mirror: gdp.csv
    columns: { code: Country Code, name: Country Name, year: Year, value: Value }
    unit: usd
    checks: { min: 0, max: 1.0e15 }
";

/// An error of [`without_imf`]: a file that is not the YAML it should be.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// The metrics and rules files (their texts) without what reads the IMF sources, which a
/// generated source does not have: metrics whose `from.source` starts with `imf`, and the rules
/// whose `metric` or `baseline` is one of them. Returns the two texts (comments dropped).
pub fn without_imf(metrics: &str, rules: &str) -> Result<(String, String), ConfigError> {
    use serde_yaml_ng::Value;
    let bad = |what: &str, e: serde_yaml_ng::Error| ConfigError(format!("{what}: {e}"));
    let mut m: Value = serde_yaml_ng::from_str(metrics).map_err(|e| bad("metrics", e))?;
    let mut dropped = Vec::new();
    if let Some(list) = m.get_mut("metrics").and_then(Value::as_sequence_mut) {
        list.retain(|metric| {
            let imf = metric
                .get("from")
                .and_then(|f| f.get("source"))
                .and_then(Value::as_str)
                .is_some_and(|s| s.starts_with("imf"));
            if imf {
                if let Some(id) = metric.get("id").and_then(Value::as_str) {
                    dropped.push(id.to_string());
                }
            }
            !imf
        });
    }
    let mut r: Value = serde_yaml_ng::from_str(rules).map_err(|e| bad("rules", e))?;
    if let Some(list) = r.get_mut("rules").and_then(Value::as_sequence_mut) {
        list.retain(|rule| {
            ["metric", "baseline"].iter().all(|k| {
                rule.get(*k)
                    .and_then(Value::as_str)
                    .is_none_or(|id| !dropped.iter().any(|d| d == id))
            })
        });
    }
    let text = |v: &Value, what: &str| serde_yaml_ng::to_string(v).map_err(|e| bad(what, e));
    Ok((text(&m, "metrics")?, text(&r, "rules")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_files_and_tells_the_stories() {
        let dir = std::env::temp_dir().join(format!("testkit-world-{}", std::process::id()));
        let world = LargeWorld::new(240);
        let written = world.write(&dir).unwrap();
        let gdp = fs::read_to_string(&written.gdp).unwrap();
        // 240 × 10 years, less the last year of the 20 missing ones.
        assert_eq!(world.count(Story::Missing), 20);
        assert_eq!(written.rows, 2400 - 20);
        assert_eq!(gdp.lines().count() as u64, written.rows + 1);
        assert!(gdp.contains("\"Land 10, Rep.\",Q000010,2016,"));
        assert!(fs::read_to_string(&written.regions)
            .unwrap()
            .contains("Q000007,O'Hara Isles,Asia,"));
        assert_eq!(world.expected_alerts(), 2 * (24 + 12) + 20);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn leaves_out_what_reads_the_imf() {
        let metrics = "metrics:\n  - { id: gdp, from: { source: wb_gdp, column: value } }\n  - { id: imf_a, from: { source: imf_weo, column: value } }\n";
        let rules = "rules:\n  - { id: a, metric: gdp }\n  - { id: b, metric: imf_a }\n  - { id: c, metric: gdp, baseline: imf_a }\n  - { id: d, metric: gdp, baseline: previous_run }\n";
        let (m, r) = without_imf(metrics, rules).unwrap();
        assert!(m.contains("gdp") && !m.contains("imf_a"));
        assert!(r.contains("id: a") && r.contains("id: d"));
        assert!(!r.contains("id: b") && !r.contains("id: c"));
    }
}

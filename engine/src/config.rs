//! `config/sources.yml`: serde types that mirror the file (unknown keys are errors), built and
//! validated into [`Sources`], the runtime object the pipeline uses.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}{}: {message}", .line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
}

/// How a source is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fetch {
    /// The local mirror only.
    Mirror,
    /// The URL first; on failure the mirror, recorded in the provenance.
    Live,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Csv,
    HttpJson,
    HtmlTable,
}

impl SourceKind {
    pub fn file_extension(self) -> &'static str {
        match self {
            SourceKind::Csv => "csv",
            SourceKind::HttpJson => "json",
            SourceKind::HtmlTable => "html",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Observations,
    Regions,
}

/// The unit values are written in at the source; values are stored in the canonical unit
/// (US dollars or persons) at full precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Usd,
    UsdMillions,
    UsdBillions,
    Persons,
}

impl Unit {
    pub fn factor(self) -> f64 {
        match self {
            Unit::Usd | Unit::Persons => 1.0,
            Unit::UsdMillions => 1e6,
            Unit::UsdBillions => 1e9,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourcesFile {
    #[serde(default)]
    defaults: DefaultsFile,
    #[serde(default)]
    regions: RegionsFile,
    #[serde(default)]
    aggregate_sets: BTreeMap<String, Vec<String>>,
    sources: Vec<SourceFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefaultsFile {
    #[serde(default = "default_fetch")]
    fetch: Fetch,
    #[serde(default = "default_timeout")]
    timeout_secs: u64,
    #[serde(default = "default_retries")]
    retries: u32,
    #[serde(default = "default_reject_rate")]
    max_reject_rate: f64,
    #[serde(default = "default_max_shrink")]
    max_shrink: f64,
    #[serde(default = "default_keep_runs")]
    keep_runs: usize,
}

impl Default for DefaultsFile {
    fn default() -> Self {
        DefaultsFile {
            fetch: default_fetch(),
            timeout_secs: default_timeout(),
            retries: default_retries(),
            max_reject_rate: default_reject_rate(),
            max_shrink: default_max_shrink(),
            keep_runs: default_keep_runs(),
        }
    }
}

fn default_fetch() -> Fetch {
    Fetch::Mirror
}
fn default_timeout() -> u64 {
    30
}
fn default_retries() -> u32 {
    3
}
fn default_reject_rate() -> f64 {
    0.01
}
/// A source may lose at most this fraction of its rows, countries, or countries reporting its
/// latest period between two published runs before the run fails.
fn default_max_shrink() -> f64 {
    0.1
}
/// Published runs `actionboard etl prune` keeps (the newest), unless told otherwise.
fn default_keep_runs() -> usize {
    10
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionsFile {
    #[serde(default)]
    aliases: BTreeMap<String, String>,
    #[serde(default)]
    overrides: Vec<RegionOverride>,
    #[serde(default)]
    display_names: BTreeMap<String, String>,
    #[serde(default)]
    name_aliases: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionOverride {
    pub code: String,
    pub name: String,
    pub region: String,
    pub sub_region: String,
    /// UN M49 codes of the region and sub-region: what Korean (and any other) names are keyed by.
    #[serde(default)]
    pub region_code: Option<String>,
    #[serde(default)]
    pub sub_region_code: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceFile {
    id: String,
    #[serde(default = "default_role")]
    role: Role,
    kind: SourceKind,
    #[serde(default = "default_true")]
    enabled: bool,
    #[serde(default)]
    series: Option<String>,
    title: String,
    publisher: String,
    licence: String,
    edition: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    mirror: Option<PathBuf>,
    #[serde(default)]
    fetch: Option<Fetch>,
    #[serde(default)]
    columns: BTreeMap<String, String>,
    #[serde(default)]
    unit: Option<Unit>,
    #[serde(default)]
    aggregates: Option<String>,
    #[serde(default)]
    projection_from: Option<i32>,
    #[serde(default)]
    checks: ChecksFile,
}

fn default_role() -> Role {
    Role::Observations
}
fn default_true() -> bool {
    true
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChecksFile {
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
    #[serde(default)]
    max_reject_rate: Option<f64>,
    #[serde(default)]
    max_shrink: Option<f64>,
}

/// Validated configuration of every source.
#[derive(Debug, Clone)]
pub struct Sources {
    pub path: PathBuf,
    pub mirror_dir: PathBuf,
    pub timeout_secs: u64,
    pub retries: u32,
    /// The retention: published runs `etl prune` keeps (`defaults.keep_runs`, at least 1).
    pub keep_runs: usize,
    pub aliases: HashMap<String, String>,
    pub region_overrides: Vec<RegionOverride>,
    pub display_names: HashMap<String, String>,
    /// Source name → code, for sources that carry names only (the Wikipedia table).
    pub name_aliases: HashMap<String, String>,
    pub sources: Vec<Source>,
}

/// One source, ready to extract.
#[derive(Debug, Clone)]
pub struct Source {
    pub id: String,
    pub role: Role,
    pub kind: SourceKind,
    pub enabled: bool,
    /// What the values measure (`gdp_usd`, `population`); `None` for the region table.
    pub series: Option<String>,
    pub title: String,
    pub publisher: String,
    pub licence: String,
    pub edition: String,
    pub url: Option<String>,
    /// Absolute path of the mirror copy.
    pub mirror: Option<PathBuf>,
    pub fetch: Fetch,
    /// Canonical field → column name in the source.
    pub columns: BTreeMap<String, String>,
    pub unit: Unit,
    pub aggregates: HashSet<String>,
    pub projection_from: Option<i32>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub max_reject_rate: f64,
    /// The largest drop (a fraction) of rows, countries, or countries reporting the latest
    /// period, compared with the last published run, that still publishes.
    pub max_shrink: f64,
}

impl Sources {
    /// Reads and validates `path`; `mirror_dir` resolves each source's `mirror` path.
    pub fn load(path: &Path, mirror_dir: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path, mirror_dir)
    }

    pub fn parse(text: &str, path: &Path, mirror_dir: &Path) -> Result<Self, ConfigError> {
        let file: SourcesFile =
            serde_yaml_ng::from_str(text).map_err(|e| ConfigError::Invalid {
                path: path.to_path_buf(),
                line: e.location().map(|l| l.line()),
                message: e.to_string(),
            })?;
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            line: None,
            message,
        };
        let d = &file.defaults;
        if !(0.0..=1.0).contains(&d.max_reject_rate) {
            return Err(invalid(format!(
                "defaults.max_reject_rate is {}, expected a fraction between 0 and 1",
                d.max_reject_rate
            )));
        }
        if d.keep_runs == 0 {
            return Err(invalid(
                "defaults.keep_runs is 0: keep at least the run being served (e.g. 10)".into(),
            ));
        }
        if !(0.0..=1.0).contains(&d.max_shrink) {
            return Err(invalid(format!(
                "defaults.max_shrink is {}, expected a fraction between 0 and 1 (0.1: a source may lose 10 % of its rows or countries between runs)",
                d.max_shrink
            )));
        }
        let mut seen = HashSet::new();
        let mut sources = Vec::new();
        for s in file.sources {
            let at = |what: String| invalid(format!("source `{}`: {what}", s.id));
            if s.id.is_empty()
                || !s
                    .id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(at("ids use lowercase letters, digits and '_' only".into()));
            }
            if !seen.insert(s.id.clone()) {
                return Err(at("this id is used twice".into()));
            }
            if s.url.is_none() && s.mirror.is_none() {
                return Err(at("give a `url`, a `mirror` path, or both".into()));
            }
            let fetch = s.fetch.unwrap_or(d.fetch);
            if fetch == Fetch::Live && s.url.is_none() {
                return Err(at("`fetch: live` needs a `url`".into()));
            }
            let required: &[&str] = match (s.role, s.kind) {
                (Role::Regions, _) => &["code", "name", "region", "sub_region"],
                (Role::Observations, SourceKind::Csv) => &["code", "year", "value"],
                (Role::Observations, SourceKind::HtmlTable) => &["name", "year", "value"],
                (Role::Observations, _) => &[],
            };
            for field in required {
                if !s.columns.contains_key(*field) {
                    return Err(at(format!(
                        "`columns` needs `{field}` (the source's column name for it)"
                    )));
                }
            }
            if s.role == Role::Regions && s.kind != SourceKind::Csv {
                return Err(at("the region table must be a `csv` source".into()));
            }
            let (series, unit) = match s.role {
                Role::Regions => (None, Unit::Usd),
                Role::Observations => (
                    Some(
                        s.series
                            .clone()
                            .ok_or_else(|| at("`series` is required".into()))?,
                    ),
                    s.unit.ok_or_else(|| at("`unit` is required".into()))?,
                ),
            };
            let aggregates = match &s.aggregates {
                None => HashSet::new(),
                Some(set) => file
                    .aggregate_sets
                    .get(set)
                    .ok_or_else(|| {
                        at(format!(
                            "aggregate set `{set}` is not defined in `aggregate_sets`"
                        ))
                    })?
                    .iter()
                    .cloned()
                    .collect(),
            };
            if let (Some(min), Some(max)) = (s.checks.min, s.checks.max) {
                if min > max {
                    return Err(at(format!("checks.min {min} is above checks.max {max}")));
                }
            }
            let max_reject_rate = s.checks.max_reject_rate.unwrap_or(d.max_reject_rate);
            if !(0.0..=1.0).contains(&max_reject_rate) {
                return Err(at(format!(
                    "checks.max_reject_rate is {max_reject_rate}, expected a fraction between 0 and 1"
                )));
            }
            let max_shrink = s.checks.max_shrink.unwrap_or(d.max_shrink);
            if !(0.0..=1.0).contains(&max_shrink) {
                return Err(at(format!(
                    "checks.max_shrink is {max_shrink}, expected a fraction between 0 and 1 (0.1: the source may lose 10 % of its rows or countries between runs)"
                )));
            }
            sources.push(Source {
                id: s.id,
                role: s.role,
                kind: s.kind,
                enabled: s.enabled,
                series,
                title: s.title,
                publisher: s.publisher,
                licence: s.licence,
                edition: s.edition,
                url: s.url,
                mirror: s.mirror.map(|m| mirror_dir.join(m)),
                fetch,
                columns: s.columns,
                unit,
                aggregates,
                projection_from: s.projection_from,
                min: s.checks.min,
                max: s.checks.max,
                max_reject_rate,
                max_shrink,
            });
        }
        // A URL serves one edition: two editions read from one URL would both hold whatever it
        // serves today, under two labels.
        let mut editions_by_url: HashMap<&str, &Source> = HashMap::new();
        for s in &sources {
            let Some(url) = s.url.as_deref() else {
                continue;
            };
            match editions_by_url.get(url) {
                Some(other) if other.edition != s.edition => {
                    return Err(invalid(format!(
                        "sources `{}` ({}) and `{}` ({}) read the same url {url}, which serves one edition; \
                         give each edition a url that keeps it, or `fetch: mirror` without a url",
                        other.id, other.edition, s.id, s.edition
                    )));
                }
                _ => {
                    editions_by_url.insert(url, s);
                }
            }
        }
        let regions: Vec<_> = sources
            .iter()
            .filter(|s| s.enabled && s.role == Role::Regions)
            .collect();
        if regions.len() != 1 {
            return Err(invalid(format!(
                "exactly one enabled source must have `role: regions` (the region table); found {}",
                regions.len()
            )));
        }
        for o in &file.regions.overrides {
            for (field, code) in [
                ("region_code", &o.region_code),
                ("sub_region_code", &o.sub_region_code),
            ] {
                if let Some(code) = code {
                    if code.is_empty()
                        || code.len() > 3
                        || !code.bytes().all(|b| b.is_ascii_digit())
                    {
                        return Err(invalid(format!(
                            "regions.overrides `{}`: `{field}: {code}` is not a UN M49 code \
                             (one to three digits, quoted, e.g. \"150\")",
                            o.code
                        )));
                    }
                }
            }
        }
        Ok(Sources {
            path: path.to_path_buf(),
            mirror_dir: mirror_dir.to_path_buf(),
            timeout_secs: d.timeout_secs,
            retries: d.retries,
            keep_runs: d.keep_runs,
            aliases: file.regions.aliases.into_iter().collect(),
            region_overrides: file.regions.overrides,
            display_names: file.regions.display_names.into_iter().collect(),
            name_aliases: file.regions.name_aliases.into_iter().collect(),
            sources,
        })
    }

    pub fn enabled(&self) -> impl Iterator<Item = &Source> {
        self.sources.iter().filter(|s| s.enabled)
    }

    pub fn get(&self, id: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.id == id)
    }

    /// The canonical code for `code` (IMF `UVK` → `XKX`).
    pub fn canonical_code<'a>(&'a self, code: &'a str) -> &'a str {
        self.aliases.get(code).map_or(code, String::as_str)
    }
}

/// A source of the repository's `config/sources.yml`, for unit tests of the extractors.
/// The thresholds of completeness (`completeness:` in `metrics.yml`).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Completeness {
    /// Countries reporting, as a fraction of the previous complete period's.
    #[serde(default = "ninety_percent")]
    pub min_countries_share: f64,
    /// Their total value, as a fraction of the previous complete period's total.
    #[serde(default = "ninety_percent")]
    pub min_total_share: f64,
}

fn ninety_percent() -> f64 {
    0.9
}

impl Default for Completeness {
    fn default() -> Self {
        Completeness {
            min_countries_share: ninety_percent(),
            min_total_share: ninety_percent(),
        }
    }
}

impl Completeness {
    /// The reason the thresholds are unusable, if they are.
    pub fn problem(&self) -> Option<String> {
        for (name, v) in [
            ("min_countries_share", self.min_countries_share),
            ("min_total_share", self.min_total_share),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Some(format!(
                    "completeness.{name} is {v}, expected a fraction between 0 and 1 (0.9: 90 % of the previous complete period)"
                ));
            }
        }
        None
    }
}

#[cfg(test)]
pub(crate) fn default_source(id: &str) -> Source {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/sources.yml");
    Sources::load(&path, Path::new("/m"))
        .expect("config/sources.yml is valid")
        .get(id)
        .unwrap_or_else(|| panic!("config/sources.yml has no source `{id}`"))
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "
sources:
  - id: regions
    role: regions
    kind: csv
    title: t
    publisher: p
    licence: l
    edition: e
    mirror: r.csv
    columns: { code: C, name: N, region: R, sub_region: S }
";

    fn parse(text: &str) -> Result<Sources, ConfigError> {
        Sources::parse(text, Path::new("config/sources.yml"), Path::new("/mirror"))
    }

    #[test]
    fn the_default_file_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/sources.yml");
        let sources = Sources::load(&path, Path::new("/mirror")).unwrap();
        assert!(sources.get("wb_gdp").unwrap().aggregates.contains("WLD"));
        assert_eq!(sources.canonical_code("UVK"), "XKX");
        assert_eq!(
            sources.get("wb_gdp").unwrap().mirror.as_deref(),
            Some(Path::new("/mirror/wb_wdi/ny.gdp.mktp.cd.csv"))
        );
    }

    #[test]
    fn override_m49_codes_are_checked() {
        let with = |code: &str| {
            format!(
                "regions:\n  overrides:\n    - {{ code: XKX, name: Kosovo, region: Europe, sub_region: Southern Europe, region_code: {code} }}\n{MINIMAL}"
            )
        };
        let ok = parse(&with("\"150\"")).unwrap();
        assert_eq!(ok.region_overrides[0].region_code.as_deref(), Some("150"));
        let err = parse(&with("Europe")).unwrap_err().to_string();
        assert!(
            err.contains("regions.overrides `XKX`: `region_code: Europe` is not a UN M49 code"),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_are_named_with_their_line() {
        let err = parse(&MINIMAL.replace("    licence: l\n", "    licence: l\n    licnse: x\n"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("config/sources.yml, line 9"), "{err}");
        assert!(err.contains("unknown field `licnse`"), "{err}");
    }

    #[test]
    fn semantic_errors_name_the_source() {
        let text = format!(
            "{MINIMAL}  - id: gdp\n    kind: csv\n    title: t\n    publisher: p\n    licence: l\n    edition: e\n    mirror: g.csv\n    series: gdp_usd\n    unit: usd\n    columns: {{ code: C, year: Y }}\n"
        );
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.contains("source `gdp`: `columns` needs `value`"),
            "{err}"
        );
        let err = parse(
            &text
                .replace("year: Y", "year: Y, value: V")
                .replace("unit: usd", "unit: usd\n    aggregates: nope"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("aggregate set `nope` is not defined"), "{err}");
    }

    #[test]
    fn the_retention_defaults_to_ten_runs_and_keeps_at_least_one() {
        assert_eq!(parse(MINIMAL).unwrap().keep_runs, 10);
        let sources = parse(&format!("defaults: {{ keep_runs: 3 }}\n{MINIMAL}")).unwrap();
        assert_eq!(sources.keep_runs, 3);
        let err = parse(&format!("defaults: {{ keep_runs: 0 }}\n{MINIMAL}"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("defaults.keep_runs is 0"), "{err}");
    }

    #[test]
    fn max_shrink_defaults_to_ten_percent_and_is_checked() {
        let gdp = "  - id: gdp\n    kind: csv\n    title: t\n    publisher: p\n    licence: l\n    edition: e\n    mirror: g.csv\n    series: gdp_usd\n    unit: usd\n    columns: { code: C, year: Y, value: V }\n";
        let sources = parse(&format!("{MINIMAL}{gdp}")).unwrap();
        assert_eq!(sources.get("gdp").unwrap().max_shrink, 0.1);
        let sources = parse(&format!(
            "defaults: {{ max_shrink: 0.5 }}\n{MINIMAL}{gdp}    checks: {{ max_shrink: 0.25 }}\n"
        ))
        .unwrap();
        assert_eq!(sources.get("gdp").unwrap().max_shrink, 0.25);
        assert_eq!(sources.get("regions").unwrap().max_shrink, 0.5);
        let err = parse(&format!("{MINIMAL}{gdp}    checks: {{ max_shrink: 10 }}\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("source `gdp`: checks.max_shrink is 10, expected a fraction"),
            "{err}"
        );
        let err = parse(&format!("{MINIMAL}{gdp}    checks: {{ max_shrnk: 0.2 }}\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `max_shrnk`"), "{err}");
    }

    #[test]
    fn the_wikipedia_table_can_be_switched_on() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/sources.yml");
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("    enabled: false\n", "    enabled: true\n");
        let sources = Sources::parse(&text, &path, Path::new("/mirror")).unwrap();
        assert!(sources.get("wikipedia_gdp").unwrap().enabled);
    }

    #[test]
    fn two_editions_cannot_share_a_url() {
        let edition = |id: &str, edition: &str| {
            format!(
                "  - id: {id}\n    kind: http_json\n    title: t\n    publisher: p\n    licence: l\n    edition: {edition}\n    url: https://example.org/ngdpd\n    mirror: {id}.json\n    series: gdp_usd\n    unit: usd_billions\n"
            )
        };
        let text = format!(
            "{MINIMAL}{}{}",
            edition("old", "Oct"),
            edition("new", "Apr")
        );
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.contains(
                "sources `old` (Oct) and `new` (Apr) read the same url https://example.org/ngdpd"
            ),
            "{err}"
        );
        // One edition read twice (say, two series of one file) is fine.
        parse(&format!(
            "{MINIMAL}{}{}",
            edition("a", "Oct"),
            edition("b", "Oct")
        ))
        .unwrap();
    }

    #[test]
    fn exactly_one_region_table() {
        let err = parse("sources: []").unwrap_err().to_string();
        assert!(
            err.contains("exactly one enabled source must have `role: regions`"),
            "{err}"
        );
    }
}

/// `config/display.yml`: how the dashboard shows things to people, validated once when the
/// server or a command starts: the time zone of readers who chose none (stored times stay
/// UTC; pages show them on this clock), and the language of messages to people who chose none
/// (their digests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisplaySettings {
    pub timezone: display::time::Zone,
    pub language: display::Lang,
}

impl Default for DisplaySettings {
    /// Asia/Seoul and Korean.
    fn default() -> Self {
        DisplaySettings {
            timezone: display::time::Zone::default(),
            language: display::Lang::Ko,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DisplayFile {
    display: DisplaySection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DisplaySection {
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    language: Option<String>,
}

impl DisplaySettings {
    /// Reads and validates `path`; without the file, the defaults (`Asia/Seoul`).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let file: DisplayFile =
            serde_yaml_ng::from_str(text).map_err(|e| ConfigError::Invalid {
                path: path.to_path_buf(),
                line: e.location().map(|l| l.line()),
                message: e.to_string(),
            })?;
        let timezone = match file.display.timezone {
            None => display::time::Zone::default(),
            Some(name) => display::time::Zone::parse(&name).ok_or_else(|| {
                let line = text
                    .lines()
                    .position(|l| l.trim_start().starts_with("timezone:"))
                    .map(|i| i + 1);
                ConfigError::Invalid {
                    path: path.to_path_buf(),
                    line,
                    message: format!(
                        "display.timezone `{name}` is not an IANA time zone; write one like Asia/Seoul, America/New_York or UTC"
                    ),
                }
            })?,
        };
        let language = match file.display.language {
            None => display::Lang::Ko,
            Some(code) => {
                display::Lang::parse(code.trim()).ok_or_else(|| ConfigError::Invalid {
                    path: path.to_path_buf(),
                    line: text
                        .lines()
                        .position(|l| l.trim_start().starts_with("language:"))
                        .map(|i| i + 1),
                    message: format!("display.language `{code}`: use `ko` or `en`"),
                })?
            }
        };
        Ok(DisplaySettings { timezone, language })
    }
}

#[cfg(test)]
mod display_tests {
    use super::*;

    #[test]
    fn the_display_zone_is_read_checked_and_defaults_to_seoul() {
        let path = Path::new("config/display.yml");
        let read = |text: &str| DisplaySettings::parse(text, path);
        assert_eq!(
            read("display:\n  timezone: America/New_York\n")
                .unwrap()
                .timezone
                .name(),
            "America/New_York"
        );
        assert_eq!(read("display: {}\n").unwrap().timezone.name(), "Asia/Seoul");
        assert_eq!(read("display: {}\n").unwrap().language, display::Lang::Ko);
        assert_eq!(
            read("display:\n  language: en\n").unwrap().language,
            display::Lang::En
        );
        let bad = read("display:\n  timezone: UTC\n  language: fr\n")
            .unwrap_err()
            .to_string();
        assert!(bad.contains("line 3: display.language `fr`"), "{bad}");
        let bad = read("display:\n  timezone: Seoul\n")
            .unwrap_err()
            .to_string();
        assert!(
            bad.starts_with("config/display.yml, line 2: display.timezone `Seoul`"),
            "{bad}"
        );
        assert!(
            read("display:\n  tz: UTC\n").is_err(),
            "unknown keys are refused"
        );
        assert_eq!(
            DisplaySettings::load(Path::new("/nonexistent/display.yml")).unwrap(),
            DisplaySettings::default()
        );
        // The shipped file says Seoul.
        let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/display.yml");
        assert_eq!(
            DisplaySettings::load(Path::new(shipped))
                .unwrap()
                .timezone
                .name(),
            "Asia/Seoul"
        );
    }
}

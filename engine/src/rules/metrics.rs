//! `config/metrics.yml`: serde types mirroring the file (unknown keys are errors), built and
//! validated into [`Metrics`]. Every error names the file, the line and what to change.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::yaml::{check_id, item_line, parse_yaml, read};
use crate::config::{ConfigError, Sources};

pub use display::alert::Scope;
pub use display::{Format, Text};

/// A column of the snapshot's `observations` table that a metric may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Column {
    Value,
    ChangePct,
    SharePct,
    Rank,
    PerCapita,
}

impl Column {
    pub fn sql(self) -> &'static str {
        match self {
            Column::Value => "value",
            Column::ChangePct => "change_pct",
            Column::SharePct => "share_pct",
            Column::Rank => "rank",
            Column::PerCapita => "per_capita",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum MetricDef {
    /// A column of one source's country rows.
    Column { source: String, column: Column },
    /// Per region and year: the mean of its `n` largest countries by `of`.
    TopNAverage { of: String, n: u32 },
    /// Per year: how many countries have `of` ≥ `min`.
    CountAtLeast { of: String, min: f64 },
    /// Per year: the sum of `of` over countries.
    Sum { of: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub id: String,
    pub label: Text,
    pub unit: String,
    pub format: Format,
    pub higher_is_better: bool,
    pub scope: Scope,
    pub def: MetricDef,
}

#[derive(Debug, Clone)]
pub struct Metrics {
    pub path: PathBuf,
    pub metrics: Vec<Metric>,
    /// When a period counts as complete (`completeness:`; default 90 % of the previous complete
    /// period's countries and total).
    pub completeness: crate::config::Completeness,
}

impl Metrics {
    pub fn get(&self, id: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.id == id)
    }

    /// The source a metric's values come from (for aggregates, that of the metric they aggregate).
    pub fn source_of<'a>(&'a self, metric: &'a Metric) -> Option<&'a str> {
        match &metric.def {
            MetricDef::Column { source, .. } => Some(source),
            MetricDef::TopNAverage { of, .. }
            | MetricDef::CountAtLeast { of, .. }
            | MetricDef::Sum { of } => self.get(of).and_then(|m| self.source_of(m)),
        }
    }

    pub fn load(path: &Path, sources: &Sources) -> Result<Self, ConfigError> {
        let text = read(path)?;
        Self::parse(&text, path, sources)
    }

    pub fn parse(text: &str, path: &Path, sources: &Sources) -> Result<Self, ConfigError> {
        let file: MetricsFile = parse_yaml(text, path)?;
        let mut seen = HashSet::new();
        let mut metrics: Vec<Metric> = Vec::new();
        for m in file.metrics {
            let line = item_line(text, &m.id);
            let err = |message: String| ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                message: format!("metric `{}`: {message}", m.id),
            };
            check_id(&m.id).map_err(|e| err(e.to_string()))?;
            if !seen.insert(m.id.clone()) {
                return Err(err("this id is used twice".into()));
            }
            let f = m.from;
            let known_metric = |of: &Option<String>| -> Result<String, ConfigError> {
                let of = of
                    .clone()
                    .ok_or_else(|| err("an aggregate needs `of: METRIC`".into()))?;
                match metrics.iter().find(|x| x.id == of) {
                    Some(x) if matches!(x.def, MetricDef::Column { .. }) => Ok(of),
                    Some(_) => Err(err(format!(
                        "`of: {of}` is itself an aggregate; aggregate a `source` metric"
                    ))),
                    None => Err(err(format!(
                        "`of: {of}` is not a metric defined above it; known: {}",
                        metrics
                            .iter()
                            .map(|x| x.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))),
                }
            };
            let (def, scope) = match (&f.source, f.aggregate.as_deref()) {
                (Some(source), None) => {
                    if f.of.is_some() || f.n.is_some() || f.min.is_some() {
                        return Err(err(
                            "`of`, `n` and `min` belong to aggregates, not to `source` metrics"
                                .into(),
                        ));
                    }
                    if sources.get(source).is_none() {
                        return Err(err(format!(
                            "source `{source}` is not in {}",
                            sources.path.display()
                        )));
                    }
                    let column = f.column.ok_or_else(|| {
                        err("`column` is required: value, change_pct, share_pct, rank or per_capita".into())
                    })?;
                    (
                        MetricDef::Column {
                            source: source.clone(),
                            column,
                        },
                        Scope::Country,
                    )
                }
                (None, Some("top_n_average")) => {
                    let n = f.n.filter(|n| *n > 0).ok_or_else(|| {
                        err("`top_n_average` needs `n`, a whole number above 0".into())
                    })?;
                    (
                        MetricDef::TopNAverage {
                            of: known_metric(&f.of)?,
                            n,
                        },
                        Scope::Region,
                    )
                }
                (None, Some("count_at_least")) => {
                    let min = f
                        .min
                        .ok_or_else(|| err("`count_at_least` needs `min`".into()))?;
                    (
                        MetricDef::CountAtLeast {
                            of: known_metric(&f.of)?,
                            min,
                        },
                        Scope::Global,
                    )
                }
                (None, Some("sum")) => (
                    MetricDef::Sum {
                        of: known_metric(&f.of)?,
                    },
                    Scope::Global,
                ),
                (None, Some(other)) => {
                    return Err(err(format!(
                        "unknown aggregate `{other}`; use top_n_average, count_at_least or sum"
                    )))
                }
                (Some(_), Some(_)) => {
                    return Err(err("give either `source` or `aggregate`, not both".into()))
                }
                (None, None) => {
                    return Err(err(
                        "`from` needs `source` and `column`, or `aggregate` and `of`".into(),
                    ))
                }
            };
            if matches!(def, MetricDef::Column { .. }) && f.column.is_none() {
                return Err(err("`column` is required".into()));
            }
            metrics.push(Metric {
                id: m.id,
                label: m.label,
                unit: m.unit,
                format: m.format,
                higher_is_better: m.higher_is_better,
                scope,
                def,
            });
        }
        if let Some(problem) = file.completeness.problem() {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                line: text
                    .lines()
                    .position(|l| l.starts_with("completeness"))
                    .map(|i| i + 1),
                message: problem,
            });
        }
        Ok(Metrics {
            path: path.to_path_buf(),
            metrics,
            completeness: file.completeness,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricsFile {
    #[serde(default)]
    completeness: crate::config::Completeness,
    metrics: Vec<MetricFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricFile {
    id: String,
    label: Text,
    unit: String,
    format: Format,
    #[serde(default = "yes")]
    higher_is_better: bool,
    from: FromFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FromFile {
    source: Option<String>,
    column: Option<Column>,
    aggregate: Option<String>,
    of: Option<String>,
    n: Option<u32>,
    min: Option<f64>,
}

fn yes() -> bool {
    true
}
/// One metric, `gdp`: the `value` column of `wb_gdp` by country, for unit tests.
#[cfg(test)]
pub(crate) fn gdp_for_tests() -> Metrics {
    Metrics {
        path: "m.yml".into(),
        metrics: vec![Metric {
            id: "gdp".into(),
            label: display::Text::new("GDP", "GDP"),
            unit: "usd".into(),
            format: display::Format::UsdBillions,
            higher_is_better: true,
            scope: Scope::Country,
            def: MetricDef::Column {
                source: "wb_gdp".into(),
                column: Column::Value,
            },
        }],
        completeness: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources() -> Sources {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        Sources::load(&root.join("config/sources.yml"), Path::new("/m")).unwrap()
    }

    #[test]
    fn metric_errors_name_the_metric() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let text = std::fs::read_to_string(root.join("config/metrics.yml")).unwrap();
        let bad = text.replacen(
            "source: wb_gdp, column: value",
            "source: wb_gpd, column: value",
            1,
        );
        let err = Metrics::parse(&bad, Path::new("config/metrics.yml"), &sources())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("metric `gdp`: source `wb_gpd` is not in"),
            "{err}"
        );
        assert!(err.contains("line 14"), "{err}");

        let bad = text.replacen("of: gdp, n: 5", "of: region_top5_average, n: 5", 1);
        let err = Metrics::parse(&bad, Path::new("config/metrics.yml"), &sources())
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a metric defined above it"), "{err}");
    }
}

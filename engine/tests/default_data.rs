//! The first loader and the overview queries on the real World Bank and UN M49 files, checked
//! against answers computed here independently (plain CSV parsing, no DuckDB).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use engine::config::Sources;
use engine::etl::Pipeline;
use engine::query::queries;
use engine::snapshot::SnapshotStore;

fn mirror() -> PathBuf {
    std::env::var_os("ACTIONBOARD_MIRROR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
}

/// code → (region, name) for every economy with a UN region, plus the two documented overrides.
fn regions() -> HashMap<String, String> {
    let mut reader =
        csv::Reader::from_path(mirror().join("regions/un_m49_country-codes.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let idx = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (code, region) = (idx("ISO3166-1-Alpha-3"), idx("Region Name"));
    let mut out: HashMap<String, String> = reader
        .records()
        .map(|r| r.unwrap())
        .filter(|r| !r[region].is_empty())
        .map(|r| (r[code].to_string(), r[region].to_string()))
        .collect();
    out.insert("XKX".into(), "Europe".into());
    out.insert("CHI".into(), "Europe".into());
    out
}

/// (code, year) → GDP in US dollars.
fn gdp() -> Vec<(String, i32, f64)> {
    let mut reader = csv::Reader::from_path(mirror().join("wb_wdi/ny.gdp.mktp.cd.csv")).unwrap();
    reader
        .records()
        .map(|r| r.unwrap())
        .map(|r| {
            (
                r[1].to_string(),
                r[2].parse().unwrap(),
                r[3].parse().unwrap(),
            )
        })
        .collect()
}

fn run_default(data_dir: &std::path::Path) {
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config/sources.yml");
    let sources = Sources::load(&config, &mirror()).unwrap();
    Pipeline::new(sources, data_dir).run().unwrap();
}

#[test]
fn overview_matches_an_independent_computation() {
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::new(dir.path());
    run_default(dir.path());
    let regions = regions();
    let rows = gdp();
    let aggregate_codes: HashSet<_> = rows
        .iter()
        .filter(|(c, _, _)| !regions.contains_key(c))
        .map(|(c, _, _)| c.clone())
        .collect();
    assert_eq!(
        aggregate_codes.len(),
        47,
        "the World Bank file has 47 aggregate codes"
    );

    let (_, conn) = store.open_current().unwrap();
    let ov = queries::overview(&conn, None).unwrap();
    let latest = rows
        .iter()
        .filter(|(c, _, _)| regions.contains_key(c))
        .map(|(_, y, _)| *y)
        .max()
        .unwrap();
    assert_eq!(ov.year, latest);
    assert_eq!(latest, 2025);

    let mut year_rows: Vec<_> = rows
        .iter()
        .filter(|(c, y, _)| *y == latest && regions.contains_key(c))
        .collect();
    year_rows.sort_by(|a, b| b.2.total_cmp(&a.2));
    assert_eq!(ov.countries_with_data, year_rows.len());

    let expected_large: Vec<&str> = year_rows
        .iter()
        .filter(|(_, _, v)| *v >= 100e9)
        .map(|(c, _, _)| c.as_str())
        .collect();
    let got_large: Vec<&str> = ov.large_economies.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(got_large, expected_large);
    assert!(!got_large.contains(&"WLD") && !got_large.contains(&"HIC"));
    let usa = &ov.large_economies[0];
    assert_eq!(usa.code, "USA");
    assert_eq!(format!("{:.2}", usa.gdp_usd / 1e9), "30769.70");

    let mut by_region: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for (code, _, value) in &year_rows {
        let list = by_region.entry(regions[code].as_str()).or_default();
        if list.len() < 5 {
            list.push(*value);
        }
    }
    assert_eq!(ov.region_top5.len(), by_region.len());
    for row in &ov.region_top5 {
        let values = &by_region[row.region.as_str()];
        let expected = values.iter().sum::<f64>() / values.len() as f64;
        assert!(
            (row.average_usd - expected).abs() < 1e-3,
            "{}: {} vs {}",
            row.region,
            row.average_usd,
            expected
        );
        assert_eq!(row.countries.len(), values.len());
    }
}

#[test]
fn asking_for_a_year_without_data_says_which_years_exist() {
    let dir = tempfile::tempdir().unwrap();
    let store = SnapshotStore::new(dir.path());
    run_default(dir.path());
    let (_, conn) = store.open_current().unwrap();
    let err = queries::overview(&conn, Some(1850))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "no GDP data for 1850; years with data run from 1960 to 2025"
    );
}

#[test]
fn snapshot_separates_countries_from_aggregates_and_records_provenance() {
    let dir = tempfile::tempdir().unwrap();
    run_default(dir.path());
    let regions = regions();
    let rows_2025: Vec<_> = gdp().into_iter().filter(|(_, y, _)| *y == 2025).collect();
    let expected_countries = rows_2025
        .iter()
        .filter(|(c, _, _)| regions.contains_key(c))
        .count() as i64;
    let expected_aggregates = rows_2025.len() as i64 - expected_countries;

    let (run, conn) = SnapshotStore::new(dir.path()).open_current().unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        count("SELECT count(*) FROM observations WHERE source_id = 'wb_gdp' AND year = 2025 AND NOT is_aggregate"),
        expected_countries
    );
    assert_eq!(
        count("SELECT count(*) FROM observations WHERE source_id = 'wb_gdp' AND year = 2025 AND is_aggregate"),
        expected_aggregates
    );
    assert_eq!(
        count(&format!(
            "SELECT count(*) FROM observations WHERE run_id <> '{run}'"
        )),
        0
    );
    // The load's summary counts the countries of each year and the year before as the rows do
    // (what a rule comparing two years looked at), for every source and year, and for a year
    // without data.
    let mut years = conn
        .prepare("SELECT DISTINCT source_id, year FROM observations UNION SELECT 'wb_gdp', 1800")
        .unwrap();
    let years: Vec<(String, i32)> = years
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(years.len() > 100, "{} source years", years.len());
    for (source, year) in years {
        let rows = count(&format!(
            "SELECT count(DISTINCT code) FROM observations
             WHERE source_id = '{source}' AND NOT is_aggregate AND year IN ({year}, {year} - 1)"
        ));
        let catalog = engine::base::sql::Catalog::read(&conn).unwrap();
        let summarised =
            engine::snapshot::coverage::countries_in_year_or_before(&conn, &catalog, &source, year)
                .unwrap();
        assert_eq!(summarised, Some(rows as u64), "{source} {year}");
    }
    // Every region and sub-region carries its UN M49 code (zero-padded), read from the CSV's
    // code columns and the overrides: Korean names are looked up by it.
    let codes = engine::query::queries::region_codes(&conn).unwrap();
    for (name, code) in [
        ("Asia", "142"),
        ("Europe", "150"),
        ("Americas", "019"),
        ("Eastern Asia", "030"),
        ("Southern Europe", "039"),
        ("Northern Europe", "154"),
    ] {
        assert_eq!(codes.get(name).map(String::as_str), Some(code), "{name}");
    }
    assert_eq!(
        count("SELECT count(*) FROM regions WHERE region_code = '' OR sub_region_code = ''"),
        0,
        "every economy with a region has both codes"
    );
    for (name, code) in &codes {
        assert!(
            display::names::region_ko(code).is_some(),
            "CLDR has a Korean name for {name} ({code})"
        );
    }
    // The two IMF editions are separate series, never mixed.
    let usa_2025 = |source: &str| -> f64 {
        conn.query_row(
            "SELECT value FROM observations WHERE source_id = ? AND code = 'USA' AND year = 2025",
            [source],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert!((usa_2025("imf_weo_2024oct") - 30_337.162e9).abs() < 1.0);
    assert!((usa_2025("imf_weo_2026apr") - 30_767.075e9).abs() < 1e6);

    // Provenance: the checksum recorded at extraction is the mirror file's.
    let (sha, size, read_from, location): (String, i64, String, String) = conn
        .query_row(
            "SELECT sha256, size_bytes, read_from, location FROM provenance WHERE source_id = 'wb_gdp'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    let bytes = std::fs::read(mirror().join("wb_wdi/ny.gdp.mktp.cd.csv")).unwrap();
    assert_eq!(sha, engine::base::files::sha256_hex(&bytes));
    assert_eq!(size, bytes.len() as i64);
    assert_eq!(read_from, "mirror");
    assert!(location.ends_with("wb_wdi/ny.gdp.mktp.cd.csv"));

    // The region table: the file's rows, plus the overrides for codes the file lacks, counted
    // as added so "out" above "in" explains itself.
    let mut file =
        csv::Reader::from_path(mirror().join("regions/un_m49_country-codes.csv")).unwrap();
    let code_col = file
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "ISO3166-1-Alpha-3")
        .unwrap();
    let codes_in_file: Vec<String> = file
        .records()
        .map(|r| r.unwrap()[code_col].to_string())
        .collect();
    let overrides_missing_from_file = ["XKX", "CHI"]
        .iter()
        .filter(|c| !codes_in_file.iter().any(|f| f == *c))
        .count() as u64;
    let transform = engine::etl::pipeline::find_run(dir.path(), Some(&run.to_string()))
        .unwrap()
        .manifest(engine::base::Stage::Transform)
        .unwrap();
    let c = &transform.counts["un_m49_regions"];
    assert_eq!(c.rows_in, codes_in_file.len() as u64);
    assert_eq!(c.added, overrides_missing_from_file);
    assert!(c.added > 0);
    // Rows without a region (Antarctica) are missing: no row is dropped uncounted.
    assert_eq!(c.rows_out, c.rows_in - c.rejected - c.missing + c.added);
    assert_eq!(transform.counts["wb_gdp"].added, 0);
    // Every source's rows add up: none is dropped uncounted.
    for (source, c) in &transform.counts {
        assert_eq!(
            c.rows_out + c.rejected + c.missing,
            c.rows_in + c.added,
            "{source}: {c:?}"
        );
    }
}

fn rule_set() -> engine::rules::RuleSet {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let sources = Sources::load(&root.join("config/sources.yml"), &mirror()).unwrap();
    engine::rules::RuleSet::load(
        &root.join("config/metrics.yml"),
        &root.join("config/rules.yml"),
        &sources,
    )
    .unwrap()
}

#[test]
fn default_rules_raise_a_useful_inbox_that_matches_an_independent_computation() {
    use engine::state::AlertFilter;
    use engine::state::AlertStore;
    let dir = tempfile::tempdir().unwrap();
    run_default(dir.path());
    let store = SnapshotStore::new(dir.path());
    let set = rule_set();
    let (evaluation, summary) = engine::publish::refresh(&store, &set).unwrap();
    assert_eq!(summary.opened, evaluation.alerts.len());

    // The default rules on the default data stay under their max_fire_share: no notice, nothing
    // held back; every rule is counted, the metric rules over the entities they looked at.
    assert_eq!(evaluation.per_rule.len(), set.rules.rules.len());
    for firing in &evaluation.per_rule {
        eprintln!("{}", firing.summary(display::Lang::En));
        assert!(!firing.over_limit(), "{firing:?}");
        assert_eq!(firing.held_back, 0, "{firing:?}");
        let raised = evaluation
            .alerts
            .iter()
            .filter(|a| a.rule_id == firing.rule_id)
            .count();
        assert_eq!(firing.alerts, raised, "{}", firing.rule_id);
    }
    let gdp_fall = evaluation
        .per_rule
        .iter()
        .find(|f| f.rule_id == "gdp_fall")
        .unwrap();
    assert!(
        (150..300).contains(&gdp_fall.entities.unwrap()),
        "{gdp_fall:?}"
    );
    assert!(evaluation
        .alerts
        .iter()
        .all(|a| !a.fingerprint.starts_with("fire_share:")));
    assert_eq!(summary.held_back, 0);

    // Independently, from the CSV: countries ≥ 100 B USD in 2025 that fell ≥ 5 % from 2024,
    // those with a 2024 figure ≥ 10 B USD and none for 2025, and those crossing 100 B USD.
    let regions = regions();
    let mut by_code: HashMap<String, BTreeMap<i32, f64>> = HashMap::new();
    for (code, year, value) in gdp() {
        if regions.contains_key(&code) {
            by_code.entry(code).or_default().insert(year, value);
        }
    }
    let mut falls = Vec::new();
    let mut missing = Vec::new();
    let mut entered = Vec::new();
    for (code, years) in &by_code {
        match (years.get(&2024), years.get(&2025)) {
            (Some(&prev), Some(&cur)) => {
                if cur >= 100e9 && (cur - prev) / prev.abs() * 100.0 <= -5.0 {
                    falls.push(code.clone());
                }
                if prev < 100e9 && cur >= 100e9 {
                    entered.push(code.clone());
                }
            }
            (Some(&prev), None) if prev >= 10e9 => missing.push(code.clone()),
            _ => {}
        }
    }
    let fired = |rule: &str| -> Vec<String> {
        let mut e: Vec<String> = evaluation
            .alerts
            .iter()
            .filter(|a| a.rule_id == rule)
            .map(|a| a.entity.clone())
            .collect();
        e.sort();
        e
    };
    for list in [&mut falls, &mut missing, &mut entered] {
        list.sort();
    }
    assert!(!falls.is_empty() && !missing.is_empty() && !entered.is_empty());
    assert_eq!(fired("gdp_fall"), falls);
    assert_eq!(fired("gdp_missing"), missing);
    assert_eq!(fired("entered_100b"), entered);
    // A missing year is never a fall.
    for code in &missing {
        assert!(!fired("gdp_fall").contains(code));
    }

    // A useful inbox: tens of alerts, highest priority first, each with a concrete action.
    let inbox = AlertStore::open_in(dir.path())
        .unwrap()
        .list(&AlertFilter::default())
        .unwrap();
    assert!((10..100).contains(&inbox.len()), "{} alerts", inbox.len());
    assert!(inbox
        .windows(2)
        .all(|w| w[0].alert.priority >= w[1].alert.priority));
    for r in &inbox {
        let a = &r.alert;
        assert!(!a.actions.is_empty(), "{}", a.fingerprint);
        for text in [
            &a.title.en,
            &a.title.ko,
            &a.explanation.en,
            &a.explanation.ko,
        ] {
            assert!(
                !text.contains('{') && !text.contains('—'),
                "{}: {text}",
                a.fingerprint
            );
        }
        for action in &a.actions {
            assert!(!action.owner_label.en.is_empty() && action.due_days > 0);
        }
        assert_eq!(a.evidence.run_id, evaluation.run_id);
    }
    let korea_style = inbox
        .iter()
        .find(|r| r.alert.rule_id == "gdp_fall")
        .unwrap();
    assert!(
        korea_style.alert.title.en.contains("% YoY to"),
        "{}",
        korea_style.alert.title.en
    );
    assert!(
        korea_style
            .alert
            .evidence
            .source
            .as_ref()
            .unwrap()
            .sha256
            .len()
            == 64
    );
    // The evidence is the two points compared.
    let series = &korea_style.alert.evidence.series;
    assert_eq!(
        series.iter().map(|p| p.period).collect::<Vec<_>>(),
        [2024, 2025]
    );

    // Re-running the same load changes nothing.
    let (_, again) = engine::publish::refresh(&store, &set).unwrap();
    assert!(again.already_merged);
}

#[test]
fn world_gdp_change_compares_like_for_like() {
    let dir = tempfile::tempdir().unwrap();
    run_default(dir.path());
    let (run, conn) = SnapshotStore::new(dir.path()).open_current().unwrap();
    let ov = queries::overview(&conn, Some(2025)).unwrap();
    let regions = regions();
    let mut by_code: HashMap<String, BTreeMap<i32, f64>> = HashMap::new();
    for (code, year, value) in gdp() {
        if regions.contains_key(&code) {
            by_code.entry(code).or_default().insert(year, value);
        }
    }
    let total: f64 = by_code.values().filter_map(|y| y.get(&2025)).sum();
    let both: Vec<(f64, f64)> = by_code
        .values()
        .filter_map(|y| Some((*y.get(&2025)?, *y.get(&2024)?)))
        .collect();
    let (cur, prev) = both
        .iter()
        .fold((0.0, 0.0), |(c, p), (x, y)| (c + x, p + y));
    assert!((ov.world.total_usd - total).abs() < 1.0);
    assert_eq!(ov.world.compared_countries, both.len());
    let expected = (cur - prev) / prev * 100.0;
    assert!((ov.world.change_pct.unwrap() - expected).abs() < 1e-9);
    // Countries without 2025 data would make a naive sum fall; like for like it does not.
    assert!(both.len() < by_code.values().filter(|y| y.contains_key(&2024)).count());
    assert_eq!(ov.freshness.run_id, run.to_string());
    assert!(ov.freshness.loaded_at.ends_with('Z'));
}

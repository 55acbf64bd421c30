//! The pipeline on crafted sources: bad inputs get clear errors or counted rejects, nothing is
//! lost, the previous snapshot keeps serving, and an interrupted run resumes.

use std::fs;
use std::path::PathBuf;

use engine::base::Stage;
use engine::config::Sources;
use engine::etl::pipeline::find_run;
use engine::etl::{Pipeline, PipelineError};
use engine::snapshot::SnapshotStore;

const REGIONS: &str = "ISO3166-1-Alpha-3,CLDR display name,Region Name,Sub-region Name\n\
USA,US,Americas,Northern America\nKOR,South Korea,Asia,Eastern Asia\nJPN,Japan,Asia,Eastern Asia\n\
DEU,Germany,Europe,Western Europe\nFRA,France,Europe,Western Europe\n";

fn config(max_reject_rate: f64) -> String {
    format!(
        "defaults: {{ fetch: mirror, max_reject_rate: {max_reject_rate} }}
aggregate_sets:
  wb: [WLD]
sources:
  - id: regions
    role: regions
    kind: csv
    title: t
    publisher: p
    licence: l
    edition: e
    mirror: regions.csv
    columns: {{ code: ISO3166-1-Alpha-3, name: CLDR display name, region: Region Name, sub_region: Sub-region Name }}
  - id: gdp
    kind: csv
    series: gdp_usd
    title: t
    publisher: p
    licence: l
    edition: e
    mirror: gdp.csv
    columns: {{ code: Country Code, name: Country Name, year: Year, value: Value }}
    unit: usd
    aggregates: wb
    checks: {{ min: 0, max: 1.0e15 }}
"
    )
}

struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new(gdp: &[u8], max_reject_rate: f64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("mirror")).unwrap();
        fs::write(dir.path().join("mirror/regions.csv"), REGIONS).unwrap();
        fs::write(dir.path().join("mirror/gdp.csv"), gdp).unwrap();
        fs::write(dir.path().join("sources.yml"), config(max_reject_rate)).unwrap();
        Workspace { dir }
    }

    fn set_gdp(&self, gdp: &[u8]) {
        fs::write(self.dir.path().join("mirror/gdp.csv"), gdp).unwrap();
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pipeline(&self) -> Pipeline {
        let sources = Sources::load(
            &self.dir.path().join("sources.yml"),
            &self.dir.path().join("mirror"),
        )
        .unwrap();
        Pipeline::new(sources, self.data())
    }

    fn query_i64(&self, sql: &str) -> i64 {
        let (_, conn) = SnapshotStore::new(self.data()).open_current().unwrap();
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

/// 5 countries × 40 years of good rows, and a World aggregate.
fn good_rows() -> String {
    let mut s = String::from("Country Name,Country Code,Year,Value\n");
    for (i, code) in ["USA", "KOR", "JPN", "DEU", "FRA"].iter().enumerate() {
        for year in 1980..2020 {
            s.push_str(&format!(
                "{code},{code},{year},{}\n",
                1e11 * (i + 1) as f64 + year as f64 * 1e6
            ));
        }
    }
    for year in 1980..2020 {
        s.push_str(&format!("World,WLD,{year},9e13\n"));
    }
    s
}

#[test]
fn bad_rows_are_rejected_with_file_line_field_and_rule() {
    let mut gdp = good_rows();
    gdp.push_str("Korea,KOR,2020,-5\n"); // negative
    gdp.push_str("Korea,KOR,2021,NaN\n"); // not finite
    gdp.push_str("Korea,KOR,2022,1e20\n"); // absurd
    gdp.push_str("Atlantis,ATL,2020,5\n"); // unknown code
    gdp.push_str("Japan,JPN,1999,7\n"); // duplicate key
    gdp.push_str("Japan,JPN,abc,7\n"); // bad year
    gdp.push_str("Germany,DEU,2020,\n"); // missing: not a reject
    gdp.push_str("France,FRA,20"); // truncated last line
    let ws = Workspace::new(gdp.as_bytes(), 0.05);
    let outcome = ws.pipeline().run().unwrap();
    assert_eq!(outcome.stages_run, Stage::ALL.to_vec());
    assert_eq!(
        ws.query_i64("SELECT count(*) FROM observations WHERE source_id = 'gdp'"),
        240
    );
    let rules: Vec<(String, String, String)> = {
        let (_, conn) = SnapshotStore::new(ws.data()).open_current().unwrap();
        let mut stmt = conn
            .prepare("SELECT rule, location, field FROM rejects ORDER BY location")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let rule_at = |line: u64| {
        rules
            .iter()
            .find(|(_, loc, _)| loc == &format!("line {line}"))
            .map(|(rule, _, field)| (rule.as_str(), field.as_str()))
    };
    assert_eq!(rule_at(242), Some(("range", "value")));
    assert_eq!(rule_at(243), Some(("finite", "value")));
    assert_eq!(rule_at(244), Some(("range", "value")));
    assert_eq!(rule_at(245), Some(("known_code", "code")));
    assert_eq!(rule_at(246), Some(("unique", "code, year")));
    assert_eq!(rule_at(247), Some(("type", "year")));
    assert_eq!(
        rule_at(248),
        None,
        "a missing value is absent, not rejected"
    );
    assert_eq!(rule_at(249), Some(("row_shape", "")));
    assert_eq!(rules.len(), 7);
    let rd = find_run(&ws.data(), None).unwrap();
    let counts = &rd.manifest(Stage::Transform).unwrap().counts["gdp"];
    assert_eq!(
        (
            counts.rows_in,
            counts.rows_out,
            counts.rejected,
            counts.missing
        ),
        (248, 240, 7, 1)
    );
    let csv = fs::read_to_string(rd.stage_dir(Stage::Transform).join("rejects.csv")).unwrap();
    assert!(csv.contains("unknown country code `ATL`"), "{csv}");
}

#[test]
fn too_many_rejects_fail_the_run_and_the_previous_snapshot_keeps_serving() {
    let ws = Workspace::new(good_rows().as_bytes(), 0.01);
    let first = ws.pipeline().run().unwrap().run;
    let mut gdp = good_rows();
    for year in 1950..1960 {
        gdp.push_str(&format!("Atlantis,ATL,{year},5\n"));
    }
    ws.set_gdp(gdp.as_bytes());
    let err = ws.pipeline().run().unwrap_err().to_string();
    assert!(
        err.contains("source `gdp`: 10 of 250 rows rejected (4.00 %), above the limit of 1.00 %"),
        "{err}"
    );
    assert!(
        err.contains("known_code × 10") && err.contains("transform.rejects.csv"),
        "{err}"
    );
    assert_eq!(
        SnapshotStore::new(ws.data()).current().unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        ws.query_i64("SELECT count(*) FROM observations WHERE source_id = 'gdp'"),
        240
    );
    let failed = find_run(&ws.data(), None).unwrap();
    assert_ne!(failed.run, first);
    assert!(failed
        .failure(Stage::Transform)
        .unwrap()
        .error
        .contains("rows rejected"));
    assert!(failed.root.join("transform.rejects.csv").is_file());
}

#[test]
fn unusable_files_fail_with_a_message_naming_the_file() {
    let ws = Workspace::new(good_rows().as_bytes(), 0.01);
    let first = ws.pipeline().run().unwrap().run;
    let cases: [(&[u8], &str); 3] = [
        (b"", "is empty"),
        (
            b"Country Name,Code,Year,Value\nA,USA,2000,1\n",
            "no `Country Code` column",
        ),
        (
            b"Country Name,Country Code,Year,Value\n\xb4\xeb\xc7\xd1,KOR,2000,1\n",
            "is not UTF-8",
        ),
    ];
    for (bytes, expected) in cases {
        ws.set_gdp(bytes);
        let err = ws.pipeline().run().unwrap_err();
        assert!(matches!(err, PipelineError::Transform(_)), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("raw/gdp.csv") && msg.contains(expected),
            "{msg}"
        );
        assert_eq!(
            SnapshotStore::new(ws.data()).current().unwrap(),
            Some(first.clone())
        );
    }
}

#[test]
fn an_interrupted_run_resumes_at_its_first_incomplete_stage() {
    let ws = Workspace::new(good_rows().as_bytes(), 0.01);
    let pipeline = ws.pipeline();
    let rd = pipeline.new_run().unwrap();
    pipeline.run_stage(&rd, Stage::Extract).unwrap();
    pipeline.run_stage(&rd, Stage::Transform).unwrap();
    // What a crash inside load leaves behind: a working folder and a half-written snapshot.
    fs::create_dir_all(rd.root.join("load.tmp")).unwrap();
    fs::create_dir_all(ws.data().join("snapshots")).unwrap();
    fs::write(
        ws.data()
            .join(format!("snapshots/{}.duckdb.partial", rd.run)),
        b"half",
    )
    .unwrap();
    assert_eq!(SnapshotStore::new(ws.data()).current().unwrap(), None);

    let outcome = pipeline.run().unwrap();
    assert_eq!(outcome.run, rd.run);
    assert_eq!(outcome.resumed_at, Some(Stage::Load));
    assert_eq!(outcome.stages_run, vec![Stage::Load]);
    assert_eq!(
        SnapshotStore::new(ws.data()).current().unwrap(),
        Some(rd.run.clone())
    );
    let log = fs::read_to_string(rd.root.join("run.log")).unwrap();
    for stage in ["extract", "transform", "load"] {
        assert!(
            log.contains(&format!("{stage:<9} start"))
                && log.contains(&format!("{stage:<9} complete")),
            "{log}"
        );
    }
    // A finished run is not resumed: the next `run` starts a new one.
    let next = pipeline.run().unwrap();
    assert_ne!(next.run, rd.run);
    assert_eq!(next.resumed_at, None);
}

#[test]
fn a_source_fetched_unchanged_keeps_one_raw_copy_and_a_changed_one_gets_its_own() {
    use std::os::unix::fs::MetadataExt;
    let ws = Workspace::new(good_rows().as_bytes(), 0.01);
    let raw = |run: &engine::base::RunId| {
        let rd = find_run(&ws.data(), Some(run.as_str())).unwrap();
        let path = rd.stage_dir(Stage::Extract).join("raw/gdp.csv");
        let provenance = engine::etl::pipeline::read_provenance(&rd).unwrap();
        let gdp = provenance
            .into_iter()
            .find(|p| p.source_id == "gdp")
            .unwrap();
        let notes = rd.manifest(Stage::Extract).unwrap().notes.join(" ");
        (fs::metadata(&path).unwrap().ino(), gdp.sha256, notes, path)
    };
    let first = ws.pipeline().run().unwrap().run;
    let second = ws.pipeline().run().unwrap().run;
    let (ino_1, sha_1, notes_1, path_1) = raw(&first);
    let (ino_2, sha_2, notes_2, path_2) = raw(&second);
    assert!(notes_1.is_empty(), "{notes_1}");
    // The same bytes: the first run's copy, linked, and the manifest says so.
    assert_eq!((ino_2, &sha_2), (ino_1, &sha_1));
    assert!(
        notes_2.contains("gdp") && notes_2.contains(first.as_str()),
        "{notes_2}"
    );
    // The same size, other bytes (one digit): a copy of its own, with its own checksum.
    let changed = good_rows().replacen(",1980,", ",1981,", 1);
    assert_eq!(changed.len(), good_rows().len());
    ws.set_gdp(changed.as_bytes());
    let third = ws.pipeline().run().unwrap().run;
    let (ino_3, sha_3, notes_3, path_3) = raw(&third);
    assert_ne!(ino_3, ino_1);
    assert_ne!(sha_3, sha_1);
    assert!(!notes_3.contains("gdp"), "{notes_3}");
    assert_eq!(fs::read_to_string(&path_3).unwrap(), changed);
    // The first run's folder can go: the second's copy stays whole.
    fs::remove_dir_all(ws.data().join("runs").join(first.as_str())).unwrap();
    assert!(!path_1.exists());
    assert_eq!(fs::read_to_string(&path_2).unwrap(), good_rows());
    let (sha_2_again, _) = engine::base::files::sha256_file(&path_2).unwrap();
    assert_eq!(sha_2_again, sha_2);
}

#[test]
fn a_snapshot_outlives_its_run_folder_and_moves_with_the_data_folder() {
    let ws = Workspace::new(good_rows().as_bytes(), 0.01);
    let first = ws.pipeline().run().unwrap().run;
    ws.set_gdp(good_rows().replace(",1980,", ",1979,").as_bytes());
    let second = ws.pipeline().run().unwrap().run;
    assert_ne!(first, second);
    // The snapshots read their own links to the Parquet files, not the run folders.
    fs::remove_dir_all(ws.data().join("runs")).unwrap();
    let moved = ws.dir.path().join("moved");
    fs::rename(ws.data(), &moved).unwrap();
    let store = SnapshotStore::new(&moved);
    for (run, first_year) in [(&first, 1980), (&second, 1979)] {
        let conn = store.open_read_only(run).unwrap();
        let (rows, runs, min_year, bn): (i64, i64, i32, f64) = conn
            .query_row(
                "SELECT count(*), count(DISTINCT run_id) FILTER (WHERE run_id = ?), min(year),
                        max(abs(value_bn - value / 1e9))
                 FROM observations WHERE source_id = 'gdp'",
                [run.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!((rows, runs, min_year, bn), (240, 1, first_year, 0.0));
    }
}

#[test]
fn series_and_edition_come_from_the_sources_file_and_an_older_transform_is_named() {
    let ws = Workspace::new(good_rows().as_bytes(), 0.01);
    let first = ws.pipeline().run().unwrap().run;
    let (_, conn) = SnapshotStore::new(ws.data()).open_current().unwrap();
    let (series, edition, rows): (String, String, i64) = conn
        .query_row(
            "SELECT min(series), min(edition), count(*) FILTER (WHERE series IS NULL OR edition IS NULL)
             FROM observations WHERE source_id = 'gdp'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (series.as_str(), edition.as_str(), rows),
        ("gdp_usd", "e", 0)
    );
    drop(conn);

    // A run whose transform predates `sources.parquet` cannot be loaded: the error says what to do.
    let pipeline = ws.pipeline();
    let rd = pipeline.new_run().unwrap();
    pipeline.run_stage(&rd, Stage::Extract).unwrap();
    pipeline.run_stage(&rd, Stage::Transform).unwrap();
    fs::remove_file(rd.stage_dir(Stage::Transform).join("sources.parquet")).unwrap();
    let err = pipeline
        .run_stage(&rd, Stage::Load)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("sources.parquet is missing")
            && err.contains(&format!("transform of run {} again", rd.run)),
        "{err}"
    );
    assert_eq!(
        SnapshotStore::new(ws.data()).current().unwrap(),
        Some(first)
    );
}

#[test]
fn a_second_runner_is_refused_while_the_first_holds_the_lock() {
    let ws = Workspace::new(good_rows().as_bytes(), 0.01);
    let first = ws.pipeline();
    let lock = first.lock().unwrap();
    // Another runner on the same folder (the CLI while the dashboard runs, say).
    let err = ws.pipeline().run().unwrap_err();
    assert!(matches!(err, PipelineError::Busy { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("another pipeline run is going")
            && message.contains(&format!("process {}", std::process::id())),
        "{message}"
    );
    assert!(
        engine::base::run::RunDir::list(&ws.data())
            .unwrap()
            .is_empty(),
        "nothing was started"
    );
    let outcome = first.run_locked(&lock).unwrap();
    drop(lock);
    // Released: the next runner goes ahead.
    assert_ne!(ws.pipeline().run().unwrap().run, outcome.run);
}

#[test]
fn stages_refuse_to_run_out_of_order_or_under_a_complete_later_stage() {
    let ws = Workspace::new(good_rows().as_bytes(), 0.01);
    let pipeline = ws.pipeline();
    let rd = pipeline.new_run().unwrap();
    let err = pipeline
        .run_stage(&rd, Stage::Load)
        .unwrap_err()
        .to_string();
    assert!(err.contains("the transform stage is not complete"), "{err}");

    // Once loaded, the transform is what the snapshot was made from: it is not redone in place.
    let done = pipeline.run().unwrap();
    let rd = find_run(&ws.data(), Some(done.run.as_str())).unwrap();
    let transformed = rd.manifest(Stage::Transform).unwrap();
    let err = pipeline
        .run_stage(&rd, Stage::Transform)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("its load stage is complete") && err.contains("start a new run"),
        "{err}"
    );
    assert_eq!(rd.manifest(Stage::Transform).unwrap(), transformed);
    // The last stage may be redone: loading an earlier run again serves its data again.
    let newer = pipeline.run().unwrap();
    let store = SnapshotStore::new(ws.data());
    assert_eq!(store.current().unwrap(), Some(newer.run));
    pipeline.run_stage(&rd, Stage::Load).unwrap();
    assert_eq!(store.current().unwrap(), Some(done.run));
}

/// A source whose every value is missing keeps no row: it has no files and no years, and the
/// load's checks and the next run's volume check agree that it holds nothing.
#[test]
fn a_source_with_only_missing_values_loads_and_is_summarised_as_empty() {
    let ws = Workspace::new(good_rows().as_bytes(), 0.01);
    let pop_source = "  - id: pop
    kind: csv
    series: population
    title: t
    publisher: p
    licence: l
    edition: e
    mirror: pop.csv
    columns: { code: Country Code, name: Country Name, year: Year, value: Value }
    unit: persons
    aggregates: wb
";
    fs::write(ws.dir.path().join("sources.yml"), config(0.01) + pop_source).unwrap();
    fs::write(
        ws.dir.path().join("mirror/pop.csv"),
        "Country Name,Country Code,Year,Value\nUS,USA,2000,\nKorea,KOR,2000,\n",
    )
    .unwrap();
    for _ in 0..2 {
        ws.pipeline().run().unwrap();
    }
    assert_eq!(
        ws.query_i64("SELECT rows FROM source_volumes WHERE source_id = 'pop'"),
        0
    );
    assert_eq!(
        ws.query_i64("SELECT count(*) FROM period_volumes WHERE source_id = 'pop'"),
        0
    );
    assert_eq!(
        ws.query_i64("SELECT rows FROM source_volumes WHERE source_id = 'gdp'"),
        240
    );
    assert_eq!(
        ws.query_i64("SELECT sum(rows) FROM period_volumes WHERE source_id = 'gdp'"),
        240
    );
}

#[test]
fn derived_values_never_treat_a_missing_year_as_a_fall() {
    let mut gdp = String::from("Country Name,Country Code,Year,Value\n");
    gdp.push_str("US,USA,2000,100\nUS,USA,2001,110\nUS,USA,2003,50\n");
    gdp.push_str("Korea,KOR,2000,50\nKorea,KOR,2001,40\nWorld,WLD,2001,1000\n");
    let ws = Workspace::new(gdp.as_bytes(), 0.01);
    ws.pipeline().run().unwrap();
    let (_, conn) = SnapshotStore::new(ws.data()).open_current().unwrap();
    let change = |code: &str, year: i32| -> Option<f64> {
        conn.query_row(
            "SELECT change_pct FROM observations WHERE code = ? AND year = ?",
            duckdb::params![code, year],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(change("USA", 2000), None);
    assert!((change("USA", 2001).unwrap() - 10.0).abs() < 1e-9);
    assert_eq!(
        change("USA", 2003),
        None,
        "2002 is missing: no change, certainly no fall"
    );
    assert!((change("KOR", 2001).unwrap() + 20.0).abs() < 1e-9);
    let (rank, share): (i32, f64) = conn
        .query_row(
            "SELECT rank, share_pct FROM observations WHERE code = 'KOR' AND year = 2001",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(rank, 2);
    assert!(
        (share - 40.0 / 150.0 * 100.0).abs() < 1e-9,
        "aggregates are not in the world sum"
    );
    let wld_rank: Option<i32> = conn
        .query_row(
            "SELECT rank FROM observations WHERE code = 'WLD'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(wld_rank, None);
}

#[test]
fn the_wikipedia_table_loads_by_name_with_unmatched_names_rejected() {
    let mirror = std::env::var_os("ACTIONBOARD_MIRROR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config/sources.yml");
    let mut sources = Sources::load(&config, &mirror).unwrap();
    for s in &mut sources.sources {
        s.enabled = s.id == "wikipedia_gdp" || s.id == "un_m49_regions" || s.id == "wb_gdp";
    }
    let data = tempfile::tempdir().unwrap();
    Pipeline::new(sources, data.path()).run().unwrap();
    let (_, conn) = SnapshotStore::new(data.path()).open_current().unwrap();
    let (usa, year): (f64, i32) = conn
        .query_row(
            "SELECT value, year FROM observations WHERE source_id = 'wikipedia_gdp' AND code = 'USA'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((usa, year), (30_337_162e6, 2025), "millions → US dollars");
    let world: bool = conn
        .query_row("SELECT is_aggregate FROM observations WHERE source_id = 'wikipedia_gdp' AND code = 'WLD'", [], |r| r.get(0))
        .unwrap();
    assert!(world);
    let missing_cuba: i64 = conn
        .query_row(
            "SELECT count(*) FROM observations WHERE source_id = 'wikipedia_gdp' AND code = 'CUB'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(missing_cuba, 0, "Cuba has no IMF figure: missing, not zero");
    let unmatched: Vec<String> = {
        let mut stmt = conn
            .prepare("SELECT value FROM rejects WHERE source_id = 'wikipedia_gdp' AND rule = 'known_name' ORDER BY 1")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert!(unmatched.iter().all(|n| !n.is_empty()));
    assert!(unmatched.len() < 21, "{unmatched:?}");
}

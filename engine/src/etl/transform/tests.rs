//! Tests of the whole transform (and its steps) on small and generated sources.

use super::rank::RANK_BLOCK_ROWS;
use super::raw::{RawBytes, MAP_FROM_BYTES};
use super::regions::CodeDictionary;
use super::*;
use crate::config::SourceKind;
use crate::etl::extract::csv::CsvBody;
use crate::etl::extract::extractor_for;
use crate::etl::extract::{extract_source, FetchSettings};
use rustc_hash::FxHashSet as HashSet;

#[test]
fn large_raw_files_are_mapped_small_ones_read_both_with_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.csv");
    std::fs::write(&small, b"a,b\n1,2\n").unwrap();
    let bytes = RawBytes::open(&small).unwrap();
    assert!(matches!(bytes, RawBytes::Read(_)));
    assert_eq!(&*bytes, b"a,b\n1,2\n");

    let large = dir.path().join("large.csv");
    let content: Vec<u8> = (0..MAP_FROM_BYTES as usize + 3)
        .map(|i| (i % 251) as u8)
        .collect();
    std::fs::write(&large, &content).unwrap();
    let bytes = RawBytes::open(&large).unwrap();
    assert!(matches!(bytes, RawBytes::Mapped(_)));
    assert_eq!(&*bytes, &content[..]);

    let missing = RawBytes::open(&dir.path().join("missing.csv"));
    assert_eq!(
        missing.err().map(|e| e.kind()),
        Some(std::io::ErrorKind::NotFound)
    );
}

const SOURCES_YML: &str = "defaults: { fetch: mirror }
aggregate_sets:
  t: [WLD]
sources:
  - { id: regions, role: regions, kind: csv, title: t, publisher: p, licence: l, edition: e, mirror: regions.csv,
      columns: { code: ISO3166-1-Alpha-3, name: CLDR display name, region: Region Name, sub_region: Sub-region Name } }
  - { id: gdp, kind: csv, series: gdp_usd, title: t, publisher: p, licence: l, edition: e, mirror: gdp.csv,
      columns: { code: Country Code, name: Country Name, year: Year, value: Value }, unit: usd, aggregates: t,
      checks: { min: 0, max: 1.0e15 } }
  - { id: pop, kind: csv, series: population, title: t, publisher: p, licence: l, edition: e, mirror: pop.csv,
      columns: { code: Country Code, name: Country Name, year: Year, value: Value }, unit: persons, aggregates: t,
      checks: { min: 0 } }
";

const REGIONS: &str = "ISO3166-1-Alpha-3,CLDR display name,Region Name,Sub-region Name\n\
        AAA,Aland,Europe,Northern Europe\nBBB,Bravo,Asia,Eastern Asia\nCCC,Charlie,Asia,Eastern Asia\n";

/// The sources, extracted from `gdp` and `pop` into a temporary folder, and transformed.
fn run(gdp: &str, pop: &str) -> Transformed {
    run_with(REGIONS, gdp, pop)
}

fn run_with(regions: &str, gdp: &str, pop: &str) -> Transformed {
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("mirror");
    std::fs::create_dir_all(&mirror).unwrap();
    std::fs::write(mirror.join("regions.csv"), regions).unwrap();
    std::fs::write(mirror.join("gdp.csv"), gdp).unwrap();
    std::fs::write(mirror.join("pop.csv"), pop).unwrap();
    std::fs::write(dir.path().join("sources.yml"), SOURCES_YML).unwrap();
    let sources = Sources::load(&dir.path().join("sources.yml"), &mirror).unwrap();
    let extract = dir.path().join("extract");
    std::fs::create_dir_all(extract.join("raw")).unwrap();
    let settings = FetchSettings::from_config(&sources);
    let provenance: Vec<Provenance> = sources
        .enabled()
        .map(|s| extract_source(s, &settings, &extract.join("raw")).unwrap())
        .collect();
    transform(&sources, &extract, &provenance).unwrap()
}

const HEADER: &str = "Country Name,Country Code,Year,Value\n";

/// (code, year) → (value, change, rank, share, per capita) of a source.
type Row = (
    String,
    i32,
    f64,
    Option<f64>,
    Option<u32>,
    Option<f64>,
    Option<f64>,
);

fn rows(t: &Transformed, source: &str) -> Vec<Row> {
    let s = t
        .observations
        .iter()
        .find(|s| &*s.source_id == source)
        .unwrap();
    let b = s.fill(0..s.len());
    (0..b.len())
        .map(|i| {
            (
                t.codes[b.code[i] as usize].clone(),
                b.year[i],
                b.value[i],
                b.change_at(i),
                b.rank_at(i),
                b.share_at(i),
                b.per_capita_at(i),
            )
        })
        .collect()
}

#[test]
fn rows_are_sorted_deduplicated_and_derived() {
    let gdp = format!(
            "{HEADER}Charlie,CCC,2001,300\nBravo,BBB,2000,100\nBravo,BBB,2001,150\nBravo,BBB,2003,300\n\
             Aland,AAA,2001,300\nWorld,WLD,2001,900\nBravo,BBB,2000,999\n\"Aland, Rep.\",AAA,2000,0\n"
        );
    let pop = format!("{HEADER}Bravo,BBB,2001,10\nAland,AAA,2001,0\n");
    let t = run(&gdp, &pop);
    assert_eq!(t.codes, ["AAA", "BBB", "CCC", "WLD"]);
    let r = |code: &str, year, value, change, rank, share, per_capita| -> Row {
        (code.into(), year, value, change, rank, share, per_capita)
    };
    assert_eq!(
        rows(&t, "gdp"),
        [
            r("AAA", 2000, 0.0, None, Some(2), Some(0.0), None),
            // The previous year's value is 0: no change.
            r("AAA", 2001, 300.0, None, Some(1), Some(40.0), None),
            r("BBB", 2000, 100.0, None, Some(1), Some(100.0), None),
            r(
                "BBB",
                2001,
                150.0,
                Some(50.0),
                Some(3),
                Some(20.0),
                Some(15.0)
            ),
            // 2002 is missing: no change for 2003.
            r("BBB", 2003, 300.0, None, Some(1), Some(100.0), None),
            // A tie with AAA: ranked in code order.
            r("CCC", 2001, 300.0, None, Some(2), Some(40.0), None),
            // Aggregates are neither ranked nor shared.
            r("WLD", 2001, 900.0, None, None, None, None),
        ]
    );
    let gdp_obs = &t.observations[0];
    let b = gdp_obs.fill(0..gdp_obs.len());
    assert_eq!(&*gdp_obs.names[b.name[0] as usize], "Aland, Rep.");
    assert_eq!(&*gdp_obs.names[b.name[1] as usize], "Aland");
    assert_eq!(
        b.is_aggregate,
        [false, false, false, false, false, false, true]
    );
    // Filled from any row on, a batch is the same rows as the whole.
    for start in 0..=gdp_obs.len() {
        let part = gdp_obs.fill(start..gdp_obs.len());
        assert_eq!(part.code, b.code[start..]);
        assert_eq!(part.rank, b.rank[start..]);
        assert_eq!(
            part.change_pct
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>(),
            b.change_pct[start..]
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>()
        );
    }
    let dup = t.rejects.iter().find(|r| r.rule == "unique").unwrap();
    assert_eq!(
        (
            dup.location.as_str(),
            dup.value.as_str(),
            dup.message.as_str()
        ),
        (
            "line 8",
            "BBB, 2000",
            "BBB 2000 appears again; the first is at line 3"
        )
    );
    assert_eq!(t.counts["gdp"].rows_out, 7);
    assert_eq!(t.counts["pop"].rows_out, 2);
    assert_eq!(t.observation_count(), 9);
}

#[test]
fn names_with_control_characters_are_rejected_never_stored() {
    let regions = format!(
        "{}DDD,\"Del\u{0}ta\",Asia,Eastern Asia\nEEE,Echo,\"Eu\u{1b}[31mrope\",Southern Europe\n",
        REGIONS
    );
    let gdp = format!(
            "{HEADER}Bravo,BBB,2000,1\n\"Br\u{0}avo\",BBB,2001,2\n\"Aland\ttab\",AAA,2000,3\nAland,AAA,2001,4\n"
        );
    let t = run_with(&regions, &gdp, &format!("{HEADER}Bravo,BBB,2000,5\n"));
    let found: Vec<(&str, &str, &str)> = t
        .rejects
        .iter()
        .filter(|r| r.rule == "control_character")
        .map(|r| (r.source_id.as_str(), r.field.as_str(), r.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "regions",
                "name",
                "the name contains the control character U+0000; remove it from the source file"
            ),
            (
                "regions",
                "region",
                "the region contains the control character U+001B; remove it from the source file"
            ),
            (
                "gdp",
                "name",
                "the name contains the control character U+0000; remove it from the source file"
            ),
            (
                "gdp",
                "name",
                "the name contains the control character U+0009; remove it from the source file"
            ),
        ]
    );
    assert!(t.regions.iter().all(|r| !r.name.contains('\u{0}')));
    assert!(t
        .rejects
        .iter()
        .all(|r| !r.value.chars().any(char::is_control)));
    assert!(t.rejects.iter().any(|r| r.value == "Del\\u{0000}ta"));
    assert!(!t.regions.iter().any(|r| r.code == "DDD" || r.code == "EEE"));
    let gdp_obs = t
        .observations
        .iter()
        .find(|s| &*s.source_id == "gdp")
        .unwrap();
    assert!(gdp_obs
        .names
        .iter()
        .all(|n| !n.chars().any(char::is_control)));
    assert_eq!(gdp_obs.len(), 2, "the two clean rows are kept");
}

#[test]
fn rejects_keep_file_order_then_duplicates_in_key_order() {
    let gdp = format!(
            "{HEADER}Bravo,BBB,2000,1\nBravo,BBB,2000,2\nAland,AAA,2000,1\nAland,AAA,2000,2\n\
             Zed,ZZZ,2000,1\nBravo,BBB,20x0,1\nBravo,BBB,2001,-1\nBravo,BBB,2002,\nBravo,BBB,2003\n"
        );
    let t = run(&gdp, &format!("{HEADER}Bravo,BBB,1990,5\n"));
    let got: Vec<(&str, &str)> = t
        .rejects
        .iter()
        .map(|r| (r.location.as_str(), r.rule.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("line 6", "known_code"),
            ("line 7", "type"),
            ("line 8", "range"),
            ("line 10", "row_shape"),
            ("line 5", "unique"),
            ("line 3", "unique"),
        ]
    );
    let c = &t.counts["gdp"];
    assert_eq!((c.rows_in, c.rows_out, c.rejected, c.missing), (9, 2, 6, 1));
}

/// Over several of the blocks ranks are kept in, with entities in shuffled order, ties,
/// zeros, gaps and a population source: every derived figure equals a plain computation, and
/// a batch filled from any position (block edges included) equals the same rows of the whole.
#[test]
fn derived_figures_over_many_blocks_match_a_plain_computation() {
    let entities = 3200u64;
    let mut regions =
        String::from("ISO3166-1-Alpha-3,CLDR display name,Region Name,Sub-region Name\n");
    let mut order: Vec<u64> = (0..entities).collect();
    let mut seed = 7u64;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        seed >> 33
    };
    for i in (1..order.len()).rev() {
        order.swap(i, (next() % (i as u64 + 1)) as usize);
    }
    let (mut gdp, mut pop) = (String::from(HEADER), String::from(HEADER));
    // (code, year) → value, as the file holds them.
    let mut values: BTreeMap<(String, i32), f64> = BTreeMap::new();
    let mut population: HashMap<(String, i32), f64> = HashMap::default();
    for &e in &order {
        let code = format!("E{e:04}");
        regions.push_str(&format!("{code},Name {e},Asia,Eastern Asia\n"));
        for year in 1960..2026 {
            if next() % 50 == 0 {
                continue;
            }
            // Few distinct values: many ties; some zeros.
            let value = (next() % 40) as f64 * 1000.0;
            gdp.push_str(&format!("Name {e},{code},{year},{value}\n"));
            values.insert((code.clone(), year), value);
            if e % 3 == 0 {
                let people = (1 + next() % 9) as f64;
                pop.push_str(&format!("Name {e},{code},{year},{people}\n"));
                population.insert((code.clone(), year), people);
            }
        }
    }
    gdp.push_str("World,WLD,2000,5\n");
    let t = run_with(&regions, &gdp, &pop);
    let got = rows(&t, "gdp");
    assert!(got.len() > 3 * RANK_BLOCK_ROWS, "{} rows", got.len());

    let mut expected: Vec<Row> = Vec::new();
    let mut by_year: BTreeMap<i32, Vec<(String, f64)>> = BTreeMap::new();
    for ((code, year), &value) in &values {
        by_year
            .entry(*year)
            .or_default()
            .push((code.clone(), value));
    }
    let mut rank_share: HashMap<(String, i32), (u32, Option<f64>)> = HashMap::default();
    for (year, mut rows) in by_year {
        // Largest first; ties in code order (the sort is stable over code order).
        rows.sort_by(|a, b| b.1.total_cmp(&a.1));
        let total: f64 = rows.iter().map(|r| r.1).sum();
        for (k, (code, value)) in rows.into_iter().enumerate() {
            let share = (total > 0.0).then(|| value / total * 100.0);
            rank_share.insert((code, year), (k as u32 + 1, share));
        }
    }
    for ((code, year), &value) in &values {
        let prev = values.get(&(code.clone(), year - 1));
        let change = prev
            .filter(|&&p| p > 0.0)
            .map(|p| (value / p - 1.0) * 100.0);
        let (rank, share) = rank_share[&(code.clone(), *year)];
        let per_capita = population.get(&(code.clone(), *year)).map(|p| value / p);
        expected.push((
            code.clone(),
            *year,
            value,
            change,
            Some(rank),
            share,
            per_capita,
        ));
    }
    expected.push(("WLD".into(), 2000, 5.0, None, None, None, None));
    expected.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(g, e);
    }

    let s = t
        .observations
        .iter()
        .find(|s| &*s.source_id == "gdp")
        .unwrap();
    let whole = s.fill(0..s.len());
    for start in [
        1,
        RANK_BLOCK_ROWS - 1,
        RANK_BLOCK_ROWS,
        RANK_BLOCK_ROWS + 1,
        2 * RANK_BLOCK_ROWS + 77,
        s.len() - 1,
    ] {
        let end = (start + RANK_BLOCK_ROWS / 2).min(s.len());
        let part = s.fill(start..end);
        assert_eq!(part.rank, whole.rank[start..end], "from {start}");
        assert_eq!(part.code, whole.code[start..end], "from {start}");
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&part.share_pct), bits(&whole.share_pct[start..end]));
        assert_eq!(bits(&part.change_pct), bits(&whole.change_pct[start..end]));
    }
    // The summaries count the same rows.
    assert_eq!(s.countries(), entities);
    let periods = s.periods();
    assert_eq!(periods.iter().map(|p| p.rows).sum::<u64>(), s.len() as u64);
    let y2000 = periods.iter().find(|p| p.year == 2000).unwrap();
    let countries_2000 = values.keys().filter(|k| k.1 == 2000).count() as u64;
    assert_eq!(
        (y2000.rows, y2000.countries),
        (countries_2000 + 1, countries_2000)
    );
    // Each year's countries with a row the year before too, over shuffled entities with gaps
    // and across blocks.
    for p in periods {
        let expected = values
            .keys()
            .filter(|(code, year)| {
                *year == p.year && values.contains_key(&(code.clone(), year - 1))
            })
            .count() as u64;
        assert_eq!(p.countries_with_previous, expected, "{}", p.year);
    }
    assert!(periods.iter().any(|p| p.countries_with_previous > 0));
}

/// The CSV fast path (any chunk size) and the row path give the same columns and rejects.
#[test]
fn csv_chunks_and_parsed_rows_agree() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sources.yml"), SOURCES_YML).unwrap();
    let sources = Sources::load(&dir.path().join("sources.yml"), dir.path()).unwrap();
    let source = sources.get("gdp").unwrap();
    let gdp = format!(
            "{HEADER}\"Two\nLines\",BBB,2000,1\nBravo,BBB,2000,2\nAland,AAA,1999,1\nWorld,WLD,1999,5\n\
             Zed,ZZZ,2000,1\nBravo,BBB,20x0,1\n\"Say \"\"hi\"\"\",CCC,2001,-1\nBravo,BBB,2002,\nBravo,BBB,20"
        );
    let countries: HashSet<&str> = ["AAA", "BBB", "CCC"].into_iter().collect();
    let dict = CodeDictionary::new(&sources, countries.iter().copied());
    let names = HashMap::default();
    let table = extractor_for(SourceKind::Csv)
        .parse(source, "gdp.csv", gdp.as_bytes())
        .unwrap();
    let v = Validator {
        sources: &sources,
        source,
        file: "gdp.csv",
        cols: ObservationColumns::find(source, &table.columns),
        dict: &dict,
        names: &names,
    };
    let from_rows = observations_from(&v, &Parsed::Table(table), &|_| {}, &NoProgress);
    assert_eq!(from_rows.0.len(), 3);
    assert_eq!(from_rows.1.len(), 5);
    for chunk_bytes in [1, 10, 40, 1 << 20] {
        let body = CsvBody::open(source, "gdp.csv", gdp.as_bytes(), chunk_bytes).unwrap();
        assert_eq!(body.chunks.iter().map(|c| c.lines).sum::<u64>(), 10);
        let from_chunks = observations_from(&v, &Parsed::Csv(body), &|_| {}, &NoProgress);
        let (a, b) = (
            from_chunks.0.fill(0..from_chunks.0.len()),
            from_rows.0.fill(0..from_rows.0.len()),
        );
        assert_eq!(a.code, b.code, "{chunk_bytes}");
        assert_eq!(a.value, b.value);
        assert_eq!(
            (0..a.len()).map(|i| a.change_at(i)).collect::<Vec<_>>(),
            (0..b.len()).map(|i| b.change_at(i)).collect::<Vec<_>>()
        );
        let names = |o: &SourceObservations| -> Vec<String> {
            let b = o.fill(0..o.len());
            b.name
                .iter()
                .map(|&n| o.names[n as usize].to_string())
                .collect()
        };
        assert_eq!(names(&from_chunks.0), names(&from_rows.0));
        assert_eq!(from_chunks.1, from_rows.1);
        assert_eq!(from_chunks.2, from_rows.2);
    }
}

/// A messy, unsorted file (shuffled keys, duplicates, quoted names with commas and quotes,
/// bad values, short rows), read in chunks of every size, keeps exactly the rows
/// and rejects of an independent reading: the `csv` crate row by row, first row of a key wins.
#[test]
fn unsorted_messy_file_matches_an_independent_reading() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sources.yml"), SOURCES_YML).unwrap();
    let sources = Sources::load(&dir.path().join("sources.yml"), dir.path()).unwrap();
    let source = sources.get("gdp").unwrap();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let mut gdp = String::from(HEADER);
    for _ in 0..3000 {
        let code = ["AAA", "BBB", "CCC", "WLD", "ZZZ"][next(5) as usize];
        let name = match next(4) {
            0 => format!("\"{code}, \"\"Rep.\"\"\""),
            1 => format!(" {code} "),
            _ => code.to_string(),
        };
        let year = match next(50) {
            0 => "19x5".to_string(),
            1 => "1850".to_string(),
            _ => (1950 + next(100)).to_string(),
        };
        let value = match next(20) {
            0 => String::new(),
            1 => "NaN".into(),
            2 => format!("-{}", next(1000)),
            3 => "1e20".into(),
            4 => format!("{:e}", next(1 << 40) as f64 / 7.0),
            _ => format!("{}", next(1 << 50) as f64 / 3.0),
        };
        // (CRLF lines are left to the reader's own test: the `csv` crate numbers the line
        // after one differently when it reads a whole file than when it starts there.)
        if next(100) == 0 {
            gdp.push_str(&format!("{name},{code},{year}\n"));
        } else {
            gdp.push_str(&format!("{name},{code},{year},{value}\n"));
        }
    }

    // The independent reading.
    let known = ["AAA", "BBB", "CCC", "WLD"];
    let mut first: BTreeMap<(String, i32), (f64, u64)> = BTreeMap::new();
    let (mut expected_rejects, mut missing, mut rows_in) = (Vec::new(), 0, 0);
    let mut reader = ::csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(gdp.as_bytes());
    for record in reader.records() {
        let record = record.unwrap();
        let line = record.position().unwrap().line();
        rows_in += 1;
        let cell = |i: usize| record.get(i).unwrap_or("").trim();
        let (code, year, value) = (cell(1), cell(2), cell(3));
        let rule = if record.len() != 4 {
            "row_shape"
        } else if !known.contains(&code) {
            "known_code"
        } else if let Ok(year) = year.parse::<i32>() {
            if !(1900..=2100).contains(&year) {
                "range"
            } else if value.is_empty() {
                missing += 1;
                continue;
            } else {
                match value.parse::<f64>() {
                    Err(_) => "type",
                    Ok(v) if !v.is_finite() => "finite",
                    Ok(v) if !(0.0..=1.0e15).contains(&v) => "range",
                    Ok(v) => match first.entry((code.to_string(), year)) {
                        std::collections::btree_map::Entry::Occupied(_) => "unique",
                        std::collections::btree_map::Entry::Vacant(slot) => {
                            slot.insert((v, line));
                            continue;
                        }
                    },
                }
            }
        } else {
            "type"
        };
        expected_rejects.push((format!("line {line}"), rule.to_string()));
    }
    let expected_rows: Vec<(String, i32, u64)> = first
        .iter()
        .map(|((code, year), (value, _))| (code.clone(), *year, value.to_bits()))
        .collect();
    expected_rejects.sort();
    assert!(expected_rows.len() > 100 && expected_rejects.len() > 100);

    let countries: HashSet<&str> = ["AAA", "BBB", "CCC"].into_iter().collect();
    let dict = CodeDictionary::new(&sources, countries.iter().copied());
    let names = HashMap::default();
    for chunk_bytes in [1, 64, 1000, 1 << 20] {
        let body = CsvBody::open(source, "gdp.csv", gdp.as_bytes(), chunk_bytes).unwrap();
        let v = Validator {
            sources: &sources,
            source,
            file: "gdp.csv",
            cols: ObservationColumns::find(source, &body.columns),
            dict: &dict,
            names: &names,
        };
        let (obs, rejects, counts) =
            observations_from(&v, &Parsed::Csv(body), &|_| {}, &NoProgress);
        let b = obs.fill(0..obs.len());
        let got_rows: Vec<(String, i32, u64)> = (0..b.len())
            .map(|i| {
                let code = dict.codes[b.code[i] as usize].clone();
                (code, b.year[i], b.value[i].to_bits())
            })
            .collect();
        assert_eq!(got_rows, expected_rows, "chunks of {chunk_bytes} bytes");
        let mut got_rejects: Vec<(String, String)> = rejects
            .iter()
            .map(|r| (r.location.clone(), r.rule.clone()))
            .collect();
        got_rejects.sort();
        assert_eq!(
            got_rejects, expected_rejects,
            "chunks of {chunk_bytes} bytes"
        );
        // Each duplicate names the line of the row kept for its key.
        for r in rejects.iter().filter(|r| r.rule == "unique") {
            let (_, kept_line) = first[&(r.code.clone(), r.year.unwrap())];
            assert!(
                r.message.ends_with(&format!("line {kept_line}")),
                "{}",
                r.message
            );
        }
        assert_eq!(
            (counts.rows_in, counts.missing, counts.rows_out),
            (rows_in, missing, expected_rows.len() as u64)
        );
    }
}

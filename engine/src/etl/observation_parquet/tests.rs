//! The writers' files read back: in two independent readers, and the fast path against its
//! plain counterpart.

use super::*;
use crate::etl::transform::ObservationBatch;
use parquet::file::statistics::Statistics;
use testkit::Xorshift as Rng;

/// `rows` rows in (code, year) order: runs of codes, names mostly one per code, figures
/// missing here and there, values of every size and sign.
fn batch(
    rng: &mut Rng,
    rows: usize,
    codes: usize,
    names: usize,
    per_capita: bool,
) -> ObservationBatch {
    let mut b = ObservationBatch::default();
    let mut code = rng.below(codes as u64) as u32;
    let mut year = 1960;
    while b.len() < rows {
        if rng.below(30) == 0 {
            code = (code + 1 + rng.below(3) as u32).min(codes as u32 - 1);
            year = 1960 + rng.below(5) as i32;
        }
        year += 1;
        b.code.push(code);
        b.name.push(if rng.below(10) == 0 {
            rng.below(names as u64) as u32
        } else {
            code % names as u32
        });
        b.year.push(year);
        let value = match rng.below(6) {
            0 => 0.0,
            1 => -(rng.below(1000) as f64) / 7.0,
            2 => 1.234_567_890_123_456_7e-300 * rng.below(10) as f64,
            _ => rng.next_u64() as f64 / 3.0,
        };
        b.value.push(value);
        b.is_aggregate.push(rng.below(9) == 0);
        b.is_projection.push(rng.below(4) == 0);
        let figure = |rng: &mut Rng| {
            if rng.below(3) == 0 {
                f64::NAN
            } else {
                (rng.next_u64() as f64 / u64::MAX as f64) * 200.0 - 100.0
            }
        };
        b.change_pct.push(figure(rng));
        b.rank.push(if rng.below(5) == 0 {
            0
        } else {
            1 + rng.below(250) as u32
        });
        b.share_pct.push(figure(rng));
        if per_capita {
            b.per_capita.push(figure(rng));
        }
    }
    b
}

fn same_figure(a: Option<f64>, b: f64) -> bool {
    match a {
        None => b.is_nan(),
        Some(a) => a.to_bits() == b.to_bits(),
    }
}

/// Files written here read back row for row in two independent readers (the `parquet`
/// crate's Arrow reader and DuckDB), with statistics that hold for every row group (DuckDB
/// skips row groups by them: a wrong bound would hide rows from a filtered query).
#[test]
fn written_files_read_back_row_for_row_in_arrow_and_duckdb() {
    use duckdb::arrow::array::{Array, AsArray, Float64Array};
    use duckdb::arrow::datatypes::{Float64Type, Int32Type};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    let dir = tempfile::tempdir().unwrap();
    // Codes sorted (as the transform's are), some quoted, with commas, accents, long.
    let mut codes: Vec<String> = (0..3000).map(|i| format!("C{i:04}")).collect();
    codes.extend([
        "Côte d'Ivoire, \"CIV\"".to_string(),
        "Z".repeat(300),
        String::new(),
    ]);
    codes.sort();
    let names: Vec<Box<str>> = (0..700)
        .map(|i| format!("Name, {i} \"q\" ü").into())
        .collect();
    let mut rng = Rng(0x5eed);
    for (case, sizes, per_capita) in [
        ("one", vec![1], true),
        ("many", vec![1000, 7, 40_000, 3], true),
        ("no_per_capita", vec![20_000, 65_536], false),
    ] {
        let batches: Vec<ObservationBatch> = sizes
            .iter()
            .map(|&n| batch(&mut rng, n, codes.len(), names.len(), per_capita))
            .collect();
        let path = dir.path().join(format!("{case}.parquet"));
        let mut w =
            ObservationFileWriter::new(std::fs::File::create(&path).unwrap(), &codes, &names)
                .unwrap();
        for b in &batches {
            w.write(b).unwrap();
        }
        w.finish().unwrap().sync_all().unwrap();
        let rows: Vec<(usize, usize)> = batches
            .iter()
            .enumerate()
            .flat_map(|(k, b)| (0..b.len()).map(move |i| (k, i)))
            .collect();

        // Arrow: every column, every row; codes come back as dictionaries.
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap()).unwrap();
        let metadata = reader.metadata().clone();
        assert_eq!(metadata.num_row_groups(), sizes.len(), "{case}");
        let mut at = 0;
        for read in reader.build().unwrap() {
            let read = read.unwrap();
            let code = read.column(0).as_dictionary::<Int32Type>();
            let code_values = code.values().as_string::<i32>();
            let name = read.column(1).as_dictionary::<Int32Type>();
            let name_values = name.values().as_string::<i32>();
            let int = |c: usize| read.column(c).as_primitive::<Int32Type>().clone();
            let float = |c: usize| read.column(c).as_primitive::<Float64Type>().clone();
            let flag = |c: usize| read.column(c).as_boolean().clone();
            let (year, value, change, rank, share, capita) =
                (int(2), float(3), float(6), int(7), float(8), float(9));
            let opt_f = |a: &Float64Array, i: usize| (!a.is_null(i)).then(|| a.value(i));
            for i in 0..read.num_rows() {
                let (k, r) = rows[at];
                let b = &batches[k];
                let ctx = format!("{case}: batch {k} row {r}");
                assert_eq!(
                    code_values.value(code.keys().value(i) as usize),
                    codes[b.code[r] as usize],
                    "{ctx}"
                );
                assert_eq!(
                    name_values.value(name.keys().value(i) as usize),
                    &*names[b.name[r] as usize],
                    "{ctx}"
                );
                assert_eq!(year.value(i), b.year[r], "{ctx}");
                assert_eq!(value.value(i).to_bits(), b.value[r].to_bits(), "{ctx}");
                assert_eq!(flag(4).value(i), b.is_aggregate[r], "{ctx}");
                assert_eq!(flag(5).value(i), b.is_projection[r], "{ctx}");
                assert!(same_figure(opt_f(&change, i), b.change_pct[r]), "{ctx}");
                assert_eq!(
                    rank.is_valid(i).then(|| rank.value(i) as u32),
                    Some(b.rank[r]).filter(|&r| r > 0),
                    "{ctx}"
                );
                assert!(same_figure(opt_f(&share, i), b.share_pct[r]), "{ctx}");
                let expected = if per_capita {
                    b.per_capita[r]
                } else {
                    f64::NAN
                };
                assert!(same_figure(opt_f(&capita, i), expected), "{ctx}");
                at += 1;
            }
        }
        assert_eq!(at, rows.len(), "{case}");

        // Statistics of each row group bound its rows (and are exact).
        for (k, b) in batches.iter().enumerate() {
            let group = metadata.row_group(k);
            assert_eq!(group.num_rows(), b.len() as i64);
            let stats = |c: usize| group.column(c).statistics().unwrap().clone();
            let code_min = b
                .code
                .iter()
                .map(|&c| codes[c as usize].as_bytes())
                .min()
                .unwrap();
            let code_max = b
                .code
                .iter()
                .map(|&c| codes[c as usize].as_bytes())
                .max()
                .unwrap();
            let Statistics::ByteArray(code) = stats(0) else {
                panic!("code statistics")
            };
            assert_eq!(
                (
                    code.min_opt().unwrap().data(),
                    code.max_opt().unwrap().data()
                ),
                (code_min, code_max)
            );
            let Statistics::Int32(year) = stats(2) else {
                panic!("year statistics")
            };
            assert_eq!(
                (*year.min_opt().unwrap(), *year.max_opt().unwrap()),
                (*b.year.iter().min().unwrap(), *b.year.iter().max().unwrap())
            );
            let Statistics::Int32(rank) = stats(7) else {
                panic!("rank statistics")
            };
            assert_eq!(
                rank.null_count_opt(),
                Some(b.rank.iter().filter(|&&r| r == 0).count() as u64)
            );
            let Statistics::Double(per_capita_stats) = stats(9) else {
                panic!("per capita statistics")
            };
            if !per_capita {
                assert_eq!(per_capita_stats.null_count_opt(), Some(b.len() as u64));
            }
        }

        // DuckDB: the same rows in file order, and filters that go through the statistics.
        let conn = duckdb::Connection::open_in_memory().unwrap();
        let file = path.display().to_string().replace('\'', "''");
        let mut stmt = conn
                .prepare(&format!(
                    "SELECT code, name_in_source, year, value, is_aggregate, is_projection, change_pct, rank, share_pct, per_capita FROM read_parquet('{file}')"
                ))
                .unwrap();
        let mut read = stmt.query([]).unwrap();
        let mut at = 0;
        while let Some(row) = read.next().unwrap() {
            let (k, r) = rows[at];
            let b = &batches[k];
            let ctx = format!("{case} in DuckDB: batch {k} row {r}");
            assert_eq!(
                row.get::<_, String>(0).unwrap(),
                codes[b.code[r] as usize],
                "{ctx}"
            );
            assert_eq!(
                row.get::<_, String>(1).unwrap(),
                &*names[b.name[r] as usize],
                "{ctx}"
            );
            assert_eq!(row.get::<_, i32>(2).unwrap(), b.year[r], "{ctx}");
            assert_eq!(
                row.get::<_, f64>(3).unwrap().to_bits(),
                b.value[r].to_bits(),
                "{ctx}"
            );
            assert_eq!(row.get::<_, bool>(4).unwrap(), b.is_aggregate[r], "{ctx}");
            assert_eq!(row.get::<_, bool>(5).unwrap(), b.is_projection[r], "{ctx}");
            assert!(same_figure(row.get(6).unwrap(), b.change_pct[r]), "{ctx}");
            assert_eq!(
                row.get::<_, Option<u32>>(7).unwrap().unwrap_or(0),
                b.rank[r],
                "{ctx}"
            );
            assert!(same_figure(row.get(8).unwrap(), b.share_pct[r]), "{ctx}");
            let expected = if per_capita {
                b.per_capita[r]
            } else {
                f64::NAN
            };
            assert!(same_figure(row.get(9).unwrap(), expected), "{ctx}");
            at += 1;
        }
        assert_eq!(at, rows.len(), "{case} in DuckDB");
        for _ in 0..20 {
            let (k, r) = rows[rng.below(rows.len() as u64) as usize];
            let (code, year) = (&codes[batches[k].code[r] as usize], batches[k].year[r]);
            let expected = rows
                .iter()
                .filter(|&&(k, r)| {
                    codes[batches[k].code[r] as usize] == *code && batches[k].year[r] >= year
                })
                .count();
            let found: usize = conn
                .query_row(
                    &format!(
                        "SELECT count(*) FROM read_parquet('{file}') WHERE code = ? AND year >= ?"
                    ),
                    duckdb::params![code, year],
                    |row| row.get(0),
                )
                .unwrap();
            assert_eq!(found, expected, "{case}: rows of {code} from {year}");
        }
    }
}

/// A figure of any kind: none (NaN), signed zeros, infinities, subnormals, any bits.
fn messy_figure(rng: &mut Rng) -> f64 {
    match rng.below(8) {
        0 => f64::NAN,
        1 => -0.0,
        2 => 0.0,
        3 => [f64::INFINITY, f64::NEG_INFINITY, f64::MIN_POSITIVE / 8.0][rng.below(3) as usize],
        _ => {
            let v = f64::from_bits(rng.next_u64());
            if v.is_nan() {
                1.5
            } else {
                v
            }
        }
    }
}

/// `rows` rows in no order at all, ids anywhere in their dictionaries.
fn messy_batch(
    rng: &mut Rng,
    rows: usize,
    codes: usize,
    names: usize,
    per_capita: bool,
) -> ObservationBatch {
    let mut b = ObservationBatch::default();
    for _ in 0..rows {
        b.code.push(rng.below(codes as u64) as u32);
        b.name.push(rng.below(names as u64) as u32);
        b.year.push(rng.next_u64() as i32);
        b.value.push(messy_figure(rng));
        b.is_aggregate.push(rng.below(2) == 0);
        b.is_projection.push(rng.below(3) == 0);
        b.change_pct.push(messy_figure(rng));
        b.rank.push(match rng.below(4) {
            0 => 0,
            1 => rng.next_u64() as u32,
            _ => rng.below(300) as u32,
        });
        b.share_pct.push(messy_figure(rng));
        if per_capita {
            b.per_capita.push(messy_figure(rng));
        }
    }
    b
}

/// A row as read back, every figure by its bits.
type ReadRow = (
    String,
    String,
    i32,
    u64,
    bool,
    bool,
    Option<u64>,
    Option<i32>,
    Option<u64>,
    Option<u64>,
);

/// A row group's rows and each column's null count (when it has statistics).
type ReadGroup = (i64, Vec<Option<u64>>);

/// Every row of a Parquet file in order, and its row groups.
fn read_back(file: Vec<u8>) -> (Vec<ReadRow>, Vec<ReadGroup>) {
    use duckdb::arrow::array::{Array, AsArray};
    use duckdb::arrow::datatypes::{Float64Type, Int32Type};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(file)).unwrap();
    let groups = reader
        .metadata()
        .row_groups()
        .iter()
        .map(|g| {
            let nulls = g
                .columns()
                .iter()
                .map(|c| c.statistics().and_then(|s| s.null_count_opt()))
                .collect();
            (g.num_rows(), nulls)
        })
        .collect();
    let mut rows = Vec::new();
    for read in reader.build().unwrap() {
        let read = read.unwrap();
        let text = |c: usize, i: usize| {
            let d = read.column(c).as_dictionary::<Int32Type>();
            let values = d.values().as_string::<i32>();
            values.value(d.keys().value(i) as usize).to_string()
        };
        let int = |c: usize| read.column(c).as_primitive::<Int32Type>().clone();
        let float = |c: usize| read.column(c).as_primitive::<Float64Type>().clone();
        let (year, value, change, rank, share, capita) =
            (int(2), float(3), float(6), int(7), float(8), float(9));
        let opt = |a: &duckdb::arrow::array::Float64Array, i: usize| {
            a.is_valid(i).then(|| a.value(i).to_bits())
        };
        for i in 0..read.num_rows() {
            rows.push((
                text(0, i),
                text(1, i),
                year.value(i),
                value.value(i).to_bits(),
                read.column(4).as_boolean().value(i),
                read.column(5).as_boolean().value(i),
                opt(&change, i),
                rank.is_valid(i).then(|| rank.value(i)),
                opt(&share, i),
                opt(&capita, i),
            ));
        }
    }
    (rows, groups)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// The fast path and its plain counterpart (`ArrowWriter`) write files that read back as
    /// the same rows in the same row groups, with the same null counts, for random batches:
    /// messy strings, ids anywhere, every kind of figure, empty batches, with and without per
    /// capita.
    #[test]
    fn the_fast_writer_reads_back_as_the_arrow_writer(
        seed in proptest::prelude::any::<u64>(),
        sizes in proptest::collection::vec(0usize..2500, 1..5),
        codes in 1usize..400,
        names in 1usize..60,
        per_capita in proptest::prelude::any::<bool>(),
    ) {
        let mut rng = Rng(seed | 1);
        let codes: Vec<String> = (0..codes).map(|_| testkit::messy::text(&mut rng)).collect();
        let names: Vec<Box<str>> = (0..names).map(|_| testkit::messy::text(&mut rng).into()).collect();
        let batches: Vec<ObservationBatch> = sizes
            .iter()
            .map(|&n| messy_batch(&mut rng, n, codes.len(), names.len(), per_capita))
            .collect();

        let mut fast = ObservationFileWriter::new(Vec::new(), &codes, &names).unwrap();
        let mut plain = ArrowObservationWriter::new(Vec::new(), &codes, &names).unwrap();
        for b in &batches {
            fast.write(b).unwrap();
            plain.write(b).unwrap();
        }
        let (fast_rows, fast_groups) = read_back(fast.finish().unwrap());
        let (plain_rows, plain_groups) = read_back(plain.finish().unwrap());
        proptest::prop_assert_eq!(fast_rows.len(), sizes.iter().sum::<usize>());
        proptest::prop_assert_eq!(&fast_rows, &plain_rows);
        // The same row groups; the same null counts wherever the fast path writes statistics
        // (not for the names, which nobody filters on).
        proptest::prop_assert_eq!(fast_groups.len(), plain_groups.len());
        for ((fast_rows, fast_nulls), (plain_rows, plain_nulls)) in fast_groups.iter().zip(&plain_groups) {
            proptest::prop_assert_eq!(fast_rows, plain_rows);
            for (column, (f, p)) in fast_nulls.iter().zip(plain_nulls).enumerate() {
                if f.is_some() {
                    proptest::prop_assert_eq!(f, p, "null count of column {}", column);
                }
            }
        }
    }
}

/// Both writers refuse the same malformed batches.
#[test]
fn both_writers_refuse_what_does_not_fit() {
    let codes = vec!["A".to_string()];
    let names: Vec<Box<str>> = vec!["a".into()];
    let mut short = messy_batch(&mut Rng(3), 5, 1, 1, true);
    short.year.pop();
    let mut outside = messy_batch(&mut Rng(5), 5, 1, 1, false);
    outside.code[2] = 7;
    for bad in [&short, &outside] {
        let mut fast = ObservationFileWriter::new(Vec::new(), &codes, &names).unwrap();
        let mut plain = ArrowObservationWriter::new(Vec::new(), &codes, &names).unwrap();
        assert!(fast.write(bad).is_err());
        assert!(plain.write(bad).is_err());
    }
}

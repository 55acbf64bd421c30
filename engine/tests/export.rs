//! Exporting the action list from a real alert state file: CSV parsed back row by row against
//! the store's inbox order, Excel-safe text with numbers kept numbers, Korean with and without
//! a byte-order mark, XLSX read back with calamine (cells, types, all three sheets), JSON and
//! JSON Lines, filters.

mod common;

use std::collections::BTreeMap;

use calamine::{open_workbook, Data, Reader, Xlsx};
use chrono::{DateTime, Duration, TimeZone, Utc};
use display::alert::SourceRef;
use display::{Format as Fmt, Lang, Text};
use engine::export::{self, About, Format, Options, COLUMNS, HISTORY_COLUMNS};
use engine::rules::config::Scope;
use engine::rules::{Action, Alert, Evaluation, Evidence, Severity};
use engine::state::Act;
use engine::state::AlertFilter;
use engine::state::AlertStore;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap()
}

fn action(text: &str, owner: &str, due_days: u32) -> Action {
    Action {
        text: Text::new(text, format!("{text} (한국어)")),
        owner: owner.into(),
        owner_label: Text::new(owner, owner),
        due_days,
    }
}

#[allow(clippy::too_many_arguments)]
fn alert(
    rule: &str,
    entity: &str,
    name: &str,
    region: &str,
    priority: f64,
    change: f64,
    actions: Vec<Action>,
    data_issue: bool,
) -> Alert {
    Alert {
        fingerprint: format!("{rule}:{entity}:2025"),
        rule_id: rule.into(),
        rule_name: Text::new(format!("Rule {rule}"), format!("규칙 {rule}")),
        kind: "change".into(),
        severity: if priority > 5.0 {
            Severity::High
        } else {
            Severity::Medium
        },
        priority,
        scope: Scope::Country,
        entity: entity.into(),
        entity_name: name.into(),
        region: Some(region.into()),
        period: "2025".into(),
        title: Text::new(
            format!("{name} fell {change} %"),
            format!("{name} {change}% 하락"),
        ),
        explanation: Text::new("why", "왜"),
        evidence: Evidence {
            metric: "gdp".into(),
            metric_label: Text::new("GDP", "GDP"),
            format: Fmt::UsdBillions,
            values: BTreeMap::from([
                ("value".to_string(), 400e9),
                ("previous".to_string(), 426e9),
                ("change_pct".to_string(), change),
            ]),
            series: Vec::new(),
            source: Some(
                SourceRef {
                    source_id: "wb_gdp".into(),
                    title: "World Bank GDP".into(),
                    publisher: "World Bank".into(),
                    edition: "2026-07".into(),
                    licence: "CC BY 4.0".into(),
                    read_from: "mirror".into(),
                    location: "/mirror/wb.csv".into(),
                    fetched_at: "2026-11-01T08:00:00Z".into(),
                    sha256: "ab".repeat(32),
                    url: None,
                    fallback_reason: None,
                }
                .into(),
            ),
            run_id: "run-1".into(),
            projection: false,
            data_issue_reason: None,
        },
        actions,
        data_issue,
        auto_resolve: false,
    }
}

/// Three alerts: Iran (two actions, Korean name, acknowledged, a formula as comment), Korea
/// (one action, a negative number as comment), a data issue in Europe without actions.
fn store() -> (common::StateDir, AlertStore) {
    store_with(Vec::new())
}

/// [`store`] with `extra` alerts in the same evaluation.
fn store_with(extra: Vec<Alert>) -> (common::StateDir, AlertStore) {
    let dir = common::state_dir();
    let mut store = AlertStore::open_in(dir.path()).unwrap();
    let eval = Evaluation {
        run_id: "run-1".into(),
        rules_digest: "d".into(),
        alerts: vec![
            alert(
                "gdp_fall",
                "IRN",
                "이란 (Iran)",
                "Asia",
                9.5,
                -6.2,
                vec![
                    action("Call the desk", "apac_desk", 7),
                    action("Check FX", "fx_team", 30),
                ],
                false,
            ),
            alert(
                "gdp_fall",
                "KOR",
                "+1 Korea",
                "Asia",
                4.0,
                -1e3,
                vec![action("@x review", "apac_desk", 60)],
                false,
            ),
            alert(
                "reject_rate",
                "DEU",
                "@x",
                "Europe",
                2.0,
                0.0,
                Vec::new(),
                true,
            ),
        ],
        per_rule: Vec::new(),
        evaluated_periods: Default::default(),
        withdrawn: Default::default(),
    };
    let mut eval = eval;
    eval.alerts.extend(extra);
    store.merge(&eval, t0()).unwrap();
    let later = t0() + Duration::hours(1);
    store
        .act(
            "gdp_fall:IRN:2025",
            &Act::Acknowledge { note: None },
            None,
            "kim",
            later,
        )
        .unwrap();
    for text in ["first", "=HYPERLINK(\"http://evil.example\",\"click\")"] {
        store
            .act(
                "gdp_fall:IRN:2025",
                &Act::Comment { text: text.into() },
                None,
                "kim",
                later,
            )
            .unwrap();
    }
    store
        .act(
            "gdp_fall:KOR:2025",
            &Act::Comment {
                text: "-1e3".into(),
            },
            None,
            "lee",
            later,
        )
        .unwrap();
    (dir, store)
}

fn opts(format: Format) -> Options {
    Options {
        format,
        bom: false,
        history: false,
        lang: Lang::Ko,
        base_url: "http://127.0.0.1:3000".into(),
        // Iran's first action (due in 7 days) is overdue, the others are not.
        now: t0() + Duration::days(10),
        zone: display::time::Zone::default(),
    }
}

/// The About block, with region codes as a snapshot's region table gives them (the tests'
/// stores have no snapshot): regions in the export's language, codes in their own column.
fn about(dir: &std::path::Path, o: &Options) -> About {
    About {
        region_codes: region_codes(),
        ..About::new(dir, "kim", &[("status", "all")], o).unwrap()
    }
}

fn region_codes() -> display::names::RegionCodes {
    [("Asia", "142"), ("Europe", "150"), ("Americas", "019")]
        .into_iter()
        .map(|(n, c)| (n.to_string(), c.to_string()))
        .collect()
}

fn run(store: &AlertStore, dir: &std::path::Path, filter: &AlertFilter, o: &Options) -> Vec<u8> {
    let mut out = Vec::new();
    export::export(store, filter, &about(dir, o), o, &mut out).unwrap();
    out
}

fn all() -> AlertFilter {
    AlertFilter::everything()
}

fn col(key: &str) -> usize {
    COLUMNS.iter().position(|c| c.0 == key).unwrap()
}

#[test]
fn csv_rows_follow_the_inbox_and_are_excel_safe() {
    let (dir, store) = store();
    let o = opts(Format::Csv);
    let bytes = run(&store, dir.path(), &all(), &o);
    assert!(!bytes.starts_with(b"\xEF\xBB\xBF"), "no BOM unless asked");
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("\r\n"), "RFC 4180 line ends");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, COLUMNS.iter().map(|c| c.0).collect::<Vec<_>>());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();

    // Every row against the inbox: same alerts, same order, one row per action.
    let inbox = store.list(&all()).unwrap();
    let expected: Vec<(String, String)> = inbox
        .iter()
        .flat_map(|r| {
            let n = r.alert.actions.len().max(1);
            (0..n).map(move |i| {
                (
                    r.alert.fingerprint.clone(),
                    r.alert
                        .actions
                        .get(i)
                        .map(|a| export::neutralise(&a.text.ko).into_owned())
                        .unwrap_or_default(),
                )
            })
        })
        .collect();
    let got: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r[col("fingerprint")].to_string(),
                r[col("action")].to_string(),
            )
        })
        .collect();
    assert_eq!(got, expected);
    assert_eq!(rows.len(), 4);

    let iran = &rows[0];
    assert_eq!(&iran[col("status")], "확인함", "in the export's language");
    assert_eq!(&iran[col("status_code")], "acknowledged", "and as a code");
    assert_eq!(&iran[col("severity")], "높음");
    assert_eq!(&iran[col("severity_code")], "high");
    assert_eq!(
        &iran[col("entity_name")],
        "이란",
        "the country's Korean name"
    );
    assert_eq!(&iran[col("entity_code")], "IRN");
    assert_eq!(&iran[col("region")], "아시아");
    assert_eq!(&iran[col("region_code")], "142");
    assert_eq!(&iran[col("title")], "이란 (Iran) -6.2% 하락");
    assert_eq!(&iran[col("change_pct")], "-6.2", "a number stays a number");
    assert_eq!(&iran[col("value")], "400000000000");
    assert_eq!(
        &iran[col("last_comment")],
        "'=HYPERLINK(\"http://evil.example\",\"click\")",
        "a formula is neutralised"
    );
    assert_eq!(&iran[col("due_date")], "2026-11-08");
    assert_eq!(&iran[col("overdue")], "true");
    assert_eq!(&rows[1][col("overdue")], "false");
    assert_eq!(&iran[col("source_sha256")], "ab".repeat(32));
    assert_eq!(&iran[col("edition")], "2026-07");
    assert_eq!(&iran[col("run_id")], "run-1");
    assert_eq!(
        &iran[col("link")],
        "http://127.0.0.1:3000/alerts/gdp_fall:IRN:2025"
    );
    let korea = &rows[2];
    assert_eq!(&korea[col("entity_name")], "대한민국");
    assert_eq!(
        &korea[col("title")],
        "'+1 Korea -1000% 하락",
        "a formula-like text is neutralised"
    );
    assert_eq!(&korea[col("action")], "'@x review (한국어)");
    assert_eq!(&korea[col("change_pct")], "-1000");
    assert_eq!(
        &korea[col("last_comment")],
        "-1e3",
        "a negative number is not a formula"
    );
    let issue = &rows[3];
    assert_eq!(&issue[col("entity_name")], "독일");
    assert_eq!(&issue[col("title")], "'@x 0% 하락");
    assert_eq!(&issue[col("data_issue")], "true");
    assert_eq!(
        &issue[col("action")],
        "",
        "an alert without actions keeps one row"
    );
}

#[test]
fn csv_with_bom_and_history() {
    let (dir, store) = store();
    let o = Options {
        bom: true,
        history: true,
        ..opts(Format::Csv)
    };
    let bytes = run(&store, dir.path(), &all(), &o);
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    assert!(
        text.starts_with("fingerprint,"),
        "the BOM is the only thing before the header"
    );
    assert!(text.contains("이란 (Iran)"));
    // The audit trail follows after an empty line, with its own header.
    let (_, history) = text.split_once("\r\n\"\"\r\n").unwrap();
    let mut reader = csv::Reader::from_reader(history.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        HISTORY_COLUMNS.iter().map(|c| c.0).collect::<Vec<_>>()
    );
    let events: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let iran: Vec<&str> = events
        .iter()
        .filter(|e| &e[0] == "gdp_fall:IRN:2025")
        .map(|e| e.get(3).unwrap())
        .collect();
    assert_eq!(iran, ["opened", "acknowledged", "commented", "commented"]);
}

#[test]
fn filters_apply() {
    let (dir, store) = store();
    let o = opts(Format::Csv);
    let count = |filter: AlertFilter| {
        let bytes = run(&store, dir.path(), &filter, &o);
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        reader
            .records()
            .map(|r| r.unwrap()[0].to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        count(AlertFilter {
            region: Some("Europe".into()),
            ..all()
        }),
        ["reject_rate:DEU:2025"]
    );
    assert_eq!(
        count(AlertFilter {
            data_issue: Some(false),
            statuses: vec![display::alert::Status::Open],
            ..AlertFilter::default()
        }),
        ["gdp_fall:KOR:2025"]
    );
    // Overdue at the export's time: only Iran (due 7 days after it opened).
    assert_eq!(
        count(AlertFilter {
            overdue: Some(true),
            as_of: Some(o.now),
            ..all()
        }),
        ["gdp_fall:IRN:2025", "gdp_fall:IRN:2025"]
    );
    assert!(count(AlertFilter {
        period: Some("2024".into()),
        ..all()
    })
    .is_empty());
    assert!(count(AlertFilter {
        assignee: Some("kim".into()),
        ..all()
    })
    .is_empty());
}

#[test]
fn xlsx_reads_back_with_types_and_three_sheets() {
    let (dir, store) = store();
    let o = opts(Format::Xlsx);
    let bytes = run(&store, dir.path(), &all(), &o);
    let path = dir.path().join("out.xlsx");
    std::fs::write(&path, &bytes).unwrap();
    let mut book: Xlsx<_> = open_workbook(&path).unwrap();
    assert_eq!(book.sheet_names(), ["조치", "이력", "정보"]);

    let actions = book.worksheet_range("조치").unwrap();
    let rows: Vec<&[Data]> = actions.rows().collect();
    assert_eq!(rows.len(), 5, "header and four rows");
    assert_eq!(rows[0][col("fingerprint")], Data::String("알림 ID".into()));
    let iran = rows[1];
    assert_eq!(
        iran[col("fingerprint")],
        Data::String("gdp_fall:IRN:2025".into())
    );
    assert_eq!(
        iran[col("priority")],
        Data::Float(9.5),
        "a number is a number"
    );
    assert_eq!(iran[col("change_pct")], Data::Float(-6.2));
    assert_eq!(iran[col("overdue")], Data::Bool(true));
    assert_eq!(iran[col("entity_name")], Data::String("이란".into()));
    assert_eq!(iran[col("status")], Data::String("확인함".into()));
    assert_eq!(
        iran[col("status_code")],
        Data::String("acknowledged".into())
    );
    match &iran[col("due_date")] {
        Data::DateTime(d) => {
            assert!(d.is_datetime());
            assert_eq!(
                d.as_datetime().unwrap().date(),
                chrono::NaiveDate::from_ymd_opt(2026, 11, 8).unwrap()
            );
        }
        other => panic!("the due date is not a date: {other:?}"),
    }
    // Strings in a workbook are never formulas: the comment is kept as written.
    assert_eq!(
        iran[col("last_comment")],
        Data::String("=HYPERLINK(\"http://evil.example\",\"click\")".into())
    );
    assert_eq!(
        iran[col("link")],
        Data::String("http://127.0.0.1:3000/alerts/gdp_fall:IRN:2025".into())
    );
    assert_eq!(rows[3][col("change_pct")], Data::Float(-1000.0));
    assert_eq!(rows[4][col("action")], Data::Empty);

    let history = book.worksheet_range("이력").unwrap();
    let events: Vec<&[Data]> = history.rows().skip(1).collect();
    assert_eq!(events.len(), 3 + 1 + 2 + 1, "every event of every alert");
    assert!(
        matches!(events[0][1], Data::DateTime(_)),
        "event times are dates"
    );

    let about = book.worksheet_range("정보").unwrap();
    let cells: Vec<String> = about.cells().map(|(_, _, c)| c.to_string()).collect();
    assert!(cells.contains(&"kim".to_string()));
    assert!(cells.contains(&"status=all".to_string()));
    assert!(cells.iter().any(|c| c == "4"), "the row count: {cells:?}");

    // The link is a hyperlink: the sheet's relationships point at the alert's page, the header
    // row is frozen and the list has an autofilter.
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
    let mut read = |name: &str| {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut zip.by_name(name).unwrap(), &mut text).unwrap();
        text
    };
    let rels = read("xl/worksheets/_rels/sheet1.xml.rels");
    assert!(
        rels.contains("http://127.0.0.1:3000/alerts/gdp_fall:IRN:2025"),
        "{rels}"
    );
    let sheet = read("xl/worksheets/sheet1.xml");
    assert!(
        sheet.contains("<hyperlink ref=\"AB2\""),
        "link cells are hyperlinks"
    );
    assert!(sheet.contains("state=\"frozen\""), "frozen header");
    assert!(
        sheet.contains("<autoFilter ref=\"A1:AG5\""),
        "autofilter over the list"
    );
}

#[test]
fn xlsx_refuses_more_rows_than_excel_holds() {
    let (dir, store) = store();
    let o = opts(Format::Xlsx);
    let path = dir.path().join("capped.xlsx");
    let about = about(dir.path(), &o);
    let e = export::export_xlsx_with_limit(&store, &all(), &about, &o, &path, 3).unwrap_err();
    assert!(
        matches!(e, engine::export::ExportError::TooManyRowsForXlsx),
        "{e}"
    );
    // The audit trail's sheet has the same limit (7 events here).
    let e = export::export_xlsx_with_limit(&store, &all(), &about, &o, &path, 6).unwrap_err();
    assert!(
        matches!(e, engine::export::ExportError::TooManyRowsForXlsx),
        "{e}"
    );
    let fits = export::export_xlsx_with_limit(&store, &all(), &about, &o, &path, 7).unwrap();
    assert_eq!((fits.rows, fits.events), (4, 7), "exactly the limit fits");
    assert!(e.is_user_error());
    assert!(e.message().en.contains("CSV") && e.message().ko.contains("CSV"));
}

#[test]
fn json_and_ndjson() {
    let (dir, store) = store();
    let o = Options {
        history: true,
        ..opts(Format::Json)
    };
    let bytes = run(&store, dir.path(), &all(), &o);
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["about"]["exported_by"], "kim");
    assert_eq!(v["about"]["filters"]["status"], "all");
    assert_eq!(v["count"], 4);
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(items[0]["change_pct"], serde_json::json!(-6.2));
    assert_eq!(items[0]["overdue"], true);
    assert_eq!(
        items[0]["last_comment"],
        "=HYPERLINK(\"http://evil.example\",\"click\")"
    );
    assert_eq!(v["history"].as_array().unwrap().len(), 7);

    let bytes = run(&store, dir.path(), &all(), &opts(Format::Ndjson));
    let lines: Vec<serde_json::Value> = std::str::from_utf8(&bytes)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[2]["fingerprint"], "gdp_fall:KOR:2025");
    assert_eq!(
        lines[2]["title"], "+1 Korea -1000% 하락",
        "JSON keeps text exactly"
    );
    assert_eq!(lines[2]["entity_name"], "대한민국");
    assert_eq!(lines[2]["region"], "아시아");
    assert_eq!(lines[2]["region_code"], "142");
    assert_eq!(lines[2]["severity_code"], "medium");
    assert_eq!(
        lines[2]["group"], "KOR:2025",
        "the inbox's card: entity and period"
    );
}

#[test]
fn file_names_and_log() {
    let at = Utc.with_ymd_and_hms(2026, 11, 30, 9, 30, 0).unwrap();
    assert_eq!(
        export::file_name(Format::Xlsx, at),
        "actionboard-actions-20261130-0930.xlsx"
    );
    let dir = common::state_dir();
    let filters = BTreeMap::from([("region".to_string(), "Asia".to_string())]);
    let record = export::ExportRecord {
        at,
        by: "kim".into(),
        via: "cli".into(),
        format: Format::Csv.as_str().into(),
        filters,
        rows: 4,
        alerts: 3,
        error: None,
    };
    export::log_export(dir.path(), &record).unwrap();
    export::log_export(dir.path(), &record).unwrap();
    let log = AlertStore::open_in(dir.path())
        .unwrap()
        .export_log(10)
        .unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].by, "kim");
    assert_eq!(log[0].rows, 4);
    assert_eq!(log[0].filters["region"], "Asia");
    assert_eq!(log[0], record);
}

/// The fixture of [`csv_bytes_are_locked`]: [`store`] and alerts that exercise every kind of
/// CSV cell: quotes, commas and line breaks in text, a snoozed alert, an assignee with a due
/// date, no source and no region, a fingerprint that needs percent-encoding, numbers that are
/// not short decimals.
fn locked_store() -> (common::StateDir, AlertStore) {
    let mut odd = alert(
        "odd rule",
        "X Y/한",
        "Comma, \"quoted\"\nname",
        "Africa",
        0.1 + 0.2,
        -0.0,
        vec![
            action("Line one\r\nline two", "desk, east", 0),
            action("\ttab first", "fx_team", 3),
            action("-6.2", "fx_team", 4),
        ],
        false,
    );
    odd.region = None;
    odd.evidence.source = None;
    odd.evidence.values = BTreeMap::from([
        ("value".to_string(), 1e21),
        ("previous".to_string(), 1.5e-7),
        ("change_pct".to_string(), -123456789.125),
    ]);
    let mut snoozed = alert(
        "gdp_fall",
        "JPN",
        "Japan",
        "Asia",
        3.0,
        12.5,
        vec![action("=SUM(A1)", "apac_desk", 14)],
        false,
    );
    snoozed.evidence.values.remove("previous");
    let mut assigned = alert(
        "gdp_fall",
        "BRA",
        "Brasil",
        "Americas",
        1.0,
        f64::MAX,
        vec![action("Follow up", "apac_desk", 5)],
        true,
    );
    assigned.evidence.run_id = "+run".into();
    let (dir, mut store) = store_with(vec![odd, snoozed, assigned]);
    let later = t0() + Duration::hours(3);
    store
        .act(
            "gdp_fall:JPN:2025",
            &Act::Snooze(engine::state::SnoozeRequest::Until(
                t0() + Duration::days(40) + Duration::seconds(7),
            )),
            None,
            "kim",
            later,
        )
        .unwrap();
    store
        .act(
            "gdp_fall:BRA:2025",
            &Act::Assign {
                to: "lee".into(),
                due: Some(t0() + Duration::days(3)),
            },
            None,
            "kim",
            later,
        )
        .unwrap();
    store
        .act(
            "odd rule:X Y/한:2025",
            &Act::Comment {
                text: "says \"hi\", then\nleaves".into(),
            },
            None,
            "kim",
            later,
        )
        .unwrap();
    (dir, store)
}

/// The exact bytes of a small CSV export, in both languages, with and without a BOM and the
/// audit trail: any change to quoting, numbers, dates, neutralising or order shows here.
#[test]
fn csv_bytes_are_locked() {
    let (dir, store) = locked_store();
    let ko = Options {
        bom: true,
        history: true,
        ..opts(Format::Csv)
    };
    let en = Options {
        lang: Lang::En,
        ..opts(Format::Csv)
    };
    let text = |o: &Options| String::from_utf8(run(&store, dir.path(), &all(), o)).unwrap();
    assert_eq!(text(&ko), LOCKED_KO);
    assert_eq!(text(&en), LOCKED_EN);
}

/// The Korean export: labels, country and region names in Korean (CLDR), their codes in their
/// own columns; texts people wrote stay as written, neutralised where a spreadsheet would run them.
const LOCKED_KO: &str = "\
    \u{feff}fingerprint,priority,severity,status,rule_id,rule_title,entity_code,entity_name,region,period,title,action_no,action,owner,assignee,due_date,overdue,snoozed_until,last_comment,value,previous,change_pct,data_issue,source_id,edition,run_id,source_sha256,link,severity_code,status_code,region_code,snoozed_until_local,group\r\n\
    gdp_fall:IRN:2025,9.5,높음,확인함,gdp_fall,규칙 gdp_fall,IRN,이란,아시아,2025,이란 (Iran) -6.2% 하락,1,Call the desk (한국어),apac_desk,,2026-11-08,true,,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\",400000000000,426000000000,-6.2,false,wb_gdp,2026-07,run-1,abababababababababababababababababababababababababababababababab,http://127.0.0.1:3000/alerts/gdp_fall:IRN:2025,high,acknowledged,142,,IRN:2025\r\n\
    gdp_fall:IRN:2025,9.5,높음,확인함,gdp_fall,규칙 gdp_fall,IRN,이란,아시아,2025,이란 (Iran) -6.2% 하락,2,Check FX (한국어),fx_team,,2026-12-01,false,,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\",400000000000,426000000000,-6.2,false,wb_gdp,2026-07,run-1,abababababababababababababababababababababababababababababababab,http://127.0.0.1:3000/alerts/gdp_fall:IRN:2025,high,acknowledged,142,,IRN:2025\r\n\
    gdp_fall:KOR:2025,4,보통,열림,gdp_fall,규칙 gdp_fall,KOR,대한민국,아시아,2025,'+1 Korea -1000% 하락,1,'@x review (한국어),apac_desk,,2026-12-31,false,,-1e3,400000000000,426000000000,-1000,false,wb_gdp,2026-07,run-1,abababababababababababababababababababababababababababababababab,http://127.0.0.1:3000/alerts/gdp_fall:KOR:2025,medium,open,142,,KOR:2025\r\n\
    gdp_fall:JPN:2025,3,보통,보류,gdp_fall,규칙 gdp_fall,JPN,일본,아시아,2025,Japan 12.5% 하락,1,'=SUM(A1) (한국어),apac_desk,,2026-11-15,false,2026-12-11T09:00:07Z,,400000000000,,12.5,false,wb_gdp,2026-07,run-1,abababababababababababababababababababababababababababababababab,http://127.0.0.1:3000/alerts/gdp_fall:JPN:2025,medium,snoozed,142,2026-12-11 18:00 KST,JPN:2025\r\n\
    reject_rate:DEU:2025,2,보통,열림,reject_rate,규칙 reject_rate,DEU,독일,유럽,2025,'@x 0% 하락,,,,,,false,,,400000000000,426000000000,0,true,wb_gdp,2026-07,run-1,abababababababababababababababababababababababababababababababab,http://127.0.0.1:3000/alerts/reject_rate:DEU:2025,medium,open,150,,DEU:2025\r\n\
    gdp_fall:BRA:2025,1,보통,열림,gdp_fall,규칙 gdp_fall,BRA,브라질,아메리카 대륙,2025,Brasil 179769313486231570000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000% 하락,1,Follow up (한국어),apac_desk,lee,2026-11-04,true,,,400000000000,426000000000,179769313486231570000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000,true,wb_gdp,2026-07,'+run,abababababababababababababababababababababababababababababababab,http://127.0.0.1:3000/alerts/gdp_fall:BRA:2025,medium,open,019,,BRA:2025\r\n\
    odd rule:X Y/한:2025,0.30000000000000004,보통,열림,odd rule,규칙 odd rule,X Y/한,\"Comma, \"\"quoted\"\"\n\
    name\",,2025,\"Comma, \"\"quoted\"\"\n\
    name -0% 하락\",1,\"Line one\r\n\
    line two (한국어)\",\"desk, east\",,2026-11-01,true,,\"says \"\"hi\"\", then\n\
    leaves\",1000000000000000000000,0.00000015,-123456789.125,false,,,run-1,,http://127.0.0.1:3000/alerts/odd%20rule:X%20Y%2F%ED%95%9C:2025,medium,open,,,X Y/한:2025\r\n\
    odd rule:X Y/한:2025,0.30000000000000004,보통,열림,odd rule,규칙 odd rule,X Y/한,\"Comma, \"\"quoted\"\"\n\
    name\",,2025,\"Comma, \"\"quoted\"\"\n\
    name -0% 하락\",2,'\ttab first (한국어),fx_team,,2026-11-04,true,,\"says \"\"hi\"\", then\n\
    leaves\",1000000000000000000000,0.00000015,-123456789.125,false,,,run-1,,http://127.0.0.1:3000/alerts/odd%20rule:X%20Y%2F%ED%95%9C:2025,medium,open,,,X Y/한:2025\r\n\
    odd rule:X Y/한:2025,0.30000000000000004,보통,열림,odd rule,규칙 odd rule,X Y/한,\"Comma, \"\"quoted\"\"\n\
    name\",,2025,\"Comma, \"\"quoted\"\"\n\
    name -0% 하락\",3,'-6.2 (한국어),fx_team,,2026-11-05,true,,\"says \"\"hi\"\", then\n\
    leaves\",1000000000000000000000,0.00000015,-123456789.125,false,,,run-1,,http://127.0.0.1:3000/alerts/odd%20rule:X%20Y%2F%ED%95%9C:2025,medium,open,,,X Y/한:2025\r\n\
    \"\"\r\n\
    fingerprint,at,actor,kind,from_status,to_status,note,run_id,version\r\n\
    gdp_fall:IRN:2025,2026-11-01T09:00:00Z,system,opened,,open,,run-1,1\r\n\
    gdp_fall:IRN:2025,2026-11-01T10:00:00Z,kim,acknowledged,open,acknowledged,,,2\r\n\
    gdp_fall:IRN:2025,2026-11-01T10:00:00Z,kim,commented,,,first,,3\r\n\
    gdp_fall:IRN:2025,2026-11-01T10:00:00Z,kim,commented,,,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\",,4\r\n\
    gdp_fall:KOR:2025,2026-11-01T09:00:00Z,system,opened,,open,,run-1,1\r\n\
    gdp_fall:KOR:2025,2026-11-01T10:00:00Z,lee,commented,,,-1e3,,2\r\n\
    gdp_fall:JPN:2025,2026-11-01T09:00:00Z,system,opened,,open,,run-1,1\r\n\
    gdp_fall:JPN:2025,2026-11-01T12:00:00Z,kim,snoozed,open,snoozed,until 2026-12-11 09:00 UTC,,2\r\n\
    reject_rate:DEU:2025,2026-11-01T09:00:00Z,system,opened,,open,,run-1,1\r\n\
    gdp_fall:BRA:2025,2026-11-01T09:00:00Z,system,opened,,open,,run-1,1\r\n\
    gdp_fall:BRA:2025,2026-11-01T12:00:00Z,kim,assigned,,,\"lee, due 2026-11-04\",,2\r\n\
    odd rule:X Y/한:2025,2026-11-01T09:00:00Z,system,opened,,open,,run-1,1\r\n\
    odd rule:X Y/한:2025,2026-11-01T12:00:00Z,kim,commented,,,\"says \"\"hi\"\", then\n\
    leaves\",,2\r\n\
    ";
const LOCKED_EN: &str = "\
    fingerprint,priority,severity,status,rule_id,rule_title,entity_code,entity_name,region,period,title,action_no,action,owner,assignee,due_date,overdue,snoozed_until,last_comment,value,previous,change_pct,data_issue,source_id,edition,run_id,source_sha256,link,severity_code,status_code,region_code,snoozed_until_local,group\r\n\
    gdp_fall:IRN:2025,9.5,High,Acknowledged,gdp_fall,Rule gdp_fall,IRN,이란 (Iran),Asia,2025,이란 (Iran) fell -6.2 %,1,Call the desk,apac_desk,,2026-11-08,true,,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\",400000000000,426000000000,-6.2,false,wb_gdp,2026-07,run-1,abababababababababababababababababababababababababababababababab,http://127.0.0.1:3000/alerts/gdp_fall:IRN:2025,high,acknowledged,142,,IRN:2025\r\n\
    gdp_fall:IRN:2025,9.5,High,Acknowledged,gdp_fall,Rule gdp_fall,IRN,이란 (Iran),Asia,2025,이란 (Iran) fell -6.2 %,2,Check FX,fx_team,,2026-12-01,false,,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\",400000000000,426000000000,-6.2,false,wb_gdp,2026-07,run-1,abababababababababababababababababababababababababababababababab,http://127.0.0.1:3000/alerts/gdp_fall:IRN:2025,high,acknowledged,142,,IRN:2025\r\n\
    gdp_fall:KOR:2025,4,Medium,Open,gdp_fall,Rule gdp_fall,KOR,'+1 Korea,Asia,2025,'+1 Korea fell -1000 %,1,'@x review,apac_desk,,2026-12-31,false,,-1e3,400000000000,426000000000,-1000,false,wb_gdp,2026-07,run-1,abababababababababababababababababababababababababababababababab,http://127.0.0.1:3000/alerts/gdp_fall:KOR:2025,medium,open,142,,KOR:2025\r\n\
    gdp_fall:JPN:2025,3,Medium,Snoozed,gdp_fall,Rule gdp_fall,JPN,Japan,Asia,2025,Japan fell 12.5 %,1,'=SUM(A1),apac_desk,,2026-11-15,false,2026-12-11T09:00:07Z,,400000000000,,12.5,false,wb_gdp,2026-07,run-1,abababababababababababababababababababababababababababababababab,http://127.0.0.1:3000/alerts/gdp_fall:JPN:2025,medium,snoozed,142,2026-12-11 18:00 KST,JPN:2025\r\n\
    reject_rate:DEU:2025,2,Medium,Open,reject_rate,Rule reject_rate,DEU,'@x,Europe,2025,'@x fell 0 %,,,,,,false,,,400000000000,426000000000,0,true,wb_gdp,2026-07,run-1,abababababababababababababababababababababababababababababababab,http://127.0.0.1:3000/alerts/reject_rate:DEU:2025,medium,open,150,,DEU:2025\r\n\
    gdp_fall:BRA:2025,1,Medium,Open,gdp_fall,Rule gdp_fall,BRA,Brasil,Americas,2025,Brasil fell 179769313486231570000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000 %,1,Follow up,apac_desk,lee,2026-11-04,true,,,400000000000,426000000000,179769313486231570000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000,true,wb_gdp,2026-07,'+run,abababababababababababababababababababababababababababababababab,http://127.0.0.1:3000/alerts/gdp_fall:BRA:2025,medium,open,019,,BRA:2025\r\n\
    odd rule:X Y/한:2025,0.30000000000000004,Medium,Open,odd rule,Rule odd rule,X Y/한,\"Comma, \"\"quoted\"\"\n\
    name\",,2025,\"Comma, \"\"quoted\"\"\n\
    name fell -0 %\",1,\"Line one\r\n\
    line two\",\"desk, east\",,2026-11-01,true,,\"says \"\"hi\"\", then\n\
    leaves\",1000000000000000000000,0.00000015,-123456789.125,false,,,run-1,,http://127.0.0.1:3000/alerts/odd%20rule:X%20Y%2F%ED%95%9C:2025,medium,open,,,X Y/한:2025\r\n\
    odd rule:X Y/한:2025,0.30000000000000004,Medium,Open,odd rule,Rule odd rule,X Y/한,\"Comma, \"\"quoted\"\"\n\
    name\",,2025,\"Comma, \"\"quoted\"\"\n\
    name fell -0 %\",2,'\ttab first,fx_team,,2026-11-04,true,,\"says \"\"hi\"\", then\n\
    leaves\",1000000000000000000000,0.00000015,-123456789.125,false,,,run-1,,http://127.0.0.1:3000/alerts/odd%20rule:X%20Y%2F%ED%95%9C:2025,medium,open,,,X Y/한:2025\r\n\
    odd rule:X Y/한:2025,0.30000000000000004,Medium,Open,odd rule,Rule odd rule,X Y/한,\"Comma, \"\"quoted\"\"\n\
    name\",,2025,\"Comma, \"\"quoted\"\"\n\
    name fell -0 %\",3,-6.2,fx_team,,2026-11-05,true,,\"says \"\"hi\"\", then\n\
    leaves\",1000000000000000000000,0.00000015,-123456789.125,false,,,run-1,,http://127.0.0.1:3000/alerts/odd%20rule:X%20Y%2F%ED%95%9C:2025,medium,open,,,X Y/한:2025\r\n\
    ";

/// The CSV of `filter` as the cell-by-cell writer makes it: each alert decoded whole
/// ([`AlertStore::list`]), [`export::rows_of`], [`export::Cell::csv`] and the `csv` crate.
fn csv_by_cells(store: &AlertStore, filter: &AlertFilter, o: &Options) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(COLUMNS.iter().map(|c| c.0)).unwrap();
    for record in store.list(filter).unwrap() {
        let comment = store.last_comment(&record.alert.fingerprint).unwrap();
        for row in export::rows_of(&record, comment.as_deref(), &region_codes(), o) {
            w.write_record(row.iter().map(|c| c.csv().into_owned()))
                .unwrap();
        }
    }
    w.into_inner().unwrap()
}

/// Thousands of alerts (many batches for the export's row writers, which work in parallel):
/// the same bytes, in the same order, as the cell-by-cell writer, with every filter.
#[test]
fn a_large_csv_export_matches_the_cell_writer_row_for_row() {
    let n = 3000;
    let alerts: Vec<Alert> = (0..n)
        .map(|i| {
            let actions = (0..i % 4)
                .map(|k| {
                    action(
                        &format!("Step {k}, \"do\" {i}"),
                        ["apac_desk", "fx_team"][k % 2],
                        (7 * k + i % 40) as u32,
                    )
                })
                .collect();
            let mut a = alert(
                ["gdp_fall", "reject_rate"][i % 2],
                &format!("E{i:05}"),
                &format!("이름 {i}"),
                ["Asia", "Europe", "=Africa"][i % 3],
                (i % 97) as f64 / 7.0,
                -(i as f64) / 3.0,
                actions,
                i % 5 == 0,
            );
            if i % 11 == 0 {
                a.evidence.source = None;
            }
            a
        })
        .collect();
    let (dir, mut store) = store_with(alerts);
    let later = t0() + Duration::hours(1);
    for i in (0..n).step_by(7) {
        let fp = format!("{}:E{i:05}:2025", ["gdp_fall", "reject_rate"][i % 2]);
        let act = match i % 3 {
            0 => Act::Comment {
                text: format!("-{i}, then \"more\"\nlines"),
            },
            1 => Act::Assign {
                to: "kim".into(),
                due: Some(t0() + Duration::days((i % 20) as i64)),
            },
            _ => Act::Snooze(engine::state::SnoozeRequest::Until(
                t0() + Duration::days(30),
            )),
        };
        store.act(&fp, &act, None, "kim", later).unwrap();
    }
    // The next release withdraws some figures: those alerts stay, marked as data issues.
    let (kept, gone): (Vec<Alert>, Vec<Alert>) = store
        .list(&all())
        .unwrap()
        .into_iter()
        .map(|r| r.alert)
        .partition(|a| a.evidence.source.is_none() || !a.entity.ends_with('3'));
    let withdrawn = gone
        .iter()
        .map(|a| engine::rules::eval::WithdrawnFigure {
            source_id: a.evidence.source.as_ref().unwrap().source_id.clone(),
            entity: a.entity.clone(),
            period: a.period.clone(),
        })
        .collect();
    let summary = store
        .merge(
            &Evaluation {
                run_id: "run-2".into(),
                rules_digest: "d".into(),
                alerts: kept,
                per_rule: Vec::new(),
                evaluated_periods: Default::default(),
                withdrawn,
            },
            later,
        )
        .unwrap();
    assert!(summary.withdrawn > 100, "{summary:?}");
    let o = opts(Format::Csv);
    for filter in [
        all(),
        AlertFilter::default(),
        AlertFilter {
            overdue: Some(true),
            as_of: Some(o.now),
            ..all()
        },
        AlertFilter {
            overdue: Some(false),
            as_of: Some(o.now),
            region: Some("=Africa".into()),
            ..all()
        },
    ] {
        let got = run(&store, dir.path(), &filter, &o);
        let expected = csv_by_cells(&store, &filter, &o);
        assert!(got.len() > 1000);
        assert!(
            got == expected,
            "{filter:?}: the export differs from the cell writer at byte {}",
            got.iter()
                .zip(&expected)
                .position(|(a, b)| a != b)
                .unwrap_or(got.len().min(expected.len()))
        );
    }
}

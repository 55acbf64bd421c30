//! Exporting the action list over real HTTP and from the CLI: the real router on a loopback
//! port over a real load of the default data. CSV parsed back and compared row by row with the
//! inbox of the same filter; Korean with and without a byte-order mark; formulas neutralised
//! and negative numbers kept numbers; XLSX read back with calamine; JSON's About block names the
//! snapshot; filters, "assigned to me" for a viewer, anonymous reading; the export log; the CLI
//! writes the same rows as the API.

mod common;

use std::path::Path;

use calamine::{Data, Reader, Xlsx};
use engine::snapshot::SnapshotStore;
use engine::state::users::{Role, UserStore};
use engine::state::Act;
use engine::state::AlertFilter;
use engine::state::AlertStore;

use common::agent;

async fn start() -> (String, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_path_buf();
    tokio::task::spawn_blocking(move || common::load_with_alerts(&dir))
        .await
        .unwrap();
    let base = common::serve(data.path(), server::web::WebOptions::default()).await;
    (base, data)
}

/// Status, headers and body bytes of a GET with an optional `Cookie`.
fn get(url: &str, cookie: Option<&str>) -> (u16, http::HeaderMap, Vec<u8>) {
    let mut req = agent().get(url);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    let mut resp = req.call().unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .body_mut()
        .with_config()
        .limit(512 << 20)
        .read_to_vec()
        .unwrap();
    (status, headers, body)
}

/// The CSV's header and rows (a leading byte-order mark removed).
fn parse_csv(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

fn col(key: &str) -> usize {
    engine::export::COLUMNS
        .iter()
        .position(|c| c.0 == key)
        .unwrap()
}

/// The inbox of `query` from the JSON API: `(fingerprint, status, action texts)` in order.
fn inbox(base: &str, query: &str, cookie: Option<&str>) -> Vec<(String, String, Vec<String>)> {
    let (status, _, body) = get(&format!("{base}/api/v1/alerts?{query}"), cookie);
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["alert"]["fingerprint"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
                r["alert"]["actions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a["text"]["en"].as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

/// Every CSV row against the inbox: the same alerts in the same order, one row per action,
/// with the alert's status.
fn assert_rows_match_inbox(rows: &[Vec<String>], inbox: &[(String, String, Vec<String>)]) {
    let expected: Vec<(String, String, String)> = inbox
        .iter()
        .flat_map(|(fp, status, actions)| {
            let texts: Vec<String> = if actions.is_empty() {
                vec![String::new()]
            } else {
                actions
                    .iter()
                    .map(|a| engine::export::neutralise(a).into_owned())
                    .collect()
            };
            texts
                .into_iter()
                .map(move |t| (fp.clone(), status.clone(), t))
        })
        .collect();
    let got: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r[col("fingerprint")].clone(),
                r[col("status_code")].clone(),
                r[col("action")].clone(),
            )
        })
        .collect();
    assert_eq!(got, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_action_list_exports_as_the_inbox_shows_it() {
    let (base, data) = start().await;
    let dir = data.path().to_path_buf();
    let base2 = base.clone();
    tokio::task::spawn_blocking(move || {
        let base = base2;
        let users = UserStore::open_in(&dir).unwrap();
        users
            .set_user("vera", "vera password", Role::Viewer)
            .unwrap();
        let mut store = AlertStore::open_in(&dir).unwrap();
        let active = store.list(&AlertFilter::default()).unwrap();
        assert!(active.len() > 10, "the default data raises alerts");
        let (first, second) = (
            active[0].alert.fingerprint.clone(),
            active[1].alert.fingerprint.clone(),
        );
        let now = chrono::Utc::now();
        store
            .act(&first, &Act::Acknowledge { note: None }, None, "kim", now)
            .unwrap();
        store
            .act(
                &first,
                &Act::Comment {
                    text: "=HYPERLINK(\"http://evil.example\",\"click\")".into(),
                },
                None,
                "kim",
                now,
            )
            .unwrap();
        store
            .act(
                &second,
                &Act::Assign {
                    to: "vera".into(),
                    due: None,
                },
                None,
                "kim",
                now,
            )
            .unwrap();
        store
            .act(
                &second,
                &Act::Comment {
                    text: "@x +1".into(),
                },
                None,
                "kim",
                now,
            )
            .unwrap();
        let export = |query: &str, cookie: Option<&str>| {
            get(&format!("{base}/api/v1/actions/export?{query}"), cookie)
        };

        // Anonymous CSV of every status: every row as the inbox has it.
        let (status, headers, body) = export("format=csv&status=all&lang=en", None);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
        let disposition = headers["content-disposition"].to_str().unwrap();
        assert!(
            disposition.starts_with("attachment; filename=\"actionboard-actions-")
                && disposition.contains(".csv\"; filename*=UTF-8''actionboard-actions-"),
            "{disposition}"
        );
        assert!(
            headers.get("content-length").is_none(),
            "streamed, not buffered: {headers:?}"
        );
        assert!(!body.starts_with(b"\xEF\xBB\xBF"), "no BOM unless asked");
        let (header, rows) = parse_csv(&body);
        assert_eq!(
            header,
            engine::export::COLUMNS
                .iter()
                .map(|c| c.0)
                .collect::<Vec<_>>()
        );
        assert_rows_match_inbox(&rows, &inbox(&base, "status=all", None));
        let first_row = rows
            .iter()
            .find(|r| r[col("fingerprint")] == first)
            .unwrap();
        assert_eq!(first_row[col("status_code")], "acknowledged");
        assert_eq!(first_row[col("status")], "Acknowledged");
        assert_eq!(
            first_row[col("last_comment")],
            "'=HYPERLINK(\"http://evil.example\",\"click\")"
        );
        assert_eq!(
            first_row[col("link")],
            format!("{base}/alerts/{}", app::components::links::encode(&first))
        );
        let second_row = rows
            .iter()
            .find(|r| r[col("fingerprint")] == second)
            .unwrap();
        assert_eq!(second_row[col("last_comment")], "'@x +1");
        assert_eq!(second_row[col("assignee")], "vera");
        // Numbers stay numbers: a fall's change is a plain negative number, never `'-…`.
        let changes: Vec<f64> = rows
            .iter()
            .filter(|r| !r[col("change_pct")].is_empty())
            .map(|r| r[col("change_pct")].parse::<f64>().unwrap())
            .collect();
        assert!(changes.iter().any(|c| *c < 0.0), "falls are exported");
        for r in &rows {
            assert_eq!(r[col("source_sha256")].len(), 64, "{r:?}");
            assert!(!r[col("run_id")].is_empty());
            assert!(!r[col("priority")].starts_with('\''));
        }

        // Korean, with a BOM (as the inbox's menu asks) and without: the same text.
        let (_, _, with_bom) = export("format=csv&status=all&lang=ko&bom=1", None);
        assert!(with_bom.starts_with(b"\xEF\xBB\xBF"));
        let (_, _, without) = export("format=csv&status=all&lang=ko&bom=0", None);
        assert_eq!(&with_bom[3..], &without[..]);
        let text = std::str::from_utf8(&without).unwrap();
        assert!(
            text.contains("담당") || text.contains("조치") || text.contains("하락"),
            "Korean text"
        );
        let (_, ko_rows) = parse_csv(&with_bom);
        assert_eq!(ko_rows.len(), rows.len());

        // Filters apply: the same as the inbox with the same filter.
        let (_, _, high) = export("severity=high&lang=en", None);
        let (_, high_rows) = parse_csv(&high);
        assert!(!high_rows.is_empty());
        assert!(high_rows.iter().all(|r| r[col("severity_code")] == "high"));
        assert_rows_match_inbox(&high_rows, &inbox(&base, "severity=high", None));
        let (_, _, none) = export("severity=nonsense", None);
        assert_eq!(
            parse_csv(&none).1.len(),
            0,
            "an unknown value selects nothing"
        );

        // "Assigned to me": nobody's when anonymous; a viewer may export their own.
        let (_, _, anon_mine) = export("mine=1", None);
        assert!(parse_csv(&anon_mine).1.is_empty());
        let vera = common::sign_in(&base, "vera");
        let (status, headers, mine) = export("mine=1&lang=en", Some(&vera));
        assert_eq!(status, 200);
        assert_eq!(headers["cache-control"], "private, no-store");
        let (_, mine_rows) = parse_csv(&mine);
        assert!(!mine_rows.is_empty());
        assert!(mine_rows.iter().all(|r| r[col("fingerprint")] == second));
        assert_rows_match_inbox(&mine_rows, &inbox(&base, "mine=1", Some(&vera)));

        // XLSX: three sheets, typed cells, the same rows as the CSV.
        let (status, headers, xlsx) = export("format=xlsx&status=all&lang=en", Some(&vera));
        assert_eq!(status, 200);
        assert!(headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".xlsx"));
        let mut book = Xlsx::new(std::io::Cursor::new(xlsx)).unwrap();
        assert_eq!(book.sheet_names(), ["Actions", "History", "About"]);
        let sheet = book.worksheet_range("Actions").unwrap();
        let cells: Vec<&[Data]> = sheet.rows().skip(1).collect();
        assert_eq!(cells.len(), rows.len());
        for (cells, row) in cells.iter().zip(&rows) {
            assert_eq!(
                cells[col("fingerprint")],
                Data::String(row[col("fingerprint")].clone())
            );
            assert!(matches!(cells[col("priority")], Data::Float(_)), "a number");
            assert!(matches!(cells[col("overdue")], Data::Bool(_)));
            if !row[col("due_date")].is_empty() {
                assert!(
                    matches!(&cells[col("due_date")], Data::DateTime(d) if d.is_datetime()),
                    "a date: {:?}",
                    cells[col("due_date")]
                );
            }
            if !row[col("change_pct")].is_empty() {
                assert!(matches!(cells[col("change_pct")], Data::Float(_)));
            }
        }
        let history = book.worksheet_range("History").unwrap();
        assert!(history
            .rows()
            .any(|r| r[3] == Data::String("acknowledged".into())));
        let about = book.worksheet_range("About").unwrap();
        let about: Vec<String> = about.cells().map(|(_, _, c)| c.to_string()).collect();
        assert!(about.contains(&"vera".to_string()), "exported by");
        assert!(about.contains(&"status=all".to_string()), "filters");

        // JSON: the About block names the snapshot and its sources; NDJSON one item a line.
        let (_, headers, json) = export("format=json&status=all&history=1", None);
        assert_eq!(headers["content-type"], "application/json");
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        let current = SnapshotStore::new(&dir).current().unwrap().unwrap();
        assert_eq!(v["about"]["snapshot"]["run_id"], current.as_str());
        assert_eq!(v["about"]["exported_by"], "anonymous");
        let sources = v["about"]["sources"].as_array().unwrap();
        assert!(sources.len() >= 3);
        assert!(sources
            .iter()
            .all(|s| s["sha256"].as_str().unwrap().len() == 64));
        assert_eq!(v["items"].as_array().unwrap().len(), rows.len());
        assert_eq!(v["count"], rows.len());
        assert!(!v["history"].as_array().unwrap().is_empty());
        let (_, _, lines) = export("format=ndjson&status=all", None);
        assert_eq!(
            std::str::from_utf8(&lines).unwrap().lines().count(),
            rows.len()
        );

        // Wrong parameters are named.
        let (status, _, body) = export("format=pdf", None);
        assert_eq!(status, 400);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["code"], "invalid_input");
        assert!(v["error"]["message"]["en"]
            .as_str()
            .unwrap()
            .contains("csv"));
        assert!(v["error"]["message"]["ko"]
            .as_str()
            .unwrap()
            .contains("csv"));

        // Every export was logged: who, when, filters, rows.
        let entries: Vec<serde_json::Value> = engine::state::AlertStore::open_in(&dir)
            .unwrap()
            .export_log(1000)
            .unwrap()
            .iter()
            .map(|e| serde_json::to_value(e).unwrap())
            .collect();
        assert!(entries.iter().any(|e| e["by"] == "vera"
            && e["filters"]["mine"] == "1"
            && e["rows"] == mine_rows.len()));
        assert!(entries
            .iter()
            .any(|e| e["by"] == "anonymous" && e["rows"] == rows.len()));

        // The OpenAPI document lists the route.
        let (_, _, doc) = get(&format!("{base}/api/openapi.json"), None);
        let doc: serde_json::Value = serde_json::from_slice(&doc).unwrap();
        assert!(doc["paths"]["/api/v1/actions/export"]["get"].is_object());

        // The inbox's Export menu keeps the filter.
        let (_, _, page) = get(&format!("{base}/alerts?severity=high"), Some("lang=en"));
        let page = String::from_utf8(page).unwrap();
        assert!(
            page.contains(
                "/api/v1/actions/export?format=csv&amp;bom=1&amp;lang=en&amp;severity=high"
            ),
            "the export links keep the filter"
        );
        assert!(page.contains("/api/v1/actions/export?format=xlsx&amp;lang=en&amp;severity=high"));

        // The CLI writes the same rows.
        let out = dir.join("cli.csv");
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_actionboard"))
            .args(["--data-dir"])
            .arg(&dir)
            .args([
                "export", "--format", "csv", "--status", "all", "--as", "kim",
            ])
            .args(["--base-url", &base, "-o"])
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success());
        let (_, cli_rows) = parse_csv(&std::fs::read(&out).unwrap());
        assert_eq!(cli_rows, rows);
        let cli = std::process::Command::new(env!("CARGO_BIN_EXE_actionboard"))
            .args(["--data-dir"])
            .arg(&dir)
            .args(["export", "--format", "ndjson", "--severity", "high"])
            .output()
            .unwrap();
        assert!(cli.status.success());
        assert_eq!(
            std::str::from_utf8(&cli.stdout).unwrap().lines().count(),
            high_rows.len()
        );
        let bad = std::process::Command::new(env!("CARGO_BIN_EXE_actionboard"))
            .args(["--data-dir"])
            .arg(&dir)
            .args(["export", "--format", "pdf"])
            .output()
            .unwrap();
        assert!(!bad.status.success());
        assert!(String::from_utf8_lossy(&bad.stderr).contains("csv, xlsx, json or ndjson"));

        // The export log, as an administrator reads it: the CLI's export is the newest.
        let log = |format: &str| {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_actionboard"))
                .args(["--data-dir"])
                .arg(&dir)
                .args(["state", "exports", "--limit", "2", "--format", format])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        let newest: serde_json::Value = serde_json::from_str(&log("json")).unwrap();
        let newest = newest["exports"].as_array().unwrap();
        assert_eq!(newest.len(), 2);
        assert_eq!(newest[0]["via"], "cli");
        assert_eq!(newest[0]["format"], "ndjson");
        assert_eq!(newest[0]["filters"]["severity"], "high");
        assert_eq!(newest[0]["rows"], high_rows.len());
        assert_eq!(newest[1]["by"], "kim");
        let text = log("text");
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(
            text.lines().next().unwrap().contains("severity=high"),
            "{text}"
        );
    })
    .await
    .unwrap();
}

/// `n` generated alerts (two actions each) merged into an empty state in `dir`.
fn generated_state(dir: &Path, n: usize) {
    use display::{Format, Text};
    use engine::rules::config::Scope;
    use engine::rules::{Action, Alert, Evaluation, Evidence, Severity};
    let action = |i: usize| Action {
        text: Text::new(
            format!("Ask the desk about entity {i} and write down what they say"),
            format!("{i}번 대상에 대해 데스크에 문의하고 답을 기록하세요"),
        ),
        owner: "apac_desk".into(),
        owner_label: Text::new("APAC desk", "APAC 데스크"),
        due_days: 7,
    };
    let alerts = (0..n)
        .map(|i| Alert {
            fingerprint: format!("gen:X{i:07}:2025"),
            rule_id: "gen".into(),
            rule_name: Text::new("Generated", "생성됨"),
            kind: "change".into(),
            severity: Severity::Medium,
            priority: 1.0 + (i % 1000) as f64 / 1000.0,
            scope: Scope::Country,
            entity: format!("X{i:07}"),
            entity_name: format!("Entity {i} 대상"),
            region: Some("Asia".into()),
            period: "2025".into(),
            title: Text::new(
                format!("Entity {i} fell 6.2 %"),
                format!("{i} 대상 6.2% 하락"),
            ),
            explanation: Text::new("why", "왜"),
            evidence: Evidence {
                metric: "gdp".into(),
                metric_label: Text::new("GDP", "GDP"),
                format: Format::UsdBillions,
                values: std::collections::BTreeMap::from([("change_pct".to_string(), -6.2)]),
                series: Vec::new(),
                source: None,
                run_id: "gen".into(),
                projection: false,
                data_issue_reason: None,
            },
            actions: vec![action(i), action(i + 1)],
            data_issue: false,
            auto_resolve: false,
        })
        .collect();
    let eval = Evaluation {
        run_id: "gen".into(),
        rules_digest: "gen".into(),
        alerts,
        per_rule: Vec::new(),
        evaluated_periods: Default::default(),
        withdrawn: Default::default(),
    };
    AlertStore::open_in(dir)
        .unwrap()
        .merge(&eval, chrono::Utc::now())
        .unwrap();
}

/// The answer starts before the export ends, and the producer waits for the reader (a bounded
/// channel): a client that reads the first bytes and leaves stops the export part-way, which
/// the export log records. Nothing is buffered whole.
#[tokio::test(flavor = "multi_thread")]
async fn a_large_export_streams_and_stops_when_the_client_leaves() {
    use std::io::{Read, Write};
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_path_buf();
    let n = 20_000;
    tokio::task::spawn_blocking(move || generated_state(&dir, n))
        .await
        .unwrap();
    let base = common::serve(data.path(), server::web::WebOptions::default()).await;
    let addr: std::net::SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let dir = data.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let logged = || {
            engine::state::AlertStore::open_in(&dir)
                .unwrap()
                .export_log(1)
                .unwrap()
                .into_iter()
                .next()
        };
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        let started = std::time::Instant::now();
        write!(
            stream,
            "GET /api/v1/actions/export?format=csv&lang=ko HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut first = vec![0u8; 16 * 1024];
        let got = stream.read(&mut first).unwrap();
        let head = String::from_utf8_lossy(&first[..got]).to_string();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(head.contains("transfer-encoding: chunked"), "{head}");
        let ttfb = started.elapsed();
        // Not reading on: the producer fills the channel and the socket, then waits.
        std::thread::sleep(std::time::Duration::from_millis(500));
        assert!(logged().is_none(), "the export is not over while the client does not read");
        drop(stream);
        // Leaving stops it part-way; the log says so.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let entry = loop {
            if let Some(entry) = logged() {
                break serde_json::to_value(entry).unwrap();
            }
            assert!(std::time::Instant::now() < deadline, "the export did not stop");
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let rows = entry["rows"].as_u64().unwrap();
        assert!(rows < 2 * n as u64, "stopped part-way: {entry}");
        assert!(entry["error"].as_str().unwrap().contains("went away"), "{entry}");
        eprintln!("time to first byte: {ttfb:?}; rows written before the client left: {rows}");

        // Read whole, every row arrives: no cap.
        let (status, _, body) = get(
            &format!("http://{addr}/api/v1/actions/export?format=ndjson"),
            None,
        );
        assert_eq!(status, 200);
        assert_eq!(
            std::str::from_utf8(&body).unwrap().lines().count(),
            2 * n
        );
    })
    .await
    .unwrap();
}

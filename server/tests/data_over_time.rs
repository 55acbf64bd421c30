//! Data over time through the real router: a next World Bank release (built here from the real
//! file: early 2026 figures for some countries, Korea's 2025 revised down 6.2 %, Chile's 2025
//! withdrawn) loaded after the real data. The overview stays on 2025, 2026 is labelled
//! provisional, and the Changes page lists what changed.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use engine::config::Sources;
use engine::etl::Pipeline;
use engine::snapshot::SnapshotStore;

fn real_mirror() -> PathBuf {
    std::env::var_os("ACTIONBOARD_MIRROR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
}

fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config")
}

const WB_GDP: &str = "wb_wdi/ny.gdp.mktp.cd.csv";

/// A mirror linking to the real one, with its own copy of the World Bank GDP file.
fn mirror_in(dir: &Path) -> PathBuf {
    let mirror = dir.join("mirror");
    fs::create_dir_all(mirror.join("wb_wdi")).unwrap();
    for entry in fs::read_dir(real_mirror()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != "wb_wdi" {
            std::os::unix::fs::symlink(entry.path(), mirror.join(entry.file_name())).unwrap();
        }
    }
    for entry in fs::read_dir(real_mirror().join("wb_wdi")).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != "ny.gdp.mktp.cd.csv" {
            std::os::unix::fs::symlink(entry.path(), mirror.join("wb_wdi").join(entry.file_name()))
                .unwrap();
        }
    }
    fs::copy(real_mirror().join(WB_GDP), mirror.join(WB_GDP)).unwrap();
    mirror
}

/// The next release, line by line: every fourth country's 2025 line is repeated as an early
/// 2026 estimate, Korea's 2025 value is 6.2 % lower, Chile's 2025 line is gone.
fn next_release() -> String {
    let text = fs::read_to_string(real_mirror().join(WB_GDP)).unwrap();
    let mut out = Vec::new();
    let mut n = 0;
    let scaled = |line: &str, factor: f64| {
        let (head, value) = line.rsplit_once(',').unwrap();
        format!("{head},{}", value.parse::<f64>().unwrap() * factor)
    };
    for line in text.lines() {
        if line.contains(",CHL,2025,") {
            continue;
        }
        if line.contains(",KOR,2025,") {
            out.push(scaled(line, 1.0 - 0.062));
            continue;
        }
        out.push(line.to_string());
        // Countries only (codes of aggregates such as WLD are not in this sample's pattern).
        if line.contains(",2025,") && !line.contains(",WLD,") {
            n += 1;
            if n % 4 == 0 {
                out.push(scaled(&line.replace(",2025,", ",2026,"), 1.03));
            }
        }
    }
    out.join("\n") + "\n"
}

fn pipeline(data: &Path, mirror: &Path) -> Pipeline {
    let sources = Sources::load(&config_dir().join("sources.yml"), mirror).unwrap();
    Pipeline::new(sources, data)
}

/// Korea's GDP in the overview's table of large economies.
fn korea_row(html: &str) -> String {
    let row = html
        .split("<tr data-code=\"KOR\">")
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .unwrap_or_default();
    row.rsplit("<td class=\"num\">")
        .next()
        .and_then(|cell| cell.split("</td>").next())
        .unwrap_or_default()
        .to_string()
}

async fn get(url: String, lang: &'static str) -> (u16, String) {
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        let mut resp = agent.get(&url).header("Cookie", lang).call().unwrap();
        (
            resp.status().as_u16(),
            resp.body_mut().read_to_string().unwrap(),
        )
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partial_year_is_provisional_and_the_changes_page_lists_revisions_and_withdrawals() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mirror = mirror_in(dir.path());
    let (first, second) = {
        let (data, mirror) = (data.clone(), mirror.clone());
        tokio::task::spawn_blocking(move || {
            let first = pipeline(&data, &mirror).run().unwrap().run;
            fs::write(mirror.join(WB_GDP), next_release()).unwrap();
            let second = pipeline(&data, &mirror).run().unwrap().run;
            let sources = Sources::load(&config_dir().join("sources.yml"), &mirror).unwrap();
            let set = engine::rules::RuleSet::load(
                &config_dir().join("metrics.yml"),
                &config_dir().join("rules.yml"),
                &sources,
            )
            .unwrap();
            engine::publish::refresh(&SnapshotStore::new(&data), &set).unwrap();
            (first.to_string(), second.to_string())
        })
        .await
        .unwrap()
    };
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let run_config = server::web::RunConfig {
        sources: config_dir().join("sources.yml"),
        mirror: mirror.clone(),
        metrics: config_dir().join("metrics.yml"),
        rules: config_dir().join("rules.yml"),
        lake: None,
        schedule: config_dir().join("schedule.yml"),
    };
    let router = server::web::router_with(
        SnapshotStore::new(&data),
        Path::new("target/site"),
        addr,
        run_config,
        server::web::WebOptions::default(),
    );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let base = format!("http://{addr}");

    // The overview stays on 2025 with its figures; 2026 is offered, labelled provisional.
    let (status, html) = get(format!("{base}/"), "lang=en").await;
    assert_eq!(status, 200);
    assert!(html.contains("<option value=\"2025\" selected"), "{html}");
    assert!(html.contains("2026 (provisional)"), "{html}");
    assert!(html.contains("30,769.70"), "USA 2025 in billions");
    assert!(!html.contains("data-testid=\"provisional\""));
    let (status, html) = get(format!("{base}/?year=2026"), "lang=en").await;
    assert_eq!(status, 200);
    assert!(html.contains("data-testid=\"provisional\""), "{html}");
    // 2025 has 184 countries once Chile's figure is withdrawn.
    assert!(html.contains("of 184 countries"), "{html}");
    assert!(html.contains("% of 2025&#x27;s total") || html.contains("% of 2025's total"));
    let (_, html) = get(format!("{base}/?year=2026"), "lang=ko").await;
    assert!(html.contains("잠정치: 184개국 중"), "{html}");
    let (_, html) = get(format!("{base}/explore?year=2026"), "lang=en").await;
    assert!(
        html.contains("A provisional year is never ranked"),
        "{html}"
    );

    // A country that published 2026 early: the figure is labelled provisional on its page.
    let early = next_release()
        .lines()
        .find(|l| l.contains(",2026,"))
        .and_then(|l| l.rsplit(',').nth(2).map(str::to_string))
        .unwrap();
    let (status, html) = get(format!("{base}/country/{early}"), "lang=en").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("<td data-col=\"kind\">Provisional (partial year)</td>"),
        "{early}: {html}"
    );

    // The Changes page: by default the last two runs.
    let (status, html) = get(format!("{base}/changes"), "lang=en").await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!(
            "From run {first} to run {second}: 1 values revised"
        )),
        "{html}"
    );
    assert!(html.contains(", 1 withdrawn"), "{html}");
    assert!(html.contains("data-code=\"CHL\" data-year=\"2025\""));
    assert!(html.contains("data-code=\"KOR\" data-year=\"2025\""));
    assert!(html.contains("−6.2 %"), "{html}");
    assert!(
        html.contains("href=\"/changes\""),
        "linked from the top bar"
    );
    // Filtered by country and size, in Korean.
    let (status, html) = get(format!("{base}/changes?country=KOR&min=5"), "lang=ko").await;
    assert_eq!(status, 200);
    assert!(html.contains("수정 1건, 추가 0건, 철회 0건"), "{html}");
    let (_, html) = get(format!("{base}/changes?country=KOR&min=7"), "lang=en").await;
    assert!(html.contains("0 values revised"), "{html}");
    // The other way round: from the newer run to the older one, Chile's value is added back.
    let (_, html) = get(
        format!("{base}/changes?from={second}&to={first}&country=CHL"),
        "lang=en",
    )
    .await;
    assert!(
        html.contains("0 values revised, 1 added, 0 withdrawn"),
        "{html}"
    );
    // The alerts of the release: the grouped notice and the revision have their pages.
    let (status, html) = get(format!("{base}/alerts/gdp_missing:WLD:2026"), "lang=en").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("countries not yet published"), "{html}");
    let (status, html) = get(format!("{base}/alerts/wb_revision:KOR"), "lang=ko").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("세계은행이"), "{html}");
    let (status, html) = get(format!("{base}/alerts/wb_withdrawn:CHL:2025"), "lang=en").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("World Bank withdrew its 2025 GDP"), "{html}");

    // As of the first run: its figures (Korea before the revision), a banner and a way back.
    let (status, html) = get(format!("{base}/"), "lang=en").await;
    assert_eq!(status, 200);
    // (The inbox is not per run: the revision alert names both figures, so only Korea's row of
    // the table is compared.)
    assert_eq!(korea_row(&html), "1,756.29", "Korea 2025 now");
    assert!(!html.contains("data-testid=\"as-of\""));
    let (status, html) = get(format!("{base}/?as_of={first}"), "lang=en").await;
    assert_eq!(status, 200);
    assert_eq!(korea_row(&html), "1,872.37", "Korea 2025 then");
    assert!(
        html.contains(&format!(
            "Viewing the data as of run {first}, not the current data."
        )),
        "{html}"
    );
    assert!(
        html.contains("<a href=\"/\">Back to the current data</a>"),
        "{html}"
    );
    assert!(
        !html.contains("2026 (provisional)"),
        "the first run had no 2026"
    );
    assert!(
        html.contains(&format!(
            "<input type=\"hidden\" name=\"as_of\" value=\"{first}\""
        )),
        "the year picker keeps the run"
    );
    let (_, html) = get(
        format!("{base}/explore?as_of={first}&country=KOR"),
        "lang=ko",
    )
    .await;
    assert!(
        html.contains(&format!("실행 {first} 시점의 데이터를 보고 있습니다")),
        "{html}"
    );
    let (status, html) = get(format!("{base}/country/KOR?as_of={first}"), "lang=en").await;
    assert_eq!(status, 200);
    assert!(html.contains("1,872.37"), "{html}");
    let (_, html) = get(format!("{base}/pipeline"), "lang=en").await;
    assert!(
        html.contains(&format!("href=\"/?as_of={first}\"")),
        "{html}"
    );
    let (status, _) = get(format!("{base}/?as_of=nope%2F.."), "lang=en").await;
    assert_eq!(status, 400);
    let (status, html) = get(format!("{base}/?as_of=20200101T000000.000Z"), "lang=en").await;
    assert_eq!(status, 404);
    assert!(html.contains("no snapshot of run"), "{html}");

    // Bad parameters are a 400 in the reader's language, never a 500.
    let (status, html) = get(format!("{base}/changes?from=nope"), "lang=en").await;
    assert_eq!(status, 400);
    assert!(html.contains("no run `nope`"), "{html}");
    let (status, html) = get(format!("{base}/changes?min=abc"), "lang=ko").await;
    assert_eq!(status, 400);
    assert!(html.contains("숫자가 아닙니다"), "{html}");
    let (status, _) = get(format!("{base}/changes?country=%27%3E%3C"), "lang=en").await;
    assert_eq!(status, 400);
}

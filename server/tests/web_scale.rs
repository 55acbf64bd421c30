//! The product at a hundred times the default data: a generated World Bank–shaped source of tens
//! of thousands of entities ([`testkit::world`]) through the real pipeline and rules, served by
//! the real router. Every API list answers a page under its limit, `next` cursors visit every
//! alert once while alerts are acted on, and the database counts what matches.

mod common;

use std::collections::HashSet;

use common::agent;
use common::large::large;
use display::alert::ActionKind;
use server::acting::{Acting, ActionFields, Owners};

/// The JSON of `GET url`, with its status and size.
fn get_json(url: &str) -> (u16, usize, serde_json::Value) {
    let (status, text, _) = get_page(url, "en");
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text.clone()));
    (status, text.len(), json)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_answers_a_page_with_the_databases_total_and_refuses_a_wrong_limit() {
    let large = tokio::task::spawn_blocking(large).await.unwrap();
    let base = large.serve().await;
    tokio::task::spawn_blocking(move || {
        let expected = large.world.expected_alerts();
        assert!(expected >= 20_000, "{expected}");
        // The default page: 100 of the active ones, under 1 MB, and how many there are. (Other
        // tests act on alerts meanwhile: every status counts them all.)
        let (status, bytes, first) = get_json(&format!("{base}/api/v1/alerts"));
        assert_eq!(status, 200);
        assert!(bytes < 1 << 20, "{bytes} bytes");
        assert!(first["total"].as_u64().unwrap() > 10_000);
        let (_, _, all) = get_json(&format!("{base}/api/v1/alerts?status=all&limit=1"));
        let total = all["total"].as_u64().unwrap();
        assert!(total >= expected, "{total} < {expected}");
        assert_eq!(
            (first["count"].as_u64(), first["limit"].as_u64()),
            (Some(100), Some(100))
        );
        assert_eq!(first["alerts"].as_array().unwrap().len(), 100);
        assert!(first["next"].is_string());
        // The largest page, still small.
        let (status, bytes, page) = get_json(&format!("{base}/api/v1/alerts?limit=1000"));
        assert_eq!(status, 200);
        assert!(bytes < 8 << 20, "{bytes} bytes");
        assert_eq!(page["alerts"].as_array().unwrap().len(), 1000);
        // A filter's total is its own, counted by the database.
        let falls = large.world.count(testkit::world::Story::Falls);
        let (_, _, fell) = get_json(&format!(
            "{base}/api/v1/alerts?status=all&rule=gdp_fall&limit=5"
        ));
        assert_eq!(fell["total"].as_u64(), Some(falls));
        assert_eq!(fell["count"].as_u64(), Some(5));
        // Out of range, not a number, or a cursor not of this API: a clear 400.
        for bad in [
            "limit=0",
            "limit=1001",
            "limit=ten",
            "limit=-1",
            "cursor=nope",
            "limit=5&limit=6",
            "limit=",
        ] {
            let (status, _, e) = get_json(&format!("{base}/api/v1/alerts?{bad}"));
            assert_eq!(status, 400, "{bad}: {e}");
            assert_eq!(e["error"]["code"], "invalid_input", "{bad}");
            assert!(e["error"]["message"]["ko"]
                .as_str()
                .is_some_and(|m| !m.is_empty()));
        }
        let (_, _, e) = get_json(&format!("{base}/api/v1/alerts?limit=5000"));
        let message = e["error"]["message"]["en"].as_str().unwrap();
        assert!(
            message.contains("1 to 1000") && message.contains("export"),
            "{message}"
        );
        // The same page again: 304 with its ETag.
        let url = format!("{base}/api/v1/alerts?severity=high&limit=50");
        let resp = agent().get(&url).call().unwrap();
        let etag = resp.headers()["etag"].to_str().unwrap().to_string();
        let again = agent()
            .get(&url)
            .header("if-none-match", &etag)
            .call()
            .unwrap();
        assert_eq!(again.status().as_u16(), 304);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn following_next_visits_every_alert_once_while_alerts_are_acted_on() {
    let large = tokio::task::spawn_blocking(large).await.unwrap();
    let base = large.serve().await;
    tokio::task::spawn_blocking(move || {
        let acting = Acting::new(&large.data, Owners::new());
        let order: Vec<String> = engine::state::AlertStore::open_in(&large.data)
            .unwrap()
            .list(&engine::state::AlertFilter::everything())
            .unwrap()
            .into_iter()
            .map(|r| r.alert.fingerprint)
            .collect();
        let (_, _, first) = get_json(&format!("{base}/api/v1/alerts?status=all&limit=1"));
        let total = first["total"].as_u64().unwrap() as usize;
        let mut seen: Vec<String> = Vec::with_capacity(total);
        let mut cursor: Option<String> = None;
        let mut pages = 0usize;
        loop {
            let url = match &cursor {
                Some(c) => format!("{base}/api/v1/alerts?status=all&limit=1000&cursor={c}"),
                None => format!("{base}/api/v1/alerts?status=all&limit=1000"),
            };
            let (status, _, page) = get_json(&url);
            assert_eq!(status, 200, "{page}");
            let alerts = page["alerts"].as_array().unwrap();
            seen.extend(
                alerts
                    .iter()
                    .map(|a| a["alert"]["fingerprint"].as_str().unwrap().to_string()),
            );
            // Meanwhile, people resolve and acknowledge alerts: some already read, some ahead.
            let ahead: Vec<(String, Option<i64>)> = order
                .iter()
                .skip(pages * 1000)
                .step_by(37)
                .take(60)
                .map(|fp| (fp.clone(), None))
                .collect();
            for (kind, picked) in [
                (ActionKind::Resolve, ahead.clone()),
                (ActionKind::Acknowledge, ahead),
            ] {
                acting
                    .act_bulk(
                        kind,
                        server::acting::Targets::Picked(picked),
                        &ActionFields::default(),
                        "lee",
                    )
                    .unwrap();
            }
            pages += 1;
            assert!(pages <= total / 1000 + 2, "the pages never end");
            match page["next"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => break,
            }
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "an alert came twice");
        assert_eq!(seen.len(), total, "every alert once");
    })
    .await
    .unwrap();
}

/// The HTML of `GET url` in `lang`, with its status and how long it took.
fn get_page(url: &str, lang: &str) -> (u16, String, std::time::Duration) {
    let started = std::time::Instant::now();
    let mut resp = agent()
        .get(url)
        .header("Cookie", format!("lang={lang}"))
        .call()
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()
        .unwrap();
    (status, text, started.elapsed())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_answers_200_under_a_megabyte_and_the_inbox_pages() {
    let large = tokio::task::spawn_blocking(large).await.unwrap();
    let base = large.serve().await;
    tokio::task::spawn_blocking(move || {
        let fp = engine::state::AlertStore::open_in(&large.data)
            .unwrap()
            .page(&engine::state::AlertFilter::default(), None, 1)
            .unwrap()
            .records[0]
            .alert
            .fingerprint
            .clone();
        let alert_page = format!("/alerts/{}", fp.replace(':', "%3A"));
        let pages = [
            "/",
            "/alerts",
            "/alerts?severity=high",
            "/alerts?status=all",
            "/alerts?page=2",
            "/alerts?page=400",
            "/alerts?region=Asia&overdue=no&page=3",
            "/explore",
            "/explore?year=2025&metric=gdp&min=100&sort=gdp&dir=desc",
            "/explore?page=2000",
            "/changes",
            "/rules",
            "/pipeline",
            "/editions",
            "/country/Q000001",
            alert_page.as_str(),
        ];
        for path in pages {
            for lang in ["en", "ko"] {
                let (status, html, took) = get_page(&format!("{base}{path}"), lang);
                // A source without two forecast editions has nothing to compare: said, not failed.
                let expected = if path == "/editions" { 400 } else { 200 };
                assert_eq!(
                    status,
                    expected,
                    "{path} ({lang}): {}",
                    &html[..html.len().min(600)]
                );
                assert!(
                    html.len() < 1 << 20,
                    "{path} ({lang}): {} bytes",
                    html.len()
                );
                eprintln!(
                    "{path} ({lang}): {} bytes in {} ms",
                    html.len(),
                    took.as_millis()
                );
            }
        }

        // The overview shows the first rows and leads to explore for all of them.
        let (_, html, _) = get_page(&format!("{base}/"), "en");
        let large_total = large.world.entities - large.world.count(testkit::world::Story::Missing);
        assert!(
            html.contains(&format!("All {large_total} countries on explore")),
            "the overview names every country ≥ 100 B"
        );
        let rows = html.matches("<tr data-code=").count();
        assert_eq!(rows, engine::query::queries::OVERVIEW_TOP_ROWS);

        // The inbox, one card per alert (asked for: grouping is the default): 50 by default,
        // where they are among all that match, and the next page.
        let (_, html, _) = get_page(&format!("{base}/alerts?severity=high&group=none"), "en");
        let high = engine::state::AlertStore::open_in(&large.data)
            .unwrap()
            .count(&engine::state::AlertFilter {
                severity: Some(display::alert::Severity::High),
                ..Default::default()
            })
            .unwrap();
        assert!(high > 1000, "{high}");
        assert_eq!(html.matches("class=\"alert-card\"").count(), 50);
        assert!(
            html.contains(&format!("1–50 of {high} matching alerts")),
            "the count line"
        );
        assert!(
            html.contains("href=\"/alerts?severity=high&amp;group=none&amp;page=2\""),
            "a next link, still one card per alert"
        );
        let (_, page2, _) = get_page(
            &format!("{base}/alerts?severity=high&group=none&page=2"),
            "ko",
        );
        assert!(page2.contains(&format!("조건에 맞는 알림 {high}건 중 51–100")));
        assert!(
            page2.contains("href=\"/alerts?severity=high&amp;group=none\""),
            "a previous link to page 1, still one card per alert"
        );
        // The pages follow one another: page 2's first alert is the 51st.
        let order: Vec<String> = engine::state::AlertStore::open_in(&large.data)
            .unwrap()
            .page_at(
                &engine::state::AlertFilter {
                    severity: Some(display::alert::Severity::High),
                    ..Default::default()
                },
                50,
                1,
            )
            .unwrap()
            .into_iter()
            .map(|r| r.alert.fingerprint)
            .collect();
        let marker = "data-fingerprint=\"";
        let at = page2.find(marker).expect("a card") + marker.len();
        assert!(page2[at..].starts_with(&format!("{}\"", order[0])));

        // Grouped: the alerts of one country and period on one card, the most severe first, and
        // the pages over cards.
        let everything = engine::state::AlertFilter::everything();
        let store = engine::state::AlertStore::open_in(&large.data).unwrap();
        let (groups, alerts) = (
            store.count_groups(&everything).unwrap(),
            store.count(&everything).unwrap(),
        );
        assert!(
            groups < alerts && groups > 10_000,
            "{groups} groups of {alerts}"
        );
        // Grouping is the default; `group=entity` says it explicitly, to the same page.
        let (status, html, _) = get_page(&format!("{base}/alerts?status=all"), "en");
        let (_, explicit, _) = get_page(&format!("{base}/alerts?status=all&group=entity"), "en");
        assert_eq!(status, 200);
        assert!(html.len() < 1 << 20);
        for html in [&html, &explicit] {
            assert!(
                html.contains(&format!(
                    "1–50 of {groups} cards ({alerts} matching alerts)"
                )),
                "the count line names cards and alerts"
            );
            assert!(html.contains("href=\"/alerts?status=all&amp;page=2\""));
        }
        // A card: an `<li>` whose tag has the group's class and its top alert, a fall.
        let at = html
            .match_indices("<li ")
            .map(|(i, _)| i)
            .find(|&i| {
                let tag = &html[i..i + html[i..].find('>').unwrap()];
                tag.contains("alert-group") && tag.contains("data-fingerprint=\"gdp_fall:")
            })
            .unwrap_or_else(|| {
                std::fs::write(concat!(env!("CARGO_TARGET_TMPDIR"), "/grouped.html"), &html)
                    .unwrap();
                panic!("a fall with its anomaly on one card")
            });
        let rest = &html[at..];
        let list = &rest[rest.find("data-testid=\"group-signals\"").unwrap()..];
        let members: Vec<&str> = list
            .split("<li data-fingerprint=\"")
            .skip(1)
            .take(2)
            .map(|m| m.split('"').next().unwrap())
            .collect();
        assert!(members[0].starts_with("gdp_fall:"), "{members:?}");
        assert!(members[1].starts_with("gdp_anomaly:"), "{members:?}");
        assert_eq!(
            members[0].trim_start_matches("gdp_fall:"),
            members[1].trim_start_matches("gdp_anomaly:")
        );
        for url in [
            format!("{base}/alerts?status=all&page=2"),
            format!("{base}/alerts?status=all&group=entity&page=2"),
        ] {
            let (_, page2, _) = get_page(&url, "ko");
            assert!(
                page2.contains(&format!("카드 {groups}개 중 51–100")),
                "{url}"
            );
        }
    })
    .await
    .unwrap();
}

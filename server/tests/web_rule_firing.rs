//! `/rules` at scale: each rule's firing in the last evaluation (alerts over the entities it
//! looked at, counted by the database) in both languages, and a rule over its `max_fire_share`
//! shown with its share, the notifications held back and a link to its one notice. On a
//! generated source ([`testkit::world`]) through the real pipeline, rules, state and router.

mod common;

use common::agent;
use common::large::{build, Large};
use testkit::world::{LargeWorld, Story};

const ENTITIES: u64 = 2_000;

fn get_page(url: &str, lang: &str) -> (u16, String) {
    let mut resp = agent()
        .get(url)
        .header("Cookie", format!("lang={lang}"))
        .call()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap())
}

/// The generated workspace, evaluated with gdp_surge's threshold at +0.1 %: every economy that
/// grows fires, far over the default 20 %.
fn workspace(dir: &std::path::Path) -> Large {
    let (config, data) = (dir.join("config"), dir.join("data"));
    let world = LargeWorld::new(ENTITIES);
    build(&config, &data, world);
    let rules = std::fs::read_to_string(config.join("rules.yml")).unwrap();
    let low = rules.replacen("rise_at_least: 15", "rise_at_least: 0.1", 1);
    assert_ne!(low, rules);
    std::fs::write(config.join("rules.yml"), low).unwrap();
    let large = Large {
        data,
        config,
        world,
    };
    let run = large.run_config();
    let sources = engine::config::Sources::load(&run.sources, &run.mirror).unwrap();
    let set = engine::rules::RuleSet::load(&run.metrics, &run.rules, &sources).unwrap();
    engine::publish::refresh(&engine::snapshot::SnapshotStore::new(&large.data), &set).unwrap();
    large
}

#[tokio::test(flavor = "multi_thread")]
async fn rules_shows_each_rules_firing_and_the_notice_of_one_over_its_share() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let large = tokio::task::spawn_blocking(move || workspace(&path))
        .await
        .unwrap();
    let base = large.serve().await;
    let world = large.world;
    tokio::task::spawn_blocking(move || {
        let surged = world.count(Story::Surges) + world.count(Story::Grows);
        let falls = world.count(Story::Falls);
        let pct = |n: u64| format!("{:.1}", n as f64 * 100.0 / ENTITIES as f64);
        let n = |v: u64| display::grouped(v as f64, 0);

        let (status, html) = get_page(&format!("{base}/rules"), "en");
        assert_eq!(status, 200);
        // Under its share: the counts only.
        assert!(
            html.contains(&format!(
                "<span data-share=\"ok\">{} of {} entities ({} %)</span>",
                n(falls),
                n(ENTITIES),
                pct(falls)
            )),
            "gdp_fall's firing: {html}"
        );
        // Over it: the share, what was held back, and the notice.
        assert!(
            html.contains(&format!(
                "<strong>{} of {} entities ({} %)</strong>",
                n(surged),
                n(ENTITIES),
                pct(surged)
            )),
            "gdp_surge's firing: {html}"
        );
        assert!(
            html.contains(&format!(
                "over its max_fire_share of 20.0 %: {} notifications held back, one notice sent",
                n(surged)
            )),
            "{html}"
        );
        assert!(
            html.contains("href=\"/alerts/fire_share:gdp_surge\""),
            "{html}"
        );
        assert_eq!(html.matches("data-share=\"over\"").count(), 1, "{html}");

        let (status, ko) = get_page(&format!("{base}/rules"), "ko");
        assert_eq!(status, 200);
        assert!(
            ko.contains(&format!(
                "엔터티 {}개 중 {}개({}%)",
                n(ENTITIES),
                n(surged),
                pct(surged)
            )),
            "{ko}"
        );
        assert!(
            ko.contains(&format!("알림 발송 {}건 보류", n(surged))),
            "{ko}"
        );

        // The notice's own page says the share, in both languages.
        let (status, notice) = get_page(&format!("{base}/alerts/fire_share:gdp_surge"), "en");
        assert_eq!(status, 200);
        assert!(
            notice.contains(&format!(
                "gdp_surge fired for {} % of entities: threshold too low?",
                pct(surged)
            )),
            "{notice}"
        );
        // Its evidence, labelled: the share in %, and how many were held back.
        assert!(notice.contains("Notifications held back"), "{notice}");
        assert!(notice.contains(&format!("{} %", pct(surged))), "{notice}");
        let (_, notice) = get_page(&format!("{base}/alerts/fire_share:gdp_surge"), "ko");
        assert!(notice.contains("보류한 알림 발송"), "{notice}");
        assert!(notice.contains("임계값이 너무 낮은가요?"), "{notice}");
    })
    .await
    .unwrap();
}

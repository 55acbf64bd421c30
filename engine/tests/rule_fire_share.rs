//! `max_fire_share` on a generated source (`testkit::world`) through the real pipeline, rules,
//! alert state and outbox: a rule whose threshold is far too low fires for most entities and
//! raises exactly one `data_quality` notice, which alone pages; its own alerts are all kept but
//! write no outbox rows in that evaluation. Back under its share, the notice resolves; with the
//! share raised for that rule, its alerts page as usual.

use std::collections::HashSet;
use std::path::PathBuf;

use display::alert::Status;
use engine::config::Sources;
use engine::etl::Pipeline;
use engine::rules::RuleSet;
use engine::snapshot::SnapshotStore;
use engine::state::{AlertFilter, AlertStore};
use testkit::world::{LargeWorld, Story};

/// Every alert that pages goes to one channel, at once (never sent here: nothing drains).
const NOTIFY: &str = "channels:
  - { id: chat, kind: slack, url: 'http://127.0.0.1:9/s' }
routes:
  - match: {}
    send: immediately
    to: [chat]
";

fn project_config() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config")
}

struct Workspace {
    _dir: tempfile::TempDir,
    config: PathBuf,
    data: PathBuf,
    world: LargeWorld,
    /// The default rules without the IMF ones, as `without_imf` writes them.
    rules: String,
}

impl Workspace {
    fn new(entities: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (config, data) = (dir.path().join("config"), dir.path().join("data"));
        let world = LargeWorld::new(entities);
        world.write(&config).unwrap();
        let (metrics, rules) = testkit::world::without_imf(
            &std::fs::read_to_string(project_config().join("metrics.yml")).unwrap(),
            &std::fs::read_to_string(project_config().join("rules.yml")).unwrap(),
        )
        .unwrap();
        std::fs::write(config.join("metrics.yml"), metrics).unwrap();
        std::fs::write(config.join("notify.yml"), NOTIFY).unwrap();
        let sources = Sources::load(&config.join("sources.yml"), &config).unwrap();
        Pipeline::new(sources, &data).run().unwrap();
        Workspace {
            _dir: dir,
            config,
            data,
            world,
            rules,
        }
    }

    /// The rule set with `rules` as its rules file.
    fn rule_set(&self, rules: &str) -> RuleSet {
        std::fs::write(self.config.join("rules.yml"), rules).unwrap();
        let sources = Sources::load(&self.config.join("sources.yml"), &self.config).unwrap();
        RuleSet::load(
            &self.config.join("metrics.yml"),
            &self.config.join("rules.yml"),
            &sources,
        )
        .unwrap()
    }

    /// gdp_surge at +0.1 % (and `extra` fields of the rule): every economy that grows fires.
    fn low_surge(&self, extra: &str) -> String {
        let line = self
            .rules
            .lines()
            .find(|l| l.trim() == "rise_at_least: 15")
            .expect("gdp_surge's threshold is in the rules");
        let indent = &line[..line.len() - line.trim_start().len()];
        let text = self.rules.replacen(
            line,
            &format!("{indent}rise_at_least: 0.1{extra}").replace('\n', &format!("\n{indent}")),
            1,
        );
        assert_ne!(text, self.rules, "gdp_surge's threshold is in the rules");
        text
    }

    fn store(&self) -> AlertStore {
        AlertStore::open_in(&self.data).unwrap()
    }

    /// Outbox rows by fingerprint.
    fn outbox_fingerprints(&self) -> Vec<String> {
        self.store()
            .deliveries(1_000_000)
            .unwrap()
            .into_iter()
            .filter_map(|m| m.fingerprint)
            .collect()
    }
}

fn rule_alerts(store: &AlertStore, rule: &str, statuses: Vec<Status>) -> usize {
    store
        .count(&AlertFilter {
            rule_id: Some(rule.into()),
            statuses,
            ..AlertFilter::default()
        })
        .unwrap()
}

#[test]
fn a_rule_firing_for_most_entities_raises_one_notice_and_holds_back_its_pages() {
    let ws = Workspace::new(3_000);
    let snapshots = SnapshotStore::new(&ws.data);
    let surges = ws.world.count(Story::Surges) + ws.world.count(Story::Grows);

    // 1. Far too low a threshold: about 80 % of the entities fire.
    let set = ws.rule_set(&ws.low_surge(""));
    assert_eq!(set.rules.get("gdp_surge").unwrap().max_fire_share, 20.0);
    let (evaluation, summary) = engine::publish::refresh(&snapshots, &set).unwrap();
    let firing = evaluation
        .per_rule
        .iter()
        .find(|f| f.rule_id == "gdp_surge")
        .unwrap();
    // Every entity had a figure for the year before: all were looked at.
    assert_eq!(firing.entities, Some(ws.world.entities as usize));
    assert_eq!(firing.fired_entities as u64, surges);
    assert_eq!(firing.alerts as u64, surges);
    assert!(firing.over_limit(), "{firing:?}");
    assert_eq!(firing.held_back, firing.alerts);
    let notices: Vec<_> = evaluation
        .alerts
        .iter()
        .filter(|a| a.fingerprint.starts_with("fire_share:"))
        .collect();
    assert_eq!(notices.len(), 1, "exactly one notice");
    let notice = notices[0];
    assert_eq!(notice.fingerprint, "fire_share:gdp_surge");
    assert_eq!(notice.rule_id, "gdp_surge");
    assert_eq!(notice.kind, "data_quality");
    assert!(notice.data_issue && notice.auto_resolve);
    let share = display::value(
        display::Format::Percent,
        surges as f64 * 100.0 / ws.world.entities as f64,
        display::Lang::En,
    );
    assert_eq!(
        notice.title.en,
        format!("gdp_surge fired for {share} of entities: threshold too low?")
    );
    assert!(
        notice.title.ko.contains("임계값이 너무 낮은가요?"),
        "{}",
        notice.title.ko
    );
    let held = display::grouped(surges as f64, 0);
    assert!(
        notice
            .explanation
            .en
            .contains(&format!("{held} notifications were held back")),
        "{}",
        notice.explanation.en
    );
    assert!(notice
        .explanation
        .ko
        .contains(&format!("알림 발송 {held}건을 보류")));
    assert!(notice.actions[0].text.en.contains("config/rules.yml"));
    assert_eq!(notice.evidence.values["held_back"], surges as f64);
    // Nothing else is over its share.
    assert_eq!(
        evaluation
            .per_rule
            .iter()
            .filter(|f| f.over_limit())
            .count(),
        1
    );

    // Its alerts are all kept and active in the inbox (and the notice, of the same rule).
    let store = ws.store();
    assert_eq!(
        rule_alerts(&store, "gdp_surge", Vec::new()) as u64,
        surges + 1
    );
    assert_eq!(summary.held_back as u64, surges);
    // The outbox: the notice pages, the held alerts write nothing, other rules page as usual.
    let outbox = ws.outbox_fingerprints();
    assert!(outbox.iter().any(|f| f == "fire_share:gdp_surge"));
    assert!(
        !outbox.iter().any(|f| f.starts_with("gdp_surge:")),
        "held alerts wrote outbox rows"
    );
    let falls = outbox.iter().filter(|f| f.starts_with("gdp_fall:")).count();
    assert_eq!(falls as u64, ws.world.count(Story::Falls));
    // /rules reads the same counts back from the state.
    let health = store.rule_health().unwrap();
    let surge = health.iter().find(|h| h.rule_id == "gdp_surge").unwrap();
    assert_eq!(surge.last_evaluation.as_ref(), Some(firing));
    drop(store);

    // 2. The default threshold: under the share, the notice resolves like any alert, and no
    //    new notice is raised.
    let set = ws.rule_set(&ws.rules);
    let (evaluation, _) = engine::publish::refresh(&snapshots, &set).unwrap();
    assert!(evaluation
        .alerts
        .iter()
        .all(|a| !a.fingerprint.starts_with("fire_share:")));
    assert!(evaluation.per_rule.iter().all(|f| !f.over_limit()));
    let store = ws.store();
    let notice = store.get("fire_share:gdp_surge").unwrap().unwrap();
    assert_eq!(notice.status, Status::Resolved);
    assert_eq!(
        rule_alerts(&store, "gdp_surge", Vec::new()) as u64,
        ws.world.count(Story::Surges)
    );
    drop(store);

    // 3. The same low threshold with the rule's share raised: no notice, and the alerts that
    //    fire again page (their reopening is written to the outbox).
    let before: HashSet<String> = ws.outbox_fingerprints().into_iter().collect();
    let set = ws.rule_set(&ws.low_surge("\nmax_fire_share: 95"));
    assert_eq!(set.rules.get("gdp_surge").unwrap().max_fire_share, 95.0);
    let (evaluation, summary) = engine::publish::refresh(&snapshots, &set).unwrap();
    assert_eq!(summary.held_back, 0);
    assert!(evaluation
        .alerts
        .iter()
        .all(|a| !a.fingerprint.starts_with("fire_share:")));
    let outbox = ws.outbox_fingerprints();
    let reopened = outbox
        .iter()
        .filter(|f| f.starts_with("gdp_surge:"))
        .count() as u64;
    assert_eq!(
        reopened,
        surges - ws.world.count(Story::Surges),
        "the grown economies' alerts page again ({} rows before)",
        before.len()
    );
    assert_eq!(
        ws.store()
            .get("fire_share:gdp_surge")
            .unwrap()
            .unwrap()
            .status,
        Status::Resolved
    );
}

#[test]
fn the_generated_source_with_the_default_rules_raises_no_notice() {
    let ws = Workspace::new(1_200);
    let set = ws.rule_set(&ws.rules);
    let (evaluation, summary) =
        engine::publish::refresh(&SnapshotStore::new(&ws.data), &set).unwrap();
    assert_eq!(summary.held_back, 0);
    assert!(evaluation.alerts.len() as u64 >= ws.world.expected_alerts());
    for firing in &evaluation.per_rule {
        assert!(!firing.over_limit(), "{firing:?}");
    }
    let fall = evaluation
        .per_rule
        .iter()
        .find(|f| f.rule_id == "gdp_fall")
        .unwrap();
    assert_eq!(fall.fired_entities as u64, ws.world.count(Story::Falls));
    assert_eq!(fall.entities, Some(1_200));
    // 10 % of the entities, in both languages.
    assert_eq!(
        fall.summary(display::Lang::En),
        "120 of 1,200 entities (10.0 %)"
    );
    assert_eq!(
        fall.summary(display::Lang::Ko),
        "엔터티 1,200개 중 120개(10.0%)"
    );
}

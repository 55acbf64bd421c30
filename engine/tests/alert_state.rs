//! The alert state across loads, on a real SQLite file: open, keep, update, clear, resolve,
//! reopen, and idempotent re-merges.

mod common;

use std::collections::BTreeMap;

use chrono::{Duration, TimeZone, Utc};
use display::{Format, Text};
use engine::rules::config::Scope;
use engine::rules::{Action, Alert, Evaluation, Evidence, Severity};
use engine::state::AlertFilter;
use engine::state::AlertStore;
use engine::state::Status;

fn alert(rule: &str, entity: &str, value: f64, auto_resolve: bool) -> Alert {
    Alert {
        fingerprint: format!("{rule}:{entity}:2025"),
        rule_id: rule.into(),
        rule_name: Text::new(rule, rule),
        kind: "change".into(),
        severity: Severity::High,
        priority: 4.0 + value / 1000.0,
        scope: Scope::Country,
        entity: entity.into(),
        entity_name: format!("Name {entity}"),
        region: Some("Asia".into()),
        period: "2025".into(),
        title: Text::new(format!("{entity} at {value}"), format!("{entity} {value}")),
        explanation: Text::new("why", "왜"),
        evidence: Evidence {
            metric: "gdp".into(),
            metric_label: Text::new("GDP", "GDP"),
            format: Format::UsdBillions,
            values: BTreeMap::from([("value".to_string(), value)]),
            series: Vec::new(),
            source: None,
            run_id: "ignored".into(),
            projection: false,
            data_issue_reason: None,
        },
        actions: vec![Action {
            text: Text::new("act", "조치"),
            owner: "apac_desk".into(),
            owner_label: Text::new("APAC desk", "APAC 데스크"),
            due_days: 7,
        }],
        data_issue: false,
        auto_resolve,
    }
}

fn eval(run: &str, alerts: Vec<Alert>) -> Evaluation {
    let alerts = alerts
        .into_iter()
        .map(|mut a| {
            a.evidence.run_id = run.into();
            a
        })
        .collect();
    Evaluation {
        run_id: run.into(),
        rules_digest: "digest".into(),
        alerts,
        per_rule: Vec::new(),
        evaluated_periods: Default::default(),
        withdrawn: Default::default(),
    }
}

fn kinds(store: &AlertStore, fingerprint: &str) -> Vec<String> {
    store
        .history(fingerprint)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

#[test]
fn lifecycle_across_loads() {
    let dir = common::state_dir();
    let mut store = AlertStore::open_in(dir.path()).unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    // The same two alerts, as a load of `run` raises them.
    let both = |run: &str| {
        eval(
            run,
            vec![
                alert("fall", "KOR", 100.0, false),
                alert("fall", "JPN", 50.0, true),
            ],
        )
    };

    // Load 1: two alerts open.
    let s = store.merge(&both("run1"), t0).unwrap();
    assert_eq!((s.opened, s.updated, s.cleared), (2, 0, 0));
    let inbox = store.list(&AlertFilter::default()).unwrap();
    assert_eq!(inbox.len(), 2);
    assert_eq!(inbox[0].alert.entity, "KOR", "ordered by priority");
    assert_eq!(inbox[0].due_dates()[0], t0 + Duration::days(7));

    // Merging the same run again changes nothing: no duplicates, no events.
    let again = store.merge(&both("run1"), t0 + Duration::hours(1)).unwrap();
    assert!(again.already_merged);
    // A new load with the same figures: still one alert each, no "updated" events.
    let same = store.merge(&both("run2"), t0 + Duration::hours(2)).unwrap();
    assert_eq!((same.opened, same.updated, same.unchanged), (0, 0, 2));
    assert_eq!(kinds(&store, "fall:KOR:2025"), ["opened"]);

    // Someone acknowledges KOR; load 3 still fires it with new evidence: the state is kept.
    store
        .set_status(
            "fall:KOR:2025",
            Status::Acknowledged,
            "kim",
            Some("on it"),
            t0 + Duration::days(1),
        )
        .unwrap();
    let s = store
        .merge(
            &eval(
                "run3",
                vec![
                    alert("fall", "KOR", 120.0, false),
                    alert("fall", "JPN", 50.0, true),
                ],
            ),
            t0 + Duration::days(2),
        )
        .unwrap();
    assert_eq!(s.updated, 1);
    let kor = store.get("fall:KOR:2025").unwrap().unwrap();
    assert_eq!(kor.status, Status::Acknowledged);
    assert_eq!(kor.alert.title.en, "KOR at 120");
    assert_eq!(
        kinds(&store, "fall:KOR:2025"),
        ["opened", "acknowledged", "updated"]
    );

    // Load 4: neither fires. KOR is marked cleared; JPN (auto_resolve) resolves itself.
    let s = store
        .merge(&eval("run4", vec![]), t0 + Duration::days(3))
        .unwrap();
    assert_eq!((s.cleared, s.auto_resolved), (1, 1));
    let kor = store.get("fall:KOR:2025").unwrap().unwrap();
    assert_eq!((kor.status, kor.firing), (Status::Cleared, false));
    assert_eq!(
        store.get("fall:JPN:2025").unwrap().unwrap().status,
        Status::Resolved
    );
    assert!(store.list(&AlertFilter::default()).unwrap().is_empty());

    // Load 5: JPN fires again → reopens, with an event; its actions are due from the reopening.
    let t5 = t0 + Duration::days(10);
    let s = store
        .merge(&eval("run5", vec![alert("fall", "JPN", 50.0, true)]), t5)
        .unwrap();
    assert_eq!(s.reopened, 1);
    let jpn = store.get("fall:JPN:2025").unwrap().unwrap();
    assert_eq!(jpn.status, Status::Open);
    assert_eq!(jpn.due_dates()[0], t5 + Duration::days(7));
    assert_eq!(
        kinds(&store, "fall:JPN:2025"),
        ["opened", "auto_resolved", "reopened"]
    );
    let history = store.history("fall:JPN:2025").unwrap();
    assert_eq!(history[2].run_id.as_deref(), Some("run5"));
    assert_eq!(history[2].from_status, Some(Status::Resolved));

    // A dismissed alert stays dismissed while it keeps firing.
    store
        .set_status("fall:JPN:2025", Status::Dismissed, "lee", None, t5)
        .unwrap();
    store
        .merge(
            &eval("run6", vec![alert("fall", "JPN", 50.0, true)]),
            t5 + Duration::days(1),
        )
        .unwrap();
    assert_eq!(
        store.get("fall:JPN:2025").unwrap().unwrap().status,
        Status::Dismissed
    );
}

#[test]
fn the_state_survives_reopening_the_file_and_filters_work() {
    let dir = common::state_dir();
    let now = Utc::now();
    {
        let mut store = AlertStore::open_in(dir.path()).unwrap();
        let mut issue = alert("quality", "wb_gdp", 1.0, true);
        issue.data_issue = true;
        issue.severity = Severity::Medium;
        store
            .merge(
                &eval("run1", vec![alert("fall", "KOR", 1.0, false), issue]),
                now,
            )
            .unwrap();
    }
    let store = AlertStore::open_in(dir.path()).unwrap();
    let all = store.list(&AlertFilter::default()).unwrap();
    assert_eq!(all.len(), 2);
    let only = |f: AlertFilter| -> Vec<String> {
        store
            .list(&f)
            .unwrap()
            .into_iter()
            .map(|r| r.alert.entity)
            .collect()
    };
    assert_eq!(
        only(AlertFilter {
            data_issue: Some(true),
            ..Default::default()
        }),
        ["wb_gdp"]
    );
    assert_eq!(
        only(AlertFilter {
            severity: Some(Severity::High),
            ..Default::default()
        }),
        ["KOR"]
    );
    assert_eq!(
        only(AlertFilter {
            rule_id: Some("fall".into()),
            ..Default::default()
        }),
        ["KOR"]
    );
    assert_eq!(
        only(AlertFilter {
            owner: Some("apac_desk".into()),
            ..Default::default()
        })
        .len(),
        2
    );
    assert!(only(AlertFilter {
        owner: Some("apac".into()),
        ..Default::default()
    })
    .is_empty());
    assert!(only(AlertFilter {
        statuses: vec![Status::Resolved],
        ..Default::default()
    })
    .is_empty());
    assert!(matches!(
        AlertStore::open_in(dir.path()).unwrap().set_status(
            "nope",
            Status::Resolved,
            "x",
            None,
            now
        ),
        Err(engine::state::StateError::NoSuchAlert(_))
    ));
}

#[test]
fn the_state_version_changes_with_every_commit_and_only_then() {
    use engine::state::StateWatch;
    let dir = common::state_dir();
    let watch = StateWatch::new(dir.path());
    if dir.postgres_url.is_none() {
        // A shared database has its (empty) state from the start; a folder has no file yet.
        assert_eq!(watch.version(), None, "no state yet");
    }
    let mut store = AlertStore::open_in(dir.path()).unwrap();
    let v0 = watch.version().unwrap();
    store
        .merge(
            &eval("run1", vec![alert("fall", "KOR", 1.0, false)]),
            Utc::now(),
        )
        .unwrap();
    assert_ne!(v0, watch.version().unwrap(), "a commit changes it at once");
    // A shared state's version also moves when the database's notification of that commit
    // arrives (within moments); then it holds still.
    let v1 = settled(&watch);
    // Readers opening and closing connections (which creates and removes the write-ahead log
    // when the last one closes) change nothing.
    for _ in 0..20 {
        let reader = AlertStore::open_in(dir.path()).unwrap();
        reader
            .list(&engine::state::AlertFilter::everything())
            .unwrap();
        drop(reader);
        assert_eq!(watch.version().unwrap(), v1, "stable while nothing changes");
    }
    drop(store);
    assert_eq!(
        watch.version().unwrap(),
        v1,
        "closing the writer is no change"
    );
    let mut store = AlertStore::open_in(dir.path()).unwrap();
    store
        .set_status(
            "fall:KOR:2025",
            Status::Acknowledged,
            "kim",
            None,
            Utc::now(),
        )
        .unwrap();
    assert_ne!(watch.version().unwrap(), v1);
}

/// An alert about a figure the publisher withdrew stops firing, but it did not recover: it keeps
/// its status (open or acknowledged), is marked as a data issue, and waits for a person. Another
/// alert that stops firing in the same load still clears as before, and the mark goes when the
/// figure comes back.
#[test]
fn a_withdrawn_figure_is_not_a_recovery() {
    use engine::rules::eval::WithdrawnFigure;
    use engine::state::Act;
    let dir = common::state_dir();
    let mut store = AlertStore::open_in(dir.path()).unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let sourced = |entity: &str, auto_resolve: bool| {
        let mut a = alert("gdp_fall", entity, 100.0, auto_resolve);
        a.evidence.source = Some(
            display::alert::SourceRef {
                source_id: "wb_gdp".into(),
                title: "GDP".into(),
                publisher: "World Bank".into(),
                edition: "2026-07".into(),
                licence: "CC BY 4.0".into(),
                read_from: "mirror".into(),
                location: String::new(),
                url: None,
                fallback_reason: None,
                fetched_at: String::new(),
                sha256: String::new(),
            }
            .into(),
        );
        a
    };
    let first = eval(
        "run1",
        vec![
            sourced("EGY", true),
            sourced("IRN", true),
            sourced("KOR", true),
        ],
    );
    store.merge(&first, t0).unwrap();
    store
        .act(
            "gdp_fall:IRN:2025",
            &Act::Acknowledge { note: None },
            None,
            "kim",
            t0,
        )
        .unwrap();

    // The next release withdraws Egypt's and Iran's 2025 values; Korea's recovered.
    let mut second = eval("run2", Vec::new());
    second.withdrawn = ["EGY", "IRN"]
        .iter()
        .map(|e| WithdrawnFigure {
            source_id: "wb_gdp".into(),
            entity: e.to_string(),
            period: "2025".into(),
        })
        .collect();
    let t1 = t0 + Duration::days(1);
    let s = store.merge(&second, t1).unwrap();
    assert_eq!((s.withdrawn, s.auto_resolved), (2, 1), "{s:?}");
    let get = |store: &AlertStore, fp: &str| store.get(fp).unwrap().unwrap();
    let egy = get(&store, "gdp_fall:EGY:2025");
    assert_eq!(egy.status, Status::Open, "never resolved on missing data");
    assert_eq!(egy.figure_withdrawn_at, Some(t1));
    assert!(!egy.firing);
    assert_eq!(
        get(&store, "gdp_fall:IRN:2025").status,
        Status::Acknowledged
    );
    assert_eq!(get(&store, "gdp_fall:KOR:2025").status, Status::Resolved);
    assert_eq!(
        kinds(&store, "gdp_fall:EGY:2025"),
        ["opened", "figure_withdrawn"]
    );
    let data_issues = store
        .list(&AlertFilter {
            data_issue: Some(true),
            ..AlertFilter::default()
        })
        .unwrap();
    assert_eq!(
        data_issues.len(),
        2,
        "both withdrawn alerts count as data issues"
    );

    // A load that still lacks the figure leaves it alone (no second event).
    let s = store
        .merge(&eval("run3", Vec::new()), t1 + Duration::days(1))
        .unwrap();
    assert_eq!((s.withdrawn, s.auto_resolved, s.cleared), (0, 0, 0));
    // A person closes it.
    store
        .act(
            "gdp_fall:EGY:2025",
            &Act::Resolve { note: None },
            None,
            "kim",
            t1,
        )
        .unwrap();
    assert_eq!(get(&store, "gdp_fall:EGY:2025").status, Status::Resolved);
    // Iran's figure comes back and fires again: the mark goes.
    store
        .merge(
            &eval("run4", vec![sourced("IRN", true)]),
            t1 + Duration::days(2),
        )
        .unwrap();
    let irn = get(&store, "gdp_fall:IRN:2025");
    assert_eq!(irn.figure_withdrawn_at, None);
    assert!(irn.firing);
}

/// The version once it holds still for 300 ms (at most 5 s).
fn settled(watch: &engine::state::StateWatch) -> u64 {
    let mut last = watch.version().unwrap();
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(5) {
        std::thread::sleep(std::time::Duration::from_millis(300));
        let now = watch.version().unwrap();
        if now == last {
            return now;
        }
        last = now;
    }
    panic!("the state version never held still");
}

/// Another server's write (here a connection of the test's own, which this process does not
/// count as its commit) reaches this process's readers within two seconds: on PostgreSQL
/// through the database's notification, on SQLite at once.
#[test]
fn a_change_made_elsewhere_reaches_readers_within_two_seconds() {
    let dir = common::state_dir();
    let mut store = AlertStore::open_in(dir.path()).unwrap();
    store
        .merge(
            &eval("run1", vec![alert("fall", "KOR", 1.0, false)]),
            Utc::now(),
        )
        .unwrap();
    drop(store);
    let watch = engine::state::StateWatch::new(dir.path());
    let before = settled(&watch);
    dir.raw()
        .batch("UPDATE alerts SET assignee = 'lee'")
        .unwrap();
    let started = std::time::Instant::now();
    while watch.version() == Some(before) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "the change was not seen within 2 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A NUL someone sent in a filter finds nothing, on every backend (PostgreSQL's text cannot
/// hold one; the store must not fail over it).
#[test]
fn a_nul_in_a_filter_finds_nothing_and_fails_nothing() {
    let dir = common::state_dir();
    let mut store = AlertStore::open_in(dir.path()).unwrap();
    store
        .merge(
            &eval("run1", vec![alert("fall", "KOR", 1.0, false)]),
            Utc::now(),
        )
        .unwrap();
    let mut filter = engine::state::AlertFilter::everything();
    filter.rule_id = Some("fa\0ll".into());
    assert!(store.list(&filter).unwrap().is_empty());
    filter.rule_id = None;
    filter.entity = Some("\0".into());
    assert!(store.list(&filter).unwrap().is_empty());
    assert!(store.get("fall:KOR\0").unwrap().is_none());
}

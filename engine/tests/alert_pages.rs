//! The alert state read a page at a time, on a real SQLite file: keyset pages visit every alert
//! once while alerts are acted on, and the database's counts (overdue included) agree with the
//! filter as Rust applies it to every record.

mod common;

use std::collections::{BTreeMap, HashSet};

use chrono::{Duration, Utc};
use display::{Format, Text};
use engine::rules::config::Scope;
use engine::rules::{Action, Alert, Evaluation, Evidence, Severity};
use engine::state::{Act, AlertFilter, AlertStore, FacetColumn, Keyset, Status};

fn alert(i: usize) -> Alert {
    let severity = Severity::ALL[i % 4];
    Alert {
        fingerprint: format!("rule{}:E{i:05}:2025", i % 3),
        rule_id: format!("rule{}", i % 3),
        rule_name: Text::new("r", "r"),
        kind: "change".into(),
        severity,
        // Many ties, so the fingerprint decides the order within a priority.
        priority: (i % 7) as f64 * 1.5,
        scope: Scope::Country,
        entity: format!("E{i:05}"),
        entity_name: format!("Economy {i}"),
        region: (!i.is_multiple_of(5)).then(|| ["Asia", "Europe"][i % 2].to_string()),
        period: "2025".into(),
        title: Text::new("t", "t"),
        explanation: Text::new("why", "왜"),
        evidence: Evidence {
            metric: "gdp".into(),
            metric_label: Text::new("GDP", "GDP"),
            format: Format::UsdBillions,
            values: BTreeMap::from([("value".to_string(), i as f64)]),
            series: Vec::new(),
            source: None,
            run_id: "run1".into(),
            projection: false,
            data_issue_reason: None,
        },
        actions: vec![
            Action {
                text: Text::new("act", "조치"),
                owner: "apac_desk".into(),
                owner_label: Text::new("APAC desk", "APAC 데스크"),
                due_days: 7 + (i % 4) as u32 * 7,
            },
            Action {
                text: Text::new("later", "나중"),
                owner: "data_team".into(),
                owner_label: Text::new("Data team", "데이터팀"),
                due_days: 60,
            },
        ],
        data_issue: i.is_multiple_of(6),
        auto_resolve: false,
    }
}

fn store_with(dir: &std::path::Path, n: usize) -> AlertStore {
    let mut store = AlertStore::open_in(dir).unwrap();
    store
        .merge(
            &Evaluation {
                run_id: "run1".into(),
                rules_digest: "digest".into(),
                alerts: (0..n).map(alert).collect(),
                per_rule: Vec::new(),
                evaluated_periods: Default::default(),
                withdrawn: Default::default(),
            },
            Utc::now(),
        )
        .unwrap();
    store
}

#[test]
fn pages_visit_every_alert_once_while_alerts_are_acted_on() {
    let dir = common::state_dir();
    let n = 1000;
    let mut store = store_with(dir.path(), n);
    let everything = AlertFilter::everything();
    let order: Vec<String> = store
        .list(&everything)
        .unwrap()
        .into_iter()
        .map(|r| r.alert.fingerprint)
        .collect();
    let mut seen = Vec::new();
    let mut after: Option<Keyset> = None;
    let mut pages = 0;
    loop {
        let page = store.page(&everything, after.as_ref(), 37).unwrap();
        assert!(page.records.len() <= 37);
        seen.extend(page.records.iter().map(|r| r.alert.fingerprint.clone()));
        // Between pages, someone resolves alerts on both sides of the cursor.
        for fp in order.iter().skip(pages * 13).step_by(97).take(3) {
            let _ = store.act(fp, &Act::Resolve { note: None }, None, "lee", Utc::now());
        }
        pages += 1;
        assert!(pages < 100, "the pages never end");
        match page.next {
            // The cursor goes through its text form, as the API hands it out.
            Some(k) => after = Some(Keyset::decode(&k.encode()).unwrap()),
            None => break,
        }
    }
    assert_eq!(seen, order, "every alert once, in the inbox's order");
    assert_eq!(pages, n.div_ceil(37));
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), n);
    // A page past the last is empty.
    let last = Keyset::of(&store.list(&everything).unwrap()[n - 1]);
    assert!(store
        .page(&everything, Some(&last), 10)
        .unwrap()
        .records
        .is_empty());
}

#[test]
fn the_databases_counts_agree_with_the_filter_on_every_record() {
    let dir = common::state_dir();
    let mut store = store_with(dir.path(), 400);
    let now = Utc::now();
    // A due date set by a person (earlier and later than the actions'), and some closed alerts.
    let all = store.list(&AlertFilter::everything()).unwrap();
    for (i, r) in all.iter().enumerate().take(60) {
        let fp = &r.alert.fingerprint;
        let act = match i % 3 {
            0 => Act::Assign {
                to: "lee".into(),
                due: Some(now + Duration::days(if i % 2 == 0 { 2 } else { 40 })),
            },
            1 => Act::Resolve { note: None },
            _ => Act::Acknowledge { note: None },
        };
        store.act(fp, &act, None, "kim", now).unwrap();
    }
    let all = store.list(&AlertFilter::everything()).unwrap();
    for days in [0, 3, 8, 15, 30, 45, 70] {
        for overdue in [None, Some(true), Some(false)] {
            for statuses in [vec![], Status::ALL.to_vec(), vec![Status::Resolved]] {
                for severity in [None, Some(Severity::High)] {
                    let f = AlertFilter {
                        statuses: statuses.clone(),
                        severity,
                        overdue,
                        as_of: Some(now + Duration::days(days)),
                        ..AlertFilter::default()
                    };
                    let expected: Vec<&str> = all
                        .iter()
                        .filter(|r| f.matches(r))
                        .map(|r| r.alert.fingerprint.as_str())
                        .collect();
                    assert_eq!(store.count(&f).unwrap(), expected.len(), "{f:?}");
                    let page = store.page(&f, None, 1000).unwrap();
                    let got: Vec<&str> = page
                        .records
                        .iter()
                        .map(|r| r.alert.fingerprint.as_str())
                        .collect();
                    assert_eq!(got, expected, "{f:?}");
                }
            }
        }
    }
    // Facet counts by column: as many as the records say.
    let f = AlertFilter {
        statuses: Status::ALL.to_vec(),
        ..AlertFilter::default()
    };
    let pairs = |column| -> Vec<(String, usize)> {
        store
            .count_by(&f, column)
            .unwrap()
            .into_iter()
            .map(|c| (c.value, c.count))
            .collect()
    };
    let by_region = pairs(FacetColumn::Region);
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    for r in &all {
        if let Some(g) = &r.alert.region {
            *expected.entry(g.clone()).or_default() += 1;
        }
    }
    assert_eq!(by_region, expected.into_iter().collect::<Vec<_>>());
    let by_status = pairs(FacetColumn::Status);
    let total: usize = by_status.iter().map(|(_, n)| n).sum();
    assert_eq!(total, all.len());
    assert!(by_status.contains(&("resolved".to_string(), 20)));
    // Owners: each alert once per owner of its actions, with the owner's label.
    let owners = store.count_by(&f, FacetColumn::Owner).unwrap();
    assert_eq!(
        owners
            .iter()
            .map(|c| (c.value.as_str(), c.count))
            .collect::<Vec<_>>(),
        [("apac_desk", all.len()), ("data_team", all.len())]
    );
    assert_eq!(owners[1].label.as_ref().unwrap().ko, "데이터팀");
    let rules = store.count_by(&f, FacetColumn::Rule).unwrap();
    assert_eq!(rules.len(), 3);
    assert_eq!(rules[0].label.as_ref().unwrap().en, "r");
    // Numbered pages: the same order as the list, in slices.
    let everything = AlertFilter::everything();
    let order: Vec<String> = all.iter().map(|r| r.alert.fingerprint.clone()).collect();
    let slice: Vec<String> = store
        .page_at(&everything, 150, 50)
        .unwrap()
        .into_iter()
        .map(|r| r.alert.fingerprint)
        .collect();
    assert_eq!(slice, order[150..200]);
    assert_eq!(store.page_at(&everything, 390, 50).unwrap().len(), 10);
}

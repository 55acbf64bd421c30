//! People acting on alerts, on a real SQLite file: every transition of the table (allowed and
//! refused), each snooze kind waking exactly when its condition is met and not before (an
//! injected clock), stale versions refused with what changed, the audit trail, and a merge and
//! people writing at the same time.

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use display::alert::earlier_resolution;
use display::{Format, Text};
use engine::rules::config::Scope;
use engine::rules::{Action, Alert, Evaluation, Evidence, Severity};
use engine::state::Act;
use engine::state::ActError;
use engine::state::ActionKind;
use engine::state::AlertStore;
use engine::state::DismissReason;
use engine::state::InputError;
use engine::state::SnoozeCondition;
use engine::state::SnoozeRequest;
use engine::state::Status;

const FP: &str = "fall:KOR:2025";

fn alert(value: f64, previous: f64) -> Alert {
    Alert {
        fingerprint: FP.into(),
        rule_id: "fall".into(),
        rule_name: Text::new("fall", "fall"),
        kind: "change".into(),
        severity: Severity::High,
        priority: 4.0,
        scope: Scope::Country,
        entity: "KOR".into(),
        entity_name: "Korea".into(),
        region: Some("Asia".into()),
        period: "2025".into(),
        title: Text::new(format!("KOR at {value}"), format!("KOR {value}")),
        explanation: Text::new("why", "왜"),
        evidence: Evidence {
            metric: "gdp".into(),
            metric_label: Text::new("GDP", "GDP"),
            format: Format::UsdBillions,
            values: BTreeMap::from([
                ("value".to_string(), value),
                ("previous".to_string(), previous),
            ]),
            series: Vec::new(),
            source: None,
            run_id: String::new(),
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
        auto_resolve: false,
    }
}

fn eval(run: &str, alerts: Vec<Alert>) -> Evaluation {
    Evaluation {
        run_id: run.into(),
        rules_digest: "digest".into(),
        alerts: alerts
            .into_iter()
            .map(|mut a| {
                a.evidence.run_id = run.into();
                a
            })
            .collect(),
        per_rule: Vec::new(),
        evaluated_periods: Default::default(),
        withdrawn: Default::default(),
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

/// A store with the one alert opened by run1 at t0 (value 100, down from 120).
fn opened() -> (common::StateDir, AlertStore) {
    let dir = common::state_dir();
    let mut store = AlertStore::open_in(dir.path()).unwrap();
    store
        .merge(&eval("run1", vec![alert(100.0, 120.0)]), t0())
        .unwrap();
    (dir, store)
}

fn status(store: &AlertStore) -> Status {
    store.get(FP).unwrap().unwrap().status
}

fn version(store: &AlertStore) -> i64 {
    store.get(FP).unwrap().unwrap().version
}

fn kinds(store: &AlertStore) -> Vec<String> {
    store
        .history(FP)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

/// Brings the opened alert to `to` the way it gets there in real life.
fn bring_to(store: &mut AlertStore, to: Status) {
    let t = t0() + Duration::minutes(1);
    let act = match to {
        Status::Open => return,
        Status::Acknowledged => Act::Acknowledge { note: None },
        Status::Snoozed => Act::Snooze(SnoozeRequest::NextLoad),
        Status::Resolved => Act::Resolve { note: None },
        Status::Dismissed => Act::Dismiss {
            reason: DismissReason::Noise,
            note: None,
        },
        Status::Cleared => {
            store.merge(&eval("run-gone", vec![]), t).unwrap();
            return;
        }
    };
    store.act(FP, &act, None, "kim", t).unwrap();
    assert_eq!(status(store), to);
}

fn sample(kind: ActionKind, now: DateTime<Utc>) -> Act {
    match kind {
        ActionKind::Acknowledge => Act::Acknowledge {
            note: Some("on it".into()),
        },
        ActionKind::Assign => Act::Assign {
            to: "lee".into(),
            due: Some(now + Duration::days(3)),
        },
        ActionKind::Comment => Act::Comment {
            text: "looked at it".into(),
        },
        ActionKind::Snooze => Act::Snooze(SnoozeRequest::Until(now + Duration::days(1))),
        ActionKind::Resolve => Act::Resolve {
            note: Some("done".into()),
        },
        ActionKind::Dismiss => Act::Dismiss {
            reason: DismissReason::Expected,
            note: None,
        },
        ActionKind::Reopen => Act::Reopen { note: None },
        ActionKind::Feedback => Act::Feedback {
            useful: false,
            note: None,
        },
    }
}

/// The transition table, written out: (action, from) → the status after, or refused.
fn expected(kind: ActionKind, from: Status) -> Option<Status> {
    use Status::*;
    let same = Some(from);
    match (kind, from) {
        (ActionKind::Acknowledge, Open | Snoozed) => Some(Acknowledged),
        (ActionKind::Acknowledge, _) => None,
        (ActionKind::Assign, Open | Acknowledged | Snoozed) => same,
        (ActionKind::Assign, _) => None,
        (ActionKind::Comment | ActionKind::Feedback, _) => same,
        (ActionKind::Snooze, Open | Acknowledged | Snoozed) => Some(Snoozed),
        (ActionKind::Snooze, _) => None,
        (ActionKind::Resolve, Open | Acknowledged | Snoozed | Cleared) => Some(Resolved),
        (ActionKind::Resolve, _) => None,
        (ActionKind::Dismiss, Open | Acknowledged | Snoozed | Cleared) => Some(Dismissed),
        (ActionKind::Dismiss, _) => None,
        (ActionKind::Reopen, Resolved | Dismissed | Cleared) => Some(Open),
        (ActionKind::Reopen, _) => None,
    }
}

#[test]
fn every_action_from_every_status_is_allowed_or_refused_by_the_table() {
    let mut checked = 0;
    for from in Status::ALL {
        for kind in ActionKind::ALL {
            let (_dir, mut store) = opened();
            bring_to(&mut store, from);
            let before_version = version(&store);
            let before_events = store.history(FP).unwrap().len();
            let now = t0() + Duration::hours(1);
            let result = store.act(FP, &sample(kind, now), Some(before_version), "ada", now);
            match expected(kind, from) {
                Some(after) => {
                    let acted = result.unwrap_or_else(|e| panic!("{kind:?} from {from:?}: {e}"));
                    assert_eq!(acted.status, after, "{kind:?} from {from:?}");
                    assert_eq!(status(&store), after);
                    assert_eq!(acted.version, before_version + 1, "one change, one version");
                    assert_eq!(version(&store), acted.version);
                    let history = store.history(FP).unwrap();
                    assert_eq!(history.len(), before_events + 1, "one event per change");
                    let last = history.last().unwrap();
                    assert_eq!(last.actor, "ada");
                    assert_eq!(last.version, Some(acted.version));
                    if after != from {
                        assert_eq!(
                            (last.from_status, last.to_status),
                            (Some(from), Some(after))
                        );
                    }
                }
                None => {
                    let Err(ActError::NotAllowed { action, status: s }) = result else {
                        panic!("{kind:?} from {from:?} must be refused: {result:?}");
                    };
                    assert_eq!((action, s), (kind, from));
                    let message = ActError::NotAllowed { action, status: s }.message();
                    assert!(!message.en.is_empty() && !message.ko.is_empty());
                    assert_eq!(status(&store), from, "nothing changed");
                    assert_eq!(version(&store), before_version);
                    assert_eq!(store.history(FP).unwrap().len(), before_events);
                }
            }
            // The display table (which the pages use to offer forms) is the same table.
            assert_eq!(kind.allowed_from(from), expected(kind, from).is_some());
            checked += 1;
        }
    }
    assert_eq!(checked, 48);
}

#[test]
fn refusals_say_what_is_wrong_in_both_languages() {
    let (_dir, mut store) = opened();
    bring_to(&mut store, Status::Dismissed);
    let e = store
        .act(FP, &Act::Resolve { note: None }, None, "ada", t0())
        .unwrap_err();
    let m = e.message();
    assert!(
        m.en.contains("dismissed") && m.en.contains("Reopen it first"),
        "{}",
        m.en
    );
    assert!(
        m.ko.contains("무시") && m.ko.contains("다시 여세요"),
        "{}",
        m.ko
    );

    let (_dir, mut store) = opened();
    let now = t0();
    let refused = |store: &mut AlertStore, act: Act| match store.act(FP, &act, None, "ada", now) {
        Err(ActError::Invalid(e)) => e,
        other => panic!("{act:?} must be refused as invalid: {other:?}"),
    };
    assert_eq!(
        refused(
            &mut store,
            Act::Comment {
                text: "  \n ".into()
            }
        ),
        InputError::EmptyComment
    );
    assert_eq!(
        refused(
            &mut store,
            Act::Comment {
                text: "x".repeat(4097)
            }
        ),
        InputError::TooLong { bytes: 4097 }
    );
    assert!(store
        .act(
            FP,
            &Act::Comment {
                text: "x".repeat(4096)
            },
            None,
            "ada",
            now
        )
        .is_ok());
    assert_eq!(
        refused(
            &mut store,
            Act::Assign {
                to: " ".into(),
                due: None
            }
        ),
        InputError::EmptyAssignee
    );
    assert!(matches!(
        refused(
            &mut store,
            Act::Assign {
                to: "a\u{7}b".into(),
                due: None
            }
        ),
        InputError::BadAssignee(_)
    ));
    assert!(matches!(
        refused(
            &mut store,
            Act::Assign {
                to: "lee".into(),
                due: Some(now - Duration::days(2))
            }
        ),
        InputError::DueBeforeOpened { .. }
    ));
    assert!(matches!(
        refused(&mut store, Act::Snooze(SnoozeRequest::Until(now))),
        InputError::SnoozeInPast { .. }
    ));
    for pct in [0.0, -5.0, f64::NAN, 1000.5] {
        assert!(matches!(
            refused(&mut store, Act::Snooze(SnoozeRequest::Worse { pct })),
            InputError::BadPercent(_)
        ));
    }
    let m = InputError::EmptyComment;
    assert!(!ActError::Invalid(m).message().ko.is_empty());
    assert!(matches!(
        store.act("nope", &Act::Acknowledge { note: None }, None, "ada", now),
        Err(ActError::NoSuchAlert(_))
    ));
}

#[test]
fn a_stale_version_is_a_conflict_carrying_what_changed_meanwhile() {
    let (_dir, mut store) = opened();
    let v = version(&store);
    assert_eq!(v, 1, "opened is the first change");
    let now = t0() + Duration::minutes(5);
    // Two people open the page at version 1; lee comments first.
    let lee = store
        .act(
            FP,
            &Act::Comment {
                text: "mine".into(),
            },
            Some(v),
            "lee",
            now,
        )
        .unwrap();
    assert_eq!(lee.version, 2);
    let Err(ActError::Conflict {
        expected,
        current,
        since,
    }) = store.act(FP, &Act::Acknowledge { note: None }, Some(v), "kim", now)
    else {
        panic!("kim's stale form must conflict");
    };
    assert_eq!((expected, current), (1, 2));
    assert_eq!(since.len(), 1);
    assert_eq!(
        (since[0].actor.as_str(), since[0].kind.as_str()),
        ("lee", "commented")
    );
    assert_eq!(status(&store), Status::Open, "kim's action changed nothing");
    // With the version they see now, it goes through.
    store
        .act(FP, &Act::Acknowledge { note: None }, Some(2), "kim", now)
        .unwrap();
    // A merge is a change too: it bumps the version.
    let before = version(&store);
    store
        .merge(&eval("run2", vec![alert(90.0, 120.0)]), now)
        .unwrap();
    assert_eq!(version(&store), before + 1, "new evidence");
    let since = store.events_since(FP, before).unwrap();
    assert_eq!(since.len(), 1);
    assert_eq!(
        (since[0].actor.as_str(), since[0].kind.as_str()),
        ("system", "updated")
    );
    // Versions of the history count up by one, merges and people together.
    let versions: Vec<i64> = store
        .history(FP)
        .unwrap()
        .iter()
        .map(|e| e.version.unwrap())
        .collect();
    assert_eq!(versions, (1..=versions.len() as i64).collect::<Vec<_>>());
}

#[test]
fn a_time_snooze_wakes_when_its_time_comes_and_not_before() {
    let (_dir, mut store) = opened();
    let until = t0() + Duration::days(2);
    store
        .act(
            FP,
            &Act::Snooze(SnoozeRequest::Until(until)),
            Some(1),
            "kim",
            t0(),
        )
        .unwrap();
    let record = store.get(FP).unwrap().unwrap();
    assert_eq!(record.status, Status::Snoozed);
    assert_eq!(record.snooze, Some(SnoozeCondition::Until { at: until }));

    // A millisecond before: still snoozed, nothing written.
    let v = version(&store);
    assert_eq!(
        store
            .wake_expired(until - Duration::milliseconds(1))
            .unwrap(),
        0
    );
    assert_eq!((status(&store), version(&store)), (Status::Snoozed, v));
    // A merge before the time keeps it snoozed too.
    store
        .merge(
            &eval("run2", vec![alert(100.0, 120.0)]),
            until - Duration::hours(1),
        )
        .unwrap();
    assert_eq!(status(&store), Status::Snoozed);

    // At the time: open again, with an event saying why.
    assert_eq!(store.wake_expired(until).unwrap(), 1);
    let record = store.get(FP).unwrap().unwrap();
    assert_eq!((record.status, record.snooze.clone()), (Status::Open, None));
    let last = store.history(FP).unwrap().pop().unwrap();
    assert_eq!(
        (last.kind.as_str(), last.actor.as_str()),
        ("woke", "system")
    );
    assert_eq!(
        (last.from_status, last.to_status),
        (Some(Status::Snoozed), Some(Status::Open))
    );
    assert!(last.note.unwrap().contains("that time has come"));
    assert_eq!(
        store.wake_expired(until + Duration::days(1)).unwrap(),
        0,
        "only once"
    );
}

#[test]
fn a_time_snooze_also_wakes_on_a_merge_or_an_action_after_its_time() {
    let (_dir, mut store) = opened();
    let until = t0() + Duration::days(1);
    store
        .act(
            FP,
            &Act::Snooze(SnoozeRequest::Until(until)),
            None,
            "kim",
            t0(),
        )
        .unwrap();
    let s = store
        .merge(
            &eval("run2", vec![alert(100.0, 120.0)]),
            until + Duration::minutes(1),
        )
        .unwrap();
    assert_eq!(s.woke, 1);
    assert_eq!(status(&store), Status::Open);

    // An action on a page made before the wake: the wake is a change, so it conflicts.
    store
        .act(
            FP,
            &Act::Snooze(SnoozeRequest::Until(until + Duration::days(1))),
            None,
            "kim",
            until,
        )
        .unwrap();
    let v = version(&store);
    let later = until + Duration::days(2);
    let Err(ActError::Conflict { since, .. }) = store.act(
        FP,
        &Act::Comment { text: "hi".into() },
        Some(v),
        "lee",
        later,
    ) else {
        panic!("the wake happened after the page was made");
    };
    assert_eq!(since[0].kind, "woke");
    assert_eq!(status(&store), Status::Open, "the wake is kept");
}

#[test]
fn a_snooze_until_the_next_load_wakes_on_the_next_run_only() {
    let (_dir, mut store) = opened();
    store
        .act(FP, &Act::Snooze(SnoozeRequest::NextLoad), None, "kim", t0())
        .unwrap();
    assert_eq!(
        store.get(FP).unwrap().unwrap().snooze,
        Some(SnoozeCondition::NextLoad {
            after_run: "run1".into()
        })
    );
    // The same run evaluated again (new rules) is not a new load.
    let mut again = eval("run1", vec![alert(100.0, 120.0)]);
    again.rules_digest = "other rules".into();
    let s = store.merge(&again, t0() + Duration::hours(1)).unwrap();
    assert_eq!((s.woke, status(&store)), (0, Status::Snoozed));
    // The next load wakes it, naming the run.
    let s = store
        .merge(
            &eval("run2", vec![alert(100.0, 120.0)]),
            t0() + Duration::days(1),
        )
        .unwrap();
    assert_eq!((s.woke, status(&store)), (1, Status::Open));
    let last = store.history(FP).unwrap().pop().unwrap();
    assert_eq!(last.kind, "woke");
    assert_eq!(last.run_id.as_deref(), Some("run2"));
    assert!(last.note.unwrap().contains("next load"));
}

#[test]
fn a_snooze_until_x_percent_worse_wakes_when_the_value_crosses_it() {
    let (_dir, mut store) = opened();
    // A fall (100, down from 120): worse is lower. 10 % worse than 100 is 90 or less.
    store
        .act(
            FP,
            &Act::Snooze(SnoozeRequest::Worse { pct: 10.0 }),
            None,
            "kim",
            t0(),
        )
        .unwrap();
    assert_eq!(
        store.get(FP).unwrap().unwrap().snooze,
        Some(SnoozeCondition::Worse {
            pct: 10.0,
            baseline: 100.0,
            lower_is_worse: true
        })
    );
    let mut t = t0();
    let mut load = |store: &mut AlertStore, run: &str, value: f64| {
        t += Duration::days(1);
        store
            .merge(&eval(run, vec![alert(value, 120.0)]), t)
            .unwrap()
    };
    // Better (110), a little worse (95), just short (90.01): still snoozed.
    for (run, value) in [("run2", 110.0), ("run3", 95.0), ("run4", 90.01)] {
        assert_eq!(load(&mut store, run, value).woke, 0, "{value}");
        assert_eq!(status(&store), Status::Snoozed, "{value}");
    }
    // 90: exactly 10 % worse than when snoozed.
    assert_eq!(load(&mut store, "run5", 90.0).woke, 1);
    assert_eq!(status(&store), Status::Open);
    let note = store.history(FP).unwrap().pop().unwrap().note.unwrap();
    assert!(note.contains("10 % worse"), "{note}");

    // A rise (130, up from 100): worse is higher.
    let (_dir, mut store) = opened();
    store
        .merge(&eval("run2", vec![alert(130.0, 100.0)]), t0())
        .unwrap();
    store
        .act(
            FP,
            &Act::Snooze(SnoozeRequest::Worse { pct: 20.0 }),
            None,
            "kim",
            t0(),
        )
        .unwrap();
    store
        .merge(
            &eval("run3", vec![alert(100.0, 100.0)]),
            t0() + Duration::days(1),
        )
        .unwrap();
    assert_eq!(
        status(&store),
        Status::Snoozed,
        "lower is better for a rise"
    );
    store
        .merge(
            &eval("run4", vec![alert(156.0, 100.0)]),
            t0() + Duration::days(2),
        )
        .unwrap();
    assert_eq!(status(&store), Status::Open, "156 is 20 % above 130");
}

#[test]
fn a_resolved_alert_that_fires_again_reopens_and_links_its_earlier_resolution() {
    let (_dir, mut store) = opened();
    let t1 = t0() + Duration::days(1);
    store
        .act(
            FP,
            &Act::Resolve {
                note: Some("budget adjusted".into()),
            },
            None,
            "kim",
            t1,
        )
        .unwrap();
    assert!(earlier_resolution(&store.history(FP).unwrap()).is_none());
    store
        .merge(
            &eval("run2", vec![alert(80.0, 120.0)]),
            t0() + Duration::days(2),
        )
        .unwrap();
    assert_eq!(status(&store), Status::Open);
    let history = store.history(FP).unwrap();
    let earlier = earlier_resolution(&history).expect("the resolution before the reopening");
    assert_eq!(earlier.actor, "kim");
    assert_eq!(earlier.at, t1);
    assert_eq!(earlier.note.as_deref(), Some("budget adjusted"));
}

#[test]
fn assign_dismiss_feedback_and_comments_are_kept() {
    let (_dir, mut store) = opened();
    let due = t0() + Duration::days(3);
    store
        .act(
            FP,
            &Act::Assign {
                to: "lee".into(),
                due: Some(due),
            },
            None,
            "kim",
            t0(),
        )
        .unwrap();
    let r = store.get(FP).unwrap().unwrap();
    assert_eq!((r.assignee.as_deref(), r.due_at), (Some("lee"), Some(due)));
    assert!(r.overdue(due + Duration::seconds(1)) && !r.overdue(due));
    // Assigned alerts are found by their assignee.
    let mine = store
        .list(&engine::state::AlertFilter {
            owner: Some("lee".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(mine.len(), 1);
    let comment = "<script>alert(1)</script>\nsecond line";
    store
        .act(
            FP,
            &Act::Comment {
                text: comment.into(),
            },
            None,
            "lee",
            t0(),
        )
        .unwrap();
    store
        .act(
            FP,
            &Act::Feedback {
                useful: false,
                note: None,
            },
            None,
            "lee",
            t0(),
        )
        .unwrap();
    store
        .act(
            FP,
            &Act::Dismiss {
                reason: DismissReason::Duplicate,
                note: Some("see JPN".into()),
            },
            None,
            "lee",
            t0(),
        )
        .unwrap();
    let r = store.get(FP).unwrap().unwrap();
    assert_eq!(r.useful, Some(false));
    assert_eq!(r.dismiss_reason, Some(DismissReason::Duplicate));
    assert_eq!(
        kinds(&store),
        ["opened", "assigned", "commented", "feedback", "dismissed"]
    );
    let history = store.history(FP).unwrap();
    assert_eq!(history[2].note.as_deref(), Some(comment), "kept as typed");
    assert_eq!(history[4].note.as_deref(), Some("duplicate — see JPN"));
    // Reopening forgets the dismissal reason, not the history.
    store
        .act(FP, &Act::Reopen { note: None }, None, "lee", t0())
        .unwrap();
    assert_eq!(store.get(FP).unwrap().unwrap().dismiss_reason, None);
    assert_eq!(store.history(FP).unwrap().len(), 6);
}

#[test]
fn events_are_never_edited_nor_deleted() {
    let (dir, _store) = opened();
    let mut conn = dir.raw();
    let edit = conn.batch("UPDATE alert_events SET note = 'forged'");
    assert!(edit.unwrap_err().contains("never edited"));
    let delete = conn.batch("DELETE FROM alert_events");
    assert!(delete.unwrap_err().contains("deleted"));
}

#[test]
fn a_state_file_from_before_versions_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/alerts.sqlite");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    {
        // The schema as it was before actions, with one alert and two events.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(OLD_SCHEMA).unwrap();
        let json = serde_json::to_string(&alert(100.0, 120.0)).unwrap();
        conn.execute(
            "INSERT INTO alerts VALUES (?, 'fall', 'change', 'high', 4.0, 'KOR', 'Asia', '2025', 'acknowledged', 1, 0, ',apac_desk,', NULL, ?, 'h', '2026-03-01T09:00:00.000Z', '2026-03-01T09:00:00.000Z', '2026-03-01T09:00:00.000Z', 'run1', NULL)",
            rusqlite::params![FP, json],
        )
        .unwrap();
        conn.execute_batch(&format!(
            "INSERT INTO alert_events (fingerprint, at, actor, kind, from_status, to_status) VALUES ('{FP}', '2026-03-01T09:00:00.000Z', 'system', 'opened', NULL, 'open');
             INSERT INTO alert_events (fingerprint, at, actor, kind, from_status, to_status) VALUES ('{FP}', '2026-03-01T10:00:00.000Z', 'kim', 'acknowledged', 'open', 'acknowledged');"
        ))
        .unwrap();
    }
    let mut store = AlertStore::open_in(dir.path()).unwrap();
    let r = store.get(FP).unwrap().unwrap();
    assert_eq!((r.status, r.version), (Status::Acknowledged, 2));
    let versions: Vec<_> = store
        .history(FP)
        .unwrap()
        .iter()
        .map(|e| e.version)
        .collect();
    assert_eq!(versions, [Some(1), Some(2)]);
    store
        .act(FP, &Act::Resolve { note: None }, Some(2), "kim", t0())
        .unwrap();
    assert_eq!(version(&store), 3);
    drop(store);
    // Opening again changes nothing more.
    assert_eq!(version(&AlertStore::open_in(dir.path()).unwrap()), 3);
}

const OLD_SCHEMA: &str = "
CREATE TABLE alerts (
    fingerprint TEXT PRIMARY KEY, rule_id TEXT NOT NULL, kind TEXT NOT NULL, severity TEXT NOT NULL,
    priority REAL NOT NULL, entity TEXT NOT NULL, region TEXT, period TEXT NOT NULL, status TEXT NOT NULL,
    firing INTEGER NOT NULL, data_issue INTEGER NOT NULL, owners TEXT NOT NULL, assignee TEXT,
    alert_json TEXT NOT NULL, content_hash TEXT NOT NULL, first_seen_at TEXT NOT NULL,
    opened_at TEXT NOT NULL, updated_at TEXT NOT NULL, last_seen_run TEXT NOT NULL, snoozed_until TEXT
);
CREATE TABLE alert_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, fingerprint TEXT NOT NULL REFERENCES alerts (fingerprint),
    at TEXT NOT NULL, actor TEXT NOT NULL, kind TEXT NOT NULL, from_status TEXT, to_status TEXT,
    note TEXT, run_id TEXT
);
CREATE TABLE evaluations (run_id TEXT NOT NULL, digest TEXT NOT NULL, at TEXT NOT NULL,
    summary_json TEXT NOT NULL, PRIMARY KEY (run_id, digest));
";

#[test]
fn people_and_a_merge_writing_at_once_never_fail_as_busy_and_lose_nothing() {
    let (dir, _store) = opened();
    let path = dir.path().to_path_buf();
    let threads: Vec<_> = (0..6)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut store = AlertStore::open_in(&path).unwrap();
                let mut accepted = 0;
                for n in 0..40 {
                    if i == 0 && n % 10 == 0 {
                        // One writer merges loads meanwhile.
                        let run = format!("load{n}");
                        store
                            .merge(
                                &eval(&run, vec![alert(100.0 - n as f64, 120.0)]),
                                Utc::now(),
                            )
                            .unwrap();
                    }
                    let text = format!("writer {i} comment {n}");
                    store
                        .act(
                            FP,
                            &Act::Comment { text },
                            None,
                            &format!("w{i}"),
                            Utc::now(),
                        )
                        .unwrap();
                    accepted += 1;
                }
                accepted
            })
        })
        .collect();
    let accepted: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let store = AlertStore::open_in(&path).unwrap();
    let history = store.history(FP).unwrap();
    let comments = history.iter().filter(|e| e.kind == "commented").count();
    assert_eq!(comments, accepted);
    assert_eq!(
        version(&store),
        history.len() as i64,
        "every change counted once"
    );
}

#[test]
fn rule_health_counts_raised_acknowledged_resolved_and_noisy_alerts() {
    let dir = common::state_dir();
    let mut store = AlertStore::open_in(dir.path()).unwrap();
    let mut other = alert(50.0, 60.0);
    other.fingerprint = "fall:JPN:2025".into();
    other.entity = "JPN".into();
    let mut third = alert(50.0, 60.0);
    third.fingerprint = "fall:CHN:2025".into();
    third.entity = "CHN".into();
    store
        .merge(&eval("run1", vec![alert(100.0, 120.0), other, third]), t0())
        .unwrap();
    let at = |h: i64| t0() + Duration::hours(h);
    store
        .act(FP, &Act::Acknowledge { note: None }, None, "kim", at(2))
        .unwrap();
    store
        .act(FP, &Act::Resolve { note: None }, None, "kim", at(10))
        .unwrap();
    store
        .act(
            "fall:JPN:2025",
            &Act::Acknowledge { note: None },
            None,
            "kim",
            at(4),
        )
        .unwrap();
    store
        .act(
            "fall:JPN:2025",
            &Act::Feedback {
                useful: false,
                note: None,
            },
            None,
            "kim",
            at(4),
        )
        .unwrap();
    store
        .act(
            "fall:CHN:2025",
            &Act::Dismiss {
                reason: DismissReason::Noise,
                note: None,
            },
            None,
            "kim",
            at(1),
        )
        .unwrap();
    let health = store.rule_health().unwrap();
    assert_eq!(health.len(), 1);
    let h = &health[0];
    assert_eq!((h.rule_id.as_str(), h.raised, h.active), ("fall", 3, 1));
    assert_eq!(
        (h.acknowledged, h.median_hours_to_acknowledge),
        (2, Some(3.0))
    );
    assert_eq!((h.resolved, h.median_hours_to_resolve), (1, Some(10.0)));
    assert_eq!(h.noisy, 2);
    assert!((h.noisy_share() - 2.0 / 3.0).abs() < 1e-9);
}

#[test]
fn a_message_link_acts_once_with_via_link_and_a_refusal_leaves_it_unused() {
    let (_dir, mut store) = opened();
    let t = t0() + Duration::minutes(5);
    let before = version(&store);
    // A refused action (a snooze until a past time) leaves the link unused and writes nothing.
    let past = Act::Snooze(SnoozeRequest::Until(t0()));
    assert!(matches!(
        store.act_by_link("link-1", FP, &past, "kim", t),
        Err(ActError::Invalid(InputError::SnoozeInPast { .. }))
    ));
    assert!(!store.link_used("link-1").unwrap());
    assert_eq!(version(&store), before);
    // Acting: one event, by the recipient, via the link, and the link is used.
    let ack = Act::Acknowledge { note: None };
    let used = store.act_by_link("link-1", FP, &ack, "kim", t).unwrap();
    assert!(matches!(used, engine::state::LinkUse::Acted(_)));
    assert!(store.link_used("link-1").unwrap());
    let last = store.history(FP).unwrap().pop().unwrap();
    assert_eq!(
        (last.kind.as_str(), last.actor.as_str(), last.via.as_deref()),
        ("acknowledged", "kim", Some("link"))
    );
    // Replayed: nothing more happens.
    let after = version(&store);
    assert_eq!(
        store.act_by_link("link-1", FP, &ack, "kim", t).unwrap(),
        engine::state::LinkUse::AlreadyUsed
    );
    assert_eq!(version(&store), after);
    // A page's action records no `via`.
    store
        .act(FP, &Act::Resolve { note: None }, None, "lee", t)
        .unwrap();
    assert_eq!(store.history(FP).unwrap().pop().unwrap().via, None);
}

#[test]
fn a_request_key_acts_once_and_gives_its_retry_the_first_answer() {
    use engine::state::alerts::{Once, RequestKey};
    use engine::state::Acted;
    let (dir, mut store) = opened();
    let ack = Act::Acknowledge { note: None };
    let key = RequestKey {
        key: "retry-1",
        request: "acknowledge at 1",
    };
    let acked = Acted {
        status: Status::Acknowledged,
        version: 2,
    };
    assert_eq!(
        store
            .act_once(&key, FP, &ack, Some(1), "kim", t0())
            .unwrap(),
        Once::Acted(acked.clone())
    );
    // The retry, through another connection (as another server would): the first answer, and
    // no second event.
    let mut other = AlertStore::open_in(dir.path()).unwrap();
    assert_eq!(
        other
            .act_once(&key, FP, &ack, Some(1), "kim", t0())
            .unwrap(),
        Once::Replayed(acked)
    );
    assert_eq!(store.history(FP).unwrap().len(), 2);
    // The key with another request: refused, nothing done.
    let comment = Act::Comment {
        text: "on it".into(),
    };
    let reused = RequestKey {
        key: "retry-1",
        request: "comment at 2",
    };
    assert_eq!(
        other
            .act_once(&reused, FP, &comment, Some(2), "kim", t0())
            .unwrap(),
        Once::KeyReused
    );
    assert_eq!(store.history(FP).unwrap().len(), 2);
    // Keys are each actor's own.
    assert!(matches!(
        other
            .act_once(&reused, FP, &comment, Some(2), "lee", t0())
            .unwrap(),
        Once::Acted(Acted { version: 3, .. })
    ));
    // A refused request records nothing: its key acts once the request is right.
    let late = RequestKey {
        key: "retry-2",
        request: "comment at 2",
    };
    assert!(matches!(
        store.act_once(&late, FP, &comment, Some(2), "kim", t0()),
        Err(ActError::Conflict { .. })
    ));
    let fixed = RequestKey {
        key: "retry-2",
        request: "comment at 3",
    };
    assert!(matches!(
        store.act_once(&fixed, FP, &comment, Some(3), "kim", t0()),
        Ok(Once::Acted(Acted { version: 4, .. }))
    ));
}

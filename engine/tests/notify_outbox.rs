//! The notifications' outbox on a real SQLite file: messages written in the very transaction of
//! the alert event (a failed merge leaves none), one per event and never one per run, none for
//! alerts that do not page, the per-rule rate limit, claims that two processes never share,
//! messages of one alert in order, retries and their 24 hours.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};
use engine::notify_config::Notify;
use engine::rules::{Alert, Evaluation};
use engine::state::alerts::{Attempt, DeliveryFilter, DeliveryStatus, Retried, RetryWhen, Topic};
use engine::state::{Act, AlertStore, Status};
use testkit::alerts::alert;

const HIGH_ONLY: &str = "channels:
  - { id: hook, kind: webhook, url: 'http://127.0.0.1:9/x', secret_env: TEST_HOOK_SECRET }
  - { id: chat, kind: slack, url: 'http://127.0.0.1:9/s' }
routes:
  - match: { severity: [critical, high] }
    send: immediately
    to: [hook]
  - match: { owner: [apac_desk] }
    send: immediately
    to: [chat, hook]
  - match: {}
    send: digest
    to: [chat]
";

fn notify(text: &str) -> Arc<Notify> {
    Arc::new(Notify::parse(text, Path::new("notify.yml")).unwrap())
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

fn store(dir: &Path, text: &str) -> AlertStore {
    AlertStore::open_in(dir).unwrap().with_notify(notify(text))
}

fn messages(store: &AlertStore) -> Vec<(String, String, Topic)> {
    let mut all: Vec<_> = store
        .deliveries(1000)
        .unwrap()
        .into_iter()
        .map(|m| (m.fingerprint.unwrap_or_default(), m.channel, m.topic))
        .collect();
    all.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    all
}

#[test]
fn new_alerts_are_enqueued_by_route_once_per_event_never_per_run() {
    let dir = common::state_dir();
    let mut s = store(dir.path(), HIGH_ONLY);
    // 0 critical (apac_desk), 1 high, 2 medium, 3 low (apac_desk).
    let alerts: Vec<Alert> = (0..4).map(alert).collect();
    let summary = s.merge(&eval("run1", alerts.clone()), t0()).unwrap();
    assert_eq!(summary.opened, 4);
    let fp = |i: usize| alerts[i].fingerprint.clone();
    assert_eq!(
        messages(&s),
        vec![
            (fp(0), "chat".into(), Topic::AlertOpened),
            (fp(0), "hook".into(), Topic::AlertOpened),
            (fp(1), "hook".into(), Topic::AlertOpened),
            (fp(3), "chat".into(), Topic::AlertOpened),
            (fp(3), "hook".into(), Topic::AlertOpened),
        ],
        "critical/high to the hook, apac_desk's to chat and hook, each channel once"
    );
    assert_eq!(summary.notified.messages, 5);
    // The same alerts in the next run: no event, no message.
    let again = s
        .merge(&eval("run2", alerts.clone()), t0() + Duration::hours(1))
        .unwrap();
    assert_eq!((again.opened, again.notified.messages), (0, 0));
    assert_eq!(messages(&s).len(), 5);
    // Resolved, then firing again: the reopening pages.
    s.act(
        &fp(1),
        &Act::Resolve { note: None },
        None,
        "kim",
        t0() + Duration::hours(2),
    )
    .unwrap();
    let reopened = s
        .merge(&eval("run3", alerts.clone()), t0() + Duration::hours(3))
        .unwrap();
    assert_eq!(reopened.reopened, 1);
    let reopen_msgs: Vec<_> = messages(&s)
        .into_iter()
        .filter(|m| m.2 == Topic::AlertReopened)
        .collect();
    assert_eq!(
        reopen_msgs,
        vec![(fp(1), "hook".into(), Topic::AlertReopened)]
    );
}

#[test]
fn the_message_and_the_event_commit_together() {
    let dir = common::state_dir();
    let mut s = store(dir.path(), HIGH_ONLY);
    // The merge's last write fails: the whole transaction, outbox rows included, rolls back.
    let mut conn = dir.raw();
    let fail = if conn.is_postgres() {
        "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$; \
         CREATE TRIGGER fail_merge BEFORE INSERT ON evaluations FOR EACH ROW EXECUTE FUNCTION boom();"
    } else {
        "CREATE TRIGGER fail_merge BEFORE INSERT ON evaluations BEGIN SELECT RAISE(ABORT, 'boom'); END;"
    };
    conn.batch(fail).unwrap();
    assert!(s.merge(&eval("run1", vec![alert(0)]), t0()).is_err());
    assert!(
        s.deliveries(10).unwrap().is_empty(),
        "no message without its event"
    );
    assert!(s.get(&alert(0).fingerprint).unwrap().is_none());
    let drop_trigger = if conn.is_postgres() {
        "DROP TRIGGER fail_merge ON evaluations"
    } else {
        "DROP TRIGGER fail_merge"
    };
    conn.batch(drop_trigger).unwrap();
    s.merge(&eval("run1", vec![alert(0)]), t0()).unwrap();
    assert_eq!(s.deliveries(10).unwrap().len(), 2);
}

#[test]
fn a_person_reopening_pages_and_other_actions_do_not() {
    let dir = common::state_dir();
    let mut s = store(dir.path(), HIGH_ONLY);
    let a = alert(1);
    s.merge(&eval("run1", vec![a.clone()]), t0()).unwrap();
    assert_eq!(s.deliveries(10).unwrap().len(), 1);
    let t = t0() + Duration::minutes(5);
    s.act(
        &a.fingerprint,
        &Act::Acknowledge { note: None },
        None,
        "kim",
        t,
    )
    .unwrap();
    s.act(&a.fingerprint, &Act::Resolve { note: None }, None, "kim", t)
        .unwrap();
    assert_eq!(
        s.deliveries(10).unwrap().len(),
        1,
        "acknowledging or resolving pages nobody"
    );
    s.act(&a.fingerprint, &Act::Reopen { note: None }, None, "kim", t)
        .unwrap();
    let all = s.deliveries(10).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].topic, Topic::AlertReopened);
    assert_eq!(
        all[0].event_version,
        Some(s.get(&a.fingerprint).unwrap().unwrap().version)
    );
}

#[test]
fn the_rate_limit_holds_back_a_rule_that_floods() {
    let dir = common::state_dir();
    let text = "defaults: { rate_limit_per_rule: 3 }\n".to_string() + HIGH_ONLY;
    let mut s = store(dir.path(), &text);
    // Critical and high of one rule: 10 of them, i = 0,1,4,5,8,9,…
    let alerts: Vec<Alert> = (0..20).filter(|i| i % 4 < 2).map(alert).collect();
    let summary = s.merge(&eval("run1", alerts), t0()).unwrap();
    assert_eq!(summary.notified.messages, 10 + 3, "{summary:?}");
    // The worker's claim promotes them: three go to the hook, the rest are held back.
    let claimed = s
        .claim_due("w", t0(), StdDuration::from_secs(60), 100)
        .unwrap();
    let hook: Vec<_> = s
        .deliveries(100)
        .unwrap()
        .into_iter()
        .filter(|m| m.channel == "hook")
        .collect();
    let pending = hook
        .iter()
        .filter(|m| m.status == DeliveryStatus::Pending)
        .count();
    let held = hook
        .iter()
        .filter(|m| m.status == DeliveryStatus::Cancelled)
        .count();
    assert_eq!((pending, held), (3, 7));
    assert!(hook
        .iter()
        .filter(|m| m.status == DeliveryStatus::Cancelled)
        .all(|m| m.last_reply.as_deref().unwrap().starts_with("rate limited")));
    assert!(hook.iter().all(|m| m.msg_id.starts_with("msg_")));
    assert_eq!(claimed.iter().filter(|m| m.channel == "hook").count(), 3);
}

#[test]
fn claims_are_disjoint_ordered_per_alert_and_retried_until_24_hours() {
    let dir = common::state_dir();
    let mut s = store(dir.path(), HIGH_ONLY);
    let a = alert(1);
    s.merge(&eval("run1", vec![a.clone(), alert(5)]), t0())
        .unwrap();
    s.act(
        &a.fingerprint,
        &Act::Resolve { note: None },
        None,
        "kim",
        t0(),
    )
    .unwrap();
    s.act(
        &a.fingerprint,
        &Act::Reopen { note: None },
        None,
        "kim",
        t0(),
    )
    .unwrap();
    // Three messages: alert 1 opened and reopened, alert 5 opened.
    assert_eq!(s.deliveries(10).unwrap().len(), 3);
    let now = t0() + Duration::minutes(1);
    let lease = StdDuration::from_secs(60);
    let mut other = AlertStore::open_in(dir.path()).unwrap();
    let first = s.claim_due("a", now, lease, 10).unwrap();
    let second = other.claim_due("b", now, lease, 10).unwrap();
    assert_eq!(
        first.len(),
        2,
        "the reopening waits for the opening: {first:?}"
    );
    assert!(second.is_empty(), "leased rows are nobody else's");
    assert!(first.iter().all(|m| m.topic == Topic::AlertOpened));
    // The first answer: 500 → retry in 5 s; the other delivered.
    let retry_at = now + Duration::seconds(5);
    s.record_attempts(
        "a",
        &[
            (
                first[0].id,
                Some("{}".into()),
                Attempt::Retry {
                    code: Some(500),
                    reply: "down".into(),
                    at: retry_at,
                },
            ),
            (
                first[1].id,
                Some("{}".into()),
                Attempt::Delivered {
                    code: Some(200),
                    reply: "ok".into(),
                },
            ),
        ],
        now,
    )
    .unwrap();
    assert!(other.claim_due("b", now, lease, 10).unwrap().is_empty());
    let later = other.claim_due("b", retry_at, lease, 10).unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(
        later[0].msg_id, first[0].msg_id,
        "the same webhook-id on retry"
    );
    assert_eq!(later[0].attempts, 1);
    // A lease lost (another process took the row) is not recorded by the old holder.
    s.record_attempts(
        "a",
        &[(
            later[0].id,
            None,
            Attempt::Delivered {
                code: Some(200),
                reply: "late".into(),
            },
        )],
        retry_at,
    )
    .unwrap();
    assert_eq!(
        s.delivery(later[0].id).unwrap().unwrap().status,
        DeliveryStatus::Pending
    );
    // A retry past the 24 hours gives up.
    other
        .record_attempts(
            "b",
            &[(
                later[0].id,
                None,
                Attempt::Retry {
                    code: Some(503),
                    reply: "still down".into(),
                    at: t0() + Duration::hours(25),
                },
            )],
            retry_at,
        )
        .unwrap();
    let m = s.delivery(later[0].id).unwrap().unwrap();
    assert_eq!(
        (m.status, m.attempts, m.last_code),
        (DeliveryStatus::Failed, 2, Some(503))
    );
    // Now the reopening of that alert may go.
    let next = s.claim_due("a", retry_at, lease, 10).unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].topic, Topic::AlertReopened);
    // A resend makes a failed message due again, same id; the page's resend takes it once.
    assert_eq!(
        s.retry_delivery(m.id, RetryWhen::GivenUp, retry_at)
            .unwrap(),
        Some(Retried {
            before: DeliveryStatus::Failed,
            resent: true
        })
    );
    let resent = s.delivery(m.id).unwrap().unwrap();
    assert_eq!(
        (resent.status, resent.msg_id.as_str()),
        (DeliveryStatus::Pending, m.msg_id.as_str())
    );
    assert_eq!(
        s.retry_delivery(m.id, RetryWhen::GivenUp, retry_at + Duration::seconds(1))
            .unwrap(),
        Some(Retried {
            before: DeliveryStatus::Pending,
            resent: false
        })
    );
    assert_eq!(
        s.delivery(m.id).unwrap().unwrap().next_attempt_at,
        retry_at,
        "a second resend of a pending message changes nothing"
    );
    // `notify retry` sends any message again, and the listing pages and counts them by SQL.
    assert!(
        s.retry_delivery(m.id, RetryWhen::Always, retry_at)
            .unwrap()
            .unwrap()
            .resent
    );
    assert_eq!(
        s.retry_delivery(999_999, RetryWhen::Always, retry_at)
            .unwrap(),
        None
    );
    let all = s.count_deliveries(&DeliveryFilter::default()).unwrap();
    let pending = DeliveryFilter {
        status: Some(DeliveryStatus::Pending),
        channel: None,
    };
    let counts = s.delivery_counts().unwrap();
    assert_eq!(counts.iter().map(|c| c.1).sum::<usize>(), all);
    assert_eq!(
        counts
            .iter()
            .find(|c| c.0 == DeliveryStatus::Pending)
            .unwrap()
            .1,
        s.count_deliveries(&pending).unwrap()
    );
    let newest = s.deliveries_page(&DeliveryFilter::default(), 0, 2).unwrap();
    let next = s
        .deliveries_page(&DeliveryFilter::default(), 2, all)
        .unwrap();
    assert_eq!(newest.len() + next.len(), all);
    assert!(newest[0].id > newest[1].id && newest[1].id > next[0].id);
    let by_channel: usize = s
        .delivery_channel_counts()
        .unwrap()
        .iter()
        .map(|c| c.1)
        .sum();
    assert_eq!(by_channel, all);
}

#[test]
fn a_410_disables_the_channel_and_a_failing_channel_raises_one_pipeline_alert() {
    let dir = common::state_dir();
    let mut s = store(dir.path(), HIGH_ONLY);
    s.merge(&eval("run1", vec![alert(1), alert(5)]), t0())
        .unwrap();
    let lease = StdDuration::from_secs(60);
    let batch = s.claim_due("a", t0(), lease, 1).unwrap();
    s.record_attempts(
        "a",
        &[(
            batch[0].id,
            None,
            Attempt::Failed {
                code: Some(410),
                reply: "gone".into(),
                disable: true,
            },
        )],
        t0(),
    )
    .unwrap();
    assert!(
        s.claim_due("a", t0(), lease, 10).unwrap().is_empty(),
        "nothing more goes to a disabled channel"
    );
    let failing = s.channels_to_alert(t0(), t0()).unwrap();
    assert_eq!(failing.len(), 1);
    assert!(s.channels_to_alert(t0(), t0()).unwrap().is_empty(), "once");
    s.raise_channel_alert("hook", "410 Gone", t0()).unwrap();
    s.raise_channel_alert("hook", "410 Gone", t0()).unwrap();
    let record = s.get("notify_channel:hook:channel").unwrap().unwrap();
    assert_eq!(record.status, Status::Open);
    assert_eq!(record.alert.kind.as_str(), "pipeline");
    assert_eq!(s.history("notify_channel:hook:channel").unwrap().len(), 1);
    // A later merge does not clear it (it is not a rule's finding).
    s.merge(&eval("run2", vec![]), t0() + Duration::hours(1))
        .unwrap();
    assert_eq!(
        s.get("notify_channel:hook:channel")
            .unwrap()
            .unwrap()
            .status,
        Status::Open
    );
    assert!(s.enable_channel("hook").unwrap());
    // Alert 5's message, and the channel alert's own (a high alert, routed to the hook).
    assert_eq!(s.claim_due("a", t0(), lease, 10).unwrap().len(), 2);
}

#[test]
fn digests_group_each_owners_alerts_by_country_once_a_day_and_skip_owners_with_nothing() {
    let dir = common::state_dir();
    let text = "channels:
  - { id: hook, kind: webhook, url: 'http://127.0.0.1:9/x', secret_env: TEST_HOOK_SECRET }
routes:
  - match: { region: [Asia, Europe, Africa] }
    send: digest
    to: [hook]
";
    let notify = notify(text);
    let mut s = store(dir.path(), text);
    // 0 and 3 and 6: apac_desk (Asia, Americas, Africa); the others fx_team.
    let alerts: Vec<Alert> = (0..7).map(alert).collect();
    s.merge(&eval("run1", alerts.clone()), t0()).unwrap();
    // fx_team's alerts are all resolved but one, which is assigned (newly).
    for i in [1, 2, 4, 5] {
        s.act(
            &alerts[i].fingerprint,
            &Act::Resolve { note: None },
            None,
            "kim",
            t0(),
        )
        .unwrap();
    }
    let now = t0() + Duration::days(10);
    s.act(
        &alerts[2].fingerprint,
        &Act::Reopen { note: None },
        None,
        "kim",
        now - Duration::hours(1),
    )
    .unwrap();
    s.act(
        &alerts[2].fingerprint,
        &Act::Assign {
            to: "lee".into(),
            due: None,
        },
        None,
        "kim",
        now - Duration::hours(1),
    )
    .unwrap();
    let summary =
        engine::notify::enqueue_digests(dir.path(), &notify, &Default::default(), now).unwrap();
    assert_eq!(summary.enqueued, 2, "{summary:?}");
    let digests: Vec<_> = s
        .deliveries(100)
        .unwrap()
        .into_iter()
        .filter(|m| m.topic == Topic::Digest)
        .collect();
    let by_owner = |o: &str| {
        let m = digests
            .iter()
            .find(|m| m.recipient.as_deref() == Some(o))
            .unwrap();
        serde_json::from_str::<serde_json::Value>(m.body.as_deref().unwrap()).unwrap()
    };
    let apac = by_owner("apac_desk");
    assert_eq!(apac["lang"], "ko");
    let items = apac["data"]["alerts"].as_array().unwrap();
    // Alert 3 is in the Americas: no digest route takes it.
    let fps: Vec<&str> = items
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(fps, vec![&alerts[0].fingerprint, &alerts[6].fingerprint]);
    assert_eq!(items[0]["country"], "Entity 0");
    assert_eq!(items[0]["title"], alerts[0].title.ko);
    assert_eq!(items[0]["why"], serde_json::json!(["open", "overdue"]));
    let fx = by_owner("fx_team");
    let fx_items = fx["data"]["alerts"].as_array().unwrap();
    assert_eq!(fx_items.len(), 1);
    assert_eq!(fx_items[0]["fingerprint"], alerts[2].fingerprint.as_str());
    assert!(fx_items[0]["why"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("newly_assigned")));
    // Entries carry acting links for their assignee (lee), signed with the data folder's
    // secret; an entry assigned to nobody, on a channel with no `act_as`, only opens the alert.
    let links = &fx_items[0]["links"];
    let ack = links["acknowledge"].as_str().expect("an acknowledge link");
    assert!(links["snooze_tomorrow_9"].is_string() && links["open"].is_string());
    let secret = engine::notify::link::LinkSecret::load(dir.path()).unwrap();
    let claims = secret.verify(ack.rsplit('/').next().unwrap(), now).unwrap();
    assert_eq!(
        (claims.fingerprint.as_str(), claims.recipient.as_str()),
        (alerts[2].fingerprint.as_str(), "lee")
    );
    assert!(fx.to_string().contains(ack), "the text lists the link too");
    assert_eq!(
        items[0]["links"],
        serde_json::json!({ "open": items[0]["url"] })
    );
    // The same day again: nothing more.
    let again = engine::notify::enqueue_digests(
        dir.path(),
        &notify,
        &Default::default(),
        now + Duration::hours(2),
    )
    .unwrap();
    assert_eq!((again.enqueued, again.already), (0, 2));
    // Everything closed: no digest at all.
    for a in [0, 2, 3, 6] {
        s.act(
            &alerts[a].fingerprint,
            &Act::Resolve { note: None },
            None,
            "kim",
            now,
        )
        .unwrap();
    }
    let empty = engine::notify::enqueue_digests(
        dir.path(),
        &notify,
        &Default::default(),
        now + Duration::days(1),
    )
    .unwrap();
    assert_eq!(empty.enqueued, 0, "{empty:?}");
}

#[test]
fn each_owner_reads_the_digest_in_their_own_zone_and_language_across_daylight_saving() {
    use display::time::Zone;
    use engine::state::users::{Role, UserStore};
    let dir = common::state_dir();
    let text = "channels:
  - { id: hook, kind: webhook, url: 'http://127.0.0.1:9/x', secret_env: TEST_HOOK_SECRET }
routes:
  - match: {}
    send: digest
    to: [hook]
";
    let notify = notify(text);
    let mut s = store(dir.path(), text);
    // 0, 3, 6: apac_desk; the others fx_team. Both owners are also people of the user store:
    // apac_desk reads in New York and English; fx_team chose nothing (the dashboard's).
    let alerts: Vec<Alert> = (0..7).map(alert).collect();
    s.merge(&eval("run1", alerts.clone()), t0()).unwrap();
    let users = UserStore::open_in(dir.path()).unwrap();
    for name in ["apac_desk", "fx_team"] {
        users
            .set_user(name, &format!("{name} password"), Role::Viewer)
            .unwrap();
    }
    let new_york = Zone::parse("America/New_York").unwrap();
    assert!(users.set_timezone("apac_desk", Some(new_york)).unwrap());
    assert!(users
        .set_language("apac_desk", Some(display::Lang::En))
        .unwrap());
    assert_eq!(
        users.language("apac_desk").unwrap(),
        Some(display::Lang::En)
    );
    assert_eq!(users.language("fx_team").unwrap(), None);
    let dashboard = engine::config::DisplaySettings {
        timezone: Zone::parse("Asia/Seoul").unwrap(),
        language: display::Lang::Ko,
    };
    let digests = |s: &AlertStore| -> Vec<(String, serde_json::Value)> {
        let mut all: Vec<_> = s
            .deliveries(100)
            .unwrap()
            .into_iter()
            .filter(|m| m.topic == Topic::Digest)
            .map(|m| {
                (
                    m.recipient.clone().unwrap(),
                    serde_json::from_str(m.body.as_deref().unwrap()).unwrap(),
                )
            })
            .collect();
        all.reverse();
        all
    };
    // Saturday 2026-03-07 09:00 in New York (EST, UTC-5) = 23:00 in Seoul.
    let before_dst = Utc.with_ymd_and_hms(2026, 3, 7, 14, 0, 0).unwrap();
    let summary =
        engine::notify::enqueue_digests(dir.path(), &notify, &dashboard, before_dst).unwrap();
    assert_eq!(summary.enqueued, 2, "{summary:?}");
    let first = digests(&s);
    let of = |all: &[(String, serde_json::Value)], owner: &str| {
        all.iter()
            .rev()
            .find(|(o, _)| o == owner)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let apac = of(&first, "apac_desk");
    assert_eq!(apac["lang"], "en");
    assert_eq!(apac["data"]["as_of"], "2026-03-07 09:00 EST");
    assert_eq!(apac["data"]["zone"], "America/New_York");
    assert_eq!(apac["data"]["day"], "2026-03-07");
    let item = &apac["data"]["alerts"][0];
    assert_eq!(item["title"], alerts[0].title.en.as_str());
    let due = s
        .get(&alerts[0].fingerprint)
        .unwrap()
        .unwrap()
        .due()
        .unwrap();
    assert_eq!(item["due"], new_york.minute(&due));
    // Due on the 8th at 09:00 UTC, just after New York's clocks moved: named EDT, while the
    // digest's own time that morning was EST.
    assert_eq!(item["due"], "2026-03-08 05:00 EDT", "{item}");
    let fx = of(&first, "fx_team");
    assert_eq!(fx["lang"], "ko");
    assert_eq!(fx["data"]["as_of"], "2026-03-07 23:00 KST");
    assert_eq!(
        fx["data"]["alerts"][0]["title"],
        alerts[1].title.ko.as_str()
    );

    // 03:30 UTC on the 8th: still the 7th in New York (nothing more for apac_desk), already
    // the 8th in Seoul (fx_team's next digest).
    let later = Utc.with_ymd_and_hms(2026, 3, 8, 3, 30, 0).unwrap();
    let again = engine::notify::enqueue_digests(dir.path(), &notify, &dashboard, later).unwrap();
    assert_eq!((again.enqueued, again.already), (1, 1), "{again:?}");
    assert_eq!(
        of(&digests(&s), "fx_team")["data"]["as_of"],
        "2026-03-08 12:30 KST"
    );

    // Monday 09:00 in New York is 13:00 UTC after the clocks moved (EDT, UTC-4).
    let after_dst = Utc.with_ymd_and_hms(2026, 3, 9, 13, 0, 0).unwrap();
    engine::notify::enqueue_digests(dir.path(), &notify, &dashboard, after_dst).unwrap();
    let apac = of(&digests(&s), "apac_desk");
    assert_eq!(apac["data"]["as_of"], "2026-03-09 09:00 EDT");
    assert_eq!(apac["data"]["day"], "2026-03-09");
}

/// Claimers draining at the same moment (four threads, each its own connection, as four
/// servers would): every message is claimed by exactly one of them, none twice.
#[test]
fn claimers_at_the_same_moment_take_each_message_once() {
    const EVERY: &str = "defaults: { rate_limit_per_rule: 1000 }
channels:
  - { id: hook, kind: webhook, url: 'http://127.0.0.1:9/x', secret_env: TEST_HOOK_SECRET }
routes:
  - match: {}
    send: immediately
    to: [hook]
";
    let dir = common::state_dir();
    let mut s = store(dir.path(), EVERY);
    let n = 60;
    s.merge(&eval("run1", (0..n).map(alert).collect()), t0())
        .unwrap();
    let now = t0() + Duration::minutes(1);
    let lease = StdDuration::from_secs(60);
    let barrier = std::sync::Barrier::new(4);
    let claimed: Vec<Vec<i64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let (dir, barrier) = (dir.path(), &barrier);
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    let mut claimer = store(dir, EVERY);
                    barrier.wait();
                    // Bounded: each round claims at least one message or ends.
                    for _ in 0..n {
                        let batch = claimer
                            .claim_due(&format!("claimer{i}"), now, lease, 4)
                            .unwrap();
                        if batch.is_empty() {
                            break;
                        }
                        mine.extend(batch.iter().map(|m| m.id));
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all: Vec<i64> = claimed.iter().flatten().copied().collect();
    let total = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), total, "a message was claimed twice: {claimed:?}");
    assert_eq!(total, n, "{claimed:?}");
    assert_eq!(s.deliveries(1000).unwrap().len(), n);
}

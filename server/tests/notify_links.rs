//! Acting from a message, end to end: the real router on 127.0.0.1 over a real loaded data
//! folder, a real webhook receiver. A message carries signed acknowledge / snooze / open links;
//! opening one (GET) shows the alert and the action in the reader's language and changes
//! nothing; the button (POST) acts once as the link's recipient with `via: link` in the history;
//! a second press, an expired, a tampered and a foreign link are refused with their status.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::routing::post;
use chrono::Utc;
use display::alert::{SnoozePreset, Status};
use display::time::Zone;
use engine::notify::link::{LinkAction, LinkClaims, LinkSecret};
use engine::notify_config::Notify;
use engine::state::users::{Role, UserStore};
use engine::state::{Act, AlertFilter, AlertStore};

use common::agent;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SECRET_ENV: &str = "ACTIONBOARD_TEST_LINKS_HOOK_SECRET";

fn get(url: &str, lang: &str) -> (u16, String) {
    let mut resp = agent()
        .get(url)
        .header("Cookie", format!("lang={lang}"))
        .call()
        .unwrap();
    (
        resp.status().as_u16(),
        resp.body_mut().read_to_string().unwrap(),
    )
}

fn post_token(base: &str, token: &str, lang: &str) -> (u16, String) {
    let mut resp = agent()
        .post(format!("{base}/act"))
        .header("Cookie", format!("lang={lang}"))
        .send_form([("token", token)])
        .unwrap();
    (
        resp.status().as_u16(),
        resp.body_mut().read_to_string().unwrap(),
    )
}

fn token_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

/// The refusal's code on a refused link's page.
fn code(html: &str) -> &str {
    let at = html.find("data-code=\"").expect("a refusal") + "data-code=\"".len();
    html[at..].split('"').next().unwrap()
}

/// A webhook receiver on 127.0.0.1: every body it got.
async fn receiver() -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
    let got: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let log = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |body: axum::body::Bytes| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(body.to_vec());
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), got)
}

fn write_notify(dir: &Path, board: &str, hook: &str) -> Notify {
    let path = dir.join("notify.yml");
    std::fs::write(
        &path,
        format!(
            "defaults: {{ language: en, base_url: '{board}', link_expiry_days: 3 }}
channels:
  - id: ops-hook
    kind: webhook
    url: {hook}/hook
    secret_env: {SECRET_ENV}
    act_as: kim
routes:
  - match: {{}}
    send: immediately
    to: [ops-hook]
"
        ),
    )
    .unwrap();
    Notify::load(&path).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_link_shows_a_page_acts_once_via_link_and_refuses_bad_links() {
    std::env::set_var(SECRET_ENV, SECRET);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    {
        let data = data.clone();
        tokio::task::spawn_blocking(move || common::load_with_alerts(&data))
            .await
            .unwrap();
    }
    let users = UserStore::open_in(&data).unwrap();
    users
        .set_user("kim", "kim password", Role::Analyst)
        .unwrap();
    users
        .set_user("vera", "vera password", Role::Viewer)
        .unwrap();
    let base = common::serve(&data, server::web::WebOptions::default()).await;
    let (hook, got) = receiver().await;
    let notify = write_notify(dir.path(), &base, &hook);

    // A real alert reopened by a person: one message, sent by the worker.
    let mut store = AlertStore::open_in(&data)
        .unwrap()
        .with_notify(Arc::new(notify.clone()));
    let record = store
        .list(&AlertFilter::default())
        .unwrap()
        .into_iter()
        .find(|r| r.status == Status::Open)
        .expect("an open alert in the default data");
    let fp = record.alert.fingerprint.clone();
    let now = Utc::now();
    store
        .act(&fp, &Act::Resolve { note: None }, None, "lee", now)
        .unwrap();
    store
        .act(&fp, &Act::Reopen { note: None }, None, "lee", now)
        .unwrap();
    let drained = {
        let (data, notify) = (data.clone(), notify.clone());
        tokio::task::spawn_blocking(move || {
            let options = engine::notify::DrainOptions::new(engine::notify::owner_id(), &notify);
            engine::notify::drain(&data, &notify, &options).unwrap()
        })
        .await
        .unwrap()
    };
    assert_eq!(drained.delivered, 1, "{drained:?}");
    let body = got
        .lock()
        .unwrap()
        .pop()
        .expect("the webhook got the message");
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["type"], "alert.reopened");
    let links = &v["links"];
    let ack = links["acknowledge"].as_str().expect("an acknowledge link");
    let snooze = links["snooze_tomorrow_9"].as_str().expect("a snooze link");
    assert!(ack.starts_with(&format!("{base}/act/")), "{ack}");
    assert_eq!(
        links["open"].as_str().unwrap(),
        engine::export::alert_link(&base, &fp)
    );

    // GET shows the page, in the reader's language, and changes nothing.
    let before = store.get(&fp).unwrap().unwrap();
    let events_before = store.history(&fp).unwrap().len();
    let (status, ko) = get(ack, "ko");
    assert_eq!(status, 200, "{ko}");
    assert!(
        ko.contains("작업 확인") && ko.contains("확인</button>"),
        "{ko}"
    );
    assert!(ko.contains(&record.alert.entity_name) && ko.contains(&record.alert.period));
    let (status, en) = get(ack, "en");
    assert_eq!(status, 200);
    assert!(
        en.contains("Confirm the action") && en.contains("Acknowledge</button>"),
        "{en}"
    );
    assert!(en.contains(&format!("name=\"token\" value=\"{}\"", token_of(ack))));
    let after_get = store.get(&fp).unwrap().unwrap();
    assert_eq!(
        (after_get.version, after_get.status),
        (before.version, Status::Open)
    );
    assert_eq!(store.history(&fp).unwrap().len(), events_before);

    // POST acts once, as kim, via the link.
    let (status, done) = post_token(&base, token_of(ack), "en");
    assert_eq!(status, 200, "{done}");
    assert!(done.contains("Acknowledged"), "{done}");
    let acked = store.get(&fp).unwrap().unwrap();
    assert_eq!(acked.status, Status::Acknowledged);
    let last = store.history(&fp).unwrap().pop().unwrap();
    assert_eq!(
        (last.kind.as_str(), last.actor.as_str(), last.via.as_deref()),
        ("acknowledged", "kim", Some("link"))
    );
    // The alert's page says how.
    let (_, page) = get(&engine::export::alert_link(&base, &fp), "en");
    assert!(
        page.contains("via a message link"),
        "the alert page shows via"
    );

    // Pressed again, or opened again: replayed.
    let (status, again) = post_token(&base, token_of(ack), "en");
    assert_eq!((status, code(&again)), (409, "replayed"), "{again}");
    assert!(again.contains("already used") && again.contains("Open the alert in Actionboard"));
    let (status, again) = get(ack, "ko");
    assert_eq!((status, code(&again)), (409, "replayed"));
    assert!(again.contains("이미 사용"), "{again}");
    assert_eq!(store.get(&fp).unwrap().unwrap().version, acked.version);

    // The snooze link: until 9:00 tomorrow on kim's clock (the dashboard's zone: kim chose none).
    let (status, done) = post_token(&base, token_of(snooze), "ko");
    assert_eq!(status, 200, "{done}");
    let snoozed = store.get(&fp).unwrap().unwrap();
    assert_eq!(snoozed.status, Status::Snoozed);
    let expected = SnoozePreset::TomorrowNine.wakes_at(Utc::now(), Zone::default());
    assert_eq!(snoozed.snoozed_until, expected);

    // Tampered: one character of the signature changed.
    let mut tampered = token_of(ack).to_string();
    let last_sig = tampered.pop().unwrap();
    tampered.push(if last_sig == 'A' { 'Q' } else { 'A' });
    let (status, page) = get(&format!("{base}/act/{tampered}"), "en");
    assert_eq!(status, 400, "{page}");
    assert!(matches!(code(&page), "bad_signature" | "malformed"));
    let (status, _) = post_token(&base, &tampered, "en");
    assert_eq!(status, 400);
    let (status, _) = post_token(&base, "<script>", "en");
    assert_eq!(status, 400);

    // Made with this server's secret, but expired, or for a viewer, or for nobody.
    let secret = LinkSecret::load(&data).unwrap();
    let claims = |recipient: &str, expires: i64| LinkClaims {
        id: format!("test-{recipient}-{expires}"),
        fingerprint: fp.clone(),
        action: LinkAction::Acknowledge,
        recipient: recipient.into(),
        expires,
    };
    let later = Utc::now().timestamp() + 3600;
    for (c, status, expected) in [
        (claims("kim", Utc::now().timestamp() - 1), 410, "expired"),
        (claims("vera", later), 403, "not_analyst"),
        (claims("nobody", later), 403, "unknown_recipient"),
    ] {
        let token = secret.sign(&c);
        let (s, page) = get(&format!("{base}/act/{token}"), "en");
        assert_eq!((s, code(&page)), (status, expected), "{page}");
        let (s, page) = post_token(&base, &token, "ko");
        assert_eq!((s, code(&page)), (status, expected), "{page}");
    }
    let gone = secret.sign(&LinkClaims {
        fingerprint: "no-such-alert".into(),
        ..claims("kim", later)
    });
    let (s, page) = post_token(&base, &gone, "en");
    assert_eq!((s, code(&page)), (404, "alert_gone"), "{page}");
    // None of those changed the alert.
    assert_eq!(
        store.get(&fp).unwrap().unwrap().version,
        snoozed.version,
        "refused links change nothing"
    );
    // The links expire after notify.yml's 3 days.
    let c = secret.verify(token_of(snooze), Utc::now()).unwrap();
    let left = c.expires - Utc::now().timestamp();
    assert!(
        (3 * 86_400 - 120..=3 * 86_400).contains(&left),
        "{left} s left"
    );
}

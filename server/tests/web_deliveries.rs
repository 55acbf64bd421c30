//! The deliveries page over real HTTP: the real router on a loopback port over a real alert
//! state whose messages a real receiver (axum on 127.0.0.1) refused. Only admins see the page
//! (viewers and analysts get the 403 page, nobody signed in the sign-in page), the resend form
//! checks the role and the CSRF token, and a resend puts a failed message back to pending once.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::post;
use chrono::Utc;
use engine::notify::{drain, DrainOptions};
use engine::notify_config::Notify;
use engine::rules::Evaluation;
use engine::state::alerts::DeliveryStatus;
use engine::state::users::Role;
use engine::state::AlertStore;

use common::{add_user, field, get, post as post_form, sign_in};

/// A receiver that refuses every message for good (400: a final answer, not retried).
async fn refusing_receiver() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/slack",
        post(|| async { (StatusCode::BAD_REQUEST, "invalid_payload") }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn write_notify(dir: &Path, receiver: &str) -> PathBuf {
    let path = dir.join("notify.yml");
    std::fs::write(
        &path,
        format!(
            "defaults: {{ language: en, base_url: 'https://board.example', timeout_seconds: 5 }}
channels:
  - {{ id: chat, kind: slack, url: '{receiver}/slack' }}
routes:
  - match: {{}}
    send: immediately
    to: [chat]
"
        ),
    )
    .unwrap();
    path
}

/// `n` alerts merged (one message each), sent once to the refusing receiver: the first 20 fail
/// (a final answer), the rest are held back by the rule's hourly limit (not sent).
fn failed_messages(data: &Path, notify: &Path, n: usize) -> Notify {
    let notify = Notify::load(notify).unwrap();
    let mut store = AlertStore::open_in(data)
        .unwrap()
        .with_notify(Arc::new(notify.clone()));
    store
        .merge(
            &Evaluation {
                run_id: "run1".into(),
                rules_digest: "d".into(),
                alerts: (0..n).map(testkit::alerts::alert).collect(),
                per_rule: Vec::new(),
                evaluated_periods: Default::default(),
                withdrawn: Default::default(),
            },
            Utc::now(),
        )
        .unwrap();
    let done = drain(data, &notify, &DrainOptions::new("test", &notify)).unwrap();
    assert_eq!(done.failed, n.min(20), "{done:?}");
    notify
}

fn status_of(data: &Path, id: i64) -> (DeliveryStatus, chrono::DateTime<Utc>) {
    let m = AlertStore::open_in(data)
        .unwrap()
        .delivery(id)
        .unwrap()
        .unwrap();
    (m.status, m.next_attempt_at)
}

#[tokio::test(flavor = "multi_thread")]
async fn only_admins_see_the_deliveries_and_a_resend_puts_a_failed_message_back_once() {
    let data = tempfile::tempdir().unwrap();
    let receiver = refusing_receiver().await;
    let base = common::serve(data.path(), server::web::WebOptions::default()).await;
    let dir = data.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let notify = write_notify(&dir, &receiver);
        // 55 messages: two pages of 50.
        failed_messages(&dir, &notify, 55);
        for (name, role) in [
            ("vic", Role::Viewer),
            ("kim", Role::Analyst),
            ("ada", Role::Admin),
        ] {
            add_user(&dir, name, role);
        }
        let page = format!("{base}/deliveries");

        // Nobody signed in is sent to sign in; viewers and analysts get the 403 page, and the
        // page's data is refused to them too.
        let (status, headers, _) = get(&page, Some("lang=en"));
        assert_eq!(status, 303);
        assert_eq!(headers["location"], "/login?next=%2Fdeliveries");
        let viewer = sign_in(&base, "vic");
        let analyst = sign_in(&base, "kim");
        let admin = sign_in(&base, "ada");
        for who in [&viewer, &analyst] {
            let (status, _, body) = get(&page, Some(who));
            assert_eq!(status, 403, "{body}");
            assert!(body.contains("Your role does not allow this"), "{body}");
            assert!(body.contains("권한이 없습니다"), "{body}");
            let (status, _, body) = get(&format!("{base}/api/get_deliveries"), Some(who));
            assert_eq!(status, 403, "{body}");
            let (_, _, home) = get(&format!("{base}/pipeline"), Some(who));
            assert!(!home.contains("nav-deliveries"), "no link for {who}");
        }

        // The admin sees the messages, newest first, 50 to a page, counted by the database.
        let (status, _, html) = get(&page, Some(&admin));
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("data-testid=\"nav-deliveries\""));
        assert_eq!(html.matches("data-testid=\"delivery\"").count(), 50);
        assert!(html.contains("55 of 55 messages"), "{html}");
        assert!(html.contains("Failed (final) (20)"), "{html}");
        assert!(html.contains("Not sent (35)"), "{html}");
        assert!(html.contains("400 invalid_payload"), "{html}");
        assert!(
            html.contains("href=\"/alerts/gdp_fall:X0000054:2025\""),
            "{html}"
        );
        assert!(html.contains("data-channel=\"chat\""), "{html}");
        assert!(html.contains("failing since"), "{html}");
        assert!(html.contains("href=\"/deliveries?page=2\""), "{html}");
        let (_, _, second) = get(&format!("{page}?page=2"), Some(&admin));
        assert_eq!(second.matches("data-testid=\"delivery\"").count(), 5);
        assert!(second.contains("Page 2 of 2"));
        let (_, _, failed) = get(&format!("{page}?status=failed"), Some(&admin));
        assert!(failed.contains("20 of 55 messages"), "{failed}");
        assert_eq!(failed.matches("data-status=\"failed\"").count(), 20);
        let (_, _, none) = get(&format!("{page}?status=delivered"), Some(&admin));
        assert!(none.contains("0 of 55 messages"), "{none}");
        let (status, _, _) = get(&format!("{page}?status=bogus"), Some(&admin));
        assert_eq!(status, 400);
        // In Korean too, times in the reader's zone (the dashboard's, KST).
        let (_, _, ko) = get(&page, Some(&admin.replace("lang=en", "lang=ko")));
        assert!(
            ko.contains("실패(최종)") && ko.contains("다시 보내기"),
            "{ko}"
        );
        assert!(ko.contains(" KST</time>"), "{ko}");

        let id = failed
            .split("data-testid=\"delivery\" data-id=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse::<i64>()
            .unwrap();
        let csrf = field(&html, "csrf");
        let resend = format!("{base}/deliveries/resend");
        let id_s = id.to_string();
        let back = "/deliveries?status=failed";
        let form = |csrf: &str| {
            vec![
                ("csrf", csrf.to_string()),
                ("id", id_s.clone()),
                ("back", back.to_string()),
            ]
        };
        let send = |cookie: Option<&str>, csrf: &str| {
            let fields = form(csrf);
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_form(&resend, cookie, &fields)
        };
        // Refused: nobody, a wrong or missing token, an analyst with their own token.
        assert_eq!(send(None, "").0, 401);
        assert_eq!(send(Some(&admin), "").0, 403);
        assert_eq!(send(Some(&admin), &"f".repeat(64)).0, 403);
        let (_, _, analyst_page) = get(&format!("{base}/settings"), Some(&analyst));
        let (status, _, body) = send(Some(&analyst), &field(&analyst_page, "csrf"));
        assert_eq!(status, 403, "{body}");
        assert_eq!(status_of(&dir, id).0, DeliveryStatus::Failed);

        // The admin's resend: back to pending, due now, and the list says so.
        let before = Utc::now();
        let (status, headers, _) = send(Some(&admin), &csrf);
        assert_eq!(status, 303);
        let location = headers["location"].to_str().unwrap().to_string();
        assert_eq!(location, format!("/deliveries?status=failed&resent={id}"));
        let (state, due) = status_of(&dir, id);
        assert_eq!(state, DeliveryStatus::Pending);
        assert!(due >= before - chrono::Duration::seconds(1));
        let (_, _, after) = get(&format!("{base}{location}"), Some(&admin));
        assert!(
            after.contains(&format!("Message {id} will be sent again")),
            "{after}"
        );
        assert!(after.contains("19 of 55 messages"), "{after}");
        // A second resend (a double click) changes nothing.
        let (status, _, body) = send(Some(&admin), &csrf);
        assert_eq!(status, 409, "{body}");
        assert_eq!(status_of(&dir, id), (DeliveryStatus::Pending, due));
        // An unknown message, and a number that is none.
        let (status, _, _) = post_form(
            &resend,
            Some(&admin),
            &[("csrf", csrf.as_str()), ("id", "999999")],
        );
        assert_eq!(status, 404);
        let (status, _, _) = post_form(
            &resend,
            Some(&admin),
            &[("csrf", csrf.as_str()), ("id", "x")],
        );
        assert_eq!(status, 400);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_chooses_the_language_of_their_digest_on_the_settings_page() {
    let data = tempfile::tempdir().unwrap();
    let base = common::serve(data.path(), server::web::WebOptions::default()).await;
    let dir = data.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        add_user(&dir, "lee", Role::Viewer);
        let cookie = sign_in(&base, "lee");
        let url = format!("{base}/settings");
        let (_, _, page) = get(&url, Some(&cookie));
        assert!(page.contains("Language of your daily digest"), "{page}");
        assert!(page.contains("<option value=\"\" selected"), "{page}");
        let csrf = field(&page, "csrf");
        let language = || {
            engine::state::users::UserStore::open_in(&dir)
                .unwrap()
                .language("lee")
                .unwrap()
        };
        let (status, headers, _) = post_form(
            &url,
            Some(&cookie),
            &[("csrf", &csrf), ("timezone", ""), ("language", "en")],
        );
        assert_eq!(
            (status, &headers["location"]),
            (
                303,
                &"/settings?saved=1".parse::<http::HeaderValue>().unwrap()
            )
        );
        assert_eq!(language(), Some(display::Lang::En));
        let (_, _, page) = get(&url, Some(&cookie));
        assert!(
            page.contains("<option value=\"en\" lang=\"en\" selected"),
            "{page}"
        );
        // A form without the field leaves it; an unknown language is refused; empty: the dashboard's.
        post_form(&url, Some(&cookie), &[("csrf", &csrf), ("timezone", "UTC")]);
        assert_eq!(language(), Some(display::Lang::En));
        let (status, _, body) = post_form(
            &url,
            Some(&cookie),
            &[("csrf", &csrf), ("timezone", ""), ("language", "fr")],
        );
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("is not a language of Actionboard"), "{body}");
        assert_eq!(language(), Some(display::Lang::En));
        post_form(
            &url,
            Some(&cookie),
            &[("csrf", &csrf), ("timezone", ""), ("language", "")],
        );
        assert_eq!(language(), None);
        // Without the session's token nothing changes.
        let (status, _, _) = post_form(&url, Some(&cookie), &[("csrf", "x"), ("language", "en")]);
        assert_eq!(status, 403);
        assert_eq!(language(), None);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_channel_that_keeps_failing_raises_one_pipeline_alert() {
    let data = tempfile::tempdir().unwrap();
    let receiver = refusing_receiver().await;
    let dir = data.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let notify = write_notify(&dir, &receiver);
        let notify = failed_messages(&dir, &notify, 3);
        // Failing "for an hour" made immediate: the next drain raises the alert, once.
        let mut options = DrainOptions::new("test", &notify);
        options.failing_after = std::time::Duration::ZERO;
        let done = drain(&dir, &notify, &options).unwrap();
        assert_eq!(done.channels_failing, vec!["chat".to_string()]);
        let again = drain(&dir, &notify, &options).unwrap();
        assert!(again.channels_failing.is_empty(), "{again:?}");
        let store = AlertStore::open_in(&dir).unwrap();
        let alert = store.get("notify_channel:chat:channel").unwrap().unwrap();
        assert_eq!(alert.alert.kind.as_str(), "pipeline");
        assert_eq!(alert.status, display::alert::Status::Open);
        assert!(
            alert.alert.explanation.en.contains("failed attempts"),
            "{:?}",
            alert.alert.explanation
        );
    })
    .await
    .unwrap();
}

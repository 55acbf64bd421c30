//! Acting on alerts over real HTTP: the real router on a loopback port over a real load of the
//! default data. Every mutating route (enumerated from the list the router is built from)
//! checks the session, the role and the CSRF token; the forms move alerts and refuse stale or
//! invalid changes with clear pages; and many clients acting at once while a merge runs lose
//! nothing.

mod common;

use std::path::Path;

use engine::state::users::{Role, UserStore};
use engine::state::AlertFilter;
use engine::state::AlertStore;

use common::{agent, field, sign_in};

struct TestServer {
    base: String,
    data: tempfile::TempDir,
}

async fn start() -> TestServer {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_path_buf();
    tokio::task::spawn_blocking(move || common::load_with_alerts(&dir))
        .await
        .unwrap();
    TestServer {
        base: common::serve(data.path(), server::web::WebOptions::default()).await,
        data,
    }
}

/// Status, headers and body of a GET with an optional `Cookie`.
fn get(url: &str, cookie: Option<&str>) -> (u16, http::HeaderMap, String) {
    let mut req = agent().get(url);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    let mut resp = req.call().unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.body_mut().read_to_string().unwrap())
}

/// Status, headers and body of a form POST.
fn post(
    url: &str,
    cookie: Option<&str>,
    fields: &[(&str, &str)],
) -> (u16, http::HeaderMap, String) {
    post_with(url, cookie, &[], fields)
}

/// A form POST with more headers.
fn post_with(
    url: &str,
    cookie: Option<&str>,
    headers: &[(&str, &str)],
    fields: &[(&str, &str)],
) -> (u16, http::HeaderMap, String) {
    let mut req = agent().post(url);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut resp = req.send_form(fields.iter().copied()).unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.body_mut().read_to_string().unwrap())
}

fn add_user(data: &Path, name: &str, role: Role) {
    UserStore::open_in(data)
        .unwrap()
        .set_user(name, &format!("{name} password"), role)
        .unwrap();
}

fn encode(fp: &str) -> String {
    app::components::links::encode(fp)
}

fn fingerprints(data: &Path, n: usize) -> Vec<String> {
    AlertStore::open_in(data)
        .unwrap()
        .list(&AlertFilter::default())
        .unwrap()
        .into_iter()
        .take(n)
        .map(|r| r.alert.fingerprint)
        .collect()
}

fn version(data: &Path, fp: &str) -> i64 {
    AlertStore::open_in(data)
        .unwrap()
        .get(fp)
        .unwrap()
        .unwrap()
        .version
}

#[tokio::test(flavor = "multi_thread")]
async fn every_mutating_route_checks_the_session_the_role_and_the_csrf_token() {
    let srv = start().await;
    let base = srv.base.clone();
    let data = srv.data.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let fp = fingerprints(&data, 1).remove(0);
        add_user(&data, "vic", Role::Viewer);
        add_user(&data, "ada", Role::Admin);
        let viewer = sign_in(&base, "vic");
        let admin = sign_in(&base, "ada");
        let (status, _, page) = get(&format!("{base}/alerts/{}", encode(&fp)), Some(&viewer));
        assert_eq!(status, 200, "the viewer's alert page: {page}");
        let viewer_csrf = field(&page, "csrf");
        let viewer_token = engine::state::tokens::TokenStore::open_in(&data)
            .unwrap()
            .add("viewer-bot", Role::Viewer)
            .unwrap();
        let before = version(&data, &fp);
        let routes = server::web::mutating_routes();
        for kind in display::alert::ActionKind::ALL {
            assert!(
                routes
                    .iter()
                    .any(|r| r.ends_with(&format!("/{}", kind.as_str()))),
                "{kind:?} has a route"
            );
        }
        for route in &routes {
            let url = format!("{base}{}", route.replace("{fingerprint}", &encode(&fp)));
            // Forms send the token as a field, the JSON API as a header: both are sent.
            let (status, _, body) = post(&url, None, &[("csrf", ""), ("version", "1")]);
            assert_eq!(status, 401, "{route} without a session: {body}");
            assert!(
                body.contains("Sign in first") && body.contains("먼저 로그인하세요"),
                "{body}"
            );
            let (status, _, _) = post(&url, Some(&admin), &[("version", "1")]);
            assert_eq!(status, 403, "{route} without a CSRF token");
            let wrong = "f".repeat(64);
            let (status, _, _) = post_with(
                &url,
                Some(&admin),
                &[("x-csrf-token", &wrong)],
                &[("csrf", wrong.as_str()), ("version", "1")],
            );
            assert_eq!(status, 403, "{route} with a wrong CSRF token");
            if route != "/auth/logout" && route != "/settings" {
                // Signing out and one's own settings are for everyone; every other change
                // needs more than a viewer.
                let (status, _, body) = post_with(
                    &url,
                    Some(&viewer),
                    &[("x-csrf-token", &viewer_csrf)],
                    &[("csrf", viewer_csrf.as_str()), ("version", "1")],
                );
                assert_eq!(status, 403, "{route} as a viewer: {body}");
                assert!(body.contains("Your role does not allow this"), "{body}");
            }
            if route.starts_with("/api/") {
                // Bearer tokens: a viewer's may not act; an unknown one is not signed in.
                let bearer = format!("Bearer {viewer_token}");
                let (status, _, body) = post_with(&url, None, &[("authorization", &bearer)], &[]);
                assert_eq!(status, 403, "{route} with a viewer's token: {body}");
                let (status, _, body) =
                    post_with(&url, None, &[("authorization", "Bearer abt_unknown")], &[]);
                assert_eq!(status, 401, "{route} with an unknown token: {body}");
                assert!(body.contains("\"code\":\"bad_token\""), "{body}");
            }
        }
        assert_eq!(
            version(&data, &fp),
            before,
            "no refused request changed the alert"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn forms_move_an_alert_and_refuse_stale_or_invalid_changes_clearly() {
    let srv = start().await;
    let base = srv.base.clone();
    let data = srv.data.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let fp = fingerprints(&data, 1).remove(0);
        let page_url = format!("{base}/alerts/{}", encode(&fp));
        let act_url = |action: &str| format!("{page_url}/{action}");
        add_user(&data, "vic", Role::Viewer);
        add_user(&data, "kim", Role::Analyst);

        // Nobody signed in, and a viewer, see no forms.
        let (_, _, page) = get(&page_url, Some("lang=en"));
        assert!(!page.contains("data-testid=\"form-"), "anonymous: no forms");
        assert!(page.contains("Sign in as an analyst or admin to act on this alert."));
        let viewer = sign_in(&base, "vic");
        let (_, _, page) = get(&page_url, Some(&viewer));
        assert!(!page.contains("data-testid=\"form-"), "viewer: no forms");
        assert!(page.contains("Your role reads alerts"));

        // An analyst sees the forms the status allows, with the version and the CSRF token.
        let kim = sign_in(&base, "kim");
        let (_, _, page) = get(&page_url, Some(&kim));
        for form in [
            "acknowledge",
            "assign",
            "snooze",
            "resolve",
            "dismiss",
            "comment",
            "feedback",
        ] {
            assert!(
                page.contains(&format!("data-testid=\"form-{form}\"")),
                "{form}"
            );
        }
        assert!(
            !page.contains("data-testid=\"form-reopen\""),
            "an open alert is not reopened"
        );
        assert!(
            page.contains(r#"name="snooze" value="worse""#),
            "a value to watch"
        );
        // An alert without a value (a figure not yet published) offers no "until worse".
        let absent = AlertStore::open_in(&data)
            .unwrap()
            .list(&AlertFilter::default())
            .unwrap()
            .into_iter()
            .find(|r| !r.alert.evidence.values.contains_key("value"))
            .expect("the default data has alerts without a value")
            .alert
            .fingerprint;
        let (_, _, other) = get(&format!("{base}/alerts/{}", encode(&absent)), Some(&kim));
        assert!(other.contains("data-testid=\"form-snooze\""));
        assert!(!other.contains(r#"value="worse""#), "nothing to watch");
        let csrf = field(&page, "csrf");
        let v1 = field(&page, "version");
        assert_eq!(v1, "1");

        // Acknowledge: 303 back to the page, which shows the new status and the event.
        let (status, headers, _) = post(
            &act_url("acknowledge"),
            Some(&kim),
            &[("csrf", &csrf), ("version", &v1), ("note", "on it")],
        );
        assert_eq!(status, 303);
        assert_eq!(
            headers["location"].to_str().unwrap(),
            format!("/alerts/{}#history", encode(&fp))
        );
        let (_, _, page) = get(&page_url, Some(&kim));
        assert!(page.contains("status-acknowledged"), "{page}");
        assert!(
            page.contains("kim · acknowledged (Open → Acknowledged)") && page.contains(" — on it"),
            "{page}"
        );
        assert!(
            !page.contains("data-testid=\"form-acknowledge\""),
            "not twice"
        );
        let v2 = field(&page, "version");
        assert_eq!(v2, "2");

        // A comment with markup is kept as typed and shown escaped.
        let script = "<script>document.title='pwned'</script>";
        let (status, _, _) = post(
            &act_url("comment"),
            Some(&kim),
            &[("csrf", &csrf), ("version", &v2), ("text", script)],
        );
        assert_eq!(status, 303);
        let (_, _, page) = get(&page_url, Some(&kim));
        assert!(!page.contains(script));
        assert!(page.contains("&lt;script&gt;document.title="), "escaped");

        // The stale version 2: 409, saying what changed meanwhile, and nothing changes.
        let (status, headers, body) = post(
            &act_url("resolve"),
            Some(&kim),
            &[("csrf", &csrf), ("version", &v2), ("note", "done")],
        );
        assert_eq!(status, 409, "{body}");
        // Signed in: private as well (the security headers).
        assert_eq!(headers["cache-control"], "private, no-store");
        assert!(
            body.contains("Someone changed this alert after you opened it"),
            "{body}"
        );
        assert!(
            body.contains("Changed meanwhile") && body.contains("kim · commented"),
            "{body}"
        );
        assert!(
            body.contains("&lt;script&gt;") && !body.contains(script),
            "escaped here too"
        );
        assert_eq!(version(&data, &fp), 3);
        // In Korean for a Korean reader.
        let korean = kim.replace("lang=en", "lang=ko");
        let (status, _, body) = post(
            &act_url("resolve"),
            Some(&korean),
            &[("csrf", &csrf), ("version", &v2)],
        );
        assert_eq!(status, 409);
        assert!(
            body.contains("<html lang=\"ko\"") && body.contains("다른 사람이 이 알림을 바꿨습니다"),
            "{body}"
        );

        // A transition the table refuses: 400, in words.
        let (status, _, body) = post(
            &act_url("reopen"),
            Some(&kim),
            &[("csrf", &csrf), ("version", "3")],
        );
        assert_eq!(status, 400);
        assert!(body.contains("cannot be given “Reopen”"), "{body}");
        // Input the action cannot use: 400 too.
        let (status, _, body) = post(
            &act_url("snooze"),
            Some(&kim),
            &[
                ("csrf", &csrf),
                ("version", "3"),
                ("snooze", "worse"),
                ("pct", "lots"),
            ],
        );
        assert_eq!(status, 400);
        assert!(body.contains("`lots` is not a number"), "{body}");
        let (status, _, body) = post(
            &act_url("assign"),
            Some(&kim),
            &[("csrf", &csrf), ("version", "3"), ("owner", "finance")],
        );
        assert_eq!(status, 400);
        assert!(body.contains("neither a user nor an owner"), "{body}");
        let (status, _, body) = post(
            &act_url("comment"),
            Some(&kim),
            &[("csrf", &csrf), ("text", "no version")],
        );
        assert_eq!(status, 400);
        assert!(body.contains("which version"), "{body}");
        let (status, _, _) = post(
            &format!("{base}/alerts/no:such:alert/comment"),
            Some(&kim),
            &[("csrf", &csrf), ("version", "1"), ("text", "x")],
        );
        assert_eq!(status, 404);
        assert_eq!(version(&data, &fp), 3, "refusals change nothing");

        // Assign with a due date, snooze, resolve, reopen, dismiss: each through its form.
        let steps: &[(&str, &[(&str, &str)])] = &[
            ("assign", &[("owner", "kim"), ("due", "2099-12-31")]),
            (
                "snooze",
                &[("snooze", "until"), ("until", "2099-01-01T09:00")],
            ),
            ("resolve", &[("note", "budget moved")]),
            ("reopen", &[]),
            (
                "dismiss",
                &[("reason", "duplicate"), ("note", "same as JPN")],
            ),
            ("feedback", &[("useful", "not_useful")]),
        ];
        let mut v = 3;
        for (action, fields) in steps {
            let version = v.to_string();
            let mut all = vec![("csrf", csrf.as_str()), ("version", version.as_str())];
            all.extend_from_slice(fields);
            let (status, _, body) = post(&act_url(action), Some(&kim), &all);
            assert_eq!(status, 303, "{action}: {body}");
            v += 1;
            if *action == "snooze" {
                let (_, _, page) = get(&page_url, Some(&kim));
                // The form's time is on the reader's clock (the dashboard's Asia/Seoul): 09:00
                // KST, kept as midnight UTC.
                assert!(page.contains("until 2099-01-01 09:00 KST"), "{page}");
                let kept = engine::state::AlertStore::open_in(&data)
                    .unwrap()
                    .get(&fp)
                    .unwrap()
                    .unwrap()
                    .snoozed_until
                    .unwrap();
                assert_eq!(kept.to_rfc3339(), "2099-01-01T00:00:00+00:00");
            }
            if *action == "assign" {
                let (_, _, inbox) = get(&format!("{base}/alerts?mine=1"), Some(&kim));
                assert!(
                    inbox.contains(&format!("data-fingerprint=\"{fp}\"")),
                    "assigned to me"
                );
                assert!(
                    inbox.contains("Assigned to kim · due 2099-12-31"),
                    "{inbox}"
                );
                let (_, _, inbox) = get(&format!("{base}/alerts?mine=1"), Some(&viewer));
                assert!(
                    !inbox.contains(&format!("data-fingerprint=\"{fp}\"")),
                    "not the viewer's"
                );
            }
        }
        let (_, _, page) = get(&page_url, Some(&kim));
        assert!(
            page.contains("status-dismissed") && page.contains("Duplicate"),
            "{page}"
        );
        assert!(page.contains("data-testid=\"form-reopen\""));
        assert_eq!(version(&data, &fp), v);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn many_clients_acting_at_once_while_a_load_merges_lose_nothing() {
    // 20 clients × 50 actions by default; ACTIONBOARD_STRESS="50x1000" for a longer run.
    let (clients, actions) = std::env::var("ACTIONBOARD_STRESS")
        .ok()
        .and_then(|s| {
            let (c, a) = s.split_once('x')?;
            Some((c.parse().ok()?, a.parse().ok()?))
        })
        .unwrap_or((20usize, 50usize));
    let srv = start().await;
    let base = srv.base.clone();
    let data = srv.data.path().to_path_buf();
    let shared = fingerprints(&data, 3);
    let before: Vec<i64> = shared.iter().map(|fp| version(&data, fp)).collect();
    for i in 0..clients {
        add_user(&data, &format!("c{i}"), Role::Analyst);
    }
    // Signed in one after another: sign-in itself is throttled (a few password hashes at a
    // time), and what is under test is acting at once, not signing in at once.
    let cookies: Vec<String> = {
        let base = base.clone();
        tokio::task::spawn_blocking(move || {
            (0..clients)
                .map(|i| sign_in(&base, &format!("c{i}")))
                .collect()
        })
        .await
        .unwrap()
    };
    // A new load merges while the clients act (it wakes the alerts snoozed until the next load);
    // the clients go on until it is done.
    let merged = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let merging = {
        let (data, merged) = (data.clone(), merged.clone());
        tokio::task::spawn_blocking(move || {
            common::load_with_alerts(&data);
            merged.store(true, std::sync::atomic::Ordering::SeqCst);
        })
    };
    let client_tasks: Vec<_> = (0..clients)
        .map(|i| {
            let (base, data, shared) = (base.clone(), data.clone(), shared.clone());
            let merged = merged.clone();
            let cookie = cookies[i].clone();
            tokio::task::spawn_blocking(move || {
                let name = format!("c{i}");
                let (_, _, page) = get(
                    &format!("{base}/alerts/{}", encode(&shared[0])),
                    Some(&cookie),
                );
                let csrf = field(&page, "csrf");
                let (mut accepted, mut conflicts) = (Vec::new(), 0usize);
                let mut n = 0;
                while n < actions || !merged.load(std::sync::atomic::Ordering::SeqCst) {
                    let fp = &shared[(i + n) % shared.len()];
                    // The version the client's page would show.
                    let v = version(&data, fp).to_string();
                    let note = format!("{name} #{n}");
                    let fields: Vec<(&str, &str)> = if n % 5 == 4 {
                        vec![("csrf", &csrf), ("version", &v), ("snooze", "next_load")]
                    } else {
                        vec![("csrf", &csrf), ("version", &v), ("text", &note)]
                    };
                    let action = if n % 5 == 4 { "snooze" } else { "comment" };
                    let url = format!("{base}/alerts/{}/{action}", encode(fp));
                    let (status, _, body) = post(&url, Some(&cookie), &fields);
                    match status {
                        303 => accepted.push((fp.clone(), action, note)),
                        409 => conflicts += 1,
                        other => panic!("{name} {action} on {fp}: {other} {body}"),
                    }
                    n += 1;
                }
                (name, accepted, conflicts)
            })
        })
        .collect();
    let mut results = Vec::new();
    for c in client_tasks {
        results.push(c.await.unwrap());
    }
    merging.await.unwrap();

    let store = AlertStore::open_in(&data).unwrap();
    let mut total_accepted = 0;
    let mut total_conflicts = 0;
    let mut acted_after_a_wake = false;
    for (i, fp) in shared.iter().enumerate() {
        let history = store.history(fp).unwrap();
        let by_people: Vec<_> = history
            .iter()
            .filter(|e| e.actor.starts_with('c'))
            .collect();
        let accepted: Vec<_> = results
            .iter()
            .flat_map(|(name, acc, _)| acc.iter().map(move |a| (name, a)))
            .filter(|(_, (f, _, _))| f == fp)
            .collect();
        assert_eq!(
            by_people.len(),
            accepted.len(),
            "{fp}: every accepted action is in the trail, once"
        );
        for (name, (_, action, note)) in &accepted {
            let found = by_people.iter().any(|e| {
                &e.actor == *name
                    && match *action {
                        "comment" => {
                            e.kind == "commented" && e.note.as_deref() == Some(note.as_str())
                        }
                        _ => e.kind == "snoozed",
                    }
            });
            assert!(found, "{name}'s {action} {note} on {fp}");
        }
        // The versions account for every change: one per event, none lost or doubled.
        if let Some(woke) = history
            .iter()
            .position(|e| e.kind == "woke" && e.actor == "system")
        {
            acted_after_a_wake |= history[woke..].iter().any(|e| e.actor.starts_with('c'));
        }
        let versions: Vec<i64> = history.iter().map(|e| e.version.unwrap()).collect();
        assert_eq!(
            versions,
            (1..=history.len() as i64).collect::<Vec<_>>(),
            "{fp}"
        );
        let now = store.get(fp).unwrap().unwrap().version;
        assert_eq!(now, history.len() as i64);
        assert!(now >= before[i] + accepted.len() as i64);
        total_accepted += accepted.len();
    }
    for (_, _, c) in &results {
        total_conflicts += c;
    }
    let attempted: usize = results.iter().map(|(_, a, c)| a.len() + c).sum();
    assert_eq!(total_accepted + total_conflicts, attempted);
    assert!(attempted >= clients * actions && total_accepted > 0);
    assert!(
        acted_after_a_wake,
        "the load merged (waking a snoozed alert) while the clients were acting"
    );
    eprintln!("{attempted} actions: {total_accepted} accepted, {total_conflicts} refused with 409");
}

/// The `pick` check boxes of an inbox page: (version, fingerprint).
fn picks(html: &str) -> Vec<(String, String)> {
    let marker = r#"name="pick" form="bulk" value=""#;
    html.match_indices(marker)
        .map(|(at, _)| {
            let value = html[at + marker.len()..].split('"').next().unwrap();
            let (v, fp) = value.split_once('@').unwrap();
            (v.to_string(), fp.to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn bulk_actions_say_how_many_changed_and_why_each_refusal() {
    let srv = start().await;
    let base = srv.base.clone();
    let data = srv.data.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        add_user(&data, "vic", Role::Viewer);
        add_user(&data, "kim", Role::Analyst);
        let viewer = sign_in(&base, "vic");
        let (_, _, inbox) = get(&format!("{base}/alerts"), Some(&viewer));
        assert!(
            !inbox.contains("data-testid=\"bulk\"") && picks(&inbox).is_empty(),
            "no bulk form for a viewer"
        );

        let kim = sign_in(&base, "kim");
        // One card per alert (asked for: grouping is the default), each box one alert.
        let (_, _, inbox) = get(&format!("{base}/alerts?group=none"), Some(&kim));
        assert!(inbox.contains("data-testid=\"bulk\""));
        let csrf = field(&inbox, "csrf");
        let cards = picks(&inbox);
        assert!(cards.len() >= 5, "{}", cards.len());
        let chosen: Vec<String> = cards[..3]
            .iter()
            .map(|(v, fp)| format!("{v}@{fp}"))
            .collect();
        // Someone comments on the second one after the page was made.
        AlertStore::open_in(&data)
            .unwrap()
            .act(
                &cards[1].1,
                &engine::state::Act::Comment {
                    text: "meanwhile".into(),
                },
                None,
                "lee",
                chrono::Utc::now(),
            )
            .unwrap();
        let url = format!("{base}/alerts/bulk");
        let mut fields = vec![("csrf", csrf.as_str()), ("action", "acknowledge")];
        fields.extend(chosen.iter().map(|c| ("pick", c.as_str())));
        let (status, _, body) = post(&url, Some(&kim), &fields);
        assert_eq!(status, 200, "{body}");
        assert!(
            body.contains("Acknowledge: 2 of 3 alerts changed; 1 refused."),
            "{body}"
        );
        assert!(
            body.contains(&format!("data-fingerprint=\"{}\"", cards[1].1)),
            "{body}"
        );
        assert!(body.contains("Someone changed this alert"), "{body}");
        let status_of = |fp: &str| {
            AlertStore::open_in(&data)
                .unwrap()
                .get(fp)
                .unwrap()
                .unwrap()
                .status
        };
        assert_eq!(status_of(&cards[0].1), engine::state::Status::Acknowledged);
        assert_eq!(
            status_of(&cards[1].1),
            engine::state::Status::Open,
            "the stale one is untouched"
        );

        // All matching a filter: the acknowledged ones are resolved, at their current versions.
        let (status, _, body) = post(
            &url,
            Some(&kim),
            &[
                ("csrf", &csrf),
                ("action", "resolve"),
                ("all", "1"),
                ("f_status", "acknowledged"),
                ("note", "weekly review"),
            ],
        );
        assert_eq!(status, 200);
        assert!(
            body.contains("Resolve: 2 of 2 alerts changed; 0 refused."),
            "{body}"
        );
        assert_eq!(status_of(&cards[2].1), engine::state::Status::Resolved);
        // Snoozing everything: resolved alerts are refused one by one, with the reason.
        let (_, _, body) = post(
            &url,
            Some(&kim),
            &[
                ("csrf", &csrf),
                ("action", "snooze"),
                ("all", "1"),
                ("f_status", "all"),
                ("snooze", "next_load"),
            ],
        );
        assert!(body.contains("2 refused."), "{body}");
        assert!(
            body.contains("An alert that is resolved cannot be given “Snooze”"),
            "{body}"
        );
        // Only the bulk actions, each with its fields (a dismissal says why), and something chosen.
        let (status, _, _) = post(
            &url,
            Some(&kim),
            &[("csrf", &csrf), ("action", "dismiss"), ("all", "1")],
        );
        assert_eq!(status, 400);
        let (status, _, body) = post(
            &url,
            Some(&kim),
            &[("csrf", &csrf), ("action", "comment"), ("all", "1")],
        );
        assert_eq!(status, 400);
        assert!(body.contains("Choose what to do"), "{body}");
        let (status, _, body) = post(
            &url,
            Some(&kim),
            &[("csrf", &csrf), ("action", "acknowledge")],
        );
        assert_eq!(status, 400);
        assert!(body.contains("No alert was selected"), "{body}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_selection_toolbar_acts_like_the_alert_page_on_picks_groups_and_all_matching() {
    let srv = start().await;
    let base = srv.base.clone();
    let data = srv.data.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        add_user(&data, "kim", Role::Analyst);
        add_user(&data, "vic", Role::Viewer);
        let kim = sign_in(&base, "kim");
        let (_, _, inbox) = get(&format!("{base}/alerts?group=none"), Some(&kim));
        // One form around the list: the toolbar, then the cards' boxes.
        let form = inbox
            .find("<form id=\"bulk\"")
            .expect("the form around the list");
        let bar = inbox.find("data-testid=\"bulk\"").unwrap();
        let list = inbox.find("data-testid=\"inbox\"").unwrap();
        let end = form + inbox[form..].find("</form>").unwrap();
        assert!(
            form < bar && bar < list && list < end,
            "toolbar and list in the form"
        );
        // The alert page's buttons and disclosures, its snooze presets and dismiss reasons.
        for part in [
            "name=\"action\" value=\"acknowledge\"",
            "name=\"action\" value=\"resolve\"",
            "data-testid=\"bulk-more-assign\"",
            "data-testid=\"bulk-more-snooze\"",
            "data-testid=\"bulk-more-dismiss\"",
            "name=\"action\" value=\"dismiss\"",
            "name=\"reason\"",
        ] {
            assert!(inbox[bar..list].contains(part), "{part}");
        }
        for preset in display::alert::SnoozePreset::ALL {
            let button = format!("name=\"snooze\" value=\"{}\"", preset.as_str());
            assert!(inbox[bar..list].contains(&button), "{button}");
        }
        let csrf = field(&inbox, "csrf");
        let cards = picks(&inbox);
        let url = format!("{base}/alerts/bulk");
        let status_of = |fp: &str| {
            AlertStore::open_in(&data)
                .unwrap()
                .get(fp)
                .unwrap()
                .unwrap()
        };

        // Dismiss… with its reason, on two picked alerts.
        let chosen: Vec<String> = cards[..2]
            .iter()
            .map(|(v, fp)| format!("{v}@{fp}"))
            .collect();
        let (status, _, body) = post(
            &url,
            Some(&kim),
            &[
                ("csrf", &csrf),
                ("pick", &chosen[0]),
                ("pick", &chosen[1]),
                ("reason", "duplicate"),
                ("note", "seen twice"),
                ("action", "dismiss"),
            ],
        );
        assert_eq!(status, 200, "{body}");
        assert!(
            body.contains("Dismiss: 2 of 2 alerts changed; 0 refused."),
            "{body}"
        );
        for (_, fp) in &cards[..2] {
            let r = status_of(fp);
            assert_eq!(r.status, engine::state::Status::Dismissed);
            assert_eq!(
                r.dismiss_reason,
                Some(display::alert::DismissReason::Duplicate)
            );
        }
        // A snooze preset is a button named `snooze`, as on the alert page: no `action` needed.
        let (status, _, body) = post(
            &url,
            Some(&kim),
            &[
                ("csrf", &csrf),
                ("pick", &format!("{}@{}", cards[2].0, cards[2].1)),
                ("snooze", "4h"),
            ],
        );
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("Snooze: 1 of 1 alerts changed"), "{body}");
        let snoozed = status_of(&cards[2].1);
        assert_eq!(snoozed.status, engine::state::Status::Snoozed);
        let wakes = snoozed.snoozed_until.expect("a time snooze");
        let hours = (wakes - chrono::Utc::now()).num_minutes() as f64 / 60.0;
        assert!((3.9..=4.0).contains(&hours), "{hours} h");

        // A grouped card's box picks all its alerts; acting on it changes each of them.
        let (_, _, grouped) = get(&format!("{base}/alerts"), Some(&kim));
        let marker = r#"name="pick" form="bulk" value=""#;
        let group_box = grouped
            .match_indices(marker)
            .map(|(at, _)| {
                grouped[at + marker.len()..]
                    .split('"')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .find(|v| v.split_whitespace().count() > 1)
            .expect("a card with several alerts");
        let members: Vec<String> = group_box
            .split_whitespace()
            .map(|one| one.split_once('@').unwrap().1.to_string())
            .collect();
        let (status, _, body) = post(
            &url,
            Some(&kim),
            &[
                ("csrf", &csrf),
                ("pick", &group_box),
                ("action", "acknowledge"),
            ],
        );
        assert_eq!(status, 200, "{body}");
        let n = members.len();
        assert!(
            body.contains(&format!(
                "Acknowledge: {n} of {n} alerts changed; 0 refused."
            )),
            "{body}"
        );
        for fp in &members {
            assert_eq!(
                status_of(fp).status,
                engine::state::Status::Acknowledged,
                "{fp}"
            );
        }
        // A page made before that change (the same versions): each refused as changed
        // meanwhile; at the current versions, each skipped as already in that state.
        let (_, _, body) = post(
            &url,
            Some(&kim),
            &[
                ("csrf", &csrf),
                ("pick", &group_box),
                ("action", "acknowledge"),
            ],
        );
        assert!(
            body.contains(&format!(
                "Acknowledge: 0 of {n} alerts changed; {n} refused."
            )),
            "{body}"
        );
        assert!(
            body.contains(&format!("data-reason=\"conflict\" data-count=\"{n}\"")),
            "{body}"
        );
        let current = members
            .iter()
            .map(|fp| format!("{}@{fp}", status_of(fp).version))
            .collect::<Vec<_>>()
            .join(" ");
        let (_, _, body) = post(
            &url,
            Some(&kim),
            &[
                ("csrf", &csrf),
                ("pick", &current),
                ("action", "acknowledge"),
            ],
        );
        assert!(
            body.contains(&format!(
                "Acknowledge: 0 of {n} alerts changed; {n} refused."
            )),
            "{body}"
        );
        assert!(
            body.contains(&format!("data-reason=\"already_there\" data-count=\"{n}\"")),
            "{body}"
        );
        assert!(body.contains("already in that state"), "{body}");
        assert!(
            body.contains(&format!("data-fingerprint=\"{}\"", members[0])),
            "{body}"
        );

        // All matching, streamed as progress lines and a result when asked (the toolbar with
        // JavaScript): every open alert acknowledged once.
        let open = AlertFilter {
            statuses: vec![engine::state::Status::Open],
            ..AlertFilter::default()
        };
        let open_before = AlertStore::open_in(&data).unwrap().count(&open).unwrap();
        assert!(open_before > 0);
        let (status, headers, body) = post_with(
            &url,
            Some(&kim),
            &[("accept", "application/x-ndjson")],
            &[
                ("csrf", &csrf),
                ("all", "1"),
                ("f_status", "open"),
                ("action", "acknowledge"),
            ],
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(headers["content-type"], "application/x-ndjson");
        let lines: Vec<serde_json::Value> = body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["total"].as_u64(), Some(open_before as u64));
        assert_eq!(lines[0]["done"].as_u64(), Some(0));
        let last = lines.last().unwrap();
        assert_eq!(last["changed"].as_u64(), Some(open_before as u64), "{last}");
        assert!(last["html"]
            .as_str()
            .unwrap()
            .contains("data-testid=\"bulk-result\""));
        assert_eq!(AlertStore::open_in(&data).unwrap().count(&open).unwrap(), 0);

        // The role and the CSRF token, as on every mutating route; nothing changes.
        let resolved = AlertFilter {
            statuses: vec![engine::state::Status::Resolved],
            ..AlertFilter::default()
        };
        let resolved_before = AlertStore::open_in(&data)
            .unwrap()
            .count(&resolved)
            .unwrap();
        let vic = sign_in(&base, "vic");
        let (_, _, viewer_inbox) = get(&format!("{base}/alerts"), Some(&vic));
        let vic_csrf = field(&viewer_inbox, "csrf");
        let everything = [("all", "1"), ("f_status", "all"), ("action", "resolve")];
        let (status, _, _) = post(
            &url,
            Some(&vic),
            &[&[("csrf", vic_csrf.as_str())][..], &everything].concat(),
        );
        assert_eq!(status, 403);
        let (status, _, _) = post(
            &url,
            Some(&kim),
            &[&[("csrf", "forged")][..], &everything].concat(),
        );
        assert_eq!(status, 403);
        assert_eq!(
            AlertStore::open_in(&data)
                .unwrap()
                .count(&resolved)
                .unwrap(),
            resolved_before
        );
    })
    .await
    .unwrap();
}

/// Status and JSON body of an API call (`body` sent as JSON when given).
fn api(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut resp = match (method, body) {
        ("GET", _) => {
            let mut req = agent().get(url);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            req.call().unwrap()
        }
        (_, body) => {
            let mut req = agent().post(url).header("content-type", "application/json");
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            req.send(body.map(|b| b.to_string()).unwrap_or_default())
                .unwrap()
        }
    };
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap();
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (status, json)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_json_api_reads_and_acts_with_tokens_or_the_session_and_answers_as_documented() {
    let srv = start().await;
    let base = srv.base.clone();
    let data = srv.data.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let fps = fingerprints(&data, 3);
        let token = engine::state::tokens::TokenStore::open_in(&data)
            .unwrap()
            .add("ci-bot", Role::Analyst)
            .unwrap();
        let auth = format!("Bearer {token}");
        let bot: &[(&str, &str)] = &[("authorization", auth.as_str())];
        let one = |fp: &str| format!("{base}/api/v1/alerts/{}", encode(fp));

        // Reading needs no account.
        let (status, list) = api("GET", &format!("{base}/api/v1/alerts?severity=high"), &[], None);
        assert_eq!(status, 200);
        let alerts = list["alerts"].as_array().unwrap();
        assert!(!alerts.is_empty() && alerts.iter().all(|a| a["alert"]["severity"] == "high"));
        assert!(list["total"].as_u64().unwrap() >= alerts.len() as u64);
        let (status, detail) = api("GET", &one(&fps[0]), &[], None);
        assert_eq!(status, 200);
        assert_eq!(detail["record"]["version"], 1);
        assert_eq!(detail["history"][0]["kind"], "opened");

        // Acting with a token, at the version read.
        let (status, acted) = api("POST", &format!("{}/acknowledge", one(&fps[0])), bot, Some(serde_json::json!({ "version": 1, "note": "bot on it" })));
        assert_eq!(status, 200, "{acted}");
        assert_eq!((acted["status"].as_str(), acted["version"].as_i64()), (Some("acknowledged"), Some(2)));
        let (_, detail) = api("GET", &one(&fps[0]), &[], None);
        assert_eq!(detail["history"][1]["actor"], "ci-bot");
        // The same version again: 409 with the change made meanwhile.
        let (status, conflict) = api("POST", &format!("{}/comment", one(&fps[0])), bot, Some(serde_json::json!({ "version": 1, "text": "late" })));
        assert_eq!(status, 409);
        assert_eq!(conflict["error"]["code"], "conflict");
        assert_eq!(conflict["current_version"], 2);
        assert_eq!(conflict["changes"][0]["kind"], "acknowledged");
        assert!(conflict["error"]["message"]["ko"].as_str().unwrap().contains("버전"));
        // Refused transitions and input, and a missing version.
        let (status, e) = api("POST", &format!("{}/reopen", one(&fps[0])), bot, Some(serde_json::json!({ "version": 2 })));
        assert_eq!((status, e["error"]["code"].as_str()), (400, Some("not_allowed")));
        let (status, e) = api("POST", &format!("{}/snooze", one(&fps[0])), bot, Some(serde_json::json!({ "version": 2, "snooze": "worse", "pct": -3 })));
        assert_eq!((status, e["error"]["code"].as_str()), (400, Some("invalid_input")), "{e}");
        let (status, e) = api("POST", &format!("{}/comment", one(&fps[0])), bot, Some(serde_json::json!({ "text": "no version" })));
        assert_eq!((status, e["error"]["code"].as_str()), (400, Some("invalid_input")));
        let (status, e) = api("POST", &format!("{}/comment", one(&fps[0])), bot, Some(serde_json::json!({ "version": 2, "colour": "red" })));
        assert_eq!((status, e["error"]["code"].as_str()), (400, Some("invalid_input")), "unknown fields are refused");
        let (status, e) = api("GET", &one("no:such:alert"), &[], None);
        assert_eq!((status, e["error"]["code"].as_str()), (404, Some("not_found")));
        // A snooze with a number for the percentage.
        let (status, acted) = api("POST", &format!("{}/snooze", one(&fps[0])), bot, Some(serde_json::json!({ "version": 2, "snooze": "worse", "pct": 15 })));
        assert_eq!((status, acted["status"].as_str()), (200, Some("snoozed")), "{acted}");

        // The session cookie works with the CSRF token in a header, not without.
        add_user(&data, "kim", Role::Analyst);
        let kim = sign_in(&base, "kim");
        let (_, _, page) = get(&format!("{base}/alerts/{}", encode(&fps[1])), Some(&kim));
        let csrf = field(&page, "csrf");
        let (status, _) = api("POST", &format!("{}/acknowledge", one(&fps[1])), &[("cookie", kim.as_str())], Some(serde_json::json!({ "version": 1 })));
        assert_eq!(status, 403);
        let (status, acted) = api(
            "POST",
            &format!("{}/acknowledge", one(&fps[1])),
            &[("cookie", kim.as_str()), ("x-csrf-token", csrf.as_str())],
            Some(serde_json::json!({ "version": 1 })),
        );
        assert_eq!((status, acted["version"].as_i64()), (200, Some(2)));
        // "Mine" is the caller's.
        let (_, _) = api("POST", &format!("{}/assign", one(&fps[1])), bot, Some(serde_json::json!({ "version": 2, "owner": "kim", "due": "2099-01-31" })));
        let (_, mine) = api("GET", &format!("{base}/api/v1/alerts?mine=1"), &[("cookie", kim.as_str())], None);
        assert_eq!(mine["count"], 1, "{mine}");
        assert_eq!(mine["alerts"][0]["due_at"], "2099-01-31T23:59:59Z");

        // Bulk: per alert results.
        let (status, bulk) = api(
            "POST",
            &format!("{base}/api/v1/alerts/bulk"),
            bot,
            Some(serde_json::json!({
                "action": "resolve", "note": "weekly review",
                "alerts": [ { "fingerprint": fps[1], "version": 1 }, { "fingerprint": fps[2], "version": 1 } ]
            })),
        );
        assert_eq!(status, 200, "{bulk}");
        assert_eq!((bulk["changed"].as_u64(), bulk["refused"].as_u64()), (Some(1), Some(1)));
        assert_eq!(bulk["results"][0]["error"]["code"], "conflict");
        assert_eq!(bulk["results"][1]["status"], "resolved");

        // The OpenAPI document: 3.1, every reference resolves, and every operation answers with
        // a status it documents.
        let (status, doc) = api("GET", &format!("{base}/api/openapi.json"), &[], None);
        assert_eq!(status, 200);
        assert_eq!(doc["openapi"], "3.1.0");
        fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    for (k, v) in m {
                        if k == "$ref" {
                            out.push(v.as_str().unwrap().to_string());
                        } else {
                            refs(v, out);
                        }
                    }
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let mut all_refs = Vec::new();
        refs(&doc, &mut all_refs);
        assert!(!all_refs.is_empty());
        for r in &all_refs {
            let name = r.strip_prefix("#/components/schemas/").unwrap();
            assert!(doc["components"]["schemas"].get(name).is_some(), "{r} resolves");
        }
        let fresh = &fps[2];
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                let url = format!("{base}{}", path.replace("{fingerprint}", &encode(fresh)));
                let body = (method == "post").then(|| {
                    if path.ends_with("/bulk") {
                        serde_json::json!({ "action": "acknowledge", "alerts": [] })
                    } else {
                        serde_json::json!({ "version": 999 })
                    }
                });
                let (status, answer) = api(&method.to_uppercase(), &url, bot, body);
                assert!(
                    op["responses"].get(status.to_string()).is_some(),
                    "{method} {path} answered {status}, which it does not document: {answer}"
                );
                if status >= 400 {
                    assert!(answer["error"]["code"].is_string(), "{method} {path}: {answer}");
                }
            }
        }
        let (status, _, docs) = get(&format!("{base}/api/docs"), None);
        assert_eq!(status, 200);
        assert!(docs.contains("/api/v1/alerts/{fingerprint}/snooze") && docs.contains("X-CSRF-Token"));
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rule_is_replayed_over_history_from_its_health_page() {
    let srv = start().await;
    let base = srv.base.clone();
    tokio::task::spawn_blocking(move || {
        let (status, _, health) = get(&format!("{base}/rules"), Some("lang=en"));
        assert_eq!(status, 200);
        assert!(health.contains("href=\"/rules/gdp_fall\""), "{health}");
        // A rule over runs, not a metric's history, is listed without a replay to offer.
        assert!(health.contains("data-rule=\"pipeline_failed\""), "{health}");
        assert!(
            !health.contains("href=\"/rules/pipeline_failed\""),
            "{health}"
        );
        let (status, _, page) = get(&format!("{base}/rules/gdp_fall"), Some("lang=en"));
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("data-testid=\"backtest\""));
        assert!(
            page.contains("<th scope=\"row\">2009</th>"),
            "every period is listed"
        );
        assert!(page.contains("alerts over"), "{page}");
        let (status, _, _) = get(&format!("{base}/rules/no_such_rule"), Some("lang=en"));
        assert_eq!(status, 404);
        let (status, _, page) = get(&format!("{base}/rules/pipeline_failed"), Some("lang=en"));
        assert_eq!(status, 400);
        assert!(page.contains("nothing to replay"), "{page}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_json_inbox_is_cached_with_an_etag_until_an_action_changes_it() {
    let srv = start().await;
    let base = srv.base.clone();
    let data = srv.data.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let fp = fingerprints(&data, 1).remove(0);
        let token = engine::state::tokens::TokenStore::open_in(&data)
            .unwrap()
            .add("etag-bot", Role::Analyst)
            .unwrap();
        let list = format!("{base}/api/v1/alerts");
        let conditional = |etag: &str| {
            let mut resp = agent()
                .get(&list)
                .header("If-None-Match", etag)
                .call()
                .unwrap();
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            (status, headers, resp.body_mut().read_to_string().unwrap())
        };

        // 200 with an ETag, then 304 with no body for a client that has it.
        let (status, headers, body) = get(&list, None);
        assert_eq!(status, 200, "{body}");
        let etag = headers["etag"].to_str().unwrap().to_string();
        let first: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(first["count"].as_u64().unwrap() > 0);
        let (status, headers, body) = conditional(&etag);
        assert_eq!((status, body.as_str()), (304, ""));
        assert_eq!(headers["etag"].to_str().unwrap(), etag);
        // The same answer again, from the cache.
        let (status, headers, again) = get(&list, None);
        assert_eq!(
            (status, headers["x-page-cache"].to_str().unwrap()),
            (200, "hit")
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&again).unwrap(),
            first
        );

        // An action changes the alert state: a new answer under a new ETag.
        let v = version(&data, &fp);
        let (status, acted) = api(
            "POST",
            &format!("{base}/api/v1/alerts/{}/acknowledge", encode(&fp)),
            &[("authorization", format!("Bearer {token}").as_str())],
            Some(serde_json::json!({ "version": v })),
        );
        assert_eq!(status, 200, "{acted}");
        let (status, headers, body) = conditional(&etag);
        assert_eq!(status, 200, "an unchanged ETag after an action");
        let new_etag = headers["etag"].to_str().unwrap();
        assert_ne!(new_etag, etag);
        let (status, _, _) = conditional(new_etag);
        assert_eq!(status, 304);
        let now: serde_json::Value = serde_json::from_str(&body).unwrap();
        let changed = now["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["alert"]["fingerprint"] == fp.as_str())
            .map(|a| a["status"].clone());
        assert_eq!(changed, Some(serde_json::json!("acknowledged")), "{body}");
    })
    .await
    .unwrap();
}

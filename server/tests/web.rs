//! The real router on a loopback port over a real snapshot of the default data.

use std::path::{Path, PathBuf};

mod common;

use engine::config::Sources;
use engine::snapshot::SnapshotStore;

use common::{agent, mirror, run_pipeline};

struct TestServer {
    base: String,
    data: tempfile::TempDir,
}

async fn start(load_data: bool) -> TestServer {
    start_with(load_data, server::web::WebOptions::default()).await
}

async fn start_with(load_data: bool, web: server::web::WebOptions) -> TestServer {
    let data = tempfile::tempdir().unwrap();
    if load_data {
        let dir = data.path().to_path_buf();
        tokio::task::spawn_blocking(move || run_pipeline(&dir))
            .await
            .unwrap();
    }
    TestServer {
        base: common::serve(data.path(), web).await,
        data,
    }
}

/// Status and body of a GET in English, off the async workers (ureq blocks).
async fn get(url: String) -> (u16, String) {
    let (status, _, body) = get_with(url, Some("lang=en")).await;
    (status, body)
}

/// Status, headers and body of a GET with an optional `Cookie`, not following redirects.
async fn get_with(url: String, cookie: Option<&'static str>) -> (u16, http::HeaderMap, String) {
    tokio::task::spawn_blocking(move || {
        let mut req = agent().get(&url);
        if let Some(c) = cookie {
            req = req.header("Cookie", c);
        }
        let mut resp = req.call().unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, headers, resp.body_mut().read_to_string().unwrap())
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn overview_is_rendered_on_the_server_with_real_numbers() {
    let srv = start(true).await;
    let (status, html) = get(format!("{}/", srv.base)).await;
    assert_eq!(status, 200);
    // Rendered in full before sending (no JavaScript needed to see the data).
    assert!(html.contains("United States"), "{html}");
    assert!(html.contains("30,769.70"), "USA 2025 in billions");
    assert!(html.contains("<option value=\"2025\" selected"));
    assert!(!html.contains(">World<"), "aggregates are not countries");
}

#[tokio::test(flavor = "multi_thread")]
async fn year_parameter_selects_the_year() {
    let srv = start(true).await;
    let (status, html) = get(format!("{}/?year=2020", srv.base)).await;
    assert_eq!(status, 200);
    assert!(html.contains("<option value=\"2020\" selected"));
    assert!(html.contains("Countries with GDP ≥ 100 B USD in 2020"));
    let (status, html) = get(format!("{}/?year=1850", srv.base)).await;
    assert_eq!(status, 400, "a year without data is a bad request");
    assert!(
        html.contains("no GDP data for 1850; years with data run from 1960 to 2025"),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_data_the_page_says_what_to_do() {
    let srv = start(false).await;
    let (status, html) = get(format!("{}/", srv.base)).await;
    assert_eq!(status, 503, "unavailable until a run is loaded");
    assert!(html.contains("no data has been loaded yet"), "{html}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_pages_are_404_and_health_answers() {
    let srv = start(true).await;
    let (status, _, html) = get_with(format!("{}/no-such-page", srv.base), None).await;
    assert_eq!(status, 404);
    assert!(
        html.contains("페이지를 찾을 수 없습니다"),
        "Korean by default: {html}"
    );
    let (status, _, html) = get_with(format!("{}/no-such-page", srv.base), Some("lang=en")).await;
    assert_eq!(status, 404);
    assert!(html.contains("Page not found") && html.contains("<html lang=\"en\""));
    let (status, body) = get(format!("{}/healthz", srv.base)).await;
    assert_eq!((status, body.as_str()), (200, "ok"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_snapshot_is_served_without_restart() {
    let srv = start(false).await;
    let (_, html) = get(format!("{}/", srv.base)).await;
    assert!(html.contains("no data has been loaded yet"));
    let dir = srv.data.path().to_path_buf();
    let first = tokio::task::spawn_blocking(move || run_pipeline(&dir))
        .await
        .unwrap();
    let (_, html) = get(format!("{}/", srv.base)).await;
    assert!(html.contains(&format!("Run {first}")), "{html}");
    let dir = srv.data.path().to_path_buf();
    let second = tokio::task::spawn_blocking(move || run_pipeline(&dir))
        .await
        .unwrap();
    assert_ne!(first, second);
    let (_, html) = get(format!("{}/", srv.base)).await;
    assert!(html.contains(&format!("Run {second}")), "{html}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_language_choice_is_a_cookie_and_a_redirect_back_to_this_site() {
    let srv = start(false).await;
    let (status, headers, _) = get_with(
        format!("{}/lang?to=en&back=/alerts?severity=high", srv.base),
        None,
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(headers["location"], "/alerts?severity=high");
    let cookie = headers["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with("lang=en;") && cookie.contains("Max-Age="),
        "{cookie}"
    );
    let (status, headers, _) = get_with(
        format!("{}/lang?to=ko&back=//evil.example/x", srv.base),
        None,
    )
    .await;
    assert_eq!((status, headers["location"].to_str().unwrap()), (303, "/"));
    let (status, _, body) = get_with(format!("{}/lang?to=fr", srv.base), None).await;
    assert_eq!(status, 400);
    assert!(body.contains("to=ko"), "{body}");
}

/// `x-page-cache` of a GET: `hit`, `miss`, or absent when the page is never cached.
/// Whether the page came from the cache, its status, and its body with the answer's own script
/// nonce (the one its policy names) written as `NONCE`: every answer, a kept page too, has its
/// own nonce; apart from it a kept page is the page rendered.
async fn cache_of(url: String, cookie: &'static str) -> (Option<String>, u16, String) {
    let (status, headers, body) = get_with(url, Some(cookie)).await;
    let cache = headers
        .get("x-page-cache")
        .map(|v| v.to_str().unwrap().to_string());
    let nonce = headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .and_then(|csp| csp.split("'nonce-").nth(1))
        .and_then(|rest| rest.split('\'').next())
        .map(str::to_string);
    let body = match nonce {
        Some(n) if body.contains("<script") => {
            assert!(
                body.contains(&format!("nonce=\"{n}\"")),
                "the page's scripts carry the policy's nonce"
            );
            body.replace(&n, "NONCE")
        }
        _ => body,
    };
    (cache, status, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_are_kept_until_the_alerts_or_the_snapshot_change() {
    let srv = start(true).await;
    let dir = srv.data.path().to_path_buf();
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config");
    let evaluate = move |dir: PathBuf| {
        let sources = Sources::load(&config.join("sources.yml"), &mirror()).unwrap();
        let set = engine::rules::RuleSet::load(
            &config.join("metrics.yml"),
            &config.join("rules.yml"),
            &sources,
        )
        .unwrap();
        engine::publish::refresh(&SnapshotStore::new(&dir), &set).unwrap();
    };
    let again = evaluate.clone();
    let d = dir.clone();
    tokio::task::spawn_blocking(move || evaluate(d))
        .await
        .unwrap();

    // One card per alert (asked for: grouping is the default), so the count line counts alerts.
    let inbox = format!("{}/alerts?status=acknowledged&group=none", srv.base);
    let (cache, _, first) = cache_of(inbox.clone(), "lang=en").await;
    assert_eq!(cache.as_deref(), Some("miss"));
    assert!(
        first.contains("No alert matches these filters."),
        "nothing acknowledged yet: {first}"
    );
    let (cache, _, second) = cache_of(inbox.clone(), "lang=en").await;
    assert_eq!((cache.as_deref(), &second), (Some("hit"), &first));
    // Another language is another page.
    let (cache, _, korean) = cache_of(inbox.clone(), "lang=ko").await;
    assert_eq!(cache.as_deref(), Some("miss"));
    assert_ne!(korean, first);

    // Someone acknowledges an alert: the next request renders the inbox afresh.
    let d = dir.clone();
    let fingerprint = tokio::task::spawn_blocking(move || {
        let mut store = engine::state::AlertStore::open_in(&d).unwrap();
        let all = store
            .list(&engine::state::AlertFilter::everything())
            .unwrap();
        let fingerprint = all[0].alert.fingerprint.clone();
        store
            .set_status(
                &fingerprint,
                engine::state::Status::Acknowledged,
                "tester",
                None,
                chrono::Utc::now(),
            )
            .unwrap();
        fingerprint
    })
    .await
    .unwrap();
    let (cache, _, after) = cache_of(inbox.clone(), "lang=en").await;
    assert_eq!(cache.as_deref(), Some("miss"));
    assert!(
        after.contains("1 of 1 matching alert, by priority"),
        "{after}"
    );
    assert!(
        after.contains(&format!("data-fingerprint=\"{fingerprint}\"")),
        "{after}"
    );

    // A new snapshot too.
    let (cache, _, _) = cache_of(format!("{}/", srv.base), "lang=en").await;
    assert_eq!(cache.as_deref(), Some("miss"));
    let d = dir.clone();
    let run = tokio::task::spawn_blocking(move || {
        let run = run_pipeline(&d);
        again(d);
        run
    })
    .await
    .unwrap();
    let (cache, _, overview) = cache_of(format!("{}/", srv.base), "lang=en").await;
    assert_eq!(cache.as_deref(), Some("miss"));
    assert!(overview.contains(&format!("Run {run}")));

    // The pipeline page shows runs in progress, which are in neither version: never kept.
    let (cache, _, _) = cache_of(format!("{}/pipeline", srv.base), "lang=en").await;
    assert_eq!(cache, None);
    let (cache, _, _) = cache_of(format!("{}/pipeline", srv.base), "lang=en").await;
    assert_eq!(cache, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn error_pages_are_not_kept() {
    let srv = start(false).await;
    for _ in 0..2 {
        let (cache, status, html) = cache_of(format!("{}/", srv.base), "lang=en").await;
        assert_eq!(status, 503);
        assert!(html.contains("no data has been loaded yet"));
        assert_eq!(cache, None, "an error panel says no-store");
    }
}

/// Status, headers and body of a form POST with an optional `Cookie`, not following redirects.
async fn post_form(
    url: String,
    cookie: Option<String>,
    fields: Vec<(&'static str, String)>,
) -> (u16, http::HeaderMap, String) {
    tokio::task::spawn_blocking(move || {
        let mut req = agent().post(&url);
        if let Some(c) = &cookie {
            req = req.header("Cookie", c);
        }
        let mut resp = req
            .send_form(fields.iter().map(|(k, v)| (*k, v.as_str())))
            .unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, headers, resp.body_mut().read_to_string().unwrap())
    })
    .await
    .unwrap()
}

/// Opens the sign-in page as a browser would: its form token and the cookie that holds it.
async fn login_form(base: &str) -> (String, String) {
    let base = base.to_string();
    tokio::task::spawn_blocking(move || common::login_form(&base))
        .await
        .unwrap()
}

/// Posts the sign-in form (with the sign-in page's token, as a browser does).
async fn post_login(
    base: &str,
    fields: Vec<(&'static str, String)>,
) -> (u16, http::HeaderMap, String) {
    let (cookie, token) = login_form(base).await;
    let mut fields = fields;
    fields.push(("login_csrf", token));
    post_form(format!("{base}/auth/login"), Some(cookie), fields).await
}

/// Signs in through the form; the `Cookie` header value of the new session.
async fn sign_in(base: &str, name: &str, password: &str) -> String {
    let (status, headers, _) = post_login(
        base,
        vec![
            ("name", name.to_string()),
            ("password", password.to_string()),
            ("next", "/pipeline".to_string()),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(headers["location"], "/pipeline");
    let set_cookie = headers["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    format!("lang=en; {}", set_cookie.split(';').next().unwrap())
}

/// The CSRF token in the first form of `html` that carries one.
fn csrf_in(html: &str) -> String {
    let at = html
        .find(r#"name="csrf" value=""#)
        .expect("a form with a CSRF token")
        + 19;
    html[at..at + 64].to_string()
}

async fn get_as(url: String, cookie: String) -> (u16, http::HeaderMap, String) {
    let cookie: &'static str = Box::leak(cookie.into_boxed_str());
    get_with(url, Some(cookie)).await
}

fn add_user(data: &Path, name: &str, password: &str, role: engine::state::users::Role) {
    engine::state::users::UserStore::open_in(data)
        .unwrap()
        .set_user(name, password, role)
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_in_shows_who_and_signing_out_ends_the_session() {
    use engine::state::users::Role;
    let srv = start(true).await;
    add_user(srv.data.path(), "vic", "viewer password", Role::Viewer);

    // A wrong password goes back to the form with an error, and sets no cookie.
    let (status, headers, _) = post_login(
        &srv.base,
        vec![
            ("name", "vic".into()),
            ("password", "not the password".into()),
            ("next", "//evil.example/".into()),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(headers["location"], "/login?error=1&next=%2F");
    assert!(headers.get("set-cookie").is_none());
    let (_, html) = get(format!("{}/login?error=1", srv.base)).await;
    assert!(
        html.contains("The user name or the password is wrong"),
        "{html}"
    );

    let cookie = sign_in(&srv.base, "vic", "viewer password").await;
    let (status, headers, html) = get_as(format!("{}/", srv.base), cookie.clone()).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("vic · viewer"),
        "the top bar names who is signed in"
    );
    assert!(
        headers.get("x-page-cache").is_none(),
        "a signed-in page is not kept"
    );

    // Signing out needs the session's CSRF token.
    let (status, _, _) = post_form(
        format!("{}/auth/logout", srv.base),
        Some(cookie.clone()),
        vec![("csrf", "0".repeat(64))],
    )
    .await;
    assert_eq!(status, 403);
    let csrf = csrf_in(&html);
    let (status, headers, _) = post_form(
        format!("{}/auth/logout", srv.base),
        Some(cookie.clone()),
        vec![("csrf", csrf)],
    )
    .await;
    assert_eq!(status, 303);
    assert!(headers["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let (_, _, html) = get_as(format!("{}/", srv.base), cookie).await;
    assert!(
        !html.contains("vic · viewer"),
        "the old cookie no longer signs in"
    );
    assert!(html.contains(">Sign in<"));
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_failed_sign_ins_lock_the_name_for_a_while() {
    use engine::state::users::Role;
    let srv = start(false).await;
    add_user(srv.data.path(), "vic", "viewer password", Role::Viewer);
    let attempt = |password: &'static str| {
        post_login(
            &srv.base,
            vec![("name", "vic".into()), ("password", password.into())],
        )
    };
    for _ in 0..5 {
        let (status, headers, _) = attempt("a wrong guess").await;
        assert_eq!(status, 303);
        assert!(headers["location"]
            .to_str()
            .unwrap()
            .starts_with("/login?error=1"));
    }
    // Even the right password is refused now: guessing stays slow.
    let (status, headers, body) = attempt("viewer password").await;
    assert_eq!(status, 429);
    assert!(headers.get("set-cookie").is_none());
    assert!(
        body.contains("Too many failed sign-ins") && body.contains("15분"),
        "{body}"
    );
    // Another name is not affected.
    add_user(srv.data.path(), "ada", "admin password", Role::Admin);
    sign_in(&srv.base, "ada", "admin password").await;
    // An admin unlocks the name (what `actionboard users unlock vic` does).
    assert!(engine::state::users::UserStore::open_in(srv.data.path())
        .unwrap()
        .clear_failures("vic")
        .unwrap());
    sign_in(&srv.base, "vic", "viewer password").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_guesses_never_get_past_the_limit() {
    use engine::state::users::Role;
    let srv = start(false).await;
    add_user(srv.data.path(), "vic", "viewer password", Role::Viewer);
    let guesses: Vec<_> = (0..12)
        .map(|i| {
            let base = srv.base.clone();
            tokio::spawn(async move {
                post_login(
                    &base,
                    vec![
                        ("name", "vic".into()),
                        ("password", format!("guess number {i}")),
                    ],
                )
                .await
                .0
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for g in guesses {
        statuses.push(g.await.unwrap());
    }
    let checked = statuses.iter().filter(|s| **s == 303).count();
    assert_eq!(checked, 5, "only five guesses were checked: {statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 303 || *s == 429),
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_needs_the_form_token_and_refuses_oversized_input_before_work() {
    use engine::state::users::Role;
    let srv = start(false).await;
    add_user(srv.data.path(), "vic", "viewer password", Role::Viewer);
    let fields = || {
        vec![
            ("name", "vic".to_string()),
            ("password", "viewer password".to_string()),
        ]
    };
    // Another site's form has neither the cookie nor the token.
    let (status, headers, body) =
        post_form(format!("{}/auth/login", srv.base), None, fields()).await;
    assert_eq!(status, 403, "{body}");
    assert!(headers.get("set-cookie").is_none());
    assert!(body.contains("did not come from this site") && body.contains("로그인 양식"));
    // A token without its cookie (or another visitor's) is refused too.
    let (_, token) = login_form(&srv.base).await;
    let mut with_token = fields();
    with_token.push(("login_csrf", token));
    let (status, _, _) = post_form(format!("{}/auth/login", srv.base), None, with_token).await;
    assert_eq!(status, 403);
    // A body announced over the limit is refused before it is read (sent raw: a client still
    // writing a real 2 MB body may see the connection close before it reads the answer).
    let addr = srv.base.trim_start_matches("http://").to_string();
    let answer = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut tcp = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            tcp,
            "POST /auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            2 << 20
        )
        .unwrap();
        let mut head = [0u8; 64];
        let n = tcp.read(&mut head).unwrap();
        String::from_utf8_lossy(&head[..n]).to_string()
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // A 100 KB password is refused at once, without hashing or counting.
    let started = std::time::Instant::now();
    let (status, headers, _) = post_login(
        &srv.base,
        vec![("name", "vic".into()), ("password", "x".repeat(100 << 10))],
    )
    .await;
    assert_eq!(status, 303);
    assert!(headers["location"]
        .to_str()
        .unwrap()
        .starts_with("/login?error=1"));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let locked = engine::state::users::UserStore::open_in(srv.data.path())
        .unwrap()
        .clear_failures("vic")
        .unwrap();
    assert!(!locked, "an impossible password is not counted");
    // A CR/LF in `next` never answers 500, and never leaves the site.
    let (status, headers, _) = post_login(
        &srv.base,
        vec![
            ("name", "vic".into()),
            ("password", "viewer password".into()),
            ("next", "/x\r\nSet-Cookie: evil=1".into()),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(headers["location"], "/");
}

#[tokio::test(flavor = "multi_thread")]
async fn only_an_admin_with_the_csrf_token_starts_a_run_and_it_is_published() {
    use engine::state::users::Role;
    let srv = start(true).await;
    let store = SnapshotStore::new(srv.data.path());
    let first = store.current().unwrap().unwrap();
    add_user(srv.data.path(), "vic", "viewer password", Role::Viewer);
    add_user(srv.data.path(), "ada", "admin password", Role::Admin);
    let url = format!("{}/pipeline/runs", srv.base);

    let (status, _, body) = post_form(url.clone(), None, vec![("csrf", String::new())]).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("Sign in first") && body.contains("먼저 로그인하세요"));

    let viewer = sign_in(&srv.base, "vic", "viewer password").await;
    let (_, _, page) = get_as(format!("{}/pipeline", srv.base), viewer.clone()).await;
    assert!(page.contains("Only admins can start a run."));
    assert!(!page.contains("/pipeline/runs"), "no form for a viewer");
    let (status, _, _) = post_form(
        url.clone(),
        Some(viewer.clone()),
        vec![("csrf", csrf_in(&page))],
    )
    .await;
    assert_eq!(status, 403, "a viewer may not start a run");

    let admin = sign_in(&srv.base, "ada", "admin password").await;
    let (_, _, page) = get_as(format!("{}/pipeline", srv.base), admin.clone()).await;
    assert!(page.contains("Start a run now"));
    let csrf = csrf_in(&page);
    let (status, _, _) = post_form(url.clone(), Some(admin.clone()), vec![]).await;
    assert_eq!(status, 403, "no CSRF token");
    let (status, _, _) = post_form(
        url.clone(),
        Some(admin.clone()),
        vec![("csrf", "f".repeat(64))],
    )
    .await;
    assert_eq!(status, 403, "another session's or a forged token");
    let (status, headers, _) = post_form(
        url.clone(),
        Some(admin.clone()),
        vec![("csrf", csrf.clone())],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(headers["location"], "/pipeline?started=1");

    // The run goes on in the background; the dashboard keeps answering meanwhile.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    loop {
        let (status, _) = get(format!("{}/", srv.base)).await;
        assert_eq!(status, 200);
        let current = store.current().unwrap().unwrap();
        if current != first {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run was not published"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let (_, _, page) = get_as(format!("{}/pipeline?started=1", srv.base), admin).await;
    assert!(page.contains("A run has started."));
    assert_eq!(
        engine::base::run::RunDir::list(srv.data.path())
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_answer_carries_the_security_headers_and_signed_in_pages_are_private() {
    use engine::state::users::Role;
    let srv = start(true).await;
    for path in ["/", "/alerts", "/login", "/no-such-page", "/healthz"] {
        let (_, headers, _) = get_with(format!("{}{path}", srv.base), Some("lang=en")).await;
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(
            csp.contains("object-src 'none'") && !csp.contains("'unsafe-eval'"),
            "{csp}"
        );
    }
    // Every inline script of a page (the island loader, Leptos' resource scripts) carries the
    // nonce its policy names, and nothing else inline runs; each answer has its own nonce, a
    // page served from the cache too.
    let mut nonces = Vec::new();
    for path in ["/", "/", "/alerts", "/no-such-page"] {
        let (_, headers, body) = get_with(format!("{}{path}", srv.base), Some("lang=en")).await;
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(!csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap_or_else(|| panic!("{path}: no nonce in {csp}"))
            .to_string();
        let scripts: Vec<&str> = body.split("<script").skip(1).collect();
        assert!(!scripts.is_empty(), "{path}: no inline script");
        for script in scripts {
            let open = &script[..script.find('>').unwrap()];
            if open.contains(" src=") {
                continue;
            }
            assert!(
                open.contains(&format!("nonce=\"{nonce}\"")),
                "{path}: an inline script without the policy's nonce: <script{open}>"
            );
        }
        nonces.push(nonce);
    }
    let distinct: std::collections::HashSet<_> = nonces.iter().collect();
    assert_eq!(
        distinct.len(),
        nonces.len(),
        "a nonce was reused: {nonces:?}"
    );
    let (_, headers, _) = get_with(format!("{}/", srv.base), Some("lang=en")).await;
    assert_eq!(headers["cross-origin-opener-policy"], "same-origin");
    assert!(headers["permissions-policy"]
        .to_str()
        .unwrap()
        .contains("camera=()"));

    add_user(srv.data.path(), "vic", "viewer password", Role::Viewer);
    let cookie = sign_in(&srv.base, "vic", "viewer password").await;
    let (_, headers, _) = get_as(format!("{}/alerts", srv.base), cookie).await;
    assert_eq!(headers["cache-control"], "private, no-store");

    // The state files are the server's alone.
    #[cfg(unix)]
    for file in ["state/users.sqlite", "state/alerts.sqlite"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(srv.data.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unchanged_page_is_rendered_once_under_a_burst_of_readers() {
    let srv = start(true).await;
    let url = format!("{}/alerts?severity=high", srv.base);
    let results = tokio::task::spawn_blocking(move || {
        let agent = agent();
        let url = &url;
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..20)
                .map(|_| {
                    let agent = agent.clone();
                    scope.spawn(move || {
                        (0..50)
                            .map(|_| {
                                let mut resp =
                                    agent.get(url).header("Cookie", "lang=en").call().unwrap();
                                let cache = resp
                                    .headers()
                                    .get("x-page-cache")
                                    .map(|v| v.to_str().unwrap().to_string());
                                let status = resp.status().as_u16();
                                resp.body_mut().read_to_string().unwrap();
                                (status, cache)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap())
                .collect::<Vec<_>>()
        })
    })
    .await
    .unwrap();
    assert_eq!(results.len(), 1000);
    assert!(results.iter().all(|(s, _)| *s == 200));
    let misses = results
        .iter()
        .filter(|(_, c)| c.as_deref() == Some("miss"))
        .count();
    assert_eq!(misses, 1, "1,000 concurrent reads render the page once");
}

#[tokio::test(flavor = "multi_thread")]
async fn cookies_are_secure_when_the_site_is_reached_over_https() {
    use server::web::security::SecureCookies;
    let srv = start_with(
        false,
        server::web::WebOptions {
            secure_cookies: SecureCookies::Always,
            trusted_proxies: Vec::new(),
            ..Default::default()
        },
    )
    .await;
    let (status, headers, _) = get_with(format!("{}/lang?to=ko&back=/", srv.base), None).await;
    assert_eq!(status, 303);
    assert!(headers["set-cookie"]
        .to_str()
        .unwrap()
        .ends_with("; Secure"));
    let (_, headers, _) = get_with(format!("{}/login", srv.base), None).await;
    assert!(headers["set-cookie"]
        .to_str()
        .unwrap()
        .ends_with("; Secure"));
    // By default (no trusted proxy), a forwarded header from anyone changes nothing.
    let plain = start(false).await;
    let (_, headers, _) = tokio::task::spawn_blocking({
        let url = format!("{}/lang?to=ko&back=/", plain.base);
        move || {
            let resp = agent()
                .get(&url)
                .header("X-Forwarded-Proto", "https")
                .call()
                .unwrap();
            (resp.status().as_u16(), resp.headers().clone(), ())
        }
    })
    .await
    .unwrap();
    assert!(!headers["set-cookie"].to_str().unwrap().contains("Secure"));
}

#[tokio::test(flavor = "multi_thread")]
async fn server_functions_answer_400_for_arguments_they_cannot_read() {
    let srv = start(true).await;
    for path in [
        "/api/get_overview?year=abc",
        "/api/get_overview?year=99999999999999999999",
        "/api/get_alert",
        "/api/get_country",
    ] {
        let (status, _, body) = get_with(format!("{}{path}", srv.base), Some("lang=en")).await;
        assert_eq!(status, 400, "{path}: {body}");
        let error: app::api::error::ApiError = serde_json::from_str(&body).unwrap();
        assert!(
            matches!(error, app::api::error::ApiError::BadRequest(_)),
            "{path}"
        );
        assert!(
            !body.contains("serde") && !body.contains(".rs"),
            "{path}: {body}"
        );
    }
    let (status, _, body) =
        get_with(format!("{}/api/get_overview?year=1850", srv.base), None).await;
    assert_eq!(status, 400, "a year without data: {body}");
    let (status, _, _) = get_with(format!("{}/api/get_country?code=ZZZ", srv.base), None).await;
    assert_eq!(status, 200, "an unknown country is an answer, not an error");
}

#[tokio::test(flavor = "multi_thread")]
async fn where_each_source_is_published_is_one_click_away() {
    const WB: &str = "https://raw.githubusercontent.com/datasets/world-development-indicators/main/indicators/ny.gdp.mktp.cd/data.csv";
    let link = format!(r#"href="{WB}" rel="noopener noreferrer""#);
    let srv = start(true).await;
    let dir = srv.data.path().to_path_buf();
    let fingerprint = tokio::task::spawn_blocking(move || {
        let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config");
        let sources = Sources::load(&config.join("sources.yml"), &mirror()).unwrap();
        let set = engine::rules::RuleSet::load(
            &config.join("metrics.yml"),
            &config.join("rules.yml"),
            &sources,
        )
        .unwrap();
        engine::publish::refresh(&SnapshotStore::new(&dir), &set).unwrap();
        engine::state::AlertStore::open_in(&dir)
            .unwrap()
            .list(&engine::state::AlertFilter::default())
            .unwrap()
            .into_iter()
            .find(|r| r.alert.fingerprint.starts_with("gdp_fall:"))
            .unwrap()
            .alert
            .fingerprint
    })
    .await
    .unwrap();

    let (_, pipeline) = get(format!("{}/pipeline", srv.base)).await;
    assert!(
        pipeline.contains(&link),
        "the pipeline page links the source"
    );
    assert!(pipeline.contains("read from the local mirror (sources.yml says fetch: mirror)"));
    let (_, alert) = get(format!(
        "{}{}",
        srv.base,
        app::components::links::alert_href(&fingerprint)
    ))
    .await;
    assert!(
        alert.contains(&link),
        "the alert page links its source: {alert}"
    );
    assert!(alert.contains("Published at"));
    let (_, country) = get(format!("{}/country/KOR", srv.base)).await;
    assert!(
        country.contains(&link),
        "the country page links its sources"
    );
    // The published address was recorded when the bytes were read.
    let provenance = std::fs::read_to_string(
        engine::base::run::RunDir::list(srv.data.path()).unwrap()[0]
            .stage_dir(engine::base::Stage::Extract)
            .join("provenance.json"),
    )
    .unwrap();
    assert!(provenance.contains(WB), "{provenance}");
}

#[tokio::test(flavor = "multi_thread")]
async fn times_are_shown_on_the_readers_clock_with_the_zone_named() {
    use engine::base::run::{RunDir, Stage};
    use engine::state::users::{Role, UserStore};
    let srv = start(true).await;
    let run = RunDir::list(srv.data.path()).unwrap().remove(0);
    let started = run.manifest(Stage::Extract).unwrap().started_at;
    // Seoul is UTC+9 all year: the extract's start as a reader there reads it.
    let seoul = (started + chrono::Duration::hours(9))
        .format("%Y-%m-%d %H:%M KST")
        .to_string();
    let (_, page) = get(format!("{}/pipeline", srv.base)).await;
    assert!(
        page.contains(&seoul),
        "the dashboard's zone (Asia/Seoul) for readers who chose none: {seoul}"
    );

    // A person who chose New York reads EST or EDT, never KST.
    add_user(srv.data.path(), "nyc", "new york password", Role::Viewer);
    UserStore::open_in(srv.data.path())
        .unwrap()
        .set_timezone("nyc", display::time::Zone::parse("America/New_York"))
        .unwrap();
    let cookie = sign_in(&srv.base, "nyc", "new york password").await;
    let (_, _, page) = get_as(format!("{}/pipeline", srv.base), cookie.clone()).await;
    // (The schedule's jobs keep their own zone, named, so KST may appear for them.)
    assert!(!page.contains(&seoul), "{page}");
    let offset = if page.contains(" EDT") { 4 } else { 5 };
    let new_york = (started - chrono::Duration::hours(offset))
        .format("%Y-%m-%d %H:%M E")
        .to_string();
    assert!(page.contains(&new_york), "{new_york}");
    let (_, _, settings) = get_as(format!("{}/settings", srv.base), cookie).await;
    assert!(
        settings.contains("<option value=\"America/New_York\" selected"),
        "the choice shows on /settings"
    );

    // The dashboard's zone comes from config/display.yml.
    let utc = start_with(
        true,
        server::web::WebOptions {
            display: engine::config::DisplaySettings {
                timezone: display::time::Zone::UTC,
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await;
    let run = RunDir::list(utc.data.path()).unwrap().remove(0);
    let started = run.manifest(Stage::Extract).unwrap().started_at;
    let (_, page) = get(format!("{}/pipeline", utc.base)).await;
    assert!(page.contains(&started.format("%Y-%m-%d %H:%M UTC").to_string()));
}

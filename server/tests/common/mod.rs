//! What the server's integration tests share: the default configuration and mirror, a real load
//! of the default data, the real router on a loopback port, a plain HTTP client, and signing in
//! as a browser does. (Each test file uses part of it.)
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use engine::config::Sources;
use engine::etl::Pipeline;
use engine::snapshot::SnapshotStore;

pub mod large;

pub fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config")
}

/// The sources' mirror: `ACTIONBOARD_MIRROR`, else `../shared/data` beside the checkout.
pub fn mirror() -> PathBuf {
    std::env::var_os("ACTIONBOARD_MIRROR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
}

pub fn run_config() -> server::web::RunConfig {
    let config = config_dir();
    server::web::RunConfig {
        sources: config.join("sources.yml"),
        mirror: mirror(),
        metrics: config.join("metrics.yml"),
        rules: config.join("rules.yml"),
        lake: None,
        schedule: config.join("schedule.yml"),
    }
}

/// A pipeline run of the default sources into `data_dir`; its run id.
pub fn run_pipeline(data_dir: &Path) -> String {
    let sources = Sources::load(&config_dir().join("sources.yml"), &mirror()).unwrap();
    Pipeline::new(sources, data_dir)
        .run()
        .unwrap()
        .run
        .to_string()
}

/// A pipeline run and the alerts it raises, as `actionboard etl run` does.
pub fn load_with_alerts(data_dir: &Path) {
    run_pipeline(data_dir);
    let config = config_dir();
    let sources = Sources::load(&config.join("sources.yml"), &mirror()).unwrap();
    let set = engine::rules::RuleSet::load(
        &config.join("metrics.yml"),
        &config.join("rules.yml"),
        &sources,
    )
    .unwrap();
    engine::publish::refresh(&SnapshotStore::new(data_dir), &set).unwrap();
}

/// The real router over `data_dir` on a free loopback port; its base URL.
pub async fn serve(data_dir: &Path, web: server::web::WebOptions) -> String {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let router = server::web::router_with(
        SnapshotStore::new(data_dir),
        Path::new("target/site"),
        addr,
        run_config(),
        web,
    );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

/// Runs `cmd` to its end, with `stdin` written to it; its standard output (it must succeed, else
/// the test fails with both of its outputs).
pub fn run_ok(mut cmd: std::process::Command, stdin: Option<&str>) -> String {
    use std::io::Write;
    use std::process::Stdio;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{cmd:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// Serves `app` on 127.0.0.1 on a free port, on `rt` (a test's own receivers and sources); the
/// base URL.
pub fn serve_on(rt: &tokio::runtime::Runtime, app: axum::Router) -> String {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// A client that reports every status and follows no redirect: the tests look at both.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

/// Opens `/login` as a browser would: the sign-in form's token and the `Cookie` pair that holds
/// it (every sign-in post must carry both).
pub fn login_form(base: &str) -> (String, String) {
    let mut resp = agent()
        .get(format!("{base}/login"))
        .header("Cookie", "lang=en")
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let set_cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let html = resp.body_mut().read_to_string().unwrap();
    let marker = r#"name="login_csrf" value=""#;
    let at = html.find(marker).expect("a form token") + marker.len();
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    (cookie, html[at..at + 64].to_string())
}

/// Status, headers and body of a GET with an optional `Cookie`.
pub fn get(url: &str, cookie: Option<&str>) -> (u16, http::HeaderMap, String) {
    let mut req = agent().get(url);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    let mut resp = req.call().unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.body_mut().read_to_string().unwrap())
}

/// Status, headers and body of a form POST with an optional `Cookie`.
pub fn post(
    url: &str,
    cookie: Option<&str>,
    fields: &[(&str, &str)],
) -> (u16, http::HeaderMap, String) {
    let mut req = agent().post(url);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    let mut resp = req.send_form(fields.iter().copied()).unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.body_mut().read_to_string().unwrap())
}

/// A user `name` with the password `"{name} password"`.
pub fn add_user(data: &Path, name: &str, role: engine::state::users::Role) {
    engine::state::users::UserStore::open_in(data)
        .unwrap()
        .set_user(name, &format!("{name} password"), role)
        .unwrap();
}

/// Signs `name` in through the form; the `Cookie` header (English pages) of the new session.
pub fn sign_in(base: &str, name: &str) -> String {
    let password = format!("{name} password");
    let (cookie, token) = login_form(base);
    let (status, headers, _) = post(
        &format!("{base}/auth/login"),
        Some(&cookie),
        &[
            ("name", name),
            ("password", &password),
            ("next", "/"),
            ("login_csrf", &token),
        ],
    );
    assert_eq!(status, 303);
    let set_cookie = headers["set-cookie"].to_str().unwrap();
    format!("lang=en; {}", set_cookie.split(';').next().unwrap())
}

/// The value of the first `name="…"` hidden field in `html`.
pub fn field(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in {html}"))
        + marker.len();
    html[at..].split('"').next().unwrap().to_string()
}

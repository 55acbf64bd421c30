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

/// Signs `name` (password `"{name} password"`) in through the form; the `Cookie` header of the
/// new session, English pages.
pub fn sign_in(base: &str, name: &str) -> String {
    let (cookie, token) = login_form(base);
    let password = format!("{name} password");
    let mut resp = agent()
        .post(format!("{base}/auth/login"))
        .header("Cookie", &cookie)
        .send_form([
            ("name", name),
            ("password", password.as_str()),
            ("next", "/"),
            ("login_csrf", token.as_str()),
        ])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    let _ = resp.body_mut().read_to_string();
    let set_cookie = resp.headers()["set-cookie"].to_str().unwrap();
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

//! The real router on a loopback port over a real snapshot of the default data.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use engine::config::Sources;
use engine::etl::Pipeline;
use engine::store::SnapshotStore;

fn mirror() -> PathBuf {
    std::env::var_os("ACTIONBOARD_MIRROR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
}

struct TestServer {
    base: String,
    data: tempfile::TempDir,
}

fn run_pipeline(data_dir: &Path) -> String {
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config/sources.yml");
    let sources = Sources::load(&config, &mirror()).unwrap();
    Pipeline::new(sources, data_dir)
        .run()
        .unwrap()
        .run
        .to_string()
}

async fn start(load_data: bool) -> TestServer {
    let data = tempfile::tempdir().unwrap();
    let store = SnapshotStore::new(data.path());
    if load_data {
        run_pipeline(data.path());
    }
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let router = server::web::router(store, Path::new("target/site"), addr);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    TestServer {
        base: format!("http://{addr}"),
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
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        let mut req = agent.get(&url);
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
    let (_, html) = get(format!("{}/?year=1850", srv.base)).await;
    assert!(
        html.contains("no GDP data for 1850; years with data run from 1960 to 2025"),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_data_the_page_says_what_to_do() {
    let srv = start(false).await;
    let (status, html) = get(format!("{}/", srv.base)).await;
    assert_eq!(status, 200);
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

//! The axum router: Leptos pages (through the page cache), server functions, static files,
//! health, language choice, signing in and out, and starting a pipeline run.

pub mod alert_actions;
pub mod api;
pub mod api_doc;
pub mod api_status;
pub mod auth;
pub mod error;
pub mod export;
mod lang;
pub mod limits;
pub mod page_cache;
pub mod runs;
pub mod security;

use std::net::SocketAddr;
use std::path::Path;

use app::state::AppState;
use app::{shell, App};
use axum::routing::{get, post};
use axum::Router;
use engine::snapshot::SnapshotReader;
use engine::snapshot::SnapshotStore;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};

pub use runs::RunConfig;
pub use security::WebOptions;

/// The paths of the routes that change something besides signing in (each checks the session,
/// the role and the CSRF token): the alert actions come from the same list the router is built
/// from ([`display::alert::ActionKind::ALL`]), so a test over this list covers a new action.
pub fn mutating_routes() -> Vec<String> {
    let mut routes = vec![
        "/auth/logout".to_string(),
        auth::SETTINGS_PATH.to_string(),
        "/pipeline/runs".to_string(),
        alert_actions::BULK_PATH.to_string(),
    ];
    routes.extend(
        display::alert::ActionKind::ALL
            .into_iter()
            .map(alert_actions::path),
    );
    routes.extend(api::mutating_routes());
    routes
}

/// The whole site with the default [`WebOptions`] (cookies `Secure` only behind a trusted proxy
/// that says https; none is configured).
pub fn router(
    store: SnapshotStore,
    site_root: &Path,
    addr: SocketAddr,
    run_config: RunConfig,
) -> Router {
    router_with(store, site_root, addr, run_config, WebOptions::default())
}

/// The whole site. Layers, outermost first: security headers; the request's signed-in person,
/// looked up once; the page cache; then the routes. Server functions' errors answer with their
/// own status (`api_status`).
pub fn router_with(
    store: SnapshotStore,
    site_root: &Path,
    addr: SocketAddr,
    run_config: RunConfig,
    web: WebOptions,
) -> Router {
    let options = LeptosOptions::builder()
        .output_name("actionboard")
        .site_root(site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build();

    let data_dir = store.data_dir().to_path_buf();
    let rule_files = app::state::RuleFiles {
        sources: run_config.sources.clone(),
        metrics: run_config.metrics.clone(),
        rules: run_config.rules.clone(),
    };
    let acting = crate::acting::Acting::from_rule_files(
        &data_dir,
        &run_config.sources,
        &run_config.metrics,
        &run_config.rules,
    );
    let action_routes = alert_actions::router(acting.clone());
    let api_routes = api::router(acting.clone());
    let launcher = runs::RunLauncher::new(run_config, &data_dir, acting);
    let auth_routes = Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route(auth::SETTINGS_PATH, post(auth::save_settings))
        .with_state(auth::AuthState::new(data_dir.clone()));
    let run_routes = Router::new()
        .route("/pipeline/runs", post(runs::start_run))
        .with_state(launcher);
    // The server owns the alert state: it exists (empty) from the start, so its version is
    // stable from the first page on.
    if let Err(e) = engine::state::AlertStore::open_in(&data_dir) {
        tracing::error!("the alert state cannot be opened: {e}");
    }
    let state = AppState::new(SnapshotReader::new(store.clone())).with_rule_files(rule_files);
    let pages = page_cache::PageCache::new(store, state.alert_version.clone());
    let routes = generate_route_list(App);
    let context = {
        let state = state.clone();
        move || {
            provide_context(state.clone());
            // The nonce the security headers name (Leptos made its own; this one replaces it).
            let nonce = use_context::<http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<security::CspNonce>().cloned());
            if let Some(nonce) = nonce {
                provide_context(leptos::nonce::Nonce::from_value(nonce.0));
            }
        }
    };
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/lang", get(lang::set_language))
        .merge(auth_routes)
        .merge(run_routes)
        .merge(action_routes)
        .merge(api_routes)
        .leptos_routes_with_context(&options, routes, context.clone(), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context(
            context, shell,
        ))
        .with_state(options)
        .layer(axum::middleware::from_fn(api_status::serve))
        .layer(axum::middleware::from_fn_with_state(
            pages,
            page_cache::serve,
        ))
        .layer(axum::middleware::from_fn_with_state(
            security::Viewers {
                data_dir,
                default_zone: web.display.timezone,
            },
            security::viewer,
        ))
        .layer(axum::middleware::from_fn_with_state(
            security::Headers::new(web),
            security::headers,
        ))
        .layer(axum::middleware::from_fn_with_state(
            limits::RESPONSE_TIME,
            limits::time_limit,
        ))
        .layer(axum::middleware::from_fn(limits::announced_body_limit))
        .layer(axum::extract::DefaultBodyLimit::max(limits::MAX_BODY_BYTES))
}

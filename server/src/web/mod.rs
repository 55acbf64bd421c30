//! The axum router: Leptos pages (through the page cache), server functions, static files,
//! health, language choice, signing in and out, and starting a pipeline run.

pub mod alert_actions;
pub mod api;
pub mod api_doc;
pub mod api_status;
pub mod auth;
pub mod deliveries;
pub mod error;
pub mod export;
pub mod health;
mod lang;
pub mod limits;
pub mod links;
pub mod page_cache;
pub mod runs;
pub mod scheduler;
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
        app::pages::deliveries::RESEND_PATH.to_string(),
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

/// The whole site ([`site`]), its run launcher and schedule read from `run_config`.
pub fn router_with(
    store: SnapshotStore,
    site_root: &Path,
    addr: SocketAddr,
    run_config: RunConfig,
    web: WebOptions,
) -> Router {
    // Shown on the pipeline page; a broken file shows no jobs (`serve` refuses to start on one).
    let schedule = engine::schedule::Schedule::load(&run_config.schedule).unwrap_or_else(|e| {
        tracing::error!("{e}");
        Default::default()
    });
    let launcher = launcher(store.data_dir(), run_config);
    site(store, site_root, addr, launcher, web, schedule)
}

/// The run launcher of `data_dir`, with the one acting service the site and its runs share.
pub fn launcher(data_dir: &Path, run_config: RunConfig) -> runs::RunLauncher {
    let acting = crate::acting::Acting::from_rule_files(
        data_dir,
        &run_config.sources,
        &run_config.metrics,
        &run_config.rules,
    );
    runs::RunLauncher::new(run_config, data_dir, acting)
}

/// The whole site: its run button starts runs with `launcher` (the scheduler runs its pipeline
/// ticks with it too) and the pipeline page shows `schedule`'s jobs. Layers, outermost first:
/// security headers; the request's signed-in person, looked up once; the page cache; then the
/// routes. Server functions' errors answer with their own status (`api_status`).
pub fn site(
    store: SnapshotStore,
    site_root: &Path,
    addr: SocketAddr,
    launcher: runs::RunLauncher,
    web: WebOptions,
    schedule: engine::schedule::Schedule,
) -> Router {
    let run_config = launcher.config();
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
    let schedule = std::sync::Arc::new(schedule);
    let acting = launcher.acting().clone();
    let action_routes = alert_actions::router(acting.clone());
    let api_routes = api::router(acting.clone());
    let link_routes = links::router(acting.clone());
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
    if let Err(e) = tokio::task::block_in_place(|| engine::state::AlertStore::open_in(&data_dir)) {
        tracing::error!("the alert state cannot be opened: {e}");
    }
    let state = AppState::new(SnapshotReader::new(store.clone()))
        .with_rule_files(rule_files)
        .with_schedule(schedule);
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
        .merge(health::router(
            state.snapshots.clone(),
            state.alert_version.clone(),
        ))
        .route("/lang", get(lang::set_language))
        .merge(auth_routes)
        .merge(run_routes)
        .merge(action_routes)
        .merge(deliveries::router(data_dir.clone()))
        .merge(api_routes)
        .merge(link_routes)
        .leptos_routes_with_context(&options, routes, context.clone(), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context(
            context, shell,
        ))
        .with_state(options)
        .layer(axum::middleware::from_fn(api_status::serve))
        .layer(axum::middleware::from_fn(deliveries::admin_only))
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
        .layer(limits::time_limit(limits::RESPONSE_TIME))
        .layer(limits::body_limit())
        // The body limit above replaces the extractors' own (2 MB) one.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn(limits::in_our_words))
}

//! The axum router: Leptos pages (through the page cache), server functions, static files,
//! health, language choice.

mod lang;
pub mod page_cache;

use std::net::SocketAddr;
use std::path::Path;

use app::state::AppState;
use app::{shell, App};
use axum::routing::get;
use axum::Router;
use engine::store::{SnapshotReader, SnapshotStore};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};

pub fn router(store: SnapshotStore, site_root: &Path, addr: SocketAddr) -> Router {
    let options = LeptosOptions::builder()
        .output_name("actionboard")
        .site_root(site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build();
    let pages = page_cache::PageCache::new(store.clone());
    let state = AppState::new(SnapshotReader::new(store));
    let routes = generate_route_list(App);
    let context = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/lang", get(lang::set_language))
        .leptos_routes_with_context(&options, routes, context, {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(options)
        .layer(axum::middleware::from_fn_with_state(
            pages,
            page_cache::serve,
        ))
}

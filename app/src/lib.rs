//! Actionboard's web app, in Leptos' islands mode: every page renders on the server (`ssr`) and is
//! complete HTML without JavaScript; only the small interactive islands in `components::islands`
//! are compiled to wasm and hydrated in the browser (`hydrate`). Server functions reach the
//! engine only under `ssr`.
// Leptos view types nest deeply on big pages (component erasure is off so tests and
// cargo-leptos share one build).
#![recursion_limit = "512"]

pub mod api;
pub mod auth;
pub mod components;
pub mod format;
pub mod i18n;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod state;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    ParamSegment, SsrMode, StaticSegment,
};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let lang = i18n::initial_lang();
    view! {
        <!DOCTYPE html>
        <html lang=lang.code()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                // No icon yet: an empty one spares every page a 404 request.
                <link rel="icon" href="data:,"/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(i18n::initial_lang());
    view! {
        <Stylesheet id="leptos" href="/pkg/actionboard.css"/>
        <Title text="Actionboard"/>
        <Router>
            <components::top_bar::TopBar/>
            <main>
                <components::as_of::AsOfBanner/>
                <Routes fallback=pages::not_found::NotFound>
                    <Route path=StaticSegment("") view=pages::overview::OverviewPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("alerts") view=pages::alerts::AlertsPage ssr=SsrMode::Async/>
                    <Route path=(StaticSegment("alerts"), ParamSegment("fingerprint")) view=pages::alert::AlertPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("explore") view=pages::explore::ExplorePage ssr=SsrMode::Async/>
                    <Route path=(StaticSegment("country"), ParamSegment("code")) view=pages::country::CountryRoute ssr=SsrMode::Async/>
                    <Route path=StaticSegment("pipeline") view=pages::pipeline::PipelinePage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("login") view=pages::login::LoginPage/>
                    <Route path=StaticSegment("settings") view=pages::settings::SettingsPage/>
                    <Route path=StaticSegment("rules") view=pages::rules::RulesPage ssr=SsrMode::Async/>
                    <Route path=(StaticSegment("rules"), ParamSegment("rule")) view=pages::rules::BacktestPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("editions") view=pages::editions::EditionsPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("changes") view=pages::changes::ChangesPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("deliveries") view=pages::deliveries::DeliveriesPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
        <components::islands::HydrationMarker/>
        <components::islands::InPlaceActions/>
    }
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}

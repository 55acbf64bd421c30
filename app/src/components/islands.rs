//! The islands: the only components hydrated in the browser. Everything else is server HTML that
//! already works without JavaScript; an island only adds a convenience on top of it.

use leptos::prelude::*;

/// Marks `<body data-hydrated="true">` once the wasm has run, so people (and tests) can tell the
/// page's enhancements are active.
#[island]
pub fn HydrationMarker() -> impl IntoView {
    // Effects run only in the browser.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}

/// Submits the enclosing form as soon as a `<select>` inside changes. Without JavaScript the
/// form's own submit button does the same.
#[island]
pub fn SubmitOnChange(children: Children) -> impl IntoView {
    let on_change = move |_ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use leptos::wasm_bindgen::JsCast;
            if let Some(form) = _ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok())
                .and_then(|select| select.form())
            {
                let _ = form.request_submit();
            }
        }
    };
    view! { <span class="submit-on-change" on:change=on_change>{children()}</span> }
}

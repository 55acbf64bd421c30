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

/// Marks `<select>`s whose choice applies at once: with JavaScript, [`InPlaceActions`] submits
/// the enclosing form when one changes (a document-level listener, so it keeps working after
/// the content was replaced in place). Without JavaScript the form's own submit button does
/// the same.
#[component]
pub fn SubmitOnChange(children: Children) -> impl IntoView {
    view! { <span class="submit-on-change">{children()}</span> }
}

/// With JavaScript, the action forms of an alert page (`form.act-form`) are sent in the
/// background and the page's content is replaced in place with the answer (the alert's new
/// status, work panel and history), without a page load; a refusal (a conflict, a refused
/// transition) is shown inline above the form, with what changed meanwhile. On the inbox, the
/// filters (`form.filters`) update the list and its counts in place (the URL changes too, so a
/// filtered inbox stays a link, and Back works), and the bulk form keeps a live count of the
/// checked alerts. Without JavaScript the same forms post and come back as ordinary pages.
#[island]
pub fn InPlaceActions() -> impl IntoView {
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        in_place::attach();
    });
}

#[cfg(feature = "hydrate")]
mod in_place {
    use leptos::prelude::*;
    use leptos::wasm_bindgen::closure::Closure;
    use leptos::wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    /// Listens on the document (the content it replaces holds the forms).
    pub fn attach() {
        let doc = document();
        let on_submit = Closure::<dyn FnMut(web_sys::Event)>::new(on_submit);
        let _ = doc.add_event_listener_with_callback("submit", on_submit.as_ref().unchecked_ref());
        on_submit.forget();
        let on_change = Closure::<dyn FnMut(web_sys::Event)>::new(|ev: web_sys::Event| {
            submit_on_change(&ev);
            group_box(&ev);
            count_picks();
        });
        let _ = doc.add_event_listener_with_callback("change", on_change.as_ref().unchecked_ref());
        on_change.forget();
        // Back and forward between filtered inboxes: the page of that URL, in place.
        let on_pop = Closure::<dyn FnMut(web_sys::Event)>::new(|_ev: web_sys::Event| {
            let url = window().location().href().unwrap_or_default();
            leptos::task::spawn_local(async move {
                if load(&url, false).await.is_err() {
                    window().location().reload().ok();
                }
            });
        });
        let _ =
            window().add_event_listener_with_callback("popstate", on_pop.as_ref().unchecked_ref());
        on_pop.forget();
        let on_click = Closure::<dyn FnMut(web_sys::Event)>::new(on_click);
        let _ = doc.add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref());
        on_click.forget();
        count_picks();
    }

    /// A `<select>` inside `.submit-on-change` changed: its form is submitted (and, being a
    /// filter form, applied in place).
    fn submit_on_change(ev: &web_sys::Event) {
        let Some(select) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok())
        else {
            return;
        };
        if select.closest(".submit-on-change").ok().flatten().is_none() {
            return;
        }
        if let Some(form) = select.form() {
            let _ = form.request_submit();
        }
    }

    /// A plain left click on a link marked `data-in-place` (the explore table's sort headings and
    /// pages): the linked page in place, its URL in the history, and the keyboard focus back on
    /// the same control of the new content. Any other click (a new tab, a modifier) is left to
    /// the browser.
    fn on_click(ev: web_sys::Event) {
        let Some(mouse) = ev.dyn_ref::<web_sys::MouseEvent>() else {
            return;
        };
        if mouse.button() != 0
            || mouse.ctrl_key()
            || mouse.meta_key()
            || mouse.shift_key()
            || mouse.alt_key()
        {
            return;
        }
        let Some(link) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.closest("a[data-in-place]").ok().flatten())
        else {
            return;
        };
        let (Some(href), Some(key)) = (
            link.get_attribute("href"),
            link.get_attribute("data-in-place"),
        ) else {
            return;
        };
        ev.prevent_default();
        leptos::task::spawn_local(async move {
            if load(&href, true).await.is_err() {
                window().location().set_href(&href).ok();
                return;
            }
            focus(&format!("[data-in-place=\"{key}\"]"));
        });
    }

    /// Puts the keyboard focus on the first element matching `selector`, if any.
    fn focus(selector: &str) {
        if let Ok(Some(el)) = document().query_selector(selector) {
            if let Some(el) = el.dyn_ref::<web_sys::HtmlElement>() {
                el.focus().ok();
            }
        }
    }

    /// Fetches the page `url` and puts its top bar, title and content in place of this page's
    /// (adding `url` to the history when `push`).
    async fn load(url: &str, push: bool) -> Result<(), JsValue> {
        let response: web_sys::Response = JsFuture::from(window().fetch_with_str(url))
            .await?
            .dyn_into()?;
        let text = JsFuture::from(response.text()?)
            .await?
            .as_string()
            .unwrap_or_default();
        let parsed = web_sys::DomParser::new()?
            .parse_from_string(&text, web_sys::SupportedType::TextHtml)?;
        let doc = document();
        for selector in ["header.topbar", "main"] {
            if let (Some(new), Some(old)) = (
                parsed.query_selector(selector)?,
                doc.query_selector(selector)?,
            ) {
                old.set_inner_html(&new.inner_html());
            }
        }
        doc.set_title(&parsed.title());
        if push {
            window()
                .history()?
                .push_state_with_url(&JsValue::NULL, "", Some(url))?;
        }
        count_picks();
        Ok(())
    }

    /// A filter form of the inbox (GET): the filtered page in place, its URL in the history.
    fn filter_in_place(ev: &web_sys::Event, form: &web_sys::HtmlFormElement) {
        let Ok(data) = web_sys::FormData::new_with_form(form) else {
            return;
        };
        let Ok(query) = web_sys::UrlSearchParams::new_with_str_sequence_sequence(&data) else {
            return;
        };
        ev.prevent_default();
        let path = window().location().pathname().unwrap_or_default();
        let url = format!("{path}?{}", String::from(query.to_string()));
        let form = form.clone();
        // The control in use keeps the focus in the new content (keyboard users stay in place).
        let focused = document()
            .active_element()
            .map(|e| e.id())
            .filter(|id| !id.is_empty());
        leptos::task::spawn_local(async move {
            if let Err(e) = load(&url, true).await {
                leptos::logging::warn!("filtering in place failed ({e:?}); submitting the form");
                form.submit().ok();
                return;
            }
            if let Some(id) = focused {
                focus(&format!("#{id}"));
            }
        });
    }

    fn korean() -> bool {
        document()
            .document_element()
            .and_then(|e| e.get_attribute("lang"))
            .is_some_and(|l| l == "ko")
    }

    /// A group card's box checks or unchecks every alert of the group with it.
    fn group_box(ev: &web_sys::Event) {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        if input.name() != "pick" {
            return;
        }
        let Ok(Some(card)) = input.closest(".alert-group") else {
            return;
        };
        if input.closest(".alert-head").ok().flatten().is_none() {
            return;
        }
        let checked = input.checked();
        if let Ok(boxes) = card.query_selector_all(".group-signals input[name=\"pick\"]") {
            for i in 0..boxes.length() {
                if let Some(b) = boxes
                    .get(i)
                    .and_then(|n| n.dyn_into::<web_sys::HtmlInputElement>().ok())
                {
                    b.set_checked(checked);
                }
            }
        }
    }

    /// The selection toolbar shows only while something is selected, with how many alerts (a
    /// group card's box counts each of its alerts once), or "all N matching".
    fn count_picks() {
        let doc = document();
        let Ok(Some(bar)) = doc.query_selector("[data-testid=\"bulk\"]") else {
            return;
        };
        let mut picked = std::collections::HashSet::new();
        if let Ok(boxes) = doc.query_selector_all("input[name=\"pick\"]:checked") {
            for i in 0..boxes.length() {
                if let Some(b) = boxes
                    .get(i)
                    .and_then(|n| n.dyn_into::<web_sys::HtmlInputElement>().ok())
                {
                    for one in b.value().split_whitespace() {
                        if let Some((_, fp)) = one.split_once('@') {
                            picked.insert(fp.to_string());
                        }
                    }
                }
            }
        }
        let all = doc
            .query_selector("[data-testid=\"bulk-all\"]")
            .ok()
            .flatten()
            .and_then(|n| n.dyn_into::<web_sys::HtmlInputElement>().ok())
            .is_some_and(|b| b.checked());
        let n = picked.len();
        let busy = bar.get_attribute("data-busy").is_some();
        if n == 0 && !all && !busy {
            let _ = bar.set_attribute("hidden", "");
        } else {
            let _ = bar.remove_attribute("hidden");
        }
        let Ok(Some(out)) = doc.query_selector("[data-testid=\"bulk-count\"]") else {
            return;
        };
        let matching = bar.get_attribute("data-matching").unwrap_or_default();
        let text = match (korean(), all) {
            (true, true) => format!("조건에 맞는 알림 {matching}건 전체 선택됨"),
            (false, true) => format!("All {matching} matching alerts selected"),
            (true, false) => format!("{n}건 선택됨"),
            (false, false) if n == 1 => "1 alert selected".to_string(),
            (false, false) => format!("{n} alerts selected"),
        };
        out.set_text_content(Some(&text));
    }

    /// The selection toolbar's action, sent in the background: its progress live in the
    /// toolbar ("1,500 of 20,000 alerts done…", streamed by the server), then the inbox as it is
    /// now with the result (changed, and per reason the alerts left as they were) above it.
    fn bulk_in_place(ev: &web_sys::Event, form: &web_sys::HtmlFormElement) {
        let Some(body) = posted(ev, form) else {
            return;
        };
        ev.prevent_default();
        let form = form.clone();
        let pressed = ev
            .dyn_ref::<web_sys::SubmitEvent>()
            .and_then(|s| s.submitter())
            .and_then(|b| Some((b.get_attribute("name")?, b.get_attribute("value")?)));
        leptos::task::spawn_local(async move {
            if let Err(e) = bulk_send(&form, &body).await {
                leptos::logging::warn!("bulk action in place failed ({e:?}); posting the form");
                // The plain post, with the button pressed (`submit()` sends none).
                if let (Some((name, value)), Ok(input)) =
                    (pressed, document().create_element("input"))
                {
                    let _ = input.set_attribute("type", "hidden");
                    let _ = input.set_attribute("name", &name);
                    let _ = input.set_attribute("value", &value);
                    let _ = form.append_child(&input);
                }
                form.submit().ok();
            }
        });
    }

    fn set_text(selector: &str, text: &str) {
        if let Ok(Some(el)) = document().query_selector(selector) {
            el.set_text_content(Some(text));
            let _ = el.remove_attribute("hidden");
        }
    }

    async fn bulk_send(
        form: &web_sys::HtmlFormElement,
        body: &web_sys::UrlSearchParams,
    ) -> Result<(), JsValue> {
        let doc = document();
        let bar = doc.query_selector("[data-testid=\"bulk\"]")?;
        if let Some(bar) = &bar {
            bar.set_attribute("data-busy", "")?;
        }
        // The last action's result goes; this one's comes at the end.
        if let Some(old) = doc.query_selector("[data-testid=\"bulk-outcome\"]")? {
            old.set_inner_html("");
        }
        let headers = web_sys::Headers::new()?;
        headers.set("accept", "application/x-ndjson")?;
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_body(body);
        init.set_headers_headers(&headers);
        let response: web_sys::Response =
            // The attribute: `form.action` is the toolbar's buttons named `action`.
            JsFuture::from(window().fetch_with_str_and_init(
                &form.get_attribute("action").unwrap_or_default(),
                &init,
            ))
                .await?
                .dyn_into()?;
        let mut result_html = None;
        if !response.ok() {
            // Refused before any alert: the refusal page's message.
            let text = JsFuture::from(response.text()?)
                .await?
                .as_string()
                .unwrap_or_default();
            let parsed = web_sys::DomParser::new()?
                .parse_from_string(&text, web_sys::SupportedType::TextHtml)?;
            let message = parsed
                .query_selector("[data-testid=\"refusal\"]")?
                .map(|e| e.outer_html())
                .unwrap_or_else(|| format!("HTTP {}", response.status()));
            result_html = Some(message);
        } else {
            let stream = response
                .body()
                .ok_or_else(|| JsValue::from_str("no body"))?;
            let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().dyn_into()?;
            let mut buffer: Vec<u8> = Vec::new();
            // Bounded: the server ends the answer after its last line.
            loop {
                let chunk = JsFuture::from(reader.read()).await?;
                let done = web_sys::js_sys::Reflect::get(&chunk, &JsValue::from_str("done"))?
                    .as_bool()
                    .unwrap_or(true);
                if let Ok(value) =
                    web_sys::js_sys::Reflect::get(&chunk, &JsValue::from_str("value"))
                {
                    if value.is_object() {
                        buffer.extend(web_sys::js_sys::Uint8Array::new(&value).to_vec());
                    }
                }
                while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = buffer.drain(..=end).collect();
                    let Ok(line) = String::from_utf8(line) else {
                        continue;
                    };
                    let Ok(value) = web_sys::js_sys::JSON::parse(line.trim()) else {
                        continue;
                    };
                    let field = |name: &str| {
                        web_sys::js_sys::Reflect::get(&value, &JsValue::from_str(name))
                            .ok()
                            .and_then(|v| v.as_string())
                    };
                    if let Some(html) = field("html") {
                        result_html = Some(html);
                    } else if let Some(text) = field("text") {
                        set_text("[data-testid=\"bulk-progress\"]", &text);
                    }
                }
                if done {
                    break;
                }
            }
        }
        // The inbox as it is now, then the result above its list.
        let url = window().location().href().unwrap_or_default();
        load(&url, false).await?;
        // Server-escaped HTML of the result: in its place above the list, or at the top when
        // nothing is left to list.
        if let Some(html) = result_html {
            match document().query_selector("[data-testid=\"bulk-outcome\"]")? {
                Some(slot) => slot.set_inner_html(&html),
                None => {
                    if let Some(main) = document().query_selector("main")? {
                        main.insert_adjacent_html("afterbegin", &html)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// What `form` posts when submitted by `ev`: its fields and the button pressed, which may
    /// carry a value (useful / not useful, the toolbar's action, a snooze preset).
    fn posted(
        ev: &web_sys::Event,
        form: &web_sys::HtmlFormElement,
    ) -> Option<web_sys::UrlSearchParams> {
        let data = web_sys::FormData::new_with_form(form).ok()?;
        if let Some(button) = ev
            .dyn_ref::<web_sys::SubmitEvent>()
            .and_then(|s| s.submitter())
        {
            if let (Some(name), Some(value)) =
                (button.get_attribute("name"), button.get_attribute("value"))
            {
                let _ = data.append_with_str(&name, &value);
            }
        }
        web_sys::UrlSearchParams::new_with_str_sequence_sequence(&data).ok()
    }

    fn on_submit(ev: web_sys::Event) {
        let Some(form) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok())
        else {
            return;
        };
        if form.class_list().contains("filters") && form.method().eq_ignore_ascii_case("get") {
            filter_in_place(&ev, &form);
            return;
        }
        if form.class_list().contains("bulk-form") {
            bulk_in_place(&ev, &form);
            return;
        }
        if !form.class_list().contains("act-form") {
            return;
        }
        let Some(body) = posted(&ev, &form) else {
            return;
        };
        ev.prevent_default();
        let action = form.action();
        leptos::task::spawn_local(async move {
            if let Err(e) = send(&form, &action, &body).await {
                // Fall back to the ordinary post.
                leptos::logging::warn!("in-place action failed ({e:?}); posting the form");
                form.submit().ok();
            }
        });
    }

    async fn send(
        form: &web_sys::HtmlFormElement,
        action: &str,
        body: &web_sys::UrlSearchParams,
    ) -> Result<(), JsValue> {
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_body(body);
        let window = window();
        let response: web_sys::Response =
            JsFuture::from(window.fetch_with_str_and_init(action, &init))
                .await?
                .dyn_into()?;
        let status = response.status();
        let text = JsFuture::from(response.text()?)
            .await?
            .as_string()
            .unwrap_or_default();
        let parsed = web_sys::DomParser::new()?
            .parse_from_string(&text, web_sys::SupportedType::TextHtml)?;
        let doc = document();
        if response.ok() {
            // The alert's page after the change: its new content replaces the old.
            let (Some(new_main), Some(main)) =
                (parsed.query_selector("main")?, doc.query_selector("main")?)
            else {
                return Err(JsValue::from_str("no <main> in the answer"));
            };
            main.set_inner_html(&new_main.inner_html());
            if let Ok(Some(history)) = doc.query_selector("#history-title") {
                if let Some(el) = history.dyn_ref::<web_sys::HtmlElement>() {
                    el.set_attribute("tabindex", "-1").ok();
                    el.focus().ok();
                }
            }
            return Ok(());
        }
        // A refusal: its message and what changed meanwhile, above the form.
        let message = parsed
            .query_selector("[data-testid=\"refusal\"]")?
            .and_then(|e| e.text_content())
            .unwrap_or_else(|| format!("HTTP {status}"));
        let changes = parsed
            .query_selector("[data-testid=\"changed-meanwhile\"]")?
            .map(|e| e.outer_html())
            .unwrap_or_default();
        if let Ok(Some(old)) = doc.query_selector("[data-testid=\"inline-refusal\"]") {
            old.remove();
        }
        let note = doc.create_element("div")?;
        note.set_attribute("role", "alert")?;
        note.set_attribute("class", "panel warning inline-refusal")?;
        note.set_attribute("data-testid", "inline-refusal")?;
        note.set_attribute("data-status", &status.to_string())?;
        let p = doc.create_element("p")?;
        p.set_text_content(Some(&message));
        note.append_child(&p)?;
        if !changes.is_empty() {
            // Server-escaped HTML of the refusal page (text of events only).
            let list = doc.create_element("div")?;
            list.set_inner_html(&changes);
            note.append_child(&list)?;
        }
        let reload = doc.create_element("a")?;
        reload.set_attribute(
            "href",
            &doc.location()
                .map(|l| l.pathname().unwrap_or_default())
                .unwrap_or_default(),
        )?;
        reload.set_text_content(Some(if korean() {
            "새로 고쳐 현재 상태 보기"
        } else {
            "Reload to see the alert as it is now"
        }));
        note.append_child(&reload)?;
        form.before_with_node_1(&note)?;
        Ok(())
    }
}

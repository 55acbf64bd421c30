//! Acting from a message: `GET /act/{token}` shows what a message's signed link would do (the
//! alert's title, country and period, the action, the person it acts as) with a button, in the
//! reader's language, and changes nothing, so a mail scanner that opens every link acts on
//! nothing. The button posts the token to `POST /act`, which checks the link again and acts as
//! its recipient through [`Acting::act_by_link`] (the link is marked used in the action's
//! transaction; the history says `via: link`). Refused links answer a 4xx page in the reader's
//! language saying what happened and to open the alert in Actionboard; never a 500 for a link.
//!
//! CSRF: the POST needs no session nor CSRF token, because the token in its body is the proof.
//! It is unguessable (HMAC-SHA256 with the server's secret), bound to one alert, one action and
//! one recipient, expiring and single-use, and only someone who holds the message has it; a
//! forged cross-site post without it is refused, and one with it could only do what opening the
//! message's link and pressing the button does. (`Referrer-Policy: same-origin` keeps the
//! token out of other sites' logs.)

use std::sync::Arc;

use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use chrono::Utc;
use display::notify::NotifyText as T;
use display::{Lang, Text};
use engine::notify::link::{LinkClaims, LinkError, LinkSecret, LINK_PATH, MAX_TOKEN_LEN};
use engine::state::users::{Role, UserStore};
use engine::state::{ActError, AlertRecord, AlertStore, LinkUse};
use serde::Deserialize;

use super::alert_actions::lang_of;
use crate::acting::{Acting, ActionFields, Refusal};
use app::auth::ReaderZone;

/// What the link routes share.
#[derive(Clone)]
pub struct Links {
    acting: Acting,
    /// `None`: the secret could not be had (logged); every link is answered 503.
    secret: Option<Arc<LinkSecret>>,
}

/// The two routes: `GET /act/{token}` and `POST /act`.
pub fn router<S: Clone + Send + Sync + 'static>(acting: Acting) -> Router<S> {
    let secret = match LinkSecret::load(acting.data_dir()) {
        Ok(s) => Some(Arc::new(s)),
        Err(e) => {
            tracing::error!("message links cannot be checked: {e}");
            None
        }
    };
    Router::new()
        .route(&format!("{LINK_PATH}/{{token}}"), get(confirm))
        .route(LINK_PATH, post(act))
        .with_state(Links { acting, secret })
}

/// Why a link is not acted on: the link's own refusal, or the action's.
enum Refused {
    Link(LinkError),
    Act(Refusal),
    /// Nothing to do with the link: the state could not be read (logged).
    Internal,
}

impl From<LinkError> for Refused {
    fn from(e: LinkError) -> Self {
        Refused::Link(e)
    }
}

/// The status of a refused link.
pub fn link_status(e: &LinkError) -> StatusCode {
    match e {
        LinkError::Malformed | LinkError::BadSignature => StatusCode::BAD_REQUEST,
        LinkError::Expired(_) => StatusCode::GONE,
        LinkError::Replayed => StatusCode::CONFLICT,
        LinkError::UnknownRecipient(_) | LinkError::NotAnalyst(_) => StatusCode::FORBIDDEN,
        LinkError::AlertGone(_) => StatusCode::NOT_FOUND,
    }
}

/// A link checked against the state now: signed by us, not expired, not used, its alert still
/// there, its recipient a user who may act (their role now, not when the message was sent).
struct Checked {
    claims: LinkClaims,
    record: AlertRecord,
    users: UserStore,
}

fn check(links: &Links, token: &str) -> Result<Checked, Refused> {
    let Some(secret) = &links.secret else {
        return Err(Refused::Internal);
    };
    let claims = secret.verify(token, Utc::now())?;
    let internal = |e: &dyn std::fmt::Display| {
        tracing::error!("checking a message link: {e}");
        Refused::Internal
    };
    let store = AlertStore::open_in(links.acting.data_dir()).map_err(|e| internal(&e))?;
    if store.link_used(&claims.id).map_err(|e| internal(&e))? {
        return Err(LinkError::Replayed.into());
    }
    let Some(record) = store.get(&claims.fingerprint).map_err(|e| internal(&e))? else {
        return Err(LinkError::AlertGone(claims.fingerprint).into());
    };
    let users = UserStore::open_in(links.acting.data_dir()).map_err(|e| internal(&e))?;
    match users.user(&claims.recipient).map_err(|e| internal(&e))? {
        None => return Err(LinkError::UnknownRecipient(claims.recipient).into()),
        Some(u) if u.role < Role::Analyst => {
            return Err(LinkError::NotAnalyst(claims.recipient).into())
        }
        Some(_) => {}
    }
    Ok(Checked {
        claims,
        record,
        users,
    })
}

/// A token is at most [`MAX_TOKEN_LEN`] of base64url and one dot; anything else is refused
/// before it is decoded or echoed into a page.
fn plausible(token: &str) -> bool {
    token.len() <= MAX_TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// `GET /act/{token}`: the confirmation page. Reads only.
async fn confirm(
    State(links): State<Links>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let lang = lang_of(&headers);
    if !plausible(&token) {
        return refused(Refused::Link(LinkError::Malformed), lang);
    }
    let checked = {
        let (links, token) = (links.clone(), token.clone());
        tokio::task::spawn_blocking(move || check(&links, &token)).await
    };
    match checked {
        Ok(Ok(c)) => confirmation(&c, &token, lang),
        Ok(Err(e)) => refused(e, lang),
        Err(e) => {
            tracing::error!("checking a message link stopped: {e}");
            refused(Refused::Internal, lang)
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ActForm {
    #[serde(default)]
    token: String,
}

/// `POST /act`: acts as the link's recipient, once.
async fn act(
    State(links): State<Links>,
    zone: Option<Extension<ReaderZone>>,
    headers: HeaderMap,
    Form(form): Form<ActForm>,
) -> Response {
    let lang = lang_of(&headers);
    let token = form.token.trim().to_string();
    if !plausible(&token) {
        return refused(Refused::Link(LinkError::Malformed), lang);
    }
    // Readers who chose no zone: the dashboard's (display.yml).
    let dashboard = zone.map(|z| z.0.dashboard).unwrap_or_default();
    let done = tokio::task::spawn_blocking(move || {
        let c = check(&links, &token)?;
        let claims = &c.claims;
        let kind = claims.action.kind();
        let fields = ActionFields {
            snooze: claims.action.preset().map(|p| p.as_str().to_string()),
            // "Tomorrow 9:00" on the recipient's clock: theirs, else the dashboard's.
            zone: Some(
                c.users
                    .timezone(&claims.recipient)
                    .ok()
                    .flatten()
                    .unwrap_or(dashboard),
            ),
            ..ActionFields::default()
        };
        let used = links
            .acting
            .act_by_link(
                kind,
                &claims.fingerprint,
                &fields,
                &claims.recipient,
                &claims.id,
            )
            .map_err(Refused::Act)?;
        match used {
            LinkUse::Acted(acted) => Ok((c, acted)),
            LinkUse::AlreadyUsed => Err(Refused::Link(LinkError::Replayed)),
        }
    })
    .await;
    match done {
        Ok(Ok((c, acted))) => {
            tracing::info!(user = %c.claims.recipient, alert = %c.claims.fingerprint, action = c.claims.action.as_str(), version = acted.version, via = "link", "alert action");
            let href = app::components::links::alert_href(&c.claims.fingerprint);
            let body = format!(
                "<h1 data-testid=\"link-done\">{}</h1><p>{}: <strong data-testid=\"link-status\">{}</strong></p>\
                 <p><a href=\"{}#history\">{}</a></p>",
                esc(&T::LinkDone.get(lang)),
                esc(c.record.alert.title.get(lang)),
                esc(acted.status.label().get(lang)),
                esc(&href),
                esc(&T::OpenAlert.get(lang)),
            );
            page(StatusCode::OK, lang, &body)
        }
        Ok(Err(e)) => refused(e, lang),
        Err(e) => {
            tracing::error!("a message link's action stopped: {e}");
            refused(Refused::Internal, lang)
        }
    }
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The page: the reader's language, a switch to the other, never cached, never indexed.
fn page(status: StatusCode, lang: Lang, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"robots\" content=\"noindex\"><link rel=\"icon\" href=\"data:,\"><title>Actionboard</title>\
         <link rel=\"stylesheet\" href=\"/pkg/actionboard.css\"></head><body><main class=\"link-page\">{body}\
         <p class=\"muted\"><a href=\"/\">Actionboard</a></p></main></body></html>",
        lang.code()
    );
    (
        status,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::HeaderName::from_static("x-robots-tag"), "noindex"),
        ],
        Html(html),
    )
        .into_response()
}

/// A link to this page in the other language (through `/lang`, which works without JS).
fn switch(lang: Lang, back: &str) -> String {
    let (to, label) = match lang {
        Lang::Ko => ("en", "English"),
        Lang::En => ("ko", "한국어"),
    };
    format!(
        "<p class=\"lang-switch\"><a data-testid=\"link-lang\" href=\"/lang?to={to}&amp;back={}\">{label}</a></p>",
        esc(back)
    )
}

fn confirmation(c: &Checked, token: &str, lang: Lang) -> Response {
    let a = &c.record.alert;
    let action = c.claims.action.label().get(lang).to_string();
    let href = app::components::links::alert_href(&a.fingerprint);
    let facts = [
        (T::Country.get(lang), a.entity_name.clone()),
        (T::Period.get(lang), a.period.clone()),
        (
            T::Status.get(lang),
            c.record.status.label().get(lang).to_string(),
        ),
        (T::LinkActsAs.get(lang), c.claims.recipient.clone()),
    ]
    .iter()
    .map(|(k, v)| format!("<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v)))
    .collect::<String>();
    let body = format!(
        "{switch}<h1>{}</h1><p data-testid=\"link-intro\">{}</p>\
         <h2 data-testid=\"link-alert\">{}</h2><table class=\"facts\">{facts}</table>\
         <form method=\"post\" action=\"{LINK_PATH}\"><input type=\"hidden\" name=\"token\" value=\"{}\">\
         <button type=\"submit\" data-testid=\"link-confirm\">{}</button></form>\
         <p><a href=\"{}\">{}</a></p>",
        esc(&T::LinkConfirmTitle.get(lang)),
        esc(&T::LinkConfirmIntro.get(lang)),
        esc(a.title.get(lang)),
        esc(token),
        esc(&action),
        esc(&href),
        esc(&T::OpenAlert.get(lang)),
        switch = switch(lang, &format!("{LINK_PATH}/{token}")),
    );
    page(StatusCode::OK, lang, &body)
}

/// A refusal: what happened and what to do, in the reader's language with the other below.
fn refused(e: Refused, lang: Lang) -> Response {
    let (status, message, code) = match &e {
        Refused::Link(e) => (link_status(e), e.message(), e.code()),
        Refused::Act(Refusal::Field(m) | Refusal::UnknownAssignee(m)) => {
            (StatusCode::BAD_REQUEST, m.clone(), "invalid")
        }
        Refused::Act(Refusal::Act(ActError::State(inner))) => {
            tracing::error!("a message link's action: {inner}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                unavailable(),
                "unavailable",
            )
        }
        Refused::Act(Refusal::Act(a)) => {
            let (status, _) = super::error::act_status(a);
            let m = a.message();
            (
                status,
                Text::new(
                    format!("{} Open the alert in Actionboard to see it.", m.en),
                    format!("{} Actionboard에서 알림을 열어 확인하세요.", m.ko),
                ),
                "not_allowed",
            )
        }
        Refused::Internal => (
            StatusCode::SERVICE_UNAVAILABLE,
            unavailable(),
            "unavailable",
        ),
    };
    let (first, second, other) = match lang {
        Lang::En => (&message.en, &message.ko, "ko"),
        Lang::Ko => (&message.ko, &message.en, "en"),
    };
    let body = format!(
        "<h1>{}</h1><p role=\"alert\" data-testid=\"link-refused\" data-code=\"{code}\">{}</p>\
         <p lang=\"{other}\" class=\"muted\">{}</p><p><a href=\"/alerts\">{}</a></p>",
        esc(&T::LinkRefused.get(lang)),
        esc(first),
        esc(second),
        esc(&T::OpenAlert.get(lang)),
    );
    page(status, lang, &body)
}

fn unavailable() -> Text {
    Text::new(
        "Actionboard could not check this link just now; the server log has the details. Try again, or open the alert in Actionboard.",
        "지금은 이 링크를 확인할 수 없습니다. 서버 로그를 확인하세요. 다시 시도하거나 Actionboard에서 알림을 여세요.",
    )
}

//! `POST /alerts/{fingerprint}/{action}`: a person acts on one alert with a plain HTML form
//! (works with JavaScript off). Each route checks the session, the role (analyst or admin) and
//! the session's CSRF token, then the version the form was made from, then the transition table
//! and the input; an accepted action answers `303` back to the alert's page. Refusals are a
//! page in the reader's language: `409` for a stale version (with what changed meanwhile),
//! `400` for a refused transition or input, `404` for an unknown alert, `401`/`403` from the
//! checks.

use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use display::alert::{ActionKind, Event};
use display::{Lang, Text};
use engine::state::users::Role;
use engine::state::ActError;
use serde::Deserialize;

use super::auth::{require, AuthError, CurrentUser};
use crate::acting::{Acting, ActionFields, Refusal, Targets};
use app::auth::ReaderZone;

/// The path of an action's route.
pub fn path(kind: ActionKind) -> String {
    format!("/alerts/{{fingerprint}}/{}", kind.as_str())
}

/// The bulk route: one action on many alerts of the inbox.
pub const BULK_PATH: &str = "/alerts/bulk";

/// The actions the inbox offers on many alerts at once.
pub const BULK_ACTIONS: [ActionKind; 4] = [
    ActionKind::Acknowledge,
    ActionKind::Assign,
    ActionKind::Snooze,
    ActionKind::Resolve,
];

/// Who may act on alerts.
fn may_act(role: Role) -> bool {
    role >= Role::Analyst
}

/// One `POST` route per action of [`ActionKind::ALL`].
pub fn router<S: Clone + Send + Sync + 'static>(acting: Acting) -> Router<S> {
    let state = acting;
    let mut router = Router::new();
    for kind in ActionKind::ALL {
        router = router.route(
            &path(kind),
            post(
                move |state: State<Acting>,
                      fingerprint: Path<String>,
                      current: Extension<CurrentUser>,
                      zone: Option<Extension<ReaderZone>>,
                      headers: HeaderMap,
                      form: Form<ActionForm>| {
                    act(kind, state, fingerprint, current, zone, headers, form)
                },
            ),
        );
    }
    router.route(BULK_PATH, post(bulk)).with_state(state)
}

/// The fields every action form may send.
#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    /// The alert's version the page showed.
    #[serde(default)]
    version: String,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    due: Option<String>,
    #[serde(default)]
    snooze: Option<String>,
    #[serde(default)]
    until: Option<String>,
    #[serde(default)]
    pct: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    useful: Option<String>,
}

pub(super) fn lang_of(headers: &HeaderMap) -> Lang {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    app::i18n::negotiate(header(header::COOKIE), header(header::ACCEPT_LANGUAGE))
}

async fn act(
    kind: ActionKind,
    State(state): State<Acting>,
    Path(fingerprint): Path<String>,
    Extension(current): Extension<CurrentUser>,
    zone: Option<Extension<ReaderZone>>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    let lang = lang_of(&headers);
    let user = match require(&current, &form.csrf, may_act) {
        Ok(user) => user,
        Err(e) => return refused_auth(e, lang),
    };
    let back = app::components::links::alert_href(&fingerprint);
    let Ok(version) = form.version.trim().parse::<i64>() else {
        return page(
            StatusCode::BAD_REQUEST,
            lang,
            &Text::new(
                "The form did not say which version of the alert it was made from. Reload the alert's page and try again.",
                "양식에 알림의 버전이 없습니다. 알림 페이지를 새로 고친 뒤 다시 시도하세요.",
            ),
            &[],
            &back,
        );
    };
    let fields = ActionFields {
        note: form.note,
        text: form.text,
        owner: form.owner,
        due: form.due,
        snooze: form.snooze,
        until: form.until,
        pct: form.pct,
        reason: form.reason,
        useful: form.useful,
        // Times typed on the page are on the reader's clock.
        zone: zone.map(|z| z.0.zone),
    };
    let name = user.name.clone();
    let fp = fingerprint.clone();
    let done =
        tokio::task::spawn_blocking(move || state.act(kind, &fp, &fields, Some(version), &name))
            .await;
    match done {
        Ok(Ok(acted)) => {
            tracing::info!(user = %user.name, alert = %fingerprint, action = kind.as_str(), version = acted.version, "alert action");
            (
                StatusCode::SEE_OTHER,
                [
                    (header::LOCATION, format!("{back}#history")),
                    (header::CACHE_CONTROL, "no-store".to_string()),
                ],
            )
                .into_response()
        }
        Ok(Err(Refusal::Field(message) | Refusal::UnknownAssignee(message))) => {
            page(StatusCode::BAD_REQUEST, lang, &message, &[], &back)
        }
        Ok(Err(Refusal::Act(e))) => {
            let status = match &e {
                ActError::NoSuchAlert(_) => StatusCode::NOT_FOUND,
                ActError::Conflict { .. } => StatusCode::CONFLICT,
                ActError::NotAllowed { .. } | ActError::Invalid(_) => StatusCode::BAD_REQUEST,
                ActError::State(inner) => {
                    tracing::error!("alert action {} on {fingerprint}: {inner}", kind.as_str());
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            };
            let since = match &e {
                ActError::Conflict { since, .. } => since.as_slice(),
                _ => &[],
            };
            page(status, lang, &e.message(), since, &back)
        }
        Err(e) => {
            tracing::error!("alert action stopped: {e}");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                lang,
                &Text::new(
                    "The action stopped before it was saved; the server log has the details.",
                    "작업이 저장되기 전에 중단되었습니다. 서버 로그를 확인하세요.",
                ),
                &[],
                &back,
            )
        }
    }
}

fn refused_auth(e: AuthError, lang: Lang) -> Response {
    let (en, ko) = e.message();
    page(e.status_code(), lang, &Text::new(en, ko), &[], "/login")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A refusal in the reader's language (the other one below it), with the changes made
/// meanwhile when there are any, and a link back. Never cached.
fn page(status: StatusCode, lang: Lang, message: &Text, since: &[Event], back: &str) -> Response {
    let (first, second, other) = match lang {
        Lang::En => (&message.en, &message.ko, "ko"),
        Lang::Ko => (&message.ko, &message.en, "en"),
    };
    let mut changes = String::new();
    if !since.is_empty() {
        changes.push_str(&format!(
            "<h2>{}</h2><ol class=\"history\" data-testid=\"changed-meanwhile\">",
            match lang {
                Lang::En => "Changed meanwhile",
                Lang::Ko => "그 사이 바뀐 내용",
            }
        ));
        for e in since {
            let change = match (e.from_status, e.to_status) {
                (Some(f), Some(t)) => {
                    format!(" ({} → {})", f.label().get(lang), t.label().get(lang))
                }
                (None, Some(t)) => format!(" (→ {})", t.label().get(lang)),
                _ => String::new(),
            };
            changes.push_str(&format!(
                "<li>v{} · {} · {} · {}{}{}</li>",
                e.version.unwrap_or_default(),
                e.at.format("%Y-%m-%d %H:%M UTC"),
                escape(&e.actor),
                escape(&e.kind),
                escape(&change),
                e.note
                    .as_deref()
                    .map(|n| format!(" — {}", escape(n)))
                    .unwrap_or_default()
            ));
        }
        changes.push_str("</ol>");
    }
    let back_label = match lang {
        Lang::En => "Back to the alert",
        Lang::Ko => "알림으로 돌아가기",
    };
    let body = format!(
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>Actionboard</title>\
         <link rel=\"stylesheet\" href=\"/pkg/actionboard.css\"></head><body><main>\
         <p role=\"alert\" data-testid=\"refusal\">{}</p><p lang=\"{other}\" class=\"muted\">{}</p>{changes}\
         <p><a href=\"{}\">{back_label}</a> · <a href=\"/\">Actionboard</a></p></main></body></html>",
        lang.code(),
        escape(first),
        escape(second),
        escape(back),
    );
    (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response()
}

/// `POST /alerts/bulk`: `action` on the checked alerts (`pick` = `VERSION@FINGERPRINT`, or several
/// of them space-separated for a grouped card; each
/// checked against its version) or on all the alerts matching the inbox filter sent along
/// (`all=1`, `f_status`, `f_severity`, … as in the inbox URL; acting on their current
/// versions). Each alert is changed on its own: the answer says how many changed and, per
/// alert, which were refused and why.
async fn bulk(
    State(state): State<Acting>,
    Extension(current): Extension<CurrentUser>,
    zone: Option<Extension<ReaderZone>>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let lang = lang_of(&headers);
    let first = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let csrf = first("csrf").unwrap_or_default();
    let user = match require(&current, &csrf, may_act) {
        Ok(user) => user,
        Err(e) => return refused_auth(e, lang),
    };
    let back = "/alerts";
    let Some(kind) = first("action")
        .as_deref()
        .and_then(ActionKind::parse)
        .filter(|k| BULK_ACTIONS.contains(k))
    else {
        return page(
            StatusCode::BAD_REQUEST,
            lang,
            &Text::new(
                "Choose what to do with the selected alerts: acknowledge, assign, snooze or resolve.",
                "선택한 알림에 할 일을 고르세요: 확인, 담당 지정, 보류, 해결.",
            ),
            &[],
            back,
        );
    };
    let fields = ActionFields {
        note: first("note"),
        text: None,
        owner: first("owner"),
        due: first("due"),
        snooze: first("snooze"),
        until: first("until"),
        pct: first("pct"),
        reason: None,
        useful: None,
        zone: zone.map(|z| z.0.zone),
    };
    let all = first("all").is_some_and(|v| v == "1");
    // The inbox's filter travels as `f_<name>` fields beside the bulk form's own.
    let filter =
        app::model::alerts::InboxFilter::from_params(|k| first(&format!("f_{k}"))).normalized();
    // A grouped card's box picks all its alerts (space-separated); an alert picked twice (its
    // group's box and its own) is acted on once.
    let mut picked = std::collections::HashSet::new();
    let picks: Vec<(String, Option<i64>)> = pairs
        .iter()
        .filter(|(k, _)| k == "pick")
        .flat_map(|(_, v)| v.split_whitespace())
        .filter_map(|one| {
            let (version, fp) = one.split_once('@')?;
            Some((fp.to_string(), Some(version.parse().ok()?)))
        })
        .filter(|(fp, _)| picked.insert(fp.clone()))
        .collect();
    let targets = if all {
        Targets::Matching(filter)
    } else {
        Targets::Picked(picks)
    };
    let name = user.name.clone();
    let done =
        tokio::task::spawn_blocking(move || state.act_bulk(kind, targets, &fields, &name)).await;
    let results = match done {
        Ok(Ok(results)) => results,
        Ok(Err(Refusal::Field(message) | Refusal::UnknownAssignee(message))) => {
            return page(StatusCode::BAD_REQUEST, lang, &message, &[], back)
        }
        Ok(Err(Refusal::Act(e))) => {
            tracing::error!("bulk {}: {e}", kind.as_str());
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                lang,
                &Text::new(
                    format!("The alert state could not be read: {e}"),
                    format!("알림 상태를 읽지 못했습니다: {e}"),
                ),
                &[],
                back,
            );
        }
        Err(e) => {
            tracing::error!("bulk action stopped: {e}");
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                lang,
                &Text::new(
                    "The action stopped; the server log has the details.",
                    "작업이 중단되었습니다. 서버 로그를 확인하세요.",
                ),
                &[],
                back,
            );
        }
    };
    if results.is_empty() {
        return page(
            StatusCode::BAD_REQUEST,
            lang,
            &Text::new(
                "No alert was selected: check some alerts, or “all matching this filter”.",
                "선택한 알림이 없습니다. 알림을 고르거나 '이 조건에 맞는 전체'를 선택하세요.",
            ),
            &[],
            back,
        );
    }
    let changed = results.iter().filter(|(_, r)| r.is_ok()).count();
    tracing::info!(user = %user.name, action = kind.as_str(), changed, refused = results.len() - changed, "bulk alert action");
    bulk_page(lang, kind, changed, &results)
}

/// How many changed, and each refusal with its reason, in the reader's language.
fn bulk_page(
    lang: Lang,
    kind: ActionKind,
    changed: usize,
    results: &[(String, Result<engine::state::Acted, ActError>)],
) -> Response {
    let refused: Vec<_> = results
        .iter()
        .filter_map(|(fp, r)| r.as_ref().err().map(|e| (fp, e)))
        .collect();
    let summary = match lang {
        Lang::En => format!(
            "{}: {changed} of {} alerts changed; {} refused.",
            kind.label().en,
            results.len(),
            refused.len()
        ),
        Lang::Ko => format!(
            "{}: 알림 {}건 중 {changed}건 변경, {}건 거부.",
            kind.label().ko,
            results.len(),
            refused.len()
        ),
    };
    let mut list = String::new();
    if !refused.is_empty() {
        list.push_str("<ul data-testid=\"refused\">");
        for (fp, e) in refused {
            list.push_str(&format!(
                "<li data-fingerprint=\"{}\"><a href=\"{}\">{}</a>: {}</li>",
                escape(fp),
                escape(&app::components::links::alert_href(fp)),
                escape(fp),
                escape(e.message().get(lang))
            ));
        }
        list.push_str("</ul>");
    }
    let back = match lang {
        Lang::En => "Back to the inbox",
        Lang::Ko => "알림함으로 돌아가기",
    };
    let body = format!(
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>Actionboard</title>\
         <link rel=\"stylesheet\" href=\"/pkg/actionboard.css\"></head><body><main>\
         <p role=\"status\" data-testid=\"bulk-summary\">{}</p>{list}\
         <p><a href=\"/alerts\">{back}</a></p></main></body></html>",
        lang.code(),
        escape(&summary),
    );
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        Html(body),
    )
        .into_response()
}

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
use std::collections::BTreeMap;

use crate::acting::{Acting, ActionFields, BulkEvent, BulkSummary, Refusal, Targets};
use app::auth::ReaderZone;

/// The path of an action's route.
pub fn path(kind: ActionKind) -> String {
    format!("/alerts/{{fingerprint}}/{}", kind.as_str())
}

/// The bulk route: one action on many alerts of the inbox.
pub const BULK_PATH: &str = "/alerts/bulk";

/// The actions the inbox offers on many alerts at once.
pub const BULK_ACTIONS: [ActionKind; 5] = [
    ActionKind::Acknowledge,
    ActionKind::Assign,
    ActionKind::Snooze,
    ActionKind::Resolve,
    ActionKind::Dismiss,
];

/// A bulk action's progress is reported every this many alerts.
const PROGRESS_EVERY: usize = 100;

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

/// What the bulk action's worker tells the answer while it works.
enum Step {
    Total(usize),
    Progress(usize),
    End(Result<BulkSummary, Refusal>),
}

/// `POST /alerts/bulk`: the toolbar's action (`action`, or `snooze` when a snooze button was
/// pressed) on the checked alerts (`pick` = `VERSION@FINGERPRINT`, or several of them
/// space-separated for a grouped card; each checked against its version) or on all the alerts
/// matching the inbox filter sent along (`all=1`, `f_status`, `f_severity`, … as in the inbox
/// URL; acting on their current versions), in batches through [`Acting::act_bulk_each`]. Each
/// alert is changed on its own; the answer keeps a [`BulkSummary`] (how many changed, and per
/// reason how many were left as they were, with the first few), never every alert. It is
/// streamed: a page whose result comes at the end, or, asked with `Accept:
/// application/x-ndjson` (the toolbar with JavaScript), a line per [`PROGRESS_EVERY`] alerts
/// (`{"done", "total", "text"}`) and a last one with the result (`changed`, `skipped`, `html`).
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
    // A snooze button sends `snooze` (as on an alert's page) and no `action`.
    let action = first("action").or_else(|| first("snooze").map(|_| "snooze".to_string()));
    let Some(kind) = action
        .as_deref()
        .and_then(ActionKind::parse)
        .filter(|k| BULK_ACTIONS.contains(k))
    else {
        return page(
            StatusCode::BAD_REQUEST,
            lang,
            &Text::new(
                "Choose what to do with the selected alerts: acknowledge, assign, snooze, resolve or dismiss.",
                "선택한 알림에 할 일을 고르세요: 확인, 담당 지정, 보류, 해결, 무시.",
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
        reason: first("reason"),
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
    let ndjson = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/x-ndjson"));
    let name = user.name.clone();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Step>(16);
    let worker = tokio::task::spawn_blocking(move || {
        let mut summary = BulkSummary::default();
        let result = state.act_bulk_each(kind, targets, &fields, &name, |event| match event {
            BulkEvent::Total(n) => {
                // A reader gone away does not stop the action.
                let _ = tx.blocking_send(Step::Total(n));
            }
            BulkEvent::Done(fp, result) => {
                summary.add(kind, &fp, &result);
                let done = summary.total();
                if done % PROGRESS_EVERY == 0 {
                    let _ = tx.blocking_send(Step::Progress(done));
                }
            }
        });
        tracing::info!(user = %name, action = kind.as_str(), changed = summary.changed, refused = summary.total() - summary.changed, "bulk alert action");
        let _ = tx.blocking_send(Step::End(result.map(|()| summary)));
    });
    // The first word decides the status: a refusal before any alert, nothing selected, or work.
    let total = match rx.recv().await {
        Some(Step::Total(n)) if n > 0 => n,
        Some(Step::Total(_)) | Some(Step::End(Ok(_))) => {
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
        Some(Step::End(Err(refusal))) => return bulk_refused(lang, kind, refusal, back),
        Some(Step::Progress(_)) | None => {
            if let Err(e) = worker.await {
                tracing::error!("bulk action stopped: {e}");
            }
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
    // The rest streams: the answer starts now (no time limit cuts a long action short) and ends
    // with the result.
    let head = if ndjson {
        progress_line(lang, 0, total)
    } else {
        format!(
            "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>Actionboard</title>\
             <link rel=\"stylesheet\" href=\"/pkg/actionboard.css\"></head><body><main>\
             <p class=\"muted\" data-testid=\"bulk-working\">{}</p>",
            lang.code(),
            escape(&display::alert::bulk_progress(lang, 0, total)),
        )
    };
    let body = futures_util::stream::unfold(
        (Some(head), rx, false),
        move |(head, mut rx, ended)| async move {
            if let Some(head) = head {
                return Some((Ok::<_, std::convert::Infallible>(head), (None, rx, ended)));
            }
            if ended {
                return None;
            }
            loop {
                match rx.recv().await {
                    Some(Step::Progress(done)) if ndjson => {
                        return Some((Ok(progress_line(lang, done, total)), (None, rx, false)))
                    }
                    Some(Step::Progress(_)) | Some(Step::Total(_)) => continue,
                    Some(Step::End(result)) => {
                        let text = bulk_end(lang, kind, result, ndjson);
                        return Some((Ok(text), (None, rx, true)));
                    }
                    None => {
                        let text = bulk_end(
                            lang,
                            kind,
                            Err(Refusal::Field(Text::new(
                                "The action stopped; the server log has the details.",
                                "작업이 중단되었습니다. 서버 로그를 확인하세요.",
                            ))),
                            ndjson,
                        );
                        return Some((Ok(text), (None, rx, true)));
                    }
                }
            }
        },
    );
    let content_type = if ndjson {
        "application/x-ndjson"
    } else {
        "text/html; charset=utf-8"
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
        ],
        axum::body::Body::from_stream(body),
    )
        .into_response()
}

/// A progress line of the streamed answer.
fn progress_line(lang: Lang, done: usize, total: usize) -> String {
    let mut line = serde_json::json!({
        "done": done,
        "total": total,
        "text": display::alert::bulk_progress(lang, done, total),
    })
    .to_string();
    line.push('\n');
    line
}

/// A refusal of the whole bulk action (before any alert was touched) as a page.
fn bulk_refused(lang: Lang, kind: ActionKind, refusal: Refusal, back: &str) -> Response {
    match refusal {
        Refusal::Field(message) | Refusal::UnknownAssignee(message) => {
            page(StatusCode::BAD_REQUEST, lang, &message, &[], back)
        }
        Refusal::Act(e) => {
            tracing::error!("bulk {}: {e}", kind.as_str());
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                lang,
                &Text::new(
                    format!("The alert state could not be read: {e}"),
                    format!("알림 상태를 읽지 못했습니다: {e}"),
                ),
                &[],
                back,
            )
        }
    }
}

/// The end of the streamed answer: the result (or why the action stopped midway).
fn bulk_end(
    lang: Lang,
    kind: ActionKind,
    result: Result<BulkSummary, Refusal>,
    ndjson: bool,
) -> String {
    let html = match &result {
        Ok(summary) => bulk_result(lang, kind, summary),
        Err(refusal) => {
            let message = match refusal {
                Refusal::Field(m) | Refusal::UnknownAssignee(m) => m.clone(),
                Refusal::Act(e) => {
                    tracing::error!("bulk {} stopped: {e}", kind.as_str());
                    e.message()
                }
            };
            format!(
                "<p role=\"alert\" data-testid=\"refusal\">{}</p>",
                escape(message.get(lang))
            )
        }
    };
    if ndjson {
        let mut line = match &result {
            Ok(s) => serde_json::json!({
                "changed": s.changed,
                "total": s.total(),
                "skipped": s.skipped.iter().map(|(k, v)| (k.as_str(), v.count)).collect::<BTreeMap<_, _>>(),
                "html": html,
            }),
            Err(_) => serde_json::json!({ "error": true, "html": html }),
        }
        .to_string();
        line.push('\n');
        line
    } else {
        let back = match lang {
            Lang::En => "Back to the inbox",
            Lang::Ko => "알림함으로 돌아가기",
        };
        format!("{html}<p><a href=\"/alerts\">{back}</a></p></main></body></html>")
    }
}

/// How many changed, and per reason how many were left as they were, with the first few of
/// each (their message in the reader's language): the same with JavaScript or without.
fn bulk_result(lang: Lang, kind: ActionKind, summary: &BulkSummary) -> String {
    let total = summary.total();
    let mut out = format!(
        "<section class=\"panel bulk-result\" data-testid=\"bulk-result\" data-changed=\"{}\" data-total=\"{total}\">\
         <p role=\"status\" data-testid=\"bulk-summary\">{}</p>",
        summary.changed,
        escape(&display::alert::bulk_summary(lang, kind, summary.changed, total)),
    );
    if !summary.skipped.is_empty() {
        out.push_str("<ul data-testid=\"refused\">");
        for (reason, skipped) in &summary.skipped {
            out.push_str(&format!(
                "<li data-reason=\"{}\" data-count=\"{}\">{} · {}<ul>",
                reason.as_str(),
                skipped.count,
                display::grouped(skipped.count as f64, 0),
                escape(reason.label().get(lang)),
            ));
            for (fp, message) in &skipped.first {
                out.push_str(&format!(
                    "<li data-fingerprint=\"{}\"><a href=\"{}\">{}</a>: {}</li>",
                    escape(fp),
                    escape(&app::components::links::alert_href(fp)),
                    escape(fp),
                    escape(message.get(lang))
                ));
            }
            let more = skipped.count - skipped.first.len();
            if more > 0 {
                out.push_str(&format!(
                    "<li class=\"muted\">{}</li>",
                    match lang {
                        Lang::En => format!("and {} more", display::grouped(more as f64, 0)),
                        Lang::Ko => format!("외 {}건", display::grouped(more as f64, 0)),
                    }
                ));
            }
            out.push_str("</ul></li>");
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>");
    out
}

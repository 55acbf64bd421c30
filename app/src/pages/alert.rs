//! One alert: why it fired, the evidence and where it came from, what to do, and its history.

use display::alert::{earlier_resolution, ActionKind, AlertRecord, Status};
use display::evidence::Quantity;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::alerts::get_alert;
use crate::components::alert_bits::{
    day, minute, DismissFields, SeverityBadge, SnoozeFields, StatusBadge,
};
use crate::components::chart::{ChartPoint, TrendChart};
use crate::components::links::PublishedAt;
use crate::components::links::{alert_href, decode};
use crate::components::page_status::{ErrorPanel, Loading};
use crate::i18n::{t, use_lang, Lang};
use crate::model::alerts::AlertDetail;

#[component]
pub fn AlertPage() -> impl IntoView {
    let lang = use_lang();
    let params = use_params_map();
    let fingerprint = move || {
        params
            .read()
            .get("fingerprint")
            .map(|f| decode(&f))
            .unwrap_or_default()
    };
    let detail = Resource::new(fingerprint, get_alert);
    view! {
        <p class="back"><a href="/alerts">{t(lang, "← Alerts", "← 알림")}</a></p>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => view! { <AlertBody detail/> }.into_any(),
                    Err(e) => view! {
                        <h1>{t(lang, "Alert", "알림")}</h1>
                        <ErrorPanel error=e/>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AlertBody(detail: AlertDetail) -> impl IntoView {
    let lang = use_lang();
    let AlertDetail {
        record,
        history,
        chart,
        region_codes,
    } = detail;
    let AlertRecord {
        alert,
        status,
        firing,
        assignee,
        first_seen_at,
        opened_at,
        figure_withdrawn_at: withdrawn_at,
        ..
    } = record.clone();
    let earlier = earlier_resolution(&history).cloned();
    let viewer = crate::auth::current_viewer();
    let may_act = viewer
        .as_ref()
        .is_some_and(|v| v.role == "analyst" || v.role == "admin");
    let work = view! { <WorkPanel record=record.clone() earlier/> };
    let act = if may_act {
        viewer.map(|v| view! { <ActPanel record=record.clone() csrf=v.csrf/> }.into_any())
    } else {
        Some(view! {
            <p class="muted" data-testid="act-hint">{if viewer.is_some() {
                t(lang, "Your role reads alerts; analysts and admins act on them.", "현재 역할은 읽기 전용입니다. 분석가와 관리자가 알림에 조치할 수 있습니다.")
            } else {
                t(lang, "Sign in as an analyst or admin to act on this alert.", "이 알림에 조치하려면 분석가나 관리자로 로그인하세요.")
            }}</p>
        }.into_any())
    };
    let ev = alert.evidence.clone();
    let marked: Vec<i32> = ev.series.iter().map(|p| p.period).collect();
    let chart_points = if chart.len() >= 2 {
        chart
    } else {
        ev.series.clone()
    };
    let chart_label = format!(
        "{} — {} ({})",
        alert.entity_label(lang, &region_codes),
        ev.metric_label.get(lang),
        ev.source.as_ref().map_or("", |s| s.source_id.as_str())
    );
    let due = record.due_dates();
    let source_note = format!(
        "{} · {} {}",
        ev.source.as_ref().map_or("", |s| s.title.as_str()),
        t(lang, "run", "실행"),
        ev.run_id
    );
    view! {
        <h1 data-testid="alert-title">{alert.title.get(lang).to_string()}</h1>
        <div class="alert-head">
            <SeverityBadge severity=alert.severity/>
            <StatusBadge status/>
            {(alert.data_issue || withdrawn_at.is_some()).then(|| view! { <span class="badge data-issue">{t(lang, "Data issue", "데이터 문제")}</span> })}
            {ev.projection.then(|| view! { <span class="badge projection">{t(lang, "Projection", "전망치")}</span> })}
            {(!firing).then(|| view! { <span class="badge">{t(lang, "No longer firing", "더 이상 발생하지 않음")}</span> })}
        </div>
        <p class="alert-meta muted">{format!(
            "{} {} · {} {} · {} {:.2} · {} {}{}",
            t(lang, "first seen", "처음 발생"), day(&first_seen_at),
            t(lang, "opened", "열림"), day(&opened_at),
            t(lang, "priority", "우선순위"), alert.priority,
            t(lang, "fingerprint", "식별자"), alert.fingerprint,
            assignee.map(|a| format!(" · {} {a}", t(lang, "assigned to", "담당자"))).unwrap_or_default(),
        )}</p>
        {work}
        {act}
        {withdrawn_at.map(|at| view! {
            <section class="panel warning" role="note" data-testid="figure-withdrawn">
                <h2>{AlertRecord::figure_withdrawn_label().get(lang).to_string()}</h2>
                <p>{format!("{} ({})", t(lang,
                    "The figure this alert is about is no longer published. That is a data issue, not a recovery: the alert stays as it is until someone checks the source and resolves or dismisses it.",
                    "이 알림의 수치가 더 이상 발표되지 않습니다. 회복이 아니라 데이터 문제이므로, 누군가 출처를 확인하고 해결하거나 무시할 때까지 알림은 그대로 남습니다."), day(&at))}</p>
            </section>
        })}
        {ev.data_issue_reason.clone().map(|r| view! {
            <section class="panel warning" role="note">
                <h2>{t(lang, "Check the data first", "먼저 데이터를 확인하세요")}</h2>
                <p>{r.get(lang).to_string()}</p>
            </section>
        })}
        <div class="grid">
            <section class="panel" aria-labelledby="why-title">
                <h2 id="why-title">{t(lang, "Why", "발생 이유")}</h2>
                <p data-testid="explanation">{alert.explanation.get(lang).to_string()}</p>
                {(chart_points.len() >= 2).then(|| {
                    let points = chart_points
                        .iter()
                        .map(|p| ChartPoint {
                            year: p.period,
                            value: p.value,
                            projection: p.projection,
                            label: format!(
                                "{}: {}{} — {}",
                                p.period,
                                display::value(ev.format, p.value, lang),
                                if p.projection { t(lang, " (projection)", " (전망)") } else { "" },
                                source_note
                            ),
                        })
                        .collect::<Vec<_>>();
                    view! {
                        <TrendChart id="evidence-chart" title=chart_label.clone() points format=ev.format marked=marked.clone()/>
                    }
                })}
                <table class="data" data-testid="evidence">
                    <caption>{t(lang, "Evidence", "근거")}</caption>
                    <tbody>
                        {ev.quantities().map(|(q, v)| view! {
                            <tr><th scope="row">{q.label().get(lang).to_string()}</th><td class="num">{q.show(v, ev.format, lang)}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </section>
            <section class="panel" aria-labelledby="actions-title">
                <h2 id="actions-title">{t(lang, "Recommended actions", "권장 조치")}</h2>
                <ol class="action-list" data-testid="actions">
                    {alert.actions.iter().zip(due.iter()).map(|(a, d)| view! {
                        <li>
                            <p>{a.text.get(lang).to_string()}</p>
                            <p class="muted">{format!("{} {} · {} {}", t(lang, "Owner:", "담당:"), a.owner_label.get(lang), t(lang, "due", "기한"), day(d))}</p>
                        </li>
                    }).collect_view()}
                </ol>
            </section>
        </div>
        <section class="panel" aria-labelledby="source-title">
            <h2 id="source-title">{t(lang, "Where the figures come from", "수치의 출처")}</h2>
            {match ev.source.as_deref().cloned() {
                Some(s) => view! {
                    <dl class="provenance-list" data-testid="provenance">
                        <dt>{t(lang, "Source", "소스")}</dt><dd>{format!("{} ({})", s.title, s.source_id)}</dd>
                        <dt>{t(lang, "Publisher", "발행처")}</dt><dd>{s.publisher}</dd>
                        <dt>{t(lang, "Edition", "발표판")}</dt><dd>{s.edition}</dd>
                        <dt>{t(lang, "Licence", "라이선스")}</dt><dd>{s.licence}</dd>
                        <dt>{t(lang, "Published at", "게시된 곳")}</dt>
                        <dd data-testid="published-at">
                            {match s.url.clone() {
                                Some(url) => view! { <PublishedAt url=Some(url)/> }.into_any(),
                                None => view! { <span class="muted">{t(lang, "not recorded", "기록 없음")}</span> }.into_any(),
                            }}
                        </dd>
                        <dt>{t(lang, "Read from", "읽은 곳")}</dt>
                        <dd>
                            <span class="mono">{s.location.clone()}</span>
                            <br/><span class="muted">{read_from_note(lang, &s.read_from, s.fallback_reason.as_deref())}</span>
                        </dd>
                        <dt>{t(lang, "Fetched at", "수집 시각")}</dt><dd>{crate::components::alert_bits::stored_minute(&s.fetched_at)}</dd>
                        <dt>"SHA-256"</dt><dd class="mono">{s.sha256}</dd>
                        <dt>{t(lang, "Run", "실행")}</dt><dd class="mono">{ev.run_id.clone()}</dd>
                    </dl>
                }.into_any(),
                None => view! {
                    <p>{format!("{} {}", t(lang, "Computed from the pipeline's own records, run", "파이프라인 기록에서 계산, 실행"), ev.run_id)}</p>
                }.into_any(),
            }}
        </section>
        <section class="panel" aria-labelledby="history-title">
            <h2 id="history-title">{t(lang, "History", "이력")}</h2>
            <ol class="history" data-testid="history">
                {history.into_iter().map(|e| {
                    let id = e.version.map(|v| format!("event-{v}"));
                    let kind_class = format!("event-{}", e.kind);
                    let change = match (e.from_status, e.to_status) {
                        (Some(f), Some(to)) => format!(" ({} → {})", f.label().get(lang), to.label().get(lang)),
                        (None, Some(to)) => format!(" (→ {})", to.label().get(lang)),
                        _ => String::new(),
                    };
                    view! {
                        <li id=id class=kind_class>
                            <time datetime=minute(&e.at).1>{minute(&e.at).0}</time>
                            {format!(" · {} · {}{change}", e.actor, event_label(&e.kind, lang))}
                            {e.via.filter(|v| v == "link").map(|_| view! {
                                <span class="via" data-testid="via-link">{t(lang, " · via a message link", " · 메시지 링크로")}</span>
                            })}
                            {e.note.map(|n| format!(" — {n}"))}
                            {e.run_id.map(|r| format!(" · {} {r}", t(lang, "run", "실행")))}
                        </li>
                    }
                }).collect_view()}
            </ol>
        </section>
    }
}

fn event_label(kind: &str, lang: Lang) -> String {
    let (en, ko) = match kind {
        "opened" => ("opened", "열림"),
        "updated" => ("new evidence", "근거 갱신"),
        "reopened" => ("reopened", "다시 열림"),
        "cleared" => ("stopped firing", "해소됨"),
        "auto_resolved" => ("resolved by itself", "자동 해결"),
        "figure_withdrawn" => (
            "figure withdrawn by the publisher",
            "발표 기관이 수치를 철회함",
        ),
        "acknowledged" => ("acknowledged", "확인함"),
        "assigned" => ("assigned", "담당 지정"),
        "commented" => ("commented", "댓글"),
        "snoozed" => ("snoozed", "보류"),
        "woke" => ("woke from snooze", "보류 해제"),
        "resolved" => ("resolved", "해결"),
        "dismissed" => ("dismissed", "무시"),
        "feedback" => ("feedback", "피드백"),
        other => (other, other),
    };
    match lang {
        Lang::En => en,
        Lang::Ko => ko,
    }
    .to_string()
}

/// Who has the alert, when it is due, what wakes it, and the earlier resolution of an alert that
/// fired again: for everyone.
#[component]
fn WorkPanel(record: AlertRecord, earlier: Option<display::alert::Event>) -> impl IntoView {
    let lang = use_lang();
    let now = chrono::Utc::now();
    let overdue = record.overdue(now);
    let due = record.due().map(|d| day(&d));
    let assignee = record.assignee.clone();
    let snooze = record
        .snooze
        .as_ref()
        .map(|s| s.describe_in(lang, crate::auth::reader_zone()));
    let feedback = record.useful.map(|u| {
        if u {
            t(lang, "marked useful", "유용함으로 표시됨")
        } else {
            t(lang, "marked not useful", "유용하지 않음으로 표시됨")
        }
    });
    let dismissed = record
        .dismiss_reason
        .map(|r| r.label().get(lang).to_string());
    view! {
        <dl class="work" data-testid="work">
            <dt>{t(lang, "Assigned to", "담당자")}</dt>
            <dd data-testid="assignee">{assignee.unwrap_or_else(|| t(lang, "nobody yet", "아직 없음").to_string())}</dd>
            {due.map(|d| view! {
                <dt>{t(lang, "Due", "기한")}</dt>
                <dd data-testid="due">{d}{overdue.then(|| view! { " " <span class="badge overdue" data-testid="overdue">{t(lang, "Overdue", "기한 지남")}</span> })}</dd>
            })}
            {snooze.map(|s| view! {
                <dt>{t(lang, "Snoozed", "보류")}</dt>
                <dd data-testid="snooze">{s}</dd>
            })}
            {dismissed.map(|d| view! {
                <dt>{t(lang, "Dismissed as", "무시 이유")}</dt>
                <dd>{d}</dd>
            })}
            {feedback.map(|f| view! {
                <dt>{t(lang, "Feedback", "피드백")}</dt>
                <dd>{f}</dd>
            })}
            <dt>{t(lang, "Version", "버전")}</dt>
            <dd data-testid="version">{record.version}</dd>
        </dl>
        {earlier.map(|e| {
            let href = e.version.map(|v| format!("#event-{v}")).unwrap_or_else(|| "#history-title".into());
            view! {
                <p class="panel note" data-testid="earlier-resolution">
                    {t(lang, "Fired again after it was resolved: ", "해결된 뒤 다시 발생했습니다: ")}
                    <a href=href>{format!(
                        "{} {} {}{}",
                        minute(&e.at).0,
                        t(lang, "by", "처리자"),
                        e.actor,
                        e.note.as_deref().map(|n| format!(" — {n}")).unwrap_or_default()
                    )}</a>
                </p>
            }
        })}
    }
}

/// One action's form: a plain POST with the session's CSRF token and the version shown.
#[component]
fn ActForm(
    kind: ActionKind,
    fingerprint: String,
    csrf: String,
    version: i64,
    children: Children,
) -> impl IntoView {
    view! {
        <form method="post" action=format!("{}/{}", alert_href(&fingerprint), kind.as_str())
            class=format!("act-form act-{}", kind.as_str()) data-testid=format!("form-{}", kind.as_str())>
            <input type="hidden" name="csrf" value=csrf/>
            <input type="hidden" name="version" value=version.to_string()/>
            {children()}
        </form>
    }
}

/// The actions an analyst or admin may take on the alert in its status (the transition table):
/// the primary ones as buttons (Acknowledge, Resolve, Reopen), the others behind one disclosure
/// each (Assign…, Snooze…, Dismiss…), the comment box apart. Plain forms: all of it works
/// without JavaScript (a `<details>` opens without it too).
#[component]
fn ActPanel(record: AlertRecord, csrf: String) -> impl IntoView {
    let lang = use_lang();
    let status: Status = record.status;
    let fp = record.alert.fingerprint.clone();
    let version = record.version;
    let allowed = |k: ActionKind| k.allowed_from(status);
    let form =
        {
            let (fp, csrf) = (fp.clone(), csrf.clone());
            move |kind: ActionKind, body: AnyView| {
                allowed(kind).then(|| view! {
                <ActForm kind fingerprint=fp.clone() csrf=csrf.clone() version>{body}</ActForm>
            })
            }
        };
    // One disclosure per secondary action, closed until opened.
    let disclosure = move |kind: ActionKind, summary: &'static str, body: Option<AnyView>| {
        body.map(|body| {
            view! {
                <details class="act-more" data-testid=format!("more-{}", kind.as_str())>
                    <summary>{summary}</summary>
                    {body}
                </details>
            }
        })
    };
    let label = move |k: ActionKind| k.label().get(lang).to_string();
    let default_owner = record
        .assignee
        .clone()
        .or_else(|| record.alert.actions.first().map(|a| a.owner.clone()))
        .unwrap_or_default();
    let default_due = record.due().map(|d| day(&d)).unwrap_or_default();
    let watchable = record.alert.evidence.get(Quantity::Value).is_some();
    let owners: Vec<(String, String)> = record
        .alert
        .actions
        .iter()
        .map(|a| (a.owner.clone(), a.owner_label.get(lang).to_string()))
        .collect();
    view! {
        <section class="panel act" aria-labelledby="act-title" data-testid="act">
            <h2 id="act-title">{t(lang, "Act on this alert", "이 알림에 조치")}</h2>
            <div class="act-primary">
                {form(ActionKind::Acknowledge, view! {
                    <button type="submit" class="primary">{label(ActionKind::Acknowledge)}</button>
                }.into_any())}
                {form(ActionKind::Resolve, view! {
                    <label for="resolve-note">{t(lang, "What was done (optional)", "조치 내용(선택)")}</label>
                    <input type="text" id="resolve-note" name="note" maxlength="4096"/>
                    <button type="submit" class="primary">{label(ActionKind::Resolve)}</button>
                }.into_any())}
                {form(ActionKind::Reopen, view! {
                    <button type="submit" class="primary">{label(ActionKind::Reopen)}</button>
                }.into_any())}
            </div>
            {disclosure(ActionKind::Assign, t(lang, "Assign…", "담당 지정…"), form(ActionKind::Assign, view! {
                <label for="assign-owner">{t(lang, "Owner (a user or a desk of rules.yml)", "담당(사용자 또는 rules.yml의 부서)")}</label>
                <input type="text" id="assign-owner" name="owner" required list="owner-keys" value=default_owner maxlength="100"/>
                <datalist id="owner-keys">
                    {owners.into_iter().map(|(k, l)| view! { <option value=k>{l}</option> }).collect_view()}
                </datalist>
                <label for="assign-due">{t(lang, "Due date", "기한")}</label>
                <input type="date" id="assign-due" name="due" value=default_due/>
                <button type="submit">{label(ActionKind::Assign)}</button>
            }.into_any()).map(|f| f.into_any()))}
            {disclosure(ActionKind::Snooze, t(lang, "Snooze…", "보류…"), form(ActionKind::Snooze, view! {
                // Only an alert with a value to watch can wait until it gets worse.
                <SnoozeFields watchable/>
            }.into_any()).map(|f| f.into_any()))}
            {disclosure(ActionKind::Dismiss, t(lang, "Dismiss…", "무시…"), form(ActionKind::Dismiss, view! {
                <DismissFields/>
                <button type="submit">{label(ActionKind::Dismiss)}</button>
            }.into_any()).map(|f| f.into_any()))}
            <div class="act-comment">
                {form(ActionKind::Comment, view! {
                    <label for="comment-text">{t(lang, "Comment (plain text, kept forever)", "댓글(일반 텍스트, 영구 보관)")}</label>
                    <textarea id="comment-text" name="text" rows="3" maxlength="4096" required></textarea>
                    <button type="submit">{label(ActionKind::Comment)}</button>
                }.into_any())}
                {form(ActionKind::Feedback, view! {
                    <span>{t(lang, "Was this alert useful? ", "이 알림이 유용했나요? ")}</span>
                    <button type="submit" name="useful" value="useful">{t(lang, "Useful", "유용함")}</button>
                    <button type="submit" name="useful" value="not_useful">{t(lang, "Not useful", "유용하지 않음")}</button>
                }.into_any())}
            </div>
        </section>
    }
}

/// Why the figures were read where they were: the published address, or the local mirror (and
/// why: `fetch: mirror` in sources.yml, or the address failed).
pub fn read_from_note(lang: crate::i18n::Lang, read_from: &str, fallback: Option<&str>) -> String {
    match (read_from, fallback) {
        ("mirror", Some(reason)) => format!(
            "{}{reason}",
            t(
                lang,
                "read from the local mirror because the address failed: ",
                "주소를 읽지 못해 로컬 미러에서 읽음: "
            )
        ),
        ("mirror", None) => t(
            lang,
            "read from the local mirror (sources.yml says fetch: mirror)",
            "로컬 미러에서 읽음 (sources.yml의 fetch: mirror 설정)",
        )
        .to_string(),
        _ => t(
            lang,
            "read from the published address",
            "게시된 주소에서 읽음",
        )
        .to_string(),
    }
}

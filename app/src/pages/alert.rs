//! One alert: why it fired, the evidence and where it came from, what to do, and its history.

use display::alert::AlertRecord;
use display::Format;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::alerts::get_alert;
use crate::components::alert_bits::{day, minute, SeverityBadge, StatusBadge};
use crate::components::chart::{ChartPoint, TrendChart};
use crate::components::links::decode;
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

/// How an evidence value reads: amounts in the metric's format, percentages signed.
fn evidence_value(key: &str, v: f64, format: Format, lang: Lang) -> String {
    match key {
        "value" | "previous" | "baseline_value" | "limit" => display::value(format, v, lang),
        k if k.ends_with("_pct") && k != "share_pct" => display::change_pct(v, lang),
        "share_pct" => display::value(Format::Percent, v, lang),
        "reject_rate" => display::fraction_pct(v, lang),
        "z" => format!("{v:+.2}"),
        _ => display::grouped(v, if v.fract() == 0.0 { 0 } else { 2 }),
    }
}

fn evidence_label(key: &str, lang: Lang) -> String {
    let (en, ko) = match key {
        "value" => ("Value", "값"),
        "previous" => ("Previous value", "이전 값"),
        "change_pct" => ("Change", "변화율"),
        "limit_pct" => ("Rule limit", "규칙 기준"),
        "limit" => ("Rule limit", "규칙 기준"),
        "share_pct" => ("Share of world GDP", "세계 GDP 비중"),
        "z" => ("z-score", "z-점수"),
        "mean_change_pct" => ("Average change before", "이전 평균 변화율"),
        "rank" => ("Rank", "순위"),
        "previous_rank" => ("Previous rank", "이전 순위"),
        "moved_up" => ("Places moved up", "순위 상승 폭"),
        "baseline_value" => ("Earlier edition", "이전 발표판"),
        "revised_pct" => ("Revision", "수정 폭"),
        "rejected" => ("Rows rejected", "거부된 행"),
        "rows" => ("Rows read", "읽은 행"),
        "reject_rate" => ("Reject rate", "거부율"),
        "age_days" => ("Age of the data (days)", "데이터 경과일"),
        "limit_days" => ("Limit (days)", "기준(일)"),
        other => (other, other),
    };
    match lang {
        Lang::En => en,
        Lang::Ko => ko,
    }
    .to_string()
}

#[component]
fn AlertBody(detail: AlertDetail) -> impl IntoView {
    let lang = use_lang();
    let AlertDetail {
        record,
        history,
        chart,
    } = detail;
    let AlertRecord {
        alert,
        status,
        firing,
        assignee,
        first_seen_at,
        opened_at,
        ..
    } = record.clone();
    let ev = alert.evidence.clone();
    let marked: Vec<i32> = ev.series.iter().map(|p| p.period).collect();
    let chart_points = if chart.len() >= 2 {
        chart
    } else {
        ev.series.clone()
    };
    let chart_label = format!(
        "{} — {} ({})",
        alert.entity_name,
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
            {alert.data_issue.then(|| view! { <span class="badge data-issue">{t(lang, "Data issue", "데이터 문제")}</span> })}
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
                        {ev.values.iter().map(|(k, v)| view! {
                            <tr><th scope="row">{evidence_label(k, lang)}</th><td class="num">{evidence_value(k, *v, ev.format, lang)}</td></tr>
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
            {match ev.source.clone() {
                Some(s) => view! {
                    <dl class="provenance-list" data-testid="provenance">
                        <dt>{t(lang, "Source", "소스")}</dt><dd>{format!("{} ({})", s.title, s.source_id)}</dd>
                        <dt>{t(lang, "Publisher", "발행처")}</dt><dd>{s.publisher}</dd>
                        <dt>{t(lang, "Edition", "발표판")}</dt><dd>{s.edition}</dd>
                        <dt>{t(lang, "Licence", "라이선스")}</dt><dd>{s.licence}</dd>
                        <dt>{t(lang, "Read from", "읽은 곳")}</dt><dd class="mono">{format!("{} ({})", s.location, s.read_from)}</dd>
                        <dt>{t(lang, "Fetched at", "수집 시각")}</dt><dd>{s.fetched_at}</dd>
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
                    let change = match (e.from_status, e.to_status) {
                        (Some(f), Some(to)) => format!(" ({} → {})", f.label().get(lang), to.label().get(lang)),
                        (None, Some(to)) => format!(" (→ {})", to.label().get(lang)),
                        _ => String::new(),
                    };
                    view! {
                        <li>
                            <time datetime=minute(&e.at).1>{minute(&e.at).0}</time>
                            {format!(" · {} · {}{change}", e.actor, event_label(&e.kind, lang))}
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
        other => (other, other),
    };
    match lang {
        Lang::En => en,
        Lang::Ko => ko,
    }
    .to_string()
}

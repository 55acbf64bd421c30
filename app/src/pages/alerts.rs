//! The alert inbox: what needs action, by priority, with filters kept in the URL.

use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::api::alerts::list_alerts;
use crate::components::alert_bits::{FirstAction, SeverityBadge, StatusBadge};
use crate::components::links::alert_href;
use crate::components::page_status::{ErrorPanel, Loading};
use crate::i18n::{t, use_lang, Lang};
use crate::model::alerts::{Facet, Inbox, InboxFilter};
use display::alert::AlertRecord;

#[component]
pub fn AlertsPage() -> impl IntoView {
    let lang = use_lang();
    let query = use_query_map();
    let filter = move || {
        let q = query.read();
        InboxFilter::from_params(|k| q.get(k))
    };
    // The page in the URL, so it survives a reload and a language switch.
    let page = move || query.read().get("page");
    let group = move || query.read().get("group");
    let inbox = Resource::new(
        move || (filter(), page(), group()),
        |(f, p, g)| list_alerts(f, p, g),
    );
    view! {
        <h1>{t(lang, "Alerts", "알림")}</h1>
        <p class="muted"><a href="/rules">{t(lang, "Rule health: which rules are noisy", "규칙 상태: 잡음이 많은 규칙")}</a></p>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match inbox.await {
                    Ok(inbox) => view! { <InboxBody inbox/> }.into_any(),
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn current(filter: &InboxFilter, param: &str) -> String {
    match param {
        "status" => filter.status.clone(),
        "severity" => filter.severity.clone(),
        "rule" => filter.rule.clone(),
        "region" => filter.region.clone(),
        "owner" => filter.owner.clone(),
        "data_issue" => filter.data_issue.clone(),
        "mine" => filter.mine.clone(),
        _ => None,
    }
    .unwrap_or_default()
}

#[component]
fn FacetSelect(facet: Facet, selected: String) -> impl IntoView {
    let lang = use_lang();
    let id = format!("filter-{}", facet.param);
    // Status always has a value (needs action by default); the others can be "any".
    let any = (facet.param != "status").then(|| {
        let total: usize = facet.values.iter().map(|v| v.count).sum();
        view! { <option value="" selected=selected.is_empty()>{format!("{} ({total})", t(lang, "Any", "전체"))}</option> }
    });
    let selected_is_known = selected.is_empty() || facet.values.iter().any(|v| v.value == selected);
    view! {
        <div class="filter">
            <label for=id.clone()>{facet.label.get(lang).to_string()}</label>
            <select id=id name=facet.param.clone()>
                {any}
                {facet.values.into_iter().map(|v| {
                    let is_selected = v.value == selected || (selected.is_empty() && v.value == "active");
                    view! {
                        <option value=v.value selected=is_selected>
                            {format!("{} ({})", v.label.get(lang), v.count)}
                        </option>
                    }
                }).collect_view()}
                // A value from the URL that no alert has: keep it visible, with 0.
                {(!selected_is_known).then(|| view! {
                    <option value=selected.clone() selected=true>{format!("{selected} (0)")}</option>
                })}
            </select>
        </div>
    }
}

#[component]
fn InboxBody(inbox: Inbox) -> impl IntoView {
    let lang = use_lang();
    let Inbox {
        filter,
        groups,
        grouped,
        cards,
        facets,
        total,
        matching,
        page,
        page_size,
        region_codes,
    } = inbox;
    let shown = groups.len();
    let first = (page.max(1) - 1) * page_size + 1;
    let last = first + shown.saturating_sub(1);
    let pager = view! { <Pager filter=filter.clone() grouped page cards page_size/> };
    let viewer = crate::auth::current_viewer();
    let mine = filter.mine.as_deref().is_some_and(|m| !m.is_empty());
    let now = chrono::Utc::now();
    let bulk_csrf = viewer
        .as_ref()
        .filter(|v| v.role == "analyst" || v.role == "admin")
        .map(|v| v.csrf.clone())
        .filter(|_| shown > 0);
    let can_pick = bulk_csrf.is_some();
    let bulk = bulk_csrf.map(|csrf| view! { <SelectionBar csrf filter=filter.clone() matching/> });
    let export_filter = filter.clone();
    let filter_for_toggle = filter.clone();
    view! {
        <Form method="GET" action="" attr:class="filters" attr:aria-label=t(lang, "Filter alerts", "알림 거르기")>
            {facets.into_iter().map(|f| {
                let selected = current(&filter, &f.param);
                view! { <FacetSelect facet=f selected/> }
            }).collect_view()}
            {viewer.clone().map(|v| view! {
                <div class="filter filter-mine">
                    <label>
                        <input type="checkbox" name="mine" value="1" checked=mine data-testid="filter-mine"/>
                        {format!(" {} ({})", t(lang, "Assigned to me", "나에게 배정됨"), v.name)}
                    </label>
                </div>
            })}
            {(mine && viewer.is_none()).then(|| view! {
                <p class="muted">{t(lang, "Sign in to see the alerts assigned to you.", "나에게 배정된 알림을 보려면 로그인하세요.")}</p>
            })}
            // Filters without a control of their own (from a link or the API) are kept.
            {[("overdue", filter.overdue.clone()), ("period", filter.period.clone()), ("group", (grouped != crate::api::alerts::GROUP_BY_DEFAULT).then(|| if grouped { "entity" } else { "none" }.to_string()))]
                .into_iter()
                .filter_map(|(name, value)| value.map(|value| view! { <input type="hidden" name=name value=value/> }))
                .collect_view()}
            <div class="filter-buttons">
                <button type="submit">{t(lang, "Apply", "적용")}</button>
                <a href="/alerts">{t(lang, "Reset", "초기화")}</a>
            </div>
        </Form>
        <p class="muted" role="status" data-testid="inbox-count">{match (lang, shown) {
            (Lang::En, 0) => format!("None of {matching} matching alerts on this page ({total} in the inbox, any status)"),
            (Lang::Ko, 0) => format!("이 페이지에는 조건에 맞는 알림 {matching}건 중 표시할 알림이 없습니다 (알림함 전체 {total}건)"),
            (Lang::En, _) if grouped => format!(
                "{} of {cards} {} ({matching} matching {}), by priority ({total} in the inbox, any status)",
                span(first, last),
                if cards == 1 { "card" } else { "cards" },
                if matching == 1 { "alert" } else { "alerts" }
            ),
            (Lang::Ko, _) if grouped => format!(
                "카드 {cards}개 중 {} (조건에 맞는 알림 {matching}건), 우선순위 순 (알림함 전체 {total}건)",
                span(first, last)
            ),
            (Lang::En, _) => format!(
                "{} of {matching} matching {}, by priority ({total} in the inbox, any status)",
                span(first, last),
                if matching == 1 { "alert" } else { "alerts" }
            ),
            (Lang::Ko, _) => format!("조건에 맞는 알림 {matching}건 중 {}, 우선순위 순 (알림함 전체 {total}건)", span(first, last)),
        }}</p>
        <ExportMenu filter=export_filter/>
        <p class="muted group-toggle">{if grouped {
            view! { <a href=page_href(&filter_for_toggle, false, 1) data-testid="group-off">{t(lang, "One card per alert", "알림마다 카드 하나")}</a> }.into_any()
        } else {
            view! { <a href=page_href(&filter_for_toggle, true, 1) data-testid="group-on">{t(lang, "Group by country and period", "국가·기간별로 묶기")}</a> }.into_any()
        }}</p>
        {
        let list = if groups.is_empty() {
            view! {
                <section class="panel">
                    <p>{t(lang, "No alert matches these filters.", "조건에 맞는 알림이 없습니다.")}</p>
                </section>
            }.into_any()
        } else {
            view! {
                <ol class="alert-list" data-testid="inbox">
                    {groups.into_iter().map(|group| {
                        let mut group = group.into_iter();
                        let Some(r) = group.next() else { return ().into_any() };
                        let related: Vec<AlertRecord> = group.collect();
                        let a = r.alert.clone();
                        let meta = format!(
                            "{} · {}{} · {} {} · {} {:.2}",
                            a.entity_label(lang, &region_codes),
                            a.region_label(lang, &region_codes).map(|g| format!("{g} · ")).unwrap_or_default(),
                            a.period,
                            t(lang, "rule", "규칙"),
                            a.rule_name.get(lang),
                            t(lang, "priority", "우선순위"),
                            a.priority
                        );
                        // A group's box picks every alert of it (their `version@fingerprint`s, space-separated).
                        let pick_value = std::iter::once(&r)
                            .chain(related.iter())
                            .map(|x| format!("{}@{}", x.version, x.alert.fingerprint))
                            .collect::<Vec<_>>()
                            .join(" ");
                        let signals = related.len() + 1;
                        let pick_label = if related.is_empty() {
                            format!("{} {}", t(lang, "Select", "선택"), a.title.get(lang))
                        } else {
                            match lang {
                                Lang::En => format!("Select all {signals} alerts of {}", a.title.get(lang)),
                                Lang::Ko => format!("{}의 알림 {signals}건 모두 선택", a.title.get(lang)),
                            }
                        };
                        let group_list = (!related.is_empty()).then(|| {
                            let summary = match lang {
                                Lang::En => format!("{signals} signals for {} {}", a.entity_label(lang, &region_codes), a.period),
                                Lang::Ko => format!("{} {} 신호 {signals}건", a.entity_label(lang, &region_codes), a.period),
                            };
                            view! {
                                <details class="group-signals" data-testid="group-signals">
                                    <summary>{summary}</summary>
                                    <ul>
                                        {std::iter::once(r.clone()).chain(related.iter().cloned()).map(|x| view! {
                                            <li data-fingerprint=x.alert.fingerprint.clone()>
                                                {can_pick.then(|| view! {
                                                    <input type="checkbox" name="pick" form="bulk"
                                                        value=format!("{}@{}", x.version, x.alert.fingerprint)
                                                        aria-label=format!("{} {}", t(lang, "Select", "선택"), x.alert.title.get(lang))/>
                                                })}
                                                <SeverityBadge severity=x.alert.severity/>
                                                <StatusBadge status=x.status/>
                                                " "
                                                <a href=alert_href(&x.alert.fingerprint)>{x.alert.title.get(lang).to_string()}</a>
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                </details>
                            }
                        });
                        let class = if related.is_empty() { "alert-card" } else { "alert-card alert-group" };
                        view! {
                            <li class=class data-fingerprint=a.fingerprint.clone() data-signals=signals.to_string()>
                                <div class="alert-head">
                                    {can_pick.then(|| view! {
                                        <input type="checkbox" name="pick" form="bulk"
                                            value=pick_value aria-label=pick_label/>
                                    })}
                                    <SeverityBadge severity=a.severity/>
                                    <StatusBadge status=r.status/>
                                    {r.is_data_issue().then(|| view! {
                                        <span class="badge data-issue">{t(lang, "Data issue", "데이터 문제")}</span>
                                    })}
                                    {r.figure_withdrawn_at.is_some().then(|| view! {
                                        <span class="badge data-issue">{AlertRecord::figure_withdrawn_label().get(lang).to_string()}</span>
                                    })}
                                    <a class="alert-title" href=alert_href(&a.fingerprint)>{a.title.get(lang).to_string()}</a>
                                    {(!related.is_empty()).then(|| view! {
                                        <span class="badge group-count" data-testid="group-count">{match lang {
                                            Lang::En => format!("+{} related", signals - 1),
                                            Lang::Ko => format!("관련 {}건 더", signals - 1),
                                        }}</span>
                                    })}
                                </div>
                                <p class="alert-meta muted">{meta}</p>
                                {group_list}
                                <WorkLine record=r.clone() now/>
                                <FirstAction record=r/>
                            </li>
                        }.into_any()
                    }).collect_view()}
                </ol>
            }.into_any()
        };
        // Who may act picks alerts in a plain form around the list: its check boxes and the
        // toolbar's buttons post together, with or without JavaScript.
        match bulk {
            Some(bar) => view! {
                <form id="bulk" method="post" action="/alerts/bulk" class="bulk-form">
                    {bar}
                    <div id="bulk-outcome" data-testid="bulk-outcome" aria-live="polite"></div>
                    {list}
                </form>
            }.into_any(),
            None => list,
        }
        }
        {pager}
    }
}

/// Where a page's alerts are among all: `51–100`, or `7` for one.
fn span(first: usize, last: usize) -> String {
    if first == last {
        first.to_string()
    } else {
        format!("{first}–{last}")
    }
}

/// The link to page `page` of the inbox with `filter` (the other parameters kept), grouped or
/// not (`group=entity`, `group=none`: said only when not the default).
fn page_href(filter: &InboxFilter, grouped: bool, page: usize) -> String {
    let mut params: Vec<String> = filter
        .params()
        .into_iter()
        .map(|(k, v)| format!("{k}={}", crate::components::links::encode(&v)))
        .collect();
    if grouped != crate::api::alerts::GROUP_BY_DEFAULT {
        params.push(format!("group={}", if grouped { "entity" } else { "none" }));
    }
    if page > 1 {
        params.push(format!("page={page}"));
    }
    if params.is_empty() {
        "/alerts".to_string()
    } else {
        format!("/alerts?{}", params.join("&"))
    }
}

/// Previous and next pages of the inbox ([`pager`](crate::components::pager::pager)).
#[component]
fn Pager(
    filter: InboxFilter,
    grouped: bool,
    page: usize,
    cards: usize,
    page_size: usize,
) -> impl IntoView {
    let lang = use_lang();
    let pages = cards.div_ceil(page_size.max(1));
    crate::components::pager::pager(
        t(lang, "Pages of alerts", "알림 페이지"),
        page,
        pages,
        move |p| page_href(&filter, grouped, p),
    )
}

/// Export the action list of the current filter: plain links (a `<details>` menu, so it opens
/// without JavaScript), each a download of `GET /api/v1/actions/export` with the same filters.
/// CSV comes with a byte-order mark, so Excel reads the Korean text right.
#[component]
fn ExportMenu(filter: InboxFilter) -> impl IntoView {
    let lang = use_lang();
    let href = |format: &str| {
        let mut params: Vec<(&str, String)> = vec![("format", format.to_string())];
        if format == "csv" {
            params.push(("bom", "1".to_string()));
        }
        params.push(("lang", lang.code().to_string()));
        params.extend(filter.params());
        let query: Vec<String> = params
            .into_iter()
            .map(|(k, v)| format!("{k}={}", crate::components::links::encode(&v)))
            .collect();
        format!("{}?{}", EXPORT_PATH, query.join("&"))
    };
    let items = [
        ("csv", "CSV (Excel, UTF-8)", "CSV (엑셀, UTF-8)"),
        ("xlsx", "Excel workbook (XLSX)", "엑셀 통합 문서 (XLSX)"),
        ("json", "JSON", "JSON"),
    ];
    view! {
        <details class="export-menu" data-testid="export-menu">
            <summary>{t(lang, "Export", "내보내기")}</summary>
            <ul>
                {items.into_iter().map(|(format, en, ko)| view! {
                    <li><a href=href(format) download="" data-testid=format!("export-{format}")>{t(lang, en, ko)}</a></li>
                }).collect_view()}
            </ul>
            <p class="muted">{t(
                lang,
                "One row per recommended action, with the filters above.",
                "권장 조치마다 한 행, 위의 조건 그대로.",
            )}</p>
        </details>
    }
}

/// Where the action list is exported (the server's route).
pub const EXPORT_PATH: &str = "/api/v1/actions/export";

/// Who has the alert (the assignee, else the first action's owner) and when it is due; overdue
/// in words, not only colour.
#[component]
fn WorkLine(
    record: display::alert::AlertRecord,
    now: chrono::DateTime<chrono::Utc>,
) -> impl IntoView {
    let lang = use_lang();
    let who = match &record.assignee {
        Some(a) => format!("{} {a}", t(lang, "Assigned to", "담당자")),
        None => record
            .alert
            .actions
            .first()
            .map(|a| format!("{} {}", t(lang, "Owner", "담당"), a.owner_label.get(lang)))
            .unwrap_or_default(),
    };
    let due = record
        .due()
        .map(|d| {
            format!(
                " · {} {}",
                t(lang, "due", "기한"),
                crate::components::alert_bits::day(&d)
            )
        })
        .unwrap_or_default();
    let overdue = record.overdue(now);
    view! {
        <p class="alert-work" data-testid="work">
            {format!("{who}{due}")}
            {overdue.then(|| view! { <span class="badge overdue" data-testid="overdue">{t(lang, "Overdue", "기한 지남")}</span> })}
        </p>
    }
}

/// The selection toolbar: one action on the checked alerts (each at the version shown; a
/// group card's box checks all its alerts), or on all the alerts matching the current filter.
/// The same actions as an alert's page: Acknowledge and Resolve as buttons, Assign…, Snooze…
/// and Dismiss… behind one disclosure each, with the same snooze presets and dismiss reasons.
/// Part of the plain form around the list ([`InboxBody`]); with JavaScript it shows only while
/// something is selected, with how many ([`crate::components::islands::InPlaceActions`]).
#[component]
fn SelectionBar(csrf: String, filter: InboxFilter, matching: usize) -> impl IntoView {
    use crate::components::alert_bits::{DismissFields, SnoozeFields};
    use display::alert::ActionKind;
    let lang = use_lang();
    let hidden = [
        ("f_status", filter.status),
        ("f_severity", filter.severity),
        ("f_rule", filter.rule),
        ("f_region", filter.region),
        ("f_owner", filter.owner),
        ("f_data_issue", filter.data_issue),
        ("f_mine", filter.mine),
        ("f_overdue", filter.overdue),
        ("f_period", filter.period),
    ];
    let label = move |k: ActionKind| k.label().get(lang).to_string();
    let matching_text = display::grouped(matching as f64, 0);
    view! {
        <div class="panel bulk" data-testid="bulk" data-matching=matching_text.clone()
            role="group" aria-label=t(lang, "Act on the selected alerts", "선택한 알림에 조치")>
            <input type="hidden" name="csrf" value=csrf/>
            {hidden.into_iter().map(|(name, value)| view! {
                <input type="hidden" name=name value=value.unwrap_or_default()/>
            }).collect_view()}
            // The form's default button (Enter in a field) is disabled: Enter never acts on many
            // alerts; only a button pressed does.
            <button type="submit" disabled hidden aria-hidden="true" tabindex="-1">{t(lang, "(Enter does nothing here)", "(여기서 Enter는 동작하지 않음)")}</button>
            <p class="bulk-scope">
                <span data-testid="bulk-count" aria-live="polite"></span>
                <label>
                    <input type="checkbox" name="all" value="1" data-testid="bulk-all"/>
                    {match lang {
                        Lang::En => format!(" All {matching_text} alerts matching this filter, not only the checked ones"),
                        Lang::Ko => format!(" 선택한 알림만이 아니라 이 조건에 맞는 알림 {matching_text}건 전체"),
                    }}
                </label>
            </p>
            <p class="bulk-progress muted" data-testid="bulk-progress" role="status" hidden></p>
            <div class="act-primary">
                <button type="submit" name="action" value="acknowledge" class="primary" data-testid="bulk-acknowledge">{label(ActionKind::Acknowledge)}</button>
                <button type="submit" name="action" value="resolve" class="primary" data-testid="bulk-resolve">{label(ActionKind::Resolve)}</button>
            </div>
            <details class="act-more" data-testid="bulk-more-assign">
                <summary>{t(lang, "Assign…", "담당 지정…")}</summary>
                <label for="bulk-owner">{t(lang, "Owner (a user or a desk of rules.yml)", "담당(사용자 또는 rules.yml의 부서)")}</label>
                <input type="text" id="bulk-owner" name="owner" maxlength="100"/>
                <label for="bulk-due">{t(lang, "Due date", "기한")}</label>
                <input type="date" id="bulk-due" name="due"/>
                <button type="submit" name="action" value="assign">{label(ActionKind::Assign)}</button>
            </details>
            <details class="act-more" data-testid="bulk-more-snooze">
                <summary>{t(lang, "Snooze…", "보류…")}</summary>
                // Alerts without a value to watch refuse "until worse" one by one, with the reason.
                <SnoozeFields watchable=true/>
            </details>
            <details class="act-more" data-testid="bulk-more-dismiss">
                <summary>{t(lang, "Dismiss…", "무시…")}</summary>
                <DismissFields/>
                <button type="submit" name="action" value="dismiss">{label(ActionKind::Dismiss)}</button>
            </details>
        </div>
    }
}

//! Rule health (`/rules`): per rule, what it fired on in the last evaluation (alerts over the
//! entities it looked at, and whether that was over its `max_fire_share`), the alerts it raised,
//! how fast people acknowledged and resolved them, and the share marked not useful or dismissed
//! as noise, so noisy rules can be tuned (then replayed over history with `actionboard rules
//! backtest RULE`).

use leptos::prelude::*;

use crate::api::alerts::{get_backtest, get_rule_health};
use crate::components::links::href;
use crate::components::page_status::{ErrorPanel, Loading};
use crate::i18n::{t, use_lang, Lang};

/// The last evaluation's cell: `4,210 of 151,000 entities (2.8 %)`, and over the rule's share,
/// that its notifications were held back and the notice sent instead.
fn last_evaluation(firing: Option<&display::alert::RuleFiring>, lang: Lang) -> AnyView {
    let Some(f) = firing else {
        return view! { "—" }.into_any();
    };
    let summary = f.summary(lang);
    if !f.over_limit() {
        return view! { <span data-share="ok">{summary}</span> }.into_any();
    }
    let limit = display::value(display::Format::Percent, f.max_fire_share_pct, lang);
    let held = display::grouped(f.held_back as f64, 0);
    let notice =
        crate::components::links::alert_href(&display::alert::fire_share_fingerprint(&f.rule_id));
    let text = match lang {
        Lang::En => format!(
            "over its max_fire_share of {limit}: {held} notifications held back, one notice sent"
        ),
        Lang::Ko => format!("max_fire_share {limit} 초과: 알림 발송 {held}건 보류, 안내 1건 발송"),
    };
    view! {
        <span data-share="over"><strong>{summary}</strong>" — "{text}" · "
            <a href=notice>{t(lang, "the notice", "안내 보기")}</a></span>
    }
    .into_any()
}

fn hours(h: Option<f64>, lang: Lang) -> String {
    match h {
        None => "—".to_string(),
        Some(h) if h < 48.0 => match lang {
            Lang::En => format!("{h:.1} h"),
            Lang::Ko => format!("{h:.1}시간"),
        },
        Some(h) => match lang {
            Lang::En => format!("{:.1} days", h / 24.0),
            Lang::Ko => format!("{:.1}일", h / 24.0),
        },
    }
}

#[component]
pub fn RulesPage() -> impl IntoView {
    let lang = use_lang();
    let health = Resource::new(|| (), |_| get_rule_health());
    view! {
        <h1>{t(lang, "Rule health", "규칙 상태")}</h1>
        <p class="muted">{t(
            lang,
            "Per rule: what it fired on in the last evaluation (of the entities it looked at), alerts raised, how fast people acknowledged and resolved them, and the share marked not useful or dismissed as noise. A rule that fires for more than its max_fire_share of entities sends one notice instead of its alerts' notifications. Tune a noisy rule in config/rules.yml, then replay it over history with the command shown.",
            "규칙별로 마지막 평가에서 살펴본 엔터티 중 발생한 수, 발생한 알림, 확인·해결까지 걸린 시간, 유용하지 않음 또는 잡음으로 무시된 비율입니다. 엔터티의 max_fire_share보다 많이 발생한 규칙은 개별 알림 발송 대신 안내 1건을 보냅니다. 잡음이 많은 규칙은 config/rules.yml에서 조정한 뒤 표시된 명령으로 과거 데이터에 다시 적용해 보세요.",
        )}</p>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match health.await {
                    Ok(rules) if rules.is_empty() => view! {
                        <p>{t(lang, "No alerts yet.", "아직 알림이 없습니다.")}</p>
                    }.into_any(),
                    Ok(rules) => view! {
                        <table class="data" data-testid="rule-health">
                            <thead><tr>
                                <th scope="col">{t(lang, "Rule", "규칙")}</th>
                                <th scope="col">{t(lang, "Last evaluation: fired for", "마지막 평가: 발생 엔터티")}</th>
                                <th scope="col" class="num">{t(lang, "Raised", "발생")}</th>
                                <th scope="col" class="num">{t(lang, "Need action", "조치 필요")}</th>
                                <th scope="col" class="num">{t(lang, "Acknowledged", "확인")}</th>
                                <th scope="col" class="num">{t(lang, "Median time to acknowledge", "확인까지 중앙값")}</th>
                                <th scope="col" class="num">{t(lang, "Resolved", "해결")}</th>
                                <th scope="col" class="num">{t(lang, "Median time to resolve", "해결까지 중앙값")}</th>
                                <th scope="col" class="num">{t(lang, "Not useful or noise", "유용하지 않음·잡음")}</th>
                                <th scope="col">{t(lang, "Backtest", "백테스트")}</th>
                            </tr></thead>
                            <tbody>
                                {rules.into_iter().map(|r| {
                                    let share = display::fraction_pct(r.noisy_share(), lang);
                                    let inbox = href("/alerts", &[("rule", Some(r.rule_id.clone())), ("status", Some("all".into()))]);
                                    view! {
                                        <tr data-rule=r.rule_id.clone()>
                                            <th scope="row"><a href=inbox>{r.rule_name.get(lang).to_string()}</a>" "<code>{r.rule_id.clone()}</code></th>
                                            <td data-testid="fired-for">{last_evaluation(r.last_evaluation.as_ref(), lang)}</td>
                                            <td class="num">{r.raised}</td>
                                            <td class="num">{r.active}</td>
                                            <td class="num">{r.acknowledged}</td>
                                            <td class="num">{hours(r.median_hours_to_acknowledge, lang)}</td>
                                            <td class="num">{r.resolved}</td>
                                            <td class="num">{hours(r.median_hours_to_resolve, lang)}</td>
                                            <td class="num">{format!("{share} ({})", r.noisy)}</td>
                                            <td>
                                                {r.last_evaluation.as_ref().is_none_or(|f| f.replayable()).then(|| view! {
                                                    <a href=format!("/rules/{}", crate::components::links::encode(&r.rule_id))>{t(lang, "Replay over history", "과거 데이터에 적용")}</a>
                                                    " · "<code>{format!("actionboard rules backtest {}", r.rule_id)}</code>
                                                })}
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// `/rules/{rule}`: the rule replayed over every period of the served snapshot.
#[component]
pub fn BacktestPage() -> impl IntoView {
    let lang = use_lang();
    let params = leptos_router::hooks::use_params_map();
    let rule = move || {
        params
            .read()
            .get("rule")
            .map(|r| crate::components::links::decode(&r))
            .unwrap_or_default()
    };
    let backtest = Resource::new(rule, get_backtest);
    view! {
        <p class="back"><a href="/rules">{t(lang, "← Rule health", "← 규칙 상태")}</a></p>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match backtest.await {
                    Ok(b) => {
                        let total: usize = b.per_period.iter().map(|(_, n)| n).sum();
                        let widest = b.per_period.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
                        view! {
                            <h1>{format!("{}: {}", t(lang, "Backtest", "백테스트"), b.rule_name.get(lang))}</h1>
                            <p class="muted" data-testid="backtest-summary">{match lang {
                                Lang::En => format!("{total} alerts over {} periods of snapshot {} (the rule as it is in config/rules.yml now).", b.per_period.len(), b.run_id),
                                Lang::Ko => format!("스냅샷 {}의 {}개 기간에 알림 {total}건 (현재 config/rules.yml 기준).", b.run_id, b.per_period.len()),
                            }}</p>
                            <table class="data" data-testid="backtest">
                                <thead><tr>
                                    <th scope="col">{t(lang, "Period", "기간")}</th>
                                    <th scope="col" class="num">{t(lang, "Alerts", "알림")}</th>
                                    <th scope="col"><span class="visually-hidden">{t(lang, "Bar", "막대")}</span></th>
                                </tr></thead>
                                <tbody>
                                    {b.per_period.into_iter().map(|(period, n)| view! {
                                        <tr>
                                            <th scope="row">{period}</th>
                                            <td class="num">{n}</td>
                                            <td><span class="bar" style=format!("display:inline-block;height:0.7rem;background:var(--accent);width:{}%", n * 100 / widest)></span></td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any()
                    }
                    Err(e) => view! {
                        <h1>{t(lang, "Backtest", "백테스트")}</h1>
                        <ErrorPanel error=e/>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

//! The first screen: what the data says for one year, and what needs attention.

use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::api::overview::get_overview;
use crate::components::alert_bits::{FirstAction, SeverityBadge};
use crate::components::chart::{Bar, BarChart, ChartPoint, TrendChart};
use crate::components::islands::SubmitOnChange;
use crate::components::links::alert_href;
use crate::components::links::CountryLink;
use crate::components::page_status::{ErrorPanel, Loading};
use crate::format::billions;
use crate::i18n::{t, use_lang, Lang};
use crate::model::overview::{Overview, OverviewData};
use display::names::region_in;

#[component]
pub fn OverviewPage() -> impl IntoView {
    let lang = use_lang();
    let query = use_query_map();
    let year = move || {
        query
            .read()
            .get("year")
            .and_then(|y| y.trim().parse::<i32>().ok())
    };
    let as_of = move || query.read().get("as_of");
    let overview = Resource::new(
        move || (year(), as_of()),
        |(year, as_of)| get_overview(year, as_of),
    );

    view! {
        <h1>{t(lang, "Overview", "개요")}</h1>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(data) => view! { <OverviewBody data/> }.into_any(),
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn YearPicker(year: i32, years: Vec<i32>, partial_years: Vec<i32>) -> impl IntoView {
    let lang = use_lang();
    let option_label = move |y: i32| {
        if partial_years.contains(&y) {
            format!("{y} ({})", t(lang, "provisional", "잠정"))
        } else {
            y.to_string()
        }
    };
    view! {
        <Form method="GET" action="" attr:class="filters year-picker">
            <crate::components::as_of::AsOfField/>
            <label for="year">{t(lang, "Year", "연도")}</label>
            // With JavaScript the choice applies at once; without it the button submits the form.
            <SubmitOnChange>
                <select id="year" name="year">
                    {years
                        .into_iter()
                        .map(|y| view! { <option value=y.to_string() selected=y == year>{option_label(y)}</option> })
                        .collect_view()}
                </select>
            </SubmitOnChange>
            <button type="submit">{t(lang, "Show", "보기")}</button>
        </Form>
    }
}

/// "3 days ago".
/// A region's top economies, named in the reader's language by code.
fn top_names(r: &display::overview::RegionTop5, lang: Lang) -> String {
    r.countries
        .iter()
        .enumerate()
        .map(|(i, name)| match r.country_codes.get(i) {
            Some(code) => display::names::country(code, name, lang).into_owned(),
            None => name.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// World GDP over the years: complete years solid, partial (provisional) years dashed and named,
/// with the figures in a table for screen readers (the picture is one image to them).
fn world_chart(lang: Lang, series: &[(i32, f64)], partial: &[i32], run_id: &str) -> AnyView {
    let format = display::Format::UsdBillions;
    let points: Vec<ChartPoint> = series
        .iter()
        .map(|&(year, value)| {
            let provisional = partial.contains(&year);
            ChartPoint {
                year,
                value,
                projection: provisional,
                label: format!(
                    "{year}: {}{} — World Bank WDI · {} {run_id}",
                    display::value(format, value, lang),
                    if provisional {
                        t(lang, " (provisional)", " (잠정)")
                    } else {
                        ""
                    },
                    t(lang, "run", "실행"),
                ),
            }
        })
        .collect();
    let title = t(
        lang,
        "World GDP (sum over countries), billions of US dollars",
        "세계 GDP(국가 합계), 10억 달러",
    )
    .to_string();
    let rows = points
        .iter()
        .rev()
        .map(|p| {
            view! {
                <tr>
                    <th scope="row">{p.year}</th>
                    <td class="num">{display::value(format, p.value, lang)}</td>
                    <td>{if p.projection { t(lang, "provisional", "잠정") } else { "" }}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <TrendChart id="world-chart" title points format provisional=true/>
        <table class="visually-hidden" data-testid="world-series-table">
            <caption>{t(lang, "World GDP by year, newest first", "연도별 세계 GDP, 최신 연도부터")}</caption>
            <thead>
                <tr>
                    <th scope="col">{t(lang, "Year", "연도")}</th>
                    <th scope="col">{t(lang, "World GDP", "세계 GDP")}</th>
                    <th scope="col">{t(lang, "Status", "상태")}</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

fn age(days: i64, lang: Lang) -> String {
    match (lang, days) {
        (Lang::En, 0) => "today".into(),
        (Lang::En, 1) => "1 day ago".into(),
        (Lang::En, d) => format!("{d} days ago"),
        (Lang::Ko, 0) => "오늘".into(),
        (Lang::Ko, d) => format!("{d}일 전"),
    }
}

#[component]
fn OverviewBody(data: OverviewData) -> impl IntoView {
    let lang = use_lang();
    let OverviewData {
        figures:
            Overview {
                year,
                years,
                countries_with_data,
                large_economies,
                large_total,
                region_top5,
                regions_total,
                world,
                freshness,
                provisional,
                partial_years,
                region_codes,
                world_series,
            },
        age_days,
        alerts,
    } = data;
    let run_id = freshness.run_id;
    let large_count = large_total;
    // The lists show their first rows; the rest are on explore, a page at a time.
    let large_more = (large_total > large_economies.len()).then(|| {
        let href = format!("/explore?year={year}&metric=gdp&min=100&sort=gdp&dir=desc");
        view! {
            <p class="more" data-testid="large-all">
                <a href=href>{match lang {
                    Lang::En => format!("All {large_total} countries on explore →"),
                    Lang::Ko => format!("{large_total}개국 전체는 탐색에서 →"),
                }}</a>
            </p>
        }
    });
    let regions_more = (regions_total > region_top5.len()).then(|| {
        let href = format!("/explore?year={year}&metric=gdp&sort=region");
        view! {
            <p class="more" data-testid="regions-all">
                <a href=href>{match lang {
                    Lang::En => format!("All {regions_total} regions on explore →"),
                    Lang::Ko => format!("{regions_total}개 지역 전체는 탐색에서 →"),
                }}</a>
            </p>
        }
    });
    let change = world.change_pct.map_or_else(
        || t(lang, "no previous year", "전년 자료 없음").to_string(),
        |c| display::change_pct(c, lang),
    );
    let change_note = match lang {
        Lang::En => format!(
            "{change} vs {} for the {} countries with both years",
            year - 1,
            world.compared_countries
        ),
        Lang::Ko => format!(
            "{}년 대비 {change} (두 해 모두 자료가 있는 {}개국 기준)",
            year - 1,
            world.compared_countries
        ),
    };
    // The reader's date of the load (stored in UTC).
    let loaded_day = chrono::DateTime::parse_from_rfc3339(&freshness.loaded_at)
        .map(|at| crate::components::alert_bits::day(&at.with_timezone(&chrono::Utc)))
        .unwrap_or_else(|_| {
            freshness
                .loaded_at
                .get(..10)
                .unwrap_or_default()
                .to_string()
        });
    let loaded_age = age(age_days, lang);
    let top = alerts.top.clone();
    let world_chart = world_chart(lang, &world_series, &partial_years, &run_id);
    let region_bars: Vec<Bar> = region_top5
        .iter()
        .map(|r| Bar {
            label: region_in(&region_codes, &r.region, lang).into_owned(),
            value: r.average_usd,
        })
        .collect();
    let region_chart_title = match lang {
        Lang::En => {
            format!("Average GDP of each region's top 5 economies, {year} (billions of US dollars)")
        }
        Lang::Ko => format!("지역별 상위 5개국 평균 GDP, {year}년 (10억 달러)"),
    };
    // A partial period: shown when asked for, labelled, never ranked.
    let ranked = provisional.is_none();
    let provisional_note = provisional.map(|p| {
        let label = p.label();
        view! {
            <p class="provisional-note" role="note" data-testid="provisional">
                {label.get(lang).to_string()}
            </p>
        }
    });
    view! {
        <YearPicker year years partial_years/>
        {provisional_note}
        <div class="kpis">
            <div class="kpi">
                <span class="kpi-label">{move || format!("{} · {year}", t(lang, "World GDP", "세계 GDP"))}</span>
                <span class="kpi-value" data-testid="world-gdp">{display::value(display::Format::UsdBillions, world.total_usd, lang)}</span>
                <span class="kpi-note" data-testid="world-change">{change_note}</span>
            </div>
            <div class="kpi">
                <span class="kpi-label">{t(lang, "Countries with GDP ≥ 100 B USD", "GDP 1,000억 달러 이상 국가")}</span>
                <span class="kpi-value" data-testid="large-count">{large_count}</span>
                <span class="kpi-note">{match lang {
                    Lang::En => format!("{year} · {countries_with_data} countries with data"),
                    Lang::Ko => format!("{year}년 · 자료가 있는 {countries_with_data}개국 중"),
                }}</span>
            </div>
            <a class="kpi kpi-link" href="/alerts">
                <span class="kpi-label">{t(lang, "Alerts needing action", "조치가 필요한 알림")}</span>
                <span class="kpi-value" data-testid="active-alerts">{alerts.active}</span>
                <span class="kpi-note severities">
                    {alerts.by_severity.iter().map(|(s, n)| view! {
                        <span class=format!("sev-count severity-{}", s.as_str())>{format!("{} {n}", s.label().get(lang))}</span>
                    }).collect_view()}
                </span>
            </a>
            <div class="kpi">
                <span class="kpi-label">{t(lang, "Data loaded", "데이터 적재")}</span>
                <span class="kpi-value small" data-testid="freshness">{loaded_day}</span>
                <span class="kpi-note">{format!("{loaded_age} · {} {run_id}", t(lang, "run", "실행"))}</span>
            </div>
        </div>
        <section class="panel top-alerts" aria-labelledby="top-alerts-title">
            <h2 id="top-alerts-title">{t(lang, "What needs attention", "지금 살펴볼 알림")}</h2>
            {if top.is_empty() {
                view! { <p class="muted">{t(lang, "No alert needs action.", "조치가 필요한 알림이 없습니다.")}</p> }.into_any()
            } else {
                view! {
                    <ol class="alert-list" data-testid="top-alerts">
                        {top.into_iter().map(|r| {
                            let href = alert_href(&r.alert.fingerprint);
                            view! {
                                <li class="alert-card">
                                    <div class="alert-head">
                                        <SeverityBadge severity=r.alert.severity/>
                                        <a class="alert-title" href=href>{r.alert.title.get(lang).to_string()}</a>
                                    </div>
                                    <FirstAction record=r/>
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                    <p><a href="/alerts">{t(lang, "All alerts →", "알림 전체 보기 →")}</a></p>
                }.into_any()
            }}
        </section>
        <div class="grid">
            <section class="panel" aria-labelledby="world-chart-heading" data-testid="world-series">
                <h2 id="world-chart-heading">{t(lang, "World GDP over time", "연도별 세계 GDP")}</h2>
                {world_chart}
            </section>
            <section class="panel" aria-labelledby="region-chart-heading">
                <h2 id="region-chart-heading">{match lang {
                    Lang::En => format!("Regions' top-5 averages ({year})"),
                    Lang::Ko => format!("지역별 상위 5개국 평균 ({year})"),
                }}</h2>
                <BarChart id="region-chart" title=region_chart_title bars=region_bars format=display::Format::UsdBillions/>
                <p class="muted">{t(lang, "The figures are in the table below.", "수치는 아래 표에 있습니다.")}</p>
            </section>
        </div>
        <div class="grid">
            <section class="panel" aria-labelledby="large-title">
                <h2 id="large-title">{match lang {
                    Lang::En => format!("Countries with GDP ≥ 100 B USD in {year}"),
                    Lang::Ko => format!("{year}년 GDP 1,000억 달러 이상 국가"),
                }}</h2>
                <div class="table-scroll">
                <table class="data" data-testid="large-economies">
                    <caption>{match lang {
                        Lang::En => format!("{year} · GDP, billions of US dollars (World Bank)"),
                        Lang::Ko => format!("{year} · GDP, 10억 달러 (세계은행)"),
                    }}</caption>
                    <thead>
                        <tr>
                            <th scope="col">"#"</th>
                            <th scope="col">{t(lang, "Country", "국가")}</th>
                            <th scope="col">{t(lang, "Region", "지역")}</th>
                            <th scope="col" class="num">{t(lang, "GDP (B USD)", "GDP (10억 달러)")}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {large_economies
                            .into_iter()
                            .enumerate()
                            .map(|(i, c)| view! {
                                <tr data-code=c.code.clone()>
                                    <td>{if ranked { (i + 1).to_string() } else { String::new() }}</td>
                                    <td><CountryLink code=c.code.clone() name=c.name.clone()/></td>
                                    <td>{region_in(&region_codes, &c.region, lang).into_owned()}</td>
                                    <td class="num">{billions(c.gdp_usd)}</td>
                                </tr>
                            })
                            .collect_view()}
                    </tbody>
                </table>
                </div>
                {large_more}
            </section>
            <section class="panel" aria-labelledby="region-title">
                <h2 id="region-title">{match lang {
                    Lang::En => format!("Average GDP of each region's top 5 ({year})"),
                    Lang::Ko => format!("지역별 상위 5개국 평균 GDP ({year})"),
                }}</h2>
                <div class="table-scroll">
                <table class="data" data-testid="region-top5">
                    <thead>
                        <tr>
                            <th scope="col">{t(lang, "Region", "지역")}</th>
                            <th scope="col" class="num">{t(lang, "Average (B USD)", "평균 (10억 달러)")}</th>
                            <th scope="col">{t(lang, "Top 5", "상위 5개국")}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {region_top5
                            .into_iter()
                            .map(|r| view! {
                                <tr>
                                    <td>{region_in(&region_codes, &r.region, lang).into_owned()}</td>
                                    <td class="num">{billions(r.average_usd)}</td>
                                    <td class="muted">{top_names(&r, lang)}</td>
                                </tr>
                            })
                            .collect_view()}
                    </tbody>
                </table>
                </div>
                {regions_more}
            </section>
        </div>
        <p class="provenance">
            {t(lang, "Source: World Bank, World Development Indicators (CC BY 4.0); regions: UN M49. ", "출처: 세계은행 세계개발지표(CC BY 4.0), 지역: UN M49. ")}
            {format!("{} {run_id}", t(lang, "Run", "실행"))}
        </p>
    }
}

//! A country: trend charts of GDP, GDP per capita and rank (SVG from the server, IMF projections
//! dashed), the same figures as a table, and the country's alerts.

use crate::components::alert_bits::{SeverityBadge, StatusBadge};
use crate::components::links::PublishedAt;
use display::{value, Format};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::country::get_country;
use crate::components::chart::{ChartPoint, TrendChart};
use crate::components::links::alert_href;
use crate::components::page_status::{ErrorPanel, Loading};
use crate::i18n::{t, use_lang, Lang};
use crate::model::country::{AlertRecord, CountryPage, CountryProfile, CountryResult, SeriesPoint};

#[component]
pub fn CountryRoute() -> impl IntoView {
    let params = use_params_map();
    let query = leptos_router::hooks::use_query_map();
    let args = move || {
        (
            params.read().get("code").unwrap_or_default(),
            query.read().get("as_of"),
        )
    };
    let data = Resource::new(args, |(code, as_of)| get_country(code, as_of));
    view! {
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(CountryResult::Found(page)) => view! { <CountryBody page=*page/> }.into_any(),
                    Ok(CountryResult::NotFound(code)) => view! { <UnknownCountry code/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn UnknownCountry(code: String) -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
            resp.set_status(http::StatusCode::NOT_FOUND);
        }
    }
    let lang = use_lang();
    let message = match lang {
        Lang::En => format!("No country has the code “{code}”."),
        Lang::Ko => format!("“{code}” 코드의 국가가 없습니다."),
    };
    view! {
        <section class="panel error" role="alert" data-testid="country-not-found">
            <h1>{t(lang, "Country not found", "국가를 찾을 수 없습니다")}</h1>
            <p>{message}</p>
            <p><a href="/explore">{t(lang, "Find a country in Explore", "탐색에서 국가 찾기")}</a></p>
        </section>
    }
}

/// The hover text of a point: year, figure, kind, source and run.
fn point_label(profile: &CountryProfile, p: &SeriesPoint, format: Format, lang: Lang) -> String {
    let kind = if p.projection {
        t(lang, "projection", "전망치")
    } else if p.provisional {
        t(lang, "provisional", "잠정치")
    } else {
        t(lang, "actual", "실적치")
    };
    let source = profile.source_label(&p.source_id);
    match lang {
        Lang::En => format!(
            "{}: {} ({kind}) · source: {source} · run {}",
            p.year,
            value(format, p.value, lang),
            p.run_id
        ),
        Lang::Ko => format!(
            "{}년: {} ({kind}) · 출처: {source} · 실행 {}",
            p.year,
            value(format, p.value, lang),
            p.run_id
        ),
    }
}

fn chart_points(
    profile: &CountryProfile,
    series: &[SeriesPoint],
    format: Format,
    lang: Lang,
) -> Vec<ChartPoint> {
    series
        .iter()
        .map(|p| ChartPoint {
            year: p.year,
            value: p.value,
            projection: p.projection,
            label: point_label(profile, p, format, lang),
        })
        .collect()
}

#[component]
fn CountryBody(page: CountryPage) -> impl IntoView {
    let lang = use_lang();
    let CountryPage {
        profile,
        alerts,
        alerts_error,
    } = page;
    let mut gdp_series = profile.gdp.clone();
    gdp_series.extend(profile.projections.iter().cloned());
    let gdp_points = chart_points(&profile, &gdp_series, Format::UsdBillions, lang);
    let per_capita_points = chart_points(&profile, &profile.gdp_per_capita, Format::Usd, lang);
    let rank_points = chart_points(&profile, &profile.rank, Format::Rank, lang);

    let latest = profile.gdp.iter().rfind(|p| !p.projection).cloned();
    let latest_rank = latest
        .as_ref()
        .and_then(|l| profile.rank.iter().find(|r| r.year == l.year))
        .map(|r| r.value);
    let latest_per_capita = latest
        .as_ref()
        .and_then(|l| profile.gdp_per_capita.iter().find(|r| r.year == l.year))
        .map(|r| r.value);
    let projection_source = profile
        .projections
        .first()
        .map(|p| profile.source_label(&p.source_id));
    let name = display::names::country(&profile.code, &profile.name, lang).into_owned();
    let title = format!("{name} · Actionboard");
    let heading = format!("{name} ({})", profile.code);
    let place = [&profile.region, &profile.sub_region]
        .into_iter()
        .filter(|s| !s.is_empty())
        .map(|s| display::names::region_in(&profile.region_codes, s, lang).into_owned())
        .collect::<Vec<_>>()
        .join(" · ");
    let sources_note: Vec<(String, Option<String>)> = profile
        .sources
        .iter()
        .map(|s| (profile.source_label(&s.source_id), s.url.clone()))
        .collect();

    let gdp_title = t(lang, "GDP, billions of US dollars", "GDP (십억 달러)").to_string();
    let pc_title = t(lang, "GDP per capita, US dollars", "1인당 GDP (달러)").to_string();
    let rank_title = t(
        lang,
        "GDP rank among countries (1 = largest)",
        "국가 간 GDP 순위 (1위 = 최대)",
    )
    .to_string();

    let table_page = profile.clone();

    view! {
        <Title text=title/>
        <p class="breadcrumb"><a href="/explore">{t(lang, "← Explore", "← 탐색")}</a></p>
        <h1 data-testid="country-name">{heading}</h1>
        <p class="muted">{place}</p>
        <div class="kpis">
            {latest.map(|l| view! {
                <div class="kpi">
                    <span class="kpi-label">{format!("{} · {}", t(lang, "GDP", "GDP"), l.year)}</span>
                    <span class="kpi-value" data-testid="latest-gdp">{value(Format::UsdBillions, l.value, lang)}</span>
                </div>
            })}
            {latest_per_capita.map(|v| view! {
                <div class="kpi">
                    <span class="kpi-label">{t(lang, "GDP per capita", "1인당 GDP")}</span>
                    <span class="kpi-value">{value(Format::Usd, v, lang)}</span>
                </div>
            })}
            {latest_rank.map(|v| view! {
                <div class="kpi">
                    <span class="kpi-label">{t(lang, "GDP rank", "GDP 순위")}</span>
                    <span class="kpi-value">{value(Format::Rank, v, lang)}</span>
                </div>
            })}
        </div>
        <div class="charts">
            <section class="panel" aria-labelledby="chart-gdp-heading">
                <h2 id="chart-gdp-heading">{gdp_title.clone()}</h2>
                <TrendChart id="chart-gdp" title=gdp_title points=gdp_points format=Format::UsdBillions/>
                {projection_source.map(|s| view! {
                    <p class="muted">
                        {t(lang, "Actuals: World Bank. Projections: ", "실적치: 세계은행. 전망치: ")}{s}
                    </p>
                })}
            </section>
            <section class="panel" aria-labelledby="chart-pc-heading">
                <h2 id="chart-pc-heading">{pc_title.clone()}</h2>
                <TrendChart id="chart-per-capita" title=pc_title points=per_capita_points format=Format::Usd/>
            </section>
            <section class="panel" aria-labelledby="chart-rank-heading">
                <h2 id="chart-rank-heading">{rank_title.clone()}</h2>
                <TrendChart id="chart-rank" title=rank_title points=rank_points format=Format::Rank invert=true/>
            </section>
        </div>
        <FiguresTable profile=table_page/>
        <CountryAlerts alerts alerts_error/>
        <p class="provenance" data-testid="country-sources">
            {t(lang, "Sources: ", "출처: ")}
            {sources_note.into_iter().enumerate().map(|(i, (label, url))| view! {
                {(i > 0).then_some("; ")}
                {match url {
                    Some(url) if crate::components::links::web_url(&url).is_some() => {
                        view! { <PublishedAt url=Some(url) label=label/> }.into_any()
                    }
                    _ => view! { <span>{label}</span> }.into_any(),
                }}
            }).collect_view()}
        </p>
    }
    .into_any()
}

/// The charts' figures as a table: for keyboard and screen-reader users, and for copying.
#[component]
fn FiguresTable(profile: CountryProfile) -> impl IntoView {
    let lang = use_lang();
    let mut years: Vec<i32> = profile
        .gdp
        .iter()
        .chain(&profile.projections)
        .map(|p| p.year)
        .collect();
    years.sort_unstable();
    years.dedup();
    years.reverse();
    let find = |s: &[SeriesPoint], y: i32| s.iter().find(|p| p.year == y).cloned();
    let rows: Vec<_> = years
        .into_iter()
        .map(|y| {
            let gdp = find(&profile.gdp, y).or_else(|| find(&profile.projections, y));
            let source = gdp
                .as_ref()
                .map(|p| profile.source_label(&p.source_id))
                .unwrap_or_default();
            (
                y,
                gdp,
                find(&profile.gdp_per_capita, y),
                find(&profile.rank, y),
                source,
            )
        })
        .collect();
    let caption = match lang {
        Lang::En => format!("{}: figures by year, newest first", profile.name),
        Lang::Ko => format!(
            "{}: 연도별 수치 (최근 연도부터)",
            display::names::country(&profile.code, &profile.name, lang)
        ),
    };
    view! {
        <details class="panel figures">
            <summary>{t(lang, "Figures as a table", "표로 보기")}</summary>
            <div class="table-scroll" tabindex="0" role="region" aria-label=t(lang, "Figures", "수치")>
                <table class="data" data-testid="country-figures">
                    <caption>{caption}</caption>
                    <thead>
                        <tr>
                            <th scope="col">{t(lang, "Year", "연도")}</th>
                            <th scope="col" class="num">"GDP"</th>
                            <th scope="col">{t(lang, "Kind", "구분")}</th>
                            <th scope="col" class="num">{t(lang, "GDP per capita", "1인당 GDP")}</th>
                            <th scope="col" class="num">{t(lang, "Rank", "순위")}</th>
                            <th scope="col">{t(lang, "Source and run", "출처와 실행")}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {rows.into_iter().map(|(y, gdp, pc, rank, source)| {
                            let projection = gdp.as_ref().is_some_and(|p| p.projection);
                            let provisional = gdp.as_ref().is_some_and(|p| p.provisional);
                            let run = gdp.as_ref().map(|p| p.run_id.clone()).unwrap_or_default();
                            view! {
                                <tr data-year=y class:projection=projection>
                                    <th scope="row">{y}</th>
                                    <td class="num">{gdp.map(|p| value(Format::UsdBillions, p.value, lang)).unwrap_or_else(|| "—".into())}</td>
                                    <td data-col="kind">{if projection {
                                        t(lang, "Projection", "전망치")
                                    } else if provisional {
                                        t(lang, "Provisional (partial year)", "잠정치(부분 연도)")
                                    } else {
                                        t(lang, "Actual", "실적치")
                                    }}</td>
                                    <td class="num">{pc.map(|p| value(Format::Usd, p.value, lang)).unwrap_or_else(|| "—".into())}</td>
                                    <td class="num">{rank.map(|p| value(Format::Rank, p.value, lang)).unwrap_or_else(|| "—".into())}</td>
                                    <td class="muted">{format!("{source} · {run}")}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </details>
    }
    .into_any()
}

#[component]
fn CountryAlerts(alerts: Vec<AlertRecord>, alerts_error: Option<String>) -> impl IntoView {
    let lang = use_lang();
    view! {
        <section class="panel" aria-labelledby="country-alerts-title" data-testid="country-alerts">
            <h2 id="country-alerts-title">{t(lang, "Alerts about this country", "이 국가의 알림")}</h2>
            {alerts_error.map(|e| view! {
                <p class="error-text" role="alert">
                    {t(lang, "The alerts could not be read: ", "알림을 읽지 못했습니다: ")}{e}
                </p>
            })}
            {if alerts.is_empty() {
                view! { <p class="muted">{t(lang, "No alert has been raised for this country.", "이 국가에 대한 알림이 없습니다.")}</p> }.into_any()
            } else {
                view! {
                    <ul class="alert-list">
                        {alerts.into_iter().map(|r| {
                            let a = r.alert;
                            view! {
                                <li data-fingerprint=a.fingerprint.clone()>
                                    <SeverityBadge severity=a.severity/>
                                    " "
                                    <StatusBadge status=r.status/>
                                    " "
                                    <a href=alert_href(&a.fingerprint)>{a.title.get(lang).to_string()}</a>
                                    <span class="muted">{format!(" · {}", a.period)}</span>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
    .into_any()
}

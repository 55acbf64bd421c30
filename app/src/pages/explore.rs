//! Explore: every country of a year with its figures; filters, sort and page live in the URL, so a
//! view can be shared as a link and works without JavaScript (a GET form and plain links).

use display::names::RegionCodes;
use display::{change_pct, value, Format};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::api::explore::get_explore;
use crate::components::links::{href, CountryLink};
use crate::components::page_status::{ErrorPanel, Loading};
use crate::i18n::{t, use_lang, Lang};
use crate::model::explore::{Explore, ExploreData, ExploreParams, ExploreQuery, ExploreRow};

/// Metrics of the filter: id, English and Korean label (with the unit of the minimum).
const METRICS: [(&str, &str, &str); 5] = [
    ("gdp", "GDP (B USD)", "GDP (십억 달러)"),
    ("gdp_per_capita", "GDP per capita (USD)", "1인당 GDP (달러)"),
    ("population", "Population (millions)", "인구 (백만 명)"),
    (
        "gdp_change",
        "GDP change vs previous year (%)",
        "GDP 전년 대비 증감률 (%)",
    ),
    ("share", "Share of world GDP (%)", "세계 GDP 비중 (%)"),
];

/// Sortable columns: sort id, English and Korean heading, numeric.
const COLUMNS: [(&str, &str, &str, bool); 7] = [
    ("name", "Country", "국가", false),
    ("region", "Region", "지역", false),
    ("gdp", "GDP", "GDP", true),
    ("gdp_per_capita", "GDP per capita", "1인당 GDP", true),
    ("population", "Population", "인구", true),
    ("gdp_change", "YoY change", "전년 대비", true),
    ("share", "Share of world", "세계 비중", true),
];

#[component]
pub fn ExplorePage() -> impl IntoView {
    let lang = use_lang();
    let query = use_query_map();
    let params = move || {
        let q = query.read();
        ExploreParams {
            year: q.get("year"),
            region: q.get("region"),
            metric: q.get("metric"),
            min: q.get("min"),
            sort: q.get("sort"),
            dir: q.get("dir"),
            page: q.get("page"),
            q: q.get("q"),
        }
    };
    let args = move || (params(), query.read().get("as_of"));
    let data = Resource::new(args, |(params, as_of)| get_explore(params, as_of));
    view! {
        <Title text=t(lang, "Explore · Actionboard", "탐색 · Actionboard")/>
        <h1>{t(lang, "Explore", "탐색")}</h1>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(data) => view! { <ExploreBody data raw=params()/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error reset="/explore"/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A link to this view with some parameters changed.
fn view_href(q: &ExploreQuery, sort: Option<(&str, bool)>, page: Option<usize>) -> String {
    let (sort_id, desc) = sort.unwrap_or((q.sort.id(), q.descending));
    href(
        "/explore",
        &[
            ("year", Some(q.year.to_string())),
            ("region", q.region.clone()),
            ("metric", Some(q.metric.id().to_string())),
            ("min", q.min.map(|m| m.to_string())),
            ("sort", Some(sort_id.to_string())),
            ("dir", Some(if desc { "desc" } else { "asc" }.to_string())),
            ("page", page.filter(|p| *p > 1).map(|p| p.to_string())),
            ("q", q.q.clone()),
        ],
    )
}

#[component]
fn Filters(data: Explore, raw: ExploreParams) -> impl IntoView {
    let lang = use_lang();
    let q = data.query.clone();
    let min_text = raw.min.clone().unwrap_or_default();
    view! {
        <Form method="GET" action="" attr:class="filters" attr:aria-label=t(lang, "Filters", "필터")>
            <crate::components::as_of::AsOfField/>
            <div class="field">
                <label for="explore-year">{t(lang, "Year", "연도")}</label>
                <select id="explore-year" name="year">
                    {data.years.iter().map(|&y| {
                        let label = match &data.provisional {
                            Some(p) if p.year == y => format!("{y} ({})", t(lang, "provisional", "잠정")),
                            _ => y.to_string(),
                        };
                        view! { <option value=y.to_string() selected=y == q.year>{label}</option> }
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="explore-region">{t(lang, "Region", "지역")}</label>
                <select id="explore-region" name="region">
                    <option value="" selected=q.region.is_none()>{t(lang, "All regions", "모든 지역")}</option>
                    {regions_in_reading_order(&data, lang).into_iter().map(|(r, label)| {
                        let selected = q.region.as_deref() == Some(r.as_str());
                        view! { <option value=r selected=selected>{label}</option> }
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="explore-q">{t(lang, "Country or code", "국가 또는 코드")}</label>
                <input id="explore-q" name="q" type="search" value=q.q.clone().unwrap_or_default() size="14"
                    maxlength="100" placeholder=t(lang, "e.g. Korea, 대한민국, KOR", "예: 대한민국, Korea, KOR")/>
            </div>
            <div class="field">
                <label for="explore-metric">{t(lang, "Metric", "지표")}</label>
                <select id="explore-metric" name="metric">
                    {METRICS.iter().map(|(id, en, ko)| view! {
                        <option value=*id selected=q.metric.id() == *id>{t(lang, en, ko)}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="explore-min">{t(lang, "Minimum value (in the metric's unit)", "최솟값 (지표 단위)")}</label>
                <input id="explore-min" name="min" type="text" inputmode="decimal" value=min_text size="8"/>
            </div>
            // The sort chosen in the table's headings survives a change of filters.
            {raw.sort.map(|s| view! { <input type="hidden" name="sort" value=s/> })}
            {raw.dir.map(|d| view! { <input type="hidden" name="dir" value=d/> })}
            <div class="field actions">
                <button type="submit">{t(lang, "Apply", "적용")}</button>
                <a href="/explore">{t(lang, "Reset", "초기화")}</a>
            </div>
        </Form>
    }
    .into_any()
}

/// The region filter's options: the data's name as the value, the reader's name as the label,
/// in the reader's order.
fn regions_in_reading_order(data: &Explore, lang: Lang) -> Vec<(String, String)> {
    let mut options: Vec<(String, String)> = data
        .regions
        .iter()
        .map(|r| {
            let label = display::names::region_in(&data.region_codes, r, lang).into_owned();
            (r.clone(), label)
        })
        .collect();
    if lang == Lang::Ko {
        options.sort_by(|a, b| display::names::cmp_ko(&a.1, &b.1));
    }
    options
}

fn cell(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map(f).unwrap_or_else(|| "—".to_string())
}

#[component]
fn SortHeading(
    q: ExploreQuery,
    id: &'static str,
    label: &'static str,
    numeric: bool,
) -> impl IntoView {
    let lang = use_lang();
    let active = q.sort.id() == id;
    // A click on the active column flips it; another column starts in its natural direction.
    let next_desc = if active { !q.descending } else { numeric };
    let aria_sort = active.then_some(if q.descending {
        "descending"
    } else {
        "ascending"
    });
    let arrow = if !active {
        ""
    } else if q.descending {
        " ▼"
    } else {
        " ▲"
    };
    let hint = if next_desc {
        t(lang, "sort descending", "내림차순 정렬")
    } else {
        t(lang, "sort ascending", "오름차순 정렬")
    };
    view! {
        <th scope="col" class:num=numeric aria-sort=aria_sort>
            <a href=view_href(&q, Some((id, next_desc)), None) title=hint data-in-place=format!("sort-{id}")>
                {label}
                <span aria-hidden="true">{arrow}</span>
            </a>
        </th>
    }
}

fn row_view(r: ExploreRow, lang: Lang, region_codes: &RegionCodes) -> impl IntoView {
    let region = display::names::region_in(region_codes, &r.region, lang).into_owned();
    view! {
        <tr data-code=r.code.clone()>
            <td class="num">{r.rank.map(|x| x.to_string()).unwrap_or_else(|| "—".into())}</td>
            <th scope="row"><CountryLink code=r.code.clone() name=r.name/></th>
            <td>{region}</td>
            <td class="num" data-col="gdp">{value(Format::UsdBillions, r.gdp_usd, lang)}</td>
            <td class="num" data-col="gdp_per_capita">{cell(r.per_capita, |v| value(Format::Usd, v, lang))}</td>
            <td class="num" data-col="population">{cell(r.population, |v| value(Format::Persons, v, lang))}</td>
            <td class="num" data-col="gdp_change">{cell(r.change_pct, |v| change_pct(v, lang))}</td>
            <td class="num" data-col="share">{cell(r.share_pct, |v| value(Format::Percent, v, lang))}</td>
        </tr>
    }
}

#[component]
fn Movers(
    id: &'static str,
    title: &'static str,
    rows: Vec<ExploreRow>,
    empty: &'static str,
) -> impl IntoView {
    let lang = use_lang();
    view! {
        <section class="panel" aria-labelledby=format!("{id}-title") data-testid=id>
            <h2 id=format!("{id}-title")>{title}</h2>
            {if rows.is_empty() {
                view! { <p class="muted">{empty}</p> }.into_any()
            } else {
                view! {
                    <ol class="movers">
                        {rows.into_iter().map(|r| view! {
                            <li data-code=r.code.clone()>
                                <CountryLink code=r.code.clone() name=r.name.clone()/>
                                <span class="mover-change">{cell(r.change_pct, |v| change_pct(v, lang))}</span>
                                <span class="muted">{value(Format::UsdBillions, r.gdp_usd, lang)}</span>
                            </li>
                        }).collect_view()}
                    </ol>
                }.into_any()
            }}
        </section>
    }
    .into_any()
}

#[component]
fn ExploreBody(data: ExploreData, raw: ExploreParams) -> impl IntoView {
    let lang = use_lang();
    let ExploreData {
        run_id,
        explore: data,
    } = data;
    let q = data.query.clone();
    let year = q.year;
    let first = (q.page - 1) * data.page_size + 1;
    let last = (first + data.rows.len()).saturating_sub(1);
    let summary = match lang {
        Lang::En => format!(
            "{} countries match · showing {first}–{last} · page {} of {}",
            data.total, q.page, data.pages
        ),
        Lang::Ko => format!(
            "조건에 맞는 국가 {}개 · {first}–{last}번째 · {} / {} 페이지",
            data.total, q.page, data.pages
        ),
    };
    let caption = match lang {
        Lang::En => format!("Countries in {year}: World Bank figures (WDI)"),
        Lang::Ko => format!("{year}년 국가별 수치: 세계은행(WDI)"),
    };
    let prev = (q.page > 1).then(|| view_href(&q, None, Some(q.page - 1)));
    let next = (q.page < data.pages).then(|| view_href(&q, None, Some(q.page + 1)));
    let movers_up_title = match lang {
        Lang::En => "Top movers up: GDP change vs previous year",
        Lang::Ko => "상승 상위: GDP 전년 대비",
    };
    let movers_down_title = match lang {
        Lang::En => "Top movers down: GDP change vs previous year",
        Lang::Ko => "하락 상위: GDP 전년 대비",
    };
    let provisional_note = data.provisional.as_ref().map(|p| {
        view! {
            <p class="provisional-note" role="note" data-testid="provisional">
                {p.label().get(lang).to_string()}
            </p>
        }
    });
    let no_movers = if data.provisional.is_some() {
        t(
            lang,
            "A provisional year is never ranked: only some countries have published it.",
            "잠정 연도는 순위를 매기지 않습니다: 일부 국가만 발표했습니다.",
        )
    } else {
        t(
            lang,
            "No country with a previous year's figure matches.",
            "전년 수치가 있는 국가가 없습니다.",
        )
    };
    let rows = data.rows.clone();
    let region_codes = data.region_codes.clone();
    let movers_up = data.movers_up.clone();
    let movers_down = data.movers_down.clone();
    let pages = data.pages;
    view! {
        <Filters data=data raw/>
        {provisional_note}
        <div class="movers-row">
            <Movers id="movers-up" title=movers_up_title rows=movers_up empty=no_movers/>
            <Movers id="movers-down" title=movers_down_title rows=movers_down empty=no_movers/>
        </div>
            <section class="panel" aria-labelledby="explore-table-title">
                <h2 id="explore-table-title">{t(lang, "Countries", "국가")}</h2>
                <p class="muted" role="status" data-testid="explore-summary">{summary}</p>
                {if rows.is_empty() {
                    view! {
                        <p class="empty" data-testid="explore-empty">
                            {t(lang, "No country matches these filters.", "조건에 맞는 국가가 없습니다.")}
                        </p>
                    }.into_any()
                } else {
                    view! {
                        <div class="table-scroll" tabindex="0" role="region" aria-labelledby="explore-table-title">
                            <table class="data" data-testid="explore-table">
                                <caption>{caption}</caption>
                                <thead>
                                    <tr>
                                        <th scope="col" class="num">
                                            <abbr title=t(lang, "GDP rank", "GDP 순위")>"#"</abbr>
                                        </th>
                                        {COLUMNS.iter().map(|(id, en, ko, numeric)| view! {
                                            <SortHeading q=q.clone() id=*id label=t(lang, en, ko) numeric=*numeric/>
                                        }).collect_view()}
                                    </tr>
                                </thead>
                                <tbody>
                                    {rows.into_iter().map(|r| row_view(r, lang, &region_codes)).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                }}
                <nav class="pager" aria-label=t(lang, "Pages", "페이지")>
                    {prev.map(|h| view! { <a href=h rel="prev" data-in-place="page-prev">{t(lang, "← Previous page", "← 이전 페이지")}</a> })}
                    <span>{format!("{} / {pages}", q.page)}</span>
                    {next.map(|h| view! { <a href=h rel="next" data-in-place="page-next">{t(lang, "Next page →", "다음 페이지 →")}</a> })}
                </nav>
            </section>
        <p class="provenance">
            {t(lang, "Source: World Bank, World Development Indicators (CC BY 4.0); regions: UN M49. ", "출처: 세계은행 세계개발지표(CC BY 4.0), 지역: UN M49. ")}
            {format!("{} {run_id}", t(lang, "Run", "실행"))}
        </p>
    }
    .into_any()
}

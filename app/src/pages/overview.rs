//! The first screen: the two answers of the original exercise for one year.

use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::api::overview::get_overview;
use crate::format::billions;
use crate::model::Overview;

#[component]
pub fn OverviewPage() -> impl IntoView {
    let query = use_query_map();
    let year = move || {
        query
            .read()
            .get("year")
            .and_then(|y| y.trim().parse::<i32>().ok())
    };
    let overview = Resource::new(year, get_overview);

    view! {
        <h1>"개요 · Overview"</h1>
        <Suspense fallback=|| view! { <p class="loading" role="status">"불러오는 중… · Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(data) => view! { <OverviewBody data/> }.into_any(),
                    Err(e) => view! {
                        <section class="panel error" role="alert">
                            <h2>"데이터를 불러오지 못했습니다 · Could not load the data"</h2>
                            <p>{server_error_text(&e)}</p>
                        </section>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn server_error_text(e: &ServerFnError) -> String {
    match e {
        ServerFnError::ServerError(msg) => msg.clone(),
        other => other.to_string(),
    }
}

#[component]
fn YearPicker(year: i32, years: Vec<i32>) -> impl IntoView {
    // With JavaScript the choice applies at once; without it the button submits the GET form.
    let submit_on_change = move |_ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use leptos::wasm_bindgen::JsCast;
            if let Some(form) = _ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok())
                .and_then(|select| select.form())
            {
                let _ = form.request_submit();
            }
        }
    };
    view! {
        <Form method="GET" action="" attr:class="year-picker">
            <label for="year">"연도 · Year"</label>
            <select id="year" name="year" on:change=submit_on_change>
                {years
                    .into_iter()
                    .map(|y| view! { <option value=y.to_string() selected=y == year>{y}</option> })
                    .collect_view()}
            </select>
            <button type="submit">"보기 · Show"</button>
        </Form>
    }
}

#[component]
fn OverviewBody(data: Overview) -> impl IntoView {
    let Overview {
        run_id,
        year,
        years,
        countries_with_data,
        large_economies,
        region_top5,
    } = data;
    let large_count = large_economies.len();
    view! {
        <YearPicker year years/>
        <div class="kpis">
            <div class="kpi">
                <span class="kpi-label">"GDP 1,000억 달러 이상 국가 · Countries ≥ 100 B USD"</span>
                <span class="kpi-value" data-testid="large-count">{large_count}</span>
                <span class="kpi-note">{format!("{year} · {countries_with_data} countries with data")}</span>
            </div>
        </div>
        <div class="grid">
            <section class="panel" aria-labelledby="large-title">
                <h2 id="large-title">
                    {format!("{year}년 GDP 1,000억 달러 이상 국가 · Countries with GDP ≥ 100 B USD in {year}")}
                </h2>
                <table class="data" data-testid="large-economies">
                    <caption>{format!("{year} · GDP, billions of US dollars (World Bank)")}</caption>
                    <thead>
                        <tr>
                            <th scope="col">"#"</th>
                            <th scope="col">"국가 · Country"</th>
                            <th scope="col">"지역 · Region"</th>
                            <th scope="col" class="num">"GDP (B USD)"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {large_economies
                            .into_iter()
                            .enumerate()
                            .map(|(i, c)| view! {
                                <tr data-code=c.code.clone()>
                                    <td>{i + 1}</td>
                                    <td>{c.name}</td>
                                    <td>{c.region}</td>
                                    <td class="num">{billions(c.gdp_usd)}</td>
                                </tr>
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </section>
            <section class="panel" aria-labelledby="region-title">
                <h2 id="region-title">
                    {format!("지역별 상위 5개국 평균 GDP · Average GDP of each region's top 5 ({year})")}
                </h2>
                <table class="data" data-testid="region-top5">
                    <thead>
                        <tr>
                            <th scope="col">"지역 · Region"</th>
                            <th scope="col" class="num">"평균 · Average (B USD)"</th>
                            <th scope="col">"상위 5개국 · Top 5"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {region_top5
                            .into_iter()
                            .map(|r| view! {
                                <tr>
                                    <td>{r.region}</td>
                                    <td class="num">{billions(r.average_usd)}</td>
                                    <td class="muted">{r.countries.join(", ")}</td>
                                </tr>
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </section>
        </div>
        <p class="provenance">
            "출처 · Source: World Bank, World Development Indicators (CC BY 4.0); regions: UN M49. "
            {format!("Run {run_id}")}
        </p>
    }
}

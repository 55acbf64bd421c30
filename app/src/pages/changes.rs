//! What changed between two runs, value by value: revisions of the same source's figures, values
//! added and values withdrawn (default: the last two runs). A plain GET form: works without
//! JavaScript and every view is a link.

use display::{change_pct, value, Format};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::api::changes::get_changes;
use crate::components::links::CountryLink;
use crate::components::page_status::{ErrorPanel, Loading};
use crate::i18n::{t, use_lang, Lang};
use crate::model::changes::{Change, ChangeKind, ChangesData};

#[component]
pub fn ChangesPage() -> impl IntoView {
    let lang = use_lang();
    let query = use_query_map();
    let params = move || {
        let q = query.read();
        (q.get("from"), q.get("to"), q.get("country"), q.get("min"))
    };
    let data = Resource::new(params, |(from, to, country, min)| {
        get_changes(from, to, country, min)
    });
    view! {
        <Title text=t(lang, "Changes between runs · Actionboard", "실행 간 변경 내역 · Actionboard")/>
        <h1>{t(lang, "Changes between runs", "실행 간 변경 내역")}</h1>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(data) => view! { <ChangesBody data/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error reset="/changes"/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn format_of(series: &str) -> Format {
    match series {
        "gdp_usd" => Format::UsdBillions,
        "population" => Format::Persons,
        _ => Format::Count,
    }
}

#[component]
fn ChangesBody(data: ChangesData) -> impl IntoView {
    let lang = use_lang();
    let c = data.changes;
    let from = c.from_run.clone().unwrap_or_default();
    let to = c.to_run.clone();
    let intro = match (&c.from_run, lang) {
        (None, Lang::En) => format!("Run {to} is the first run: there is nothing to compare it with."),
        (None, Lang::Ko) => format!("실행 {to}은(는) 첫 실행이라 비교할 실행이 없습니다."),
        (Some(f), Lang::En) => format!(
            "From run {f} to run {to}: {} values revised, {} added, {} withdrawn. A revision or a withdrawal is a data event, not a change in the economy.",
            c.revised, c.added, c.withdrawn
        ),
        (Some(f), Lang::Ko) => format!(
            "실행 {f} → {to}: 수정 {}건, 추가 {}건, 철회 {}건. 수정과 철회는 경제의 변화가 아닌 데이터 사건입니다.",
            c.revised, c.added, c.withdrawn
        ),
    };
    let listed = c.rows.len();
    let total = c.revised + c.added + c.withdrawn;
    let cut = (listed < total).then(|| match lang {
        Lang::En => format!("Showing the first {listed} of {total}: narrow by country or size."),
        Lang::Ko => format!("{total}건 중 처음 {listed}건: 국가나 크기로 좁혀 보세요."),
    });
    let runs = c.runs.clone();
    let run_options = move |selected: String| {
        runs.iter()
            .map(|r| {
                let r = r.clone();
                view! { <option value=r.clone() selected=r == selected>{r.clone()}</option> }
            })
            .collect_view()
    };
    let country = c.country.clone().unwrap_or_default();
    let min = c.min_pct.map(|m| m.to_string()).unwrap_or_default();
    view! {
        <Form method="GET" action="" attr:class="filters" attr:aria-label=t(lang, "Compare runs", "실행 비교")>
            <div class="field">
                <label for="changes-from">{t(lang, "From run", "이전 실행")}</label>
                <select id="changes-from" name="from">{run_options.clone()(from.clone())}</select>
            </div>
            <div class="field">
                <label for="changes-to">{t(lang, "To run", "이후 실행")}</label>
                <select id="changes-to" name="to">{run_options(to.clone())}</select>
            </div>
            <div class="field">
                <label for="changes-country">{t(lang, "Country code", "국가 코드")}</label>
                <input id="changes-country" name="country" type="text" size="5" value=country/>
            </div>
            <div class="field">
                <label for="changes-min">{t(lang, "Minimum revision (%)", "최소 수정 폭(%)")}</label>
                <input id="changes-min" name="min" type="text" inputmode="decimal" size="5" value=min/>
            </div>
            <div class="field actions">
                <button type="submit">{t(lang, "Show", "보기")}</button>
            </div>
        </Form>
        <p data-testid="changes-intro">{intro}</p>
        {cut.map(|text| view! { <p class="muted">{text}</p> })}
        <section class="panel" aria-labelledby="changes-title">
            <h2 id="changes-title">{t(lang, "Withdrawn, then revisions by size, then added", "철회, 수정(크기순), 추가 순")}</h2>
            <div class="table-scroll" tabindex="0" role="region" aria-labelledby="changes-title">
                <table class="data" data-testid="changes-table">
                    <thead>
                        <tr>
                            <th scope="col">{t(lang, "Change", "변경")}</th>
                            <th scope="col">{t(lang, "Country", "국가")}</th>
                            <th scope="col" class="num">{t(lang, "Year", "연도")}</th>
                            <th scope="col">{t(lang, "Source", "소스")}</th>
                            <th scope="col" class="num">{t(lang, "Before", "이전")}</th>
                            <th scope="col" class="num">{t(lang, "After", "이후")}</th>
                            <th scope="col" class="num">{t(lang, "Revision", "수정률")}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {c.rows.into_iter().map(|r| view! { <ChangeRow r/> }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
        <p class="provenance">{t(lang, "Every published run is kept; the pipeline page lists them.", "게시된 모든 실행이 보관됩니다. 실행 목록은 파이프라인 화면에 있습니다.")}</p>
    }
    .into_any()
}

#[component]
fn ChangeRow(r: Change) -> impl IntoView {
    let lang = use_lang();
    let format = format_of(&r.series);
    let shown = move |v: Option<f64>| {
        v.map(|v| value(format, v, lang))
            .unwrap_or_else(|| "—".into())
    };
    let name = r.name.clone().unwrap_or_else(|| r.code.clone());
    let kind_class = match r.kind {
        ChangeKind::Revised => "change-revised",
        ChangeKind::Added => "change-added",
        ChangeKind::Withdrawn => "change-withdrawn",
    };
    view! {
        <tr data-code=r.code.clone() data-year=r.year.to_string() class=kind_class>
            <td>{r.kind.label().get(lang).to_string()}</td>
            <th scope="row"><CountryLink code=r.code.clone() name/></th>
            <td class="num">{r.year}</td>
            <td>{r.source_id.clone()}</td>
            <td class="num" data-col="before">{shown(r.old_value)}</td>
            <td class="num" data-col="after">{shown(r.new_value)}</td>
            <td class="num" data-col="pct">{r.change_pct.map(|p| change_pct(p, lang)).unwrap_or_else(|| "—".into())}</td>
        </tr>
    }
}

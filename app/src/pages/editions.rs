//! Two IMF World Economic Outlook editions side by side for one year (in the URL), the biggest
//! revisions first; only countries both editions list.

use display::{change_pct, value, Format};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use crate::api::editions::get_editions;
use crate::components::links::CountryLink;
use crate::components::page_status::{ErrorPanel, Loading};
use crate::i18n::{t, use_lang, Lang};
use crate::model::editions::{EditionComparison, Editions};

#[component]
pub fn EditionsPage() -> impl IntoView {
    let lang = use_lang();
    let query = use_query_map();
    let args = move || {
        let q = query.read();
        (q.get("year"), q.get("as_of"))
    };
    let data = Resource::new(args, |(year, as_of)| get_editions(year, as_of));
    view! {
        <Title text=t(lang, "IMF editions · Actionboard", "IMF 발표판 비교 · Actionboard")/>
        <h1>{t(lang, "IMF editions compared", "IMF 발표판 비교")}</h1>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(data) => view! { <EditionsBody data/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error reset="/editions"/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn kind(projection: bool, lang: Lang) -> &'static str {
    if projection {
        t(lang, "projection", "전망치")
    } else {
        t(lang, "actual", "실적치")
    }
}

#[component]
fn EditionsBody(data: Editions) -> impl IntoView {
    let lang = use_lang();
    let Editions {
        run_id,
        comparison:
            EditionComparison {
                year,
                years,
                old,
                new,
                rows,
                region_codes,
            },
    } = data;
    let intro = match lang {
        Lang::En => format!(
            "GDP for {year} in the {} and the {}: {} countries listed in both, the biggest revisions (absolute % difference) first.",
            old.edition, new.edition, rows.len()
        ),
        Lang::Ko => format!(
            "{year}년 GDP, {}와 {} 비교: 두 발표판에 모두 있는 {}개국, 수정 폭(절대 % 차이)이 큰 순서.",
            old.edition, new.edition, rows.len()
        ),
    };
    let caption = match lang {
        Lang::En => format!("{year}: {} vs {}", old.edition, new.edition),
        Lang::Ko => format!("{year}년: {} 대 {}", old.edition, new.edition),
    };
    view! {
        <Form method="GET" action="" attr:class="filters">
            <crate::components::as_of::AsOfField/>
            <div class="field">
                <label for="editions-year">{t(lang, "Year", "연도")}</label>
                <select id="editions-year" name="year">
                    {years.into_iter().map(|y| view! {
                        <option value=y.to_string() selected=y == year>{y}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field actions">
                <button type="submit">{t(lang, "Show", "보기")}</button>
            </div>
        </Form>
        <p data-testid="editions-intro">{intro}</p>
        <section class="panel" aria-labelledby="editions-title">
            <h2 id="editions-title">{t(lang, "Revisions, biggest first", "수정 폭이 큰 순서")}</h2>
            <div class="table-scroll" tabindex="0" role="region" aria-labelledby="editions-title">
                <table class="data" data-testid="editions-table">
                    <caption>{caption}</caption>
                    <thead>
                        <tr>
                            <th scope="col" class="num">"#"</th>
                            <th scope="col">{t(lang, "Country", "국가")}</th>
                            <th scope="col">{t(lang, "Region", "지역")}</th>
                            <th scope="col" class="num">{old.edition.clone()}</th>
                            <th scope="col" class="num">{new.edition.clone()}</th>
                            <th scope="col" class="num">{t(lang, "Difference", "차이")}</th>
                            <th scope="col" class="num">{t(lang, "Revision", "수정률")}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {rows.into_iter().enumerate().map(|(i, r)| {
                            let diff = r.new_usd - r.old_usd;
                            let diff_text = if diff > 0.0 {
                                format!("+{}", value(Format::UsdBillions, diff, lang))
                            } else {
                                value(Format::UsdBillions, diff, lang).replacen('-', "−", 1)
                            };
                            view! {
                                <tr data-code=r.code.clone()>
                                    <td class="num">{i + 1}</td>
                                    <th scope="row"><CountryLink code=r.code.clone() name=r.name/></th>
                                    <td>{display::names::region_in(&region_codes, &r.region, lang).into_owned()}</td>
                                    <td class="num" data-col="old">
                                        {value(Format::UsdBillions, r.old_usd, lang)}
                                        <span class="kind" class:projection=r.old_projection>{format!(" ({})", kind(r.old_projection, lang))}</span>
                                    </td>
                                    <td class="num" data-col="new">
                                        {value(Format::UsdBillions, r.new_usd, lang)}
                                        <span class="kind" class:projection=r.new_projection>{format!(" ({})", kind(r.new_projection, lang))}</span>
                                    </td>
                                    <td class="num" data-col="diff">{diff_text}</td>
                                    <td class="num" data-col="pct">{r.change_pct.map(|p| change_pct(p, lang)).unwrap_or_else(|| "—".into())}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
        <p class="provenance">
            {format!("{} ({}) · {} ({}) · {} {run_id}", old.title, old.source_id, new.title, new.source_id, t(lang, "Run", "실행"))}
        </p>
    }
    .into_any()
}

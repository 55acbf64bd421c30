//! The deliveries (admins only): every notification message of the outbox, newest first, with
//! its channel, event, alert, status, attempts, the receiver's last answer and the next attempt,
//! in the reader's time zone; each channel's health above; a resend button (a plain form posted
//! to `POST /deliveries/resend`, checked by the server) on messages given up or not sent.
//! Filters and the page are in the URL.

use display::notify::NotifyText as N;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::deliveries::get_deliveries;
use crate::auth::current_viewer;
use crate::components::alert_bits::minute;
use crate::components::links::{alert_href, href};
use crate::components::page_status::{ErrorPanel, Loading};
use crate::i18n::{t, use_lang, Lang};
use crate::model::deliveries::{ChannelHealth, Deliveries, DeliveryRow, DeliveryStatus};

/// Where the resend form posts (the server's route).
pub const RESEND_PATH: &str = "/deliveries/resend";

#[component]
pub fn DeliveriesPage() -> impl IntoView {
    let lang = use_lang();
    let query = use_query_map();
    let params = move || {
        let q = query.read();
        (q.get("status"), q.get("channel"), q.get("page"))
    };
    let resent = query.read_untracked().get("resent");
    let data = Resource::new(params, |(s, c, p)| get_deliveries(s, c, p));
    view! {
        <Title text=format!("{} · Actionboard", N::Deliveries.get(lang))/>
        <h1>{N::Deliveries.get(lang)}</h1>
        <p class="muted">{N::DeliveriesIntro.get(lang)}</p>
        {resent.map(|id| view! {
            <p class="notice" role="status" data-testid="resent">{match lang {
                Lang::En => format!("Message {id} {}", N::Resent.get(lang)),
                Lang::Ko => format!("{id}{}", N::Resent.get(lang)),
            }}</p>
        })}
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(data) => view! { <DeliveriesBody data/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error reset="/deliveries"/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The link to page `page` of the deliveries with the filter.
fn page_href(status: Option<DeliveryStatus>, channel: &Option<String>, page: usize) -> String {
    href(
        "/deliveries",
        &[
            ("status", status.map(|s| s.as_str().to_string())),
            ("channel", channel.clone()),
            ("page", (page > 1).then(|| page.to_string())),
        ],
    )
}

#[component]
fn DeliveriesBody(data: Deliveries) -> impl IntoView {
    let lang = use_lang();
    let Deliveries {
        rows,
        channels,
        by_status,
        by_channel,
        status,
        channel,
        matching,
        page,
        page_size,
    } = data;
    let csrf = current_viewer().map(|v| v.csrf).unwrap_or_default();
    let back = page_href(status, &channel, page);
    let total: usize = by_status.iter().map(|s| s.1).sum();
    let pages = matching.div_ceil(page_size.max(1));
    let pager = {
        let channel = channel.clone();
        crate::components::pager::pager(
            t(lang, "Pages of messages", "메시지 페이지"),
            page,
            pages,
            move |p| page_href(status, &channel, p),
        )
    };
    let chosen_channel = channel.clone().unwrap_or_default();
    let channel_known =
        chosen_channel.is_empty() || by_channel.iter().any(|c| c.0 == chosen_channel);
    view! {
        <section class="panel" data-testid="channel-health">
            <h2>{N::ChannelsHealth.get(lang)}</h2>
            {if channels.is_empty() {
                view! { <p class="muted">{N::NoDeliveries.get(lang)}</p> }.into_any()
            } else {
                view! {
                    <ul>
                        {channels.into_iter().map(|c| view! { <ChannelLine health=c/> }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
        <form method="get" action="/deliveries" class="filters" aria-label=t(lang, "Filter messages", "메시지 거르기")>
            <div class="filter">
                <label for="filter-status">{N::Status.get(lang)}</label>
                <select id="filter-status" name="status">
                    <option value="" selected=status.is_none()>{format!("{} ({total})", N::AnyStatus.get(lang))}</option>
                    {by_status.into_iter().map(|(s, n)| view! {
                        <option value=s.as_str() selected=status == Some(s)>{format!("{} ({n})", s.label().get(lang))}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="filter">
                <label for="filter-channel">{N::Channel.get(lang)}</label>
                <select id="filter-channel" name="channel">
                    <option value="" selected=chosen_channel.is_empty()>{format!("{} ({total})", N::AnyChannel.get(lang))}</option>
                    {by_channel.into_iter().map(|(c, n)| {
                        let selected = c == chosen_channel;
                        view! { <option value=c.clone() selected=selected>{format!("{c} ({n})")}</option> }
                    }).collect_view()}
                    {(!channel_known).then(|| view! {
                        <option value=chosen_channel.clone() selected=true>{format!("{chosen_channel} (0)")}</option>
                    })}
                </select>
            </div>
            <button type="submit">{N::Filter.get(lang)}</button>
        </form>
        <p class="muted" data-testid="deliveries-count">{match lang {
            Lang::En => format!("{matching} of {total} messages"),
            Lang::Ko => format!("전체 {total}건 중 {matching}건"),
        }}</p>
        {if rows.is_empty() {
            view! { <p data-testid="no-deliveries">{N::NoDeliveries.get(lang)}</p> }.into_any()
        } else {
            view! {
                <div class="table-scroll">
                <table class="deliveries" data-testid="deliveries">
                    <thead>
                        <tr>
                            <th scope="col">"#"</th>
                            <th scope="col">{N::Channel.get(lang)}</th>
                            <th scope="col">{N::Kind.get(lang)}</th>
                            <th scope="col">{N::Alert.get(lang)}</th>
                            <th scope="col">{N::Status.get(lang)}</th>
                            <th scope="col">{N::Attempts.get(lang)}</th>
                            <th scope="col">{N::LastAnswer.get(lang)}</th>
                            <th scope="col">{N::NextAttempt.get(lang)}</th>
                            <th scope="col">{N::Sent.get(lang)}</th>
                            <th scope="col"><span class="visually-hidden">{N::Resend.get(lang)}</span></th>
                        </tr>
                    </thead>
                    <tbody>
                        {rows.into_iter().map(|row| view! {
                            <DeliveryLine row csrf=csrf.clone() back=back.clone()/>
                        }).collect_view()}
                    </tbody>
                </table>
                </div>
            }.into_any()
        }}
        {pager}
    }
}

/// A time on the reader's clock, in a `<time>` element; a dash for none.
fn when(at: Option<chrono::DateTime<chrono::Utc>>) -> AnyView {
    match at {
        Some(at) => {
            let (text, utc) = minute(&at);
            view! { <time datetime=utc>{text}</time> }.into_any()
        }
        None => "–".into_any(),
    }
}

#[component]
fn ChannelLine(health: ChannelHealth) -> impl IntoView {
    let lang = use_lang();
    let (class, state) = match (health.disabled_at, health.failing_since) {
        (Some(at), _) => (
            "channel-disabled",
            view! {
                {format!("{} ", N::ChannelDisabled.get(lang))}
                {when(Some(at))}
                {health.disabled_reason.map(|r| format!(" ({r})"))}
            }
            .into_any(),
        ),
        (None, Some(since)) if health.failures > 0 => (
            "channel-failing",
            view! {
                {format!("{} ", N::ChannelFailingSince.get(lang))}
                {when(Some(since))}
                {match lang {
                    Lang::En => format!(" ({} failed attempts in a row)", health.failures),
                    Lang::Ko => format!(" (연속 {}회 실패)", health.failures),
                }}
            }
            .into_any(),
        ),
        _ => ("channel-ok", N::ChannelOk.get(lang).into_any()),
    };
    let id = health.id;
    let data_id = id.clone();
    view! {
        <li class=class data-testid="channel" data-channel=data_id>
            <strong>{id}</strong>": "{state}
        </li>
    }
}

#[component]
fn DeliveryLine(row: DeliveryRow, csrf: String, back: String) -> impl IntoView {
    let lang = use_lang();
    let DeliveryRow {
        id,
        channel,
        topic,
        fingerprint,
        recipient,
        status,
        attempts,
        created_at: _,
        next_attempt_at,
        last_code,
        last_reply,
        delivered_at,
    } = row;
    let about = match (fingerprint, recipient) {
        (Some(fp), _) => {
            let link = alert_href(&fp);
            view! { <a href=link>{fp}</a> }.into_any()
        }
        (None, Some(owner)) => owner.into_any(),
        (None, None) => "–".into_any(),
    };
    let answer = match (last_code, last_reply) {
        (None, None) => "–".to_string(),
        (Some(c), None) => c.to_string(),
        (None, Some(r)) => r,
        (Some(c), Some(r)) => format!("{c} {r}"),
    };
    let resend = status.resendable().then(|| {
        view! {
            <form method="post" action=RESEND_PATH class="resend">
                <input type="hidden" name="csrf" value=csrf/>
                <input type="hidden" name="id" value=id.to_string()/>
                <input type="hidden" name="back" value=back/>
                <button type="submit" data-testid="resend">{N::Resend.get(lang)}</button>
            </form>
        }
    });
    view! {
        <tr data-testid="delivery" data-id=id.to_string() data-status=status.as_str()>
            <td>{id}</td>
            <td>{channel}</td>
            <td>{topic.label().get(lang).to_string()}</td>
            <td>{about}</td>
            <td class=format!("delivery-{}", status.as_str()) data-testid="delivery-status">{status.label().get(lang).to_string()}</td>
            <td>{attempts}</td>
            <td class="answer" data-testid="delivery-answer">{answer}</td>
            <td>{when(next_attempt_at)}</td>
            <td>{when(delivered_at)}</td>
            <td>{resend}</td>
        </tr>
    }
}

//! The daily digest: per owner (a key of `owners` in rules.yml), their open, overdue and newly
//! assigned alerts, grouped by country, each with its recommended action and link, in the
//! owner's language and time zone (an owner who is also a person of the user store and chose
//! them on /settings; else `config/display.yml`'s), every time named with its zone; enqueued once
//! per owner, channel and the owner's local day. Nothing to report: no message. The scheduler
//! calls [`enqueue_digests`] (`actionboard notify digest` too).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, Utc};
use display::alert::{AlertRecord, Status};
use display::notify::NotifyText as T;
use display::time::Zone;
use display::Lang;
use serde::Serialize;
use serde_json::json;

use super::link::Link;
use super::message::{payload, Content};
use super::NotifyError;
use crate::config::DisplaySettings;
use crate::notify_config::{owners_of, Notify, Send, Subject};
use crate::state::alerts::{AlertFilter, Topic};
use crate::state::users::UserStore;
use crate::state::AlertStore;

/// How an owner reads their digest: their zone and language, else the dashboard's.
fn reader_of(
    users: &UserStore,
    owner: &str,
    display: &DisplaySettings,
) -> Result<(Zone, Lang), NotifyError> {
    Ok((
        users.timezone(owner)?.unwrap_or(display.timezone),
        users.language(owner)?.unwrap_or(display.language),
    ))
}

/// What [`enqueue_digests`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DigestSummary {
    /// Messages enqueued (owner × channel).
    pub enqueued: usize,
    /// Owners with nothing to report.
    pub empty: usize,
    /// Already enqueued today.
    pub already: usize,
}

/// One owner's digest: alerts by country, and why each is in it.
#[derive(Debug, Default)]
struct OwnerDigest<'a> {
    by_country: BTreeMap<String, Vec<(&'a AlertRecord, Vec<T>)>>,
}

/// Enqueues today's digests (today on each owner's clock): per channel of a `send: digest`
/// route, one message per owner with something to report, in the owner's language and zone
/// (`display`'s for owners who chose none). Running it twice a day sends nothing more.
pub fn enqueue_digests(
    data_dir: &Path,
    notify: &Notify,
    display: &DisplaySettings,
    now: DateTime<Utc>,
) -> Result<DigestSummary, NotifyError> {
    let mut summary = DigestSummary::default();
    if !notify.routes.iter().any(|r| r.send == Send::Digest) {
        return Ok(summary);
    }
    let mut store = AlertStore::open_in(data_dir)?;
    let records = store.list(&AlertFilter::default())?;
    let assigned = store.assigned_since(now - chrono::Duration::hours(24))?;
    let users = UserStore::open_in(data_dir)?;
    // (channel, owner) → digest.
    let mut digests: BTreeMap<(usize, String), OwnerDigest> = BTreeMap::new();
    let mut owners_seen = BTreeSet::new();
    for record in &records {
        let active = matches!(
            record.status,
            Status::Open | Status::Acknowledged | Status::Snoozed
        );
        if !active {
            continue;
        }
        let mut why = Vec::new();
        if record.status == Status::Open {
            why.push(T::DigestOpen);
        }
        if record.due().is_some_and(|d| d < now) && record.status != Status::Snoozed {
            why.push(T::DigestOverdue);
        }
        if assigned.contains(&record.alert.fingerprint) {
            why.push(T::DigestNewlyAssigned);
        }
        if why.is_empty() {
            continue;
        }
        let a = &record.alert;
        let owners = owners_of(a);
        let subject = Subject::of(a, &owners);
        let reach = notify.reach(&subject, Send::Digest);
        for owner in &owners {
            owners_seen.insert(owner.to_string());
            for r in &reach {
                digests
                    .entry((r.channel, owner.to_string()))
                    .or_default()
                    .by_country
                    .entry(a.entity_name.clone())
                    .or_default()
                    .push((record, why.clone()));
            }
        }
    }
    let linker = super::worker::linker(data_dir, notify);
    let with_digest: BTreeSet<&String> = digests.keys().map(|(_, o)| o).collect();
    summary.empty = owners_seen.len() - with_digest.len();
    for ((channel, owner), digest) in &digests {
        let channel = &notify.channels[*channel];
        let (zone, lang) = reader_of(&users, owner, display)?;
        let day = zone.day(&now);
        // Each entry's acting links act as its assignee, else the channel's `act_as`.
        let links_of = |record: &AlertRecord| match &linker {
            Some(l) => l.links(
                &record.alert.fingerprint,
                channel.link_recipient(record.assignee.as_deref()),
                lang,
                now,
            ),
            None => Vec::new(),
        };
        let content = digest_content(owner, digest, lang, zone, now, &notify.base_url, &links_of);
        let body = payload(channel.kind, &content, now);
        let key = format!("digest/{}/{owner}/{day}", channel.id);
        if store.enqueue_once(
            &key,
            &channel.id,
            Topic::Digest,
            Some(owner),
            lang,
            &body,
            now,
        )? {
            summary.enqueued += 1;
        } else {
            summary.already += 1;
        }
    }
    Ok(summary)
}

fn digest_content(
    owner: &str,
    digest: &OwnerDigest<'_>,
    lang: Lang,
    zone: Zone,
    now: DateTime<Utc>,
    base_url: &str,
    links_of: &dyn Fn(&AlertRecord) -> Vec<Link>,
) -> Content {
    let day = zone.day(&now);
    let as_of = zone.minute(&now);
    let mut paragraphs = vec![T::DigestIntro.get(lang)];
    let mut items = Vec::new();
    for (country, alerts) in &digest.by_country {
        let mut text = format!("{country}\n");
        for (record, why) in alerts {
            let a = &record.alert;
            let link = crate::export::alert_link(base_url, &a.fingerprint);
            let tags: Vec<String> = why.iter().map(|t| t.get(lang)).collect();
            let action = a
                .actions
                .iter()
                .find(|x| x.owner == owner)
                .or(a.actions.first());
            let due = record.due().map(|d| zone.minute(&d)).unwrap_or_default();
            text.push_str(&format!(
                "• [{}] {} — {}: {} ({} {due}) {link}\n",
                tags.join(", "),
                a.title.get(lang),
                T::RecommendedAction.get(lang),
                action.map(|x| x.text.get(lang)).unwrap_or(""),
                T::Due.get(lang),
            ));
            let acting = links_of(record);
            for l in &acting {
                text.push_str(&format!("  {}: {}\n", l.label, l.url));
            }
            let mut links: serde_json::Map<String, serde_json::Value> = acting
                .iter()
                .map(|l| (l.action.clone(), json!(l.url)))
                .collect();
            links.insert("open".into(), json!(link));
            items.push(json!({
                "country": country,
                "fingerprint": a.fingerprint,
                "title": a.title.get(lang),
                "why": why.iter().map(|t| t.text().en.to_lowercase().replace(' ', "_")).collect::<Vec<_>>(),
                "action": action.map(|x| x.text.get(lang)),
                "due": due,
                "url": link,
                "links": links,
            }));
        }
        paragraphs.push(text.trim_end().to_string());
    }
    Content {
        event_type: "digest".into(),
        lang: lang.code().into(),
        headline: format!("{} ({as_of})", T::DigestSubject.get(lang)),
        title: format!("{} — {owner}", T::DigestSubject.get(lang)),
        facts: vec![(T::Owner.get(lang), owner.to_string())],
        paragraphs,
        link: Some((T::OpenAlert.get(lang), format!("{}/alerts", base_url))),
        actions: Vec::new(),
        data: json!({ "owner": owner, "day": day, "zone": zone.name(), "as_of": as_of, "alerts": items }),
    }
}

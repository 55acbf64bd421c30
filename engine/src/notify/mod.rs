//! Notifications: the messages of the outbox (written by the alert state with each alert event,
//! see `state::alerts::outbox`) shaped for their channel ([`message`]), signed ([`sign`]), sent
//! ([`send`]) and retried by the delivery worker ([`worker`]); what an alert would reach
//! ([`preview`]); the owners' daily digests ([`digest`]).

pub mod digest;
pub mod link;
pub mod message;
pub mod send;
pub mod sign;
pub mod worker;

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::notify_config::{owners_of, Notify, Send, Subject};
use crate::state::alerts::Topic;
use crate::state::{AlertStore, StateError};

pub use digest::{enqueue_digests, DigestSummary};
pub use worker::{drain, owner_id, send_now, DrainOptions, Drained};

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    State(#[from] StateError),
    /// The user store (owners' zones and languages) could not be read.
    #[error(transparent)]
    Users(#[from] crate::state::users::UserError),
    #[error("no channel `{id}` in {file}; the channels are: {known}")]
    NoSuchChannel {
        id: String,
        file: String,
        known: String,
    },
}

/// One channel an alert would reach, or a route that does not send it, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreviewLine {
    pub route: usize,
    pub send: &'static str,
    pub matches: bool,
    /// The route's conditions in words, or the first that the alert misses.
    pub why: String,
    pub channels: Vec<String>,
}

/// `actionboard notify preview`: every route, whether the alert matches it and why.
pub fn preview(notify: &Notify, alert: &crate::rules::Alert) -> Vec<PreviewLine> {
    let owners = owners_of(alert);
    let subject = Subject::of(alert, &owners);
    notify
        .routes
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let check = r.matcher.check(&subject);
            PreviewLine {
                route: i + 1,
                send: match r.send {
                    Send::Immediately => "immediately",
                    Send::Digest => "digest",
                },
                matches: check.is_ok(),
                why: match check {
                    Ok(()) => format!("matches {}", r.matcher.describe()),
                    Err(field) => format!(
                        "its {field} is not in the route's ({})",
                        r.matcher.describe()
                    ),
                },
                channels: r
                    .to
                    .iter()
                    .map(|&c| notify.channels[c].id.clone())
                    .collect(),
            }
        })
        .collect()
}

/// Enqueues `actionboard notify test CHANNEL`'s message; sent by the next drain.
pub fn enqueue_test(
    data_dir: &Path,
    notify: &Notify,
    channel: &str,
    now: DateTime<Utc>,
) -> Result<crate::state::alerts::OutboxMessage, NotifyError> {
    let Some(c) = notify.channel(channel) else {
        return Err(NotifyError::NoSuchChannel {
            id: channel.to_string(),
            file: notify
                .path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "notify.yml (none found)".into()),
            known: notify
                .channels
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    let content = message::test_content(&c.id, c.lang, &notify.base_url);
    let body = message::payload(c.kind, &content, now);
    let mut store = AlertStore::open_in(data_dir)?;
    Ok(store.enqueue(&c.id, Topic::Test, None, c.lang, &body, now)?)
}

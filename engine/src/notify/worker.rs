//! Draining the outbox: claim due messages under a lease, shape each for its channel, send it,
//! record the answer, and schedule retries with exponential backoff and jitter.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use display::alert::Status;
use display::Lang;
use serde::Serialize;

use super::link::{LinkSecret, Linker};
use super::message::{alert_content, channel_failing_content, payload};
use super::send::{Sender, Verdict};
use super::NotifyError;
use crate::notify_config::{Channel, Notify};
use crate::state::alerts::{Attempt, OutboxMessage, Topic};
use crate::state::AlertStore;

/// The waits between attempts: about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h (then 10 h until the
/// 24 hours are up), each ±20 %.
pub const BACKOFF_SECS: [u64; 6] = [5, 300, 1_800, 7_200, 18_000, 36_000];

/// How the worker drains.
#[derive(Debug, Clone)]
pub struct DrainOptions {
    /// Who holds the claims (a process id and a random part).
    pub owner: String,
    /// How long a claim holds: a process that dies mid-send frees its rows after it.
    pub lease: Duration,
    /// Messages claimed at a time.
    pub batch: usize,
    /// At most this many messages per drain (the loop is bounded).
    pub max_messages: usize,
    /// How long a receiver may take to answer.
    pub timeout: Duration,
    /// A channel failing this long raises a `pipeline` alert.
    pub failing_after: Duration,
}

impl DrainOptions {
    /// For `notify`'s receivers' timeout: a claim outlives a send that takes the whole timeout
    /// (three times over, plus a margin), and no longer.
    pub fn new(owner: impl Into<String>, notify: &Notify) -> Self {
        DrainOptions {
            owner: owner.into(),
            lease: notify.timeout * 3 + Duration::from_secs(5),
            batch: 64,
            max_messages: 100_000,
            timeout: notify.timeout,
            failing_after: Duration::from_secs(3600),
        }
    }
}

/// A claim owner unique to this process and call.
pub fn owner_id() -> String {
    let mut buf = [0u8; 6];
    let random = getrandom::fill(&mut buf)
        .map(|_| hex::encode(buf))
        .unwrap_or_else(|_| Utc::now().timestamp_nanos_opt().unwrap_or(0).to_string());
    format!("{}-{random}", std::process::id())
}

/// What one drain did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Drained {
    pub delivered: usize,
    pub retrying: usize,
    pub failed: usize,
    pub cancelled: usize,
    /// Channels that crossed into "failing" (each raised a `pipeline` alert).
    pub channels_failing: Vec<String>,
}

impl Drained {
    pub fn sent(&self) -> usize {
        self.delivered + self.retrying + self.failed
    }
}

/// When to try again after `attempts` tries (this one included), `retry_after` the receiver's
/// wish; jitter from the message's id, so retries of many messages spread out.
pub fn next_attempt(
    msg_id: &str,
    attempts: i64,
    retry_after: Option<Duration>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let i = usize::try_from(attempts.max(1) - 1)
        .unwrap_or(0)
        .min(BACKOFF_SECS.len() - 1);
    let digest = crate::base::files::sha256_hex(format!("{msg_id}/{attempts}").as_bytes());
    let spread = u64::from_str_radix(&digest[..4], 16).unwrap_or(0) as f64 / 65_535.0;
    let base = BACKOFF_SECS[i] as f64 * (0.8 + 0.4 * spread);
    let wait = Duration::from_secs_f64(base).max(retry_after.unwrap_or_default());
    now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(10))
}

/// The payload of a message for its channel: the stored one (a retry sends the same bytes),
/// else made from the alert now. `Err` is why it is not sent.
fn body_of<'n>(
    store: &AlertStore,
    notify: &'n Notify,
    linker: Option<&Linker>,
    m: &OutboxMessage,
    now: DateTime<Utc>,
) -> Result<(String, &'n Channel), String> {
    let Some(channel) = notify.channel(&m.channel) else {
        return Err(format!(
            "channel `{}` is no longer in notify.yml",
            m.channel
        ));
    };
    if let Some(body) = &m.body {
        return Ok((body.clone(), channel));
    }
    let Some(fingerprint) = &m.fingerprint else {
        return Err("the message has no body".into());
    };
    let record = match store.get(fingerprint) {
        Ok(Some(r)) => r,
        Ok(None) => return Err(format!("no alert `{fingerprint}`")),
        Err(e) => return Err(e.to_string()),
    };
    // Acknowledged, snoozed, dismissed (or closed) since: it does not page.
    if record.status != Status::Open {
        return Err(format!(
            "the alert is {} now; it does not page",
            record.status.as_str()
        ));
    }
    let lang = Lang::parse(&m.lang).unwrap_or(notify.lang);
    let mut content = alert_content(m.topic, &record, lang, &notify.base_url, m.event_version);
    if let Some(linker) = linker {
        let to = channel.link_recipient(record.assignee.as_deref());
        content.actions = linker.links(&record.alert.fingerprint, to, lang, now);
    }
    Ok((payload(channel.kind, &content, now), channel))
}

/// The links' maker for `data_dir`: its secret, `notify`'s expiry and address. `None` (logged)
/// when the secret cannot be had: messages then only link to the alert.
pub fn linker(data_dir: &Path, notify: &Notify) -> Option<Linker> {
    match LinkSecret::load(data_dir) {
        Ok(secret) => Some(Linker {
            secret,
            ttl: notify.link_ttl,
            base_url: notify.base_url.clone(),
        }),
        Err(e) => {
            tracing::error!("messages go without acting links: {e}");
            None
        }
    }
}

/// Sends claimed messages and records their answers.
fn send_batch(
    store: &mut AlertStore,
    notify: &Notify,
    linker: Option<&Linker>,
    sender: &Sender,
    options: &DrainOptions,
    batch: &[OutboxMessage],
    done: &mut Drained,
) -> Result<(), NotifyError> {
    let mut results = Vec::with_capacity(batch.len());
    for m in batch {
        let now = Utc::now();
        let (body, channel) = match body_of(store, notify, linker, m, now) {
            Ok(found) => found,
            Err(reply) => {
                done.cancelled += 1;
                results.push((m.id, None, Attempt::Cancelled { reply }));
                continue;
            }
        };
        let answer = sender.send(channel, &m.msg_id, &body, m.recipient.as_deref(), now);
        let attempt = match answer.verdict {
            Verdict::Delivered => {
                done.delivered += 1;
                Attempt::Delivered {
                    code: answer.code,
                    reply: answer.reply,
                }
            }
            Verdict::Retry { after } => {
                done.retrying += 1;
                Attempt::Retry {
                    code: answer.code,
                    reply: answer.reply,
                    at: next_attempt(&m.msg_id, m.attempts + 1, after, now),
                }
            }
            Verdict::Final | Verdict::Gone => {
                done.failed += 1;
                Attempt::Failed {
                    code: answer.code,
                    reply: answer.reply,
                    disable: answer.verdict == Verdict::Gone,
                }
            }
        };
        results.push((m.id, Some(body), attempt));
    }
    store.record_attempts(&options.owner, &results, Utc::now())?;
    Ok(())
}

/// Sends message `id` now, whatever its next attempt's time (`actionboard notify test`), and
/// returns it as recorded after the attempt. `None` when it is not pending or another process
/// is sending it.
pub fn send_now(
    data_dir: &Path,
    notify: &Notify,
    options: &DrainOptions,
    id: i64,
) -> Result<Option<OutboxMessage>, NotifyError> {
    let mut store = AlertStore::open_in(data_dir)?;
    let Some(m) = store.claim_one(&options.owner, id, Utc::now(), options.lease)? else {
        return Ok(None);
    };
    let sender = Sender::new(options.timeout);
    send_batch(
        &mut store,
        notify,
        linker(data_dir, notify).as_ref(),
        &sender,
        options,
        &[m],
        &mut Drained::default(),
    )?;
    Ok(store.delivery(id)?)
}

/// Sends the due messages of the data folder's outbox once (`actionboard notify send`, and each
/// tick of the server's worker). Blocking: call it on a blocking thread.
pub fn drain(
    data_dir: &Path,
    notify: &Notify,
    options: &DrainOptions,
) -> Result<Drained, NotifyError> {
    let mut store = AlertStore::open_in(data_dir)?.with_notify(Arc::new(notify.clone()));
    let sender = Sender::new(options.timeout);
    let linker = linker(data_dir, notify);
    let mut done = Drained::default();
    let mut handled = 0;
    while handled < options.max_messages {
        let batch = store.claim_due(&options.owner, Utc::now(), options.lease, options.batch)?;
        if batch.is_empty() {
            break;
        }
        handled += batch.len();
        send_batch(
            &mut store,
            notify,
            linker.as_ref(),
            &sender,
            options,
            &batch,
            &mut done,
        )?;
    }
    let now = Utc::now();
    let since = now - chrono::Duration::from_std(options.failing_after).unwrap_or_default();
    for health in store.channels_to_alert(since, now)? {
        let why = match &health.disabled_reason {
            Some(r) if !r.trim().is_empty() => format!("disabled after 410 Gone: {}", r.trim()),
            Some(_) => "disabled after 410 Gone".to_string(),
            None => format!(
                "{} failed attempts since {}",
                health.failures,
                health
                    .failing_since
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default()
            ),
        };
        store.raise_channel_alert(&health.id, &why, now)?;
        for other in notify.channels.iter().filter(|c| c.id != health.id) {
            let content = channel_failing_content(&health.id, &why, other.lang, &notify.base_url);
            store.enqueue(
                &other.id,
                Topic::ChannelFailing,
                None,
                other.lang,
                &payload(other.kind, &content, now),
                now,
            )?;
        }
        done.channels_failing.push(health.id);
    }
    Ok(done)
}

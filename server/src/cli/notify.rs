//! `actionboard notify send|deliveries|retry|test|preview|digest`: the notifications' outbox from the
//! command line (the server's worker drains it too).

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use engine::notify::DrainOptions;
use engine::notify_config::Notify;
use engine::state::AlertStore;

use super::error::{CliError, Exit};
use super::rule_files::RuleFiles;
use super::{out, OutputFormat};

/// Where notify.yml is.
#[derive(Debug, Clone, Args)]
pub struct NotifyFile {
    #[command(flatten)]
    pub rule_files: RuleFiles,
    /// The notifications file [default: notify.yml beside the rules file].
    #[arg(long, env = "ACTIONBOARD_NOTIFY")]
    pub notify: Option<PathBuf>,
}

impl NotifyFile {
    pub fn path(&self) -> PathBuf {
        self.notify
            .clone()
            .unwrap_or_else(|| Notify::beside(&self.rule_files.rules_path()))
    }

    pub fn load(&self) -> Result<Notify, CliError> {
        Ok(Notify::load(&self.path())?)
    }
}

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Send the due messages of the outbox once (the server's worker does this continuously).
    Send(NotifyFile),
    /// The newest messages: channel, status, attempts, last answer, next attempt.
    Deliveries {
        #[command(flatten)]
        files: NotifyFile,
        /// How many (newest first).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Send message ID again (the same webhook-id), at the next drain.
    Retry {
        id: i64,
        /// Also enable its channel if a 410 Gone disabled it.
        #[arg(long)]
        enable_channel: bool,
    },
    /// Send a test message to CHANNEL now and print what the receiver answered.
    Test {
        channel: String,
        #[command(flatten)]
        files: NotifyFile,
    },
    /// Enqueue today's digests (per owner: open, overdue and newly assigned alerts); the
    /// scheduler runs this daily. `notify send` (or the server) sends them.
    Digest(NotifyFile),
    /// Which channels alert FINGERPRINT would reach, and why.
    Preview {
        fingerprint: String,
        #[command(flatten)]
        files: NotifyFile,
    },
}

fn when(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "-".into())
}

pub fn notify(data_dir: &Path, cmd: NotifyCommand) -> Result<(), CliError> {
    match cmd {
        NotifyCommand::Send(files) => {
            let notify = files.load()?;
            let options = DrainOptions::new(engine::notify::owner_id(), &notify);
            let done = engine::notify::drain(data_dir, &notify, &options)?;
            out!(
                "Sent {} message(s): {} delivered, {} to retry, {} failed; {} not sent (the alert no longer pages, or the channel is gone).",
                done.sent(),
                done.delivered,
                done.retrying,
                done.failed,
                done.cancelled
            );
            for c in &done.channels_failing {
                out!("Channel `{c}` keeps failing: a pipeline alert was raised.");
            }
        }
        NotifyCommand::Digest(files) => {
            let notify = files.load()?;
            let display = files.rule_files.display()?;
            let done =
                engine::notify::enqueue_digests(data_dir, &notify, &display, chrono::Utc::now())?;
            out!(
                "Digests: {} enqueued, {} already enqueued today, {} owner(s) with nothing to report.",
                done.enqueued,
                done.already,
                done.empty
            );
        }
        NotifyCommand::Deliveries {
            files: _,
            limit,
            format,
        } => {
            let store = AlertStore::open_in(data_dir)?;
            let messages = store.deliveries(limit.min(10_000))?;
            if let OutputFormat::Json = format {
                #[derive(serde::Serialize)]
                struct Report {
                    messages: Vec<engine::state::alerts::OutboxMessage>,
                    channels: Vec<engine::state::alerts::ChannelHealth>,
                }
                let report = Report {
                    messages,
                    channels: store.channel_health()?,
                };
                out!("{}", serde_json::to_string_pretty(&report)?);
                return Ok(());
            }
            if messages.is_empty() {
                out!("No messages yet.");
            }
            out!(
                "{:>6}  {:<14} {:<15} {:<10} {:>3}  {:<5} {:<19}  {:<19}  answer",
                "id",
                "channel",
                "topic",
                "status",
                "try",
                "code",
                "next attempt",
                "alert"
            );
            for m in messages {
                out!(
                    "{:>6}  {:<14} {:<15} {:<10} {:>3}  {:<5} {:<19}  {:<19}  {}",
                    m.id,
                    m.channel,
                    m.topic.as_str(),
                    m.status.as_str(),
                    m.attempts,
                    m.last_code
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "-".into()),
                    if m.status == engine::state::alerts::DeliveryStatus::Pending {
                        when(Some(m.next_attempt_at))
                    } else {
                        "-".into()
                    },
                    m.fingerprint.unwrap_or_default(),
                    m.last_reply.unwrap_or_default().replace('\n', " ")
                );
            }
            for c in store.channel_health()? {
                if let Some(at) = c.disabled_at {
                    out!(
                        "Channel `{}` is disabled since {} ({}); `actionboard notify retry ID --enable-channel` enables it.",
                        c.id,
                        when(Some(at)),
                        c.disabled_reason.unwrap_or_default()
                    );
                } else if c.failures > 0 {
                    out!(
                        "Channel `{}`: {} failed attempt(s) since {}.",
                        c.id,
                        c.failures,
                        when(c.failing_since)
                    );
                }
            }
        }
        NotifyCommand::Retry { id, enable_channel } => {
            let mut store = AlertStore::open_in(data_dir)?;
            let Some(retried) = store.retry_delivery(
                id,
                engine::state::alerts::RetryWhen::Always,
                chrono::Utc::now(),
            )?
            else {
                return Err(CliError::new(
                    Exit::NoInput,
                    format!("there is no message {id} (see `actionboard notify deliveries`)"),
                ));
            };
            if enable_channel {
                if let Some(m) = store.delivery(id)? {
                    store.enable_channel(&m.channel)?;
                }
            }
            out!(
                "Message {id} (was {}) will be sent again by the next drain (`actionboard notify send`, or the server within seconds).",
                retried.before.as_str()
            );
        }
        NotifyCommand::Test { channel, files } => {
            let notify = files.load()?;
            let now = chrono::Utc::now();
            let queued = engine::notify::enqueue_test(data_dir, &notify, &channel, now)?;
            let options = DrainOptions::new(engine::notify::owner_id(), &notify);
            let sent = engine::notify::send_now(data_dir, &notify, &options, queued.id)?;
            let Some(m) = sent else {
                return Err(CliError::new(
                    Exit::Busy,
                    format!("message {} is being sent by another process; see `actionboard notify deliveries`", queued.id),
                ));
            };
            out!(
                "Test message {} ({}) to `{channel}`: {}",
                m.id,
                m.msg_id,
                m.status.as_str()
            );
            out!(
                "The receiver answered: {} {}",
                m.last_code
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "(nothing)".into()),
                m.last_reply.unwrap_or_default()
            );
            if m.status != engine::state::alerts::DeliveryStatus::Delivered {
                return Err(CliError::new(
                    Exit::Internal,
                    format!("the test message to `{channel}` was not delivered"),
                ));
            }
        }
        NotifyCommand::Preview { fingerprint, files } => {
            let notify = files.load()?;
            let store = AlertStore::open_in(data_dir)?;
            let Some(record) = store.get(&fingerprint)? else {
                return Err(CliError::new(
                    Exit::NoInput,
                    format!("there is no alert `{fingerprint}` (see `actionboard alerts list`)"),
                ));
            };
            if notify.routes.is_empty() {
                out!(
                    "No routes in {}: alerts reach no channel.",
                    files.path().display()
                );
            }
            let pages = record.status == engine::state::Status::Open;
            for line in engine::notify::preview(&notify, &record.alert) {
                out!(
                    "route {} ({}): {} → {}",
                    line.route,
                    line.send,
                    line.why,
                    if line.matches {
                        line.channels.join(", ")
                    } else {
                        "not sent".to_string()
                    }
                );
            }
            if !pages {
                out!(
                    "The alert is {}: it does not page (only open alerts do); digests list it while it is open, acknowledged or snoozed.",
                    record.status.as_str()
                );
            }
        }
    }
    Ok(())
}

/// How often the server's worker looks for due messages.
const WORKER_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// The server's delivery worker: drains the outbox every two seconds on a blocking thread, for
/// as long as the server runs. Nothing is started when notify.yml has no channels.
pub fn spawn_worker(data_dir: &Path, notify: Notify) {
    if notify.channels.is_empty() {
        return;
    }
    let data_dir = data_dir.to_path_buf();
    let notify = std::sync::Arc::new(notify);
    tracing::info!(
        channels = notify.channels.len(),
        "notifications: the delivery worker is running"
    );
    tokio::spawn(async move {
        let options = DrainOptions::new(engine::notify::owner_id(), &notify);
        loop {
            let (dir, n, o) = (data_dir.clone(), notify.clone(), options.clone());
            match tokio::task::spawn_blocking(move || engine::notify::drain(&dir, &n, &o)).await {
                Ok(Ok(done)) if done.sent() + done.cancelled > 0 => tracing::info!(
                    delivered = done.delivered,
                    retrying = done.retrying,
                    failed = done.failed,
                    cancelled = done.cancelled,
                    "notifications sent"
                ),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!("notifications: {e}"),
                Err(e) => tracing::warn!("notifications: the worker stopped: {e}"),
            }
            tokio::time::sleep(WORKER_INTERVAL).await;
        }
    });
}

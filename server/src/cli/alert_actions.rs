//! `actionboard alerts ack|assign|comment|snooze|resolve|dismiss|reopen|feedback FINGERPRINT …
//! --as USER` and `alerts show FINGERPRINT`: acting on one alert from scripts and a shell, with
//! the same checks as the dashboard's forms (the transition table, the version when given).

use std::path::Path;

use clap::{Args, Subcommand};
use display::alert::ActionKind;
use display::Lang;
use engine::state::users::{Role, UserStore};
use engine::state::ActError;
use engine::state::AlertStore;

use super::error::{CliError, Exit};
use super::rule_files::RuleFiles;
use super::{out, OutputFormat};
use crate::acting::{rule_owners, Acting, ActionFields, Refusal};

/// Who acts, and on which version.
#[derive(Debug, Args)]
pub struct Actor {
    /// The alert's fingerprint (`rule:entity:period`, as `alerts list --format json` shows it).
    pub fingerprint: String,
    /// The user acting (an analyst or an admin of `actionboard users`); goes into the history.
    #[arg(long = "as", value_name = "USER")]
    pub user: String,
    /// Act only if the alert is still at this version (else the command fails, naming what
    /// changed meanwhile and changing nothing).
    #[arg(long = "if-version", value_name = "N")]
    pub version: Option<i64>,
    /// An optional note for the history.
    #[arg(long)]
    pub note: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ActCommand {
    /// Acknowledge ("I am on it").
    #[command(alias = "acknowledge")]
    Ack(Actor),
    /// Assign to a user or an owner key of rules.yml, with a due date.
    Assign {
        #[command(flatten)]
        actor: Actor,
        /// A user, or an owner key of rules.yml (e.g. apac_desk).
        #[arg(long)]
        to: String,
        /// YYYY-MM-DD (due at the end of that day, UTC).
        #[arg(long)]
        due: Option<String>,
        #[command(flatten)]
        files: RuleFiles,
    },
    /// Add a comment (plain text, up to 4 KB, kept forever).
    Comment {
        #[command(flatten)]
        actor: Actor,
        /// The comment.
        text: String,
    },
    /// Snooze until a time, until the value gets X % worse, or until the next load.
    Snooze {
        #[command(flatten)]
        actor: Actor,
        /// YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC).
        #[arg(long, group = "how")]
        until: Option<String>,
        /// Wake when the alert's value is this many percent worse than now.
        #[arg(long, group = "how")]
        worse: Option<String>,
        /// Wake at the next load.
        #[arg(long, group = "how")]
        next_load: bool,
    },
    /// Resolve (with --note saying what was done).
    Resolve(Actor),
    /// Dismiss as noise, expected, duplicate or data_issue.
    Dismiss {
        #[command(flatten)]
        actor: Actor,
        #[arg(long)]
        reason: String,
    },
    /// Reopen a resolved, dismissed or cleared alert.
    Reopen(Actor),
    /// Mark the alert useful or not_useful (for tuning its rule).
    Feedback {
        #[command(flatten)]
        actor: Actor,
        /// useful or not_useful
        verdict: String,
    },
    /// One alert with its state and its whole history.
    Show {
        fingerprint: String,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
}

pub fn run(data_dir: &Path, cmd: ActCommand) -> Result<(), CliError> {
    let (kind, actor, fields, owners) = match cmd {
        ActCommand::Show {
            fingerprint,
            format,
        } => return show(data_dir, &fingerprint, format),
        ActCommand::Ack(a) => (ActionKind::Acknowledge, a, ActionFields::default(), None),
        ActCommand::Resolve(a) => (ActionKind::Resolve, a, ActionFields::default(), None),
        ActCommand::Reopen(a) => (ActionKind::Reopen, a, ActionFields::default(), None),
        ActCommand::Comment { actor, text } => (
            ActionKind::Comment,
            actor,
            ActionFields {
                text: Some(text),
                ..ActionFields::default()
            },
            None,
        ),
        ActCommand::Dismiss { actor, reason } => (
            ActionKind::Dismiss,
            actor,
            ActionFields {
                reason: Some(reason),
                ..ActionFields::default()
            },
            None,
        ),
        ActCommand::Feedback { actor, verdict } => (
            ActionKind::Feedback,
            actor,
            ActionFields {
                useful: Some(verdict),
                ..ActionFields::default()
            },
            None,
        ),
        ActCommand::Assign {
            actor,
            to,
            due,
            files,
        } => {
            let owners = rule_owners(&files.config, &files.metrics_path(), &files.rules_path())
                .map_err(|e| CliError::new(Exit::Config, format!("{e}\n  (assignees are users or owners of rules.yml; --config names the sources file beside it)")))?;
            (
                ActionKind::Assign,
                actor,
                ActionFields {
                    owner: Some(to),
                    due,
                    ..ActionFields::default()
                },
                Some(owners),
            )
        }
        ActCommand::Snooze {
            actor,
            until,
            worse,
            next_load,
        } => {
            let how = match (&until, &worse, next_load) {
                (Some(_), _, _) => "until",
                (_, Some(_), _) => "worse",
                (_, _, true) => "next_load",
                _ => {
                    return Err(CliError::new(
                        Exit::Usage,
                        "say how long to snooze: --until TIME, --worse PCT or --next-load",
                    ))
                }
            };
            (
                ActionKind::Snooze,
                actor,
                ActionFields {
                    snooze: Some(how.into()),
                    until,
                    pct: worse,
                    ..ActionFields::default()
                },
                None,
            )
        }
    };
    let fields = ActionFields {
        note: actor.note.clone(),
        ..fields
    };
    let user = UserStore::open_in(data_dir)
        .and_then(|u| u.user(&actor.user))
        ?
        .ok_or_else(|| {
            format!(
                "there is no user `{}` (see `actionboard users list`; add one with `actionboard users add NAME --role analyst`)",
                actor.user
            )
        })?;
    if user.role < Role::Analyst {
        return Err(CliError::new(
            Exit::Usage,
            format!(
                "`{}` is a {}; only analysts and admins act on alerts (`actionboard users add {} --role analyst`)",
                user.name, user.role, user.name
            ),
        ));
    }
    let acting = Acting::new(data_dir, owners.unwrap_or_default());
    match acting.act(kind, &actor.fingerprint, &fields, actor.version, &user.name) {
        Ok(acted) => {
            out!(
                "{}: {} by {} (now {}, version {}).",
                actor.fingerprint,
                kind.as_str(),
                user.name,
                acted.status.as_str(),
                acted.version
            );
            Ok(())
        }
        Err(Refusal::Field(message)) => Err(CliError::new(
            Exit::Usage,
            format!("{} / {}", message.en, message.ko),
        )),
        Err(Refusal::UnknownAssignee(message)) => Err(CliError::new(
            Exit::NoInput,
            format!("{} / {}", message.en, message.ko),
        )),
        Err(Refusal::Act(e @ ActError::Conflict { .. })) => {
            let ActError::Conflict { ref since, .. } = e else {
                unreachable!()
            };
            let mut message = e.message().en;
            for ev in since {
                message.push_str(&format!(
                    "\n  v{} {} {} {}{}",
                    ev.version.unwrap_or_default(),
                    ev.at.format("%Y-%m-%d %H:%M:%S"),
                    ev.actor,
                    ev.kind,
                    ev.note
                        .as_deref()
                        .map(|n| format!(": {n}"))
                        .unwrap_or_default()
                ));
            }
            // Someone acted meanwhile: look at the changes, then try again.
            Err(CliError::new(Exit::Busy, message))
        }
        Err(Refusal::Act(e)) => {
            let m = e.message();
            let exit = match &e {
                ActError::NoSuchAlert(_) => Exit::NoInput,
                ActError::NotAllowed { .. } | ActError::Invalid(_) => Exit::Usage,
                _ => Exit::Internal,
            };
            Err(CliError::new(exit, format!("{}\n  {}", m.en, m.ko)))
        }
    }
}

fn show(data_dir: &Path, fingerprint: &str, format: OutputFormat) -> Result<(), CliError> {
    let mut store = AlertStore::open_in(data_dir)?;
    store.wake_expired(chrono::Utc::now())?;
    let record = store.get(fingerprint)?.ok_or_else(|| {
        CliError::new(
            Exit::NoInput,
            format!("no alert `{fingerprint}` (see `actionboard alerts list`)"),
        )
    })?;
    let history = store.history(fingerprint)?;
    match format {
        OutputFormat::Json => {
            let value = serde_json::json!({ "record": record, "history": history });
            let text = serde_json::to_string_pretty(&value)?;
            out!("{text}");
        }
        OutputFormat::Text => {
            out!(
                "{}  {}  version {}  {}",
                record.alert.fingerprint,
                record.status.as_str(),
                record.version,
                record.alert.title.get(Lang::En)
            );
            if let Some(a) = &record.assignee {
                out!("  assigned to {a}");
            }
            if let Some(due) = record.due() {
                out!("  due {}", due.format("%Y-%m-%d"));
            }
            if let Some(s) = &record.snooze {
                out!("  snoozed {}", s.describe(Lang::En));
            }
            for e in history {
                let change = match (e.from_status, e.to_status) {
                    (Some(f), Some(t)) => format!(" ({} → {})", f.as_str(), t.as_str()),
                    (None, Some(t)) => format!(" (→ {})", t.as_str()),
                    _ => String::new(),
                };
                out!(
                    "  v{:<3} {} {:<8} {}{change}{}",
                    e.version.unwrap_or_default(),
                    e.at.format("%Y-%m-%d %H:%M:%S"),
                    e.actor,
                    e.kind,
                    e.note.map(|n| format!(": {n}")).unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}

//! What a person asks of an alert (an action with its note, assignee, snooze …), checked, and the
//! messages of a refusal.

use chrono::{DateTime, Utc};
use display::alert::{ActionKind, DismissReason, Event, Status};

use super::store::StateError;

/// Longest comment or note kept, in bytes (a few KB of plain text).
pub const MAX_TEXT_BYTES: usize = 4096;
/// Longest assignee name.
pub const MAX_ASSIGNEE_CHARS: usize = 100;

/// What a person does to one alert, with what the action needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Act {
    Acknowledge {
        note: Option<String>,
    },
    /// `to`: a user or an owner key of rules.yml (the caller checks which names exist);
    /// `due`: the new due date, or keep the current one.
    Assign {
        to: String,
        due: Option<DateTime<Utc>>,
    },
    Comment {
        text: String,
    },
    Snooze(SnoozeRequest),
    Resolve {
        note: Option<String>,
    },
    Dismiss {
        reason: DismissReason,
        note: Option<String>,
    },
    Reopen {
        note: Option<String>,
    },
    Feedback {
        useful: bool,
        note: Option<String>,
    },
}

/// How long to snooze.
#[derive(Debug, Clone, PartialEq)]
pub enum SnoozeRequest {
    /// Until this time (must be later than now).
    Until(DateTime<Utc>),
    /// Until the alert's value is this many percent worse than now (0 < pct ≤ 1000).
    Worse { pct: f64 },
    /// Until the next load (a merge of another run).
    NextLoad,
}

impl Act {
    pub fn kind(&self) -> ActionKind {
        match self {
            Act::Acknowledge { .. } => ActionKind::Acknowledge,
            Act::Assign { .. } => ActionKind::Assign,
            Act::Comment { .. } => ActionKind::Comment,
            Act::Snooze(_) => ActionKind::Snooze,
            Act::Resolve { .. } => ActionKind::Resolve,
            Act::Dismiss { .. } => ActionKind::Dismiss,
            Act::Reopen { .. } => ActionKind::Reopen,
            Act::Feedback { .. } => ActionKind::Feedback,
        }
    }
}

/// What an accepted action left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acted {
    pub status: Status,
    /// The alert's version after the action (the next form carries it).
    pub version: i64,
}

/// What is wrong with what a person typed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    #[error("the comment is empty")]
    EmptyComment,
    #[error("the text is {bytes} bytes long; at most {MAX_TEXT_BYTES} are kept")]
    TooLong { bytes: usize },
    #[error("the text contains a NUL character")]
    NulCharacter,
    #[error("say whom to assign it to (a user or an owner of rules.yml)")]
    EmptyAssignee,
    #[error("`{0}` is not a valid assignee name (at most {MAX_ASSIGNEE_CHARS} characters, no control characters)")]
    BadAssignee(String),
    #[error("the due date {due} is before the alert opened ({opened})")]
    DueBeforeOpened { due: String, opened: String },
    #[error("the snooze ends at {until}, which is not in the future")]
    SnoozeInPast { until: String },
    #[error("the percentage must be a number above 0 and at most 1000, not {0}")]
    BadPercent(f64),
    #[error("this alert has no value to watch, so it cannot be snoozed until it gets worse; snooze until a time or the next load")]
    NoValueToWatch,
}

impl InputError {
    pub fn message(&self) -> display::Text {
        let ko = match self {
            InputError::EmptyComment => "댓글이 비어 있습니다.".to_string(),
            InputError::TooLong { bytes } => {
                format!("글이 {bytes}바이트입니다. 최대 {MAX_TEXT_BYTES}바이트까지 저장됩니다.")
            }
            InputError::NulCharacter => "글에 NUL 문자가 있습니다.".to_string(),
            InputError::EmptyAssignee => {
                "담당자(사용자 또는 rules.yml의 담당 부서)를 지정하세요.".to_string()
            }
            InputError::BadAssignee(n) => format!(
                "`{n}`은(는) 올바른 담당자 이름이 아닙니다 (최대 {MAX_ASSIGNEE_CHARS}자, 제어 문자 불가)."
            ),
            InputError::DueBeforeOpened { due, opened } => {
                format!("기한 {due}이(가) 알림이 열린 때({opened})보다 이릅니다.")
            }
            InputError::SnoozeInPast { until } => {
                format!("보류 종료 시각 {until}이(가) 미래가 아닙니다.")
            }
            InputError::BadPercent(p) => {
                format!("비율은 0보다 크고 1000 이하인 숫자여야 합니다 (입력: {p}).")
            }
            InputError::NoValueToWatch => "이 알림에는 지켜볼 값이 없어 '악화될 때까지' 보류할 수 없습니다. 시각이나 다음 적재까지로 보류하세요.".to_string(),
        };
        display::Text::new(format!("{}.", capitalize(&self.to_string())), ko)
    }
}

pub(super) fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Why an action was refused.
#[derive(Debug, thiserror::Error)]
pub enum ActError {
    #[error("no alert `{0}`")]
    NoSuchAlert(String),
    /// The action was based on version `expected`; the alert is at `current` since `since`
    /// (the changes made meanwhile, oldest first). Nothing was changed.
    #[error("the alert changed meanwhile (version {expected} → {current}); look at its history and try again")]
    Conflict {
        expected: i64,
        current: i64,
        since: Vec<Event>,
    },
    /// The transition table does not allow `action` from `status`.
    #[error("cannot {} an alert that is {}", .action.as_str(), .status.as_str())]
    NotAllowed { action: ActionKind, status: Status },
    #[error("{0}")]
    Invalid(InputError),
    #[error(transparent)]
    State(#[from] StateError),
}

impl ActError {
    /// The message for people, in both languages.
    pub fn message(&self) -> display::Text {
        match self {
            ActError::NoSuchAlert(f) => display::Text::new(
                format!("There is no alert `{f}`. It may belong to another data folder."),
                format!("알림 `{f}`이(가) 없습니다. 다른 데이터 폴더의 알림일 수 있습니다."),
            ),
            ActError::Conflict {
                expected, current, ..
            } => display::Text::new(
                format!("Someone changed this alert after you opened it (version {expected}, now {current}); nothing was changed. Look at what changed, then try again."),
                format!("페이지를 연 뒤 다른 사람이 이 알림을 바꿨습니다 (버전 {expected} → {current}). 아무것도 바뀌지 않았습니다. 바뀐 내용을 확인한 뒤 다시 시도하세요."),
            ),
            ActError::NotAllowed { action, status } => {
                let hint_en = if action.allowed_from(Status::Open) && !status.is_active() {
                    " Reopen it first."
                } else {
                    ""
                };
                let hint_ko = if hint_en.is_empty() {
                    ""
                } else {
                    " 먼저 다시 여세요."
                };
                display::Text::new(
                    format!(
                        "An alert that is {} cannot be given “{}”.{hint_en}",
                        status.label().en.to_lowercase(),
                        action.label().en
                    ),
                    format!(
                        "'{}' 상태의 알림에는 '{}'을(를) 할 수 없습니다.{hint_ko}",
                        status.label().ko,
                        action.label().ko
                    ),
                )
            }
            ActError::Invalid(e) => e.message(),
            ActError::State(e) => display::Text::new(
                format!("The alert state could not be written: {e}"),
                format!("알림 상태를 저장하지 못했습니다: {e}"),
            ),
        }
    }
}

pub(super) fn check_text(text: &str) -> Result<(), InputError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(InputError::TooLong { bytes: text.len() });
    }
    if text.contains('\0') {
        return Err(InputError::NulCharacter);
    }
    Ok(())
}

/// A note as kept: trimmed, `None` when empty.
pub(super) fn clean_note(note: &Option<String>) -> Result<Option<String>, InputError> {
    let Some(note) = note.as_deref().map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    check_text(note)?;
    Ok(Some(note.replace("\r\n", "\n")))
}

pub(super) fn with_note(head: String, note: Option<String>) -> String {
    match note {
        Some(n) => format!("{head} — {n}"),
        None => head,
    }
}

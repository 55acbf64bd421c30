//! The texts of notifications (webhook, Slack, Teams, e-mail) and of the deliveries listing, in
//! both languages.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Lang, Text};

/// Why a message is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// A new alert.
    AlertOpened,
    /// An alert that fired again after it was resolved or cleared, or that a person reopened.
    AlertReopened,
    /// A channel that keeps failing.
    ChannelFailing,
    /// An owner's daily digest.
    Digest,
    /// `actionboard notify test`.
    Test,
}

impl Topic {
    pub const ALL: [Topic; 5] = [
        Topic::AlertOpened,
        Topic::AlertReopened,
        Topic::ChannelFailing,
        Topic::Digest,
        Topic::Test,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Topic::AlertOpened => "alert_opened",
            Topic::AlertReopened => "alert_reopened",
            Topic::ChannelFailing => "channel_failing",
            Topic::Digest => "digest",
            Topic::Test => "test",
        }
    }

    pub fn parse(s: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// What the deliveries page calls it.
    pub fn label(self) -> Text {
        let (en, ko) = match self {
            Topic::AlertOpened => ("New alert", "새 알림"),
            Topic::AlertReopened => ("Alert reopened", "알림 재발생"),
            Topic::ChannelFailing => ("Channel failing", "채널 전송 실패"),
            Topic::Digest => ("Daily digest", "일일 요약"),
            Topic::Test => ("Test message", "테스트 메시지"),
        };
        Text::new(en, ko)
    }
}

/// Where a message is in its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    Pending,
    Delivered,
    /// Given up: a final answer (4xx other than 408/429), retries exhausted, channel disabled.
    Failed,
    /// Not sent: the alert was acknowledged, snoozed or dismissed before it went out, or the
    /// channel is no longer configured.
    Cancelled,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 4] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Delivered,
        DeliveryStatus::Failed,
        DeliveryStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Cancelled => "cancelled",
        }
    }

    /// The status of a stored name (`new`, a row the worker has not promoted yet, is pending).
    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        match s {
            "new" => Some(DeliveryStatus::Pending),
            s => DeliveryStatus::ALL.into_iter().find(|d| d.as_str() == s),
        }
    }

    /// What the deliveries page calls it.
    pub fn label(self) -> Text {
        let (en, ko) = match self {
            DeliveryStatus::Pending => ("Pending", "대기"),
            DeliveryStatus::Delivered => ("Sent", "전송됨"),
            DeliveryStatus::Failed => ("Failed (final)", "실패(최종)"),
            DeliveryStatus::Cancelled => ("Not sent", "보내지 않음"),
        };
        Text::new(en, ko)
    }

    /// Whether a person may send it again from the deliveries page: it was given up or not sent.
    pub fn resendable(self) -> bool {
        matches!(self, DeliveryStatus::Failed | DeliveryStatus::Cancelled)
    }
}

/// A channel's health, as the deliveries listing shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelHealth {
    pub id: String,
    /// Failed attempts in a row.
    pub failures: i64,
    pub failing_since: Option<DateTime<Utc>>,
    /// Disabled after a 410 Gone (enabled again by `actionboard notify retry ID --enable-channel`).
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
}

/// One message as the deliveries page shows it (its payload left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRow {
    pub id: i64,
    pub channel: String,
    pub topic: Topic,
    /// The alert it is about, if any.
    pub fingerprint: Option<String>,
    /// A digest's owner.
    pub recipient: Option<String>,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub created_at: DateTime<Utc>,
    /// When it is tried next (pending messages only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The HTTP status, or the SMTP reply code.
    pub last_code: Option<i64>,
    pub last_reply: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A text of the notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyText {
    NewAlert,
    Reopened,
    ChannelFailing,
    TestMessage,
    TestBody,
    OpenAlert,
    RecommendedAction,
    Owner,
    Due,
    Severity,
    Where,
    Period,
    DataIssue,
    DigestSubject,
    DigestIntro,
    DigestOverdue,
    DigestNewlyAssigned,
    DigestOpen,
    Deliveries,
    Channel,
    Status,
    Attempts,
    LastAnswer,
    NextAttempt,
    Resend,
    NoDeliveries,
    SnoozeTomorrow,
    LinkConfirmTitle,
    LinkConfirmIntro,
    LinkActsAs,
    LinkDone,
    LinkRefused,
    Country,
    Alert,
    Kind,
    Sent,
    Created,
    ChannelsHealth,
    ChannelOk,
    ChannelFailingSince,
    ChannelDisabled,
    Resent,
    AnyStatus,
    AnyChannel,
    Filter,
    DeliveriesIntro,
}

impl NotifyText {
    pub fn text(self) -> Text {
        let (en, ko) = match self {
            NotifyText::NewAlert => ("New alert", "새 알림"),
            NotifyText::Reopened => ("Alert reopened", "알림 재발생"),
            NotifyText::ChannelFailing => ("Notification channel failing", "알림 채널 전송 실패"),
            NotifyText::TestMessage => ("Actionboard test message", "Actionboard 테스트 메시지"),
            NotifyText::TestBody => (
                "This channel is set up: Actionboard can reach it.",
                "이 채널이 설정되었습니다: Actionboard가 메시지를 보낼 수 있습니다.",
            ),
            NotifyText::OpenAlert => ("Open in Actionboard", "Actionboard에서 열기"),
            NotifyText::RecommendedAction => ("Recommended action", "권장 조치"),
            NotifyText::Owner => ("Owner", "담당"),
            NotifyText::Due => ("Due", "기한"),
            NotifyText::Severity => ("Severity", "심각도"),
            NotifyText::Where => ("Where", "대상"),
            NotifyText::Period => ("Period", "기간"),
            NotifyText::DataIssue => (
                "Check the data first: the inputs include rejected or flagged rows.",
                "먼저 데이터를 확인하세요: 입력에 거부되었거나 표시된 행이 있습니다.",
            ),
            NotifyText::DigestSubject => ("Your alerts today", "오늘의 담당 알림"),
            NotifyText::DigestIntro => (
                "Your open, overdue and newly assigned alerts, by country.",
                "담당하신 미해결, 기한 초과, 새로 배정된 알림입니다(국가별).",
            ),
            NotifyText::DigestOverdue => ("Overdue", "기한 초과"),
            NotifyText::DigestNewlyAssigned => ("Newly assigned", "새로 배정됨"),
            NotifyText::DigestOpen => ("Open", "미해결"),
            NotifyText::Deliveries => ("Deliveries", "알림 전송"),
            NotifyText::Channel => ("Channel", "채널"),
            NotifyText::Status => ("Status", "상태"),
            NotifyText::Attempts => ("Attempts", "시도"),
            NotifyText::LastAnswer => ("Last answer", "마지막 응답"),
            NotifyText::NextAttempt => ("Next attempt", "다음 시도"),
            NotifyText::Resend => ("Resend", "다시 보내기"),
            NotifyText::NoDeliveries => ("No messages yet.", "아직 보낸 메시지가 없습니다."),
            NotifyText::SnoozeTomorrow => ("Snooze until tomorrow 9:00", "내일 9:00까지 보류"),
            NotifyText::LinkConfirmTitle => ("Confirm the action", "작업 확인"),
            NotifyText::LinkConfirmIntro => (
                "Nothing has changed yet: press the button to do this.",
                "아직 아무것도 바뀌지 않았습니다. 버튼을 눌러야 처리됩니다.",
            ),
            NotifyText::LinkActsAs => ("Acting as", "처리자"),
            NotifyText::LinkDone => ("Done", "처리했습니다"),
            NotifyText::LinkRefused => ("This link cannot be used", "이 링크는 사용할 수 없습니다"),
            NotifyText::Country => ("Country", "국가"),
            NotifyText::Alert => ("Alert", "알림"),
            NotifyText::Kind => ("Kind", "종류"),
            NotifyText::Sent => ("Sent", "전송 시각"),
            NotifyText::Created => ("Written", "작성 시각"),
            NotifyText::ChannelsHealth => ("Channels", "채널 상태"),
            NotifyText::ChannelOk => ("working", "정상"),
            NotifyText::ChannelFailingSince => ("failing since", "실패 시작"),
            NotifyText::ChannelDisabled => (
                "disabled (the receiver answered 410 Gone) since",
                "사용 중지됨(수신 측이 410 Gone 응답) 시각",
            ),
            NotifyText::Resent => (
                "will be sent again within seconds, with the same webhook-id.",
                "번 메시지를 곧 같은 webhook-id로 다시 보냅니다.",
            ),
            NotifyText::AnyStatus => ("Any status", "모든 상태"),
            NotifyText::AnyChannel => ("Any channel", "모든 채널"),
            NotifyText::Filter => ("Show", "보기"),
            NotifyText::DeliveriesIntro => (
                "Every notification message, newest first: where it went, how it was answered, and when it is tried next. Failed messages can be sent again.",
                "모든 알림 메시지(최신순): 보낸 곳, 수신 측 응답, 다음 시도 시각. 실패한 메시지는 다시 보낼 수 있습니다.",
            ),
        };
        Text::new(en, ko)
    }

    pub fn get(self, lang: Lang) -> String {
        self.text().get(lang).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_has_both_languages() {
        for t in [
            NotifyText::NewAlert,
            NotifyText::Reopened,
            NotifyText::OpenAlert,
            NotifyText::DigestSubject,
            NotifyText::Resend,
        ] {
            let text = t.text();
            assert!(!text.en.is_empty() && !text.ko.is_empty());
            assert_ne!(text.en, text.ko);
        }
    }
}

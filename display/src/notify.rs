//! The texts of notifications (webhook, Slack, Teams, e-mail) and of the deliveries listing, in
//! both languages.

use crate::{Lang, Text};

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

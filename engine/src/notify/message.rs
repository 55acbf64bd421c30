//! What a message says, and its payload for each kind of channel: a Standard Webhooks JSON
//! event, Slack Block Kit, a Teams Adaptive Card, an e-mail with HTML and text parts.

use chrono::{DateTime, Utc};
use display::alert::AlertRecord;
use display::notify::NotifyText as T;
use display::Lang;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::link::Link;
use crate::notify_config::ChannelKind;
use crate::state::alerts::Topic;

/// One message, before it is shaped for a channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Content {
    /// `alert.opened`, `alert.reopened`, `channel.failing`, `digest`, `test`.
    pub event_type: String,
    pub lang: String,
    pub headline: String,
    pub title: String,
    /// Label and value, in order.
    pub facts: Vec<(String, String)>,
    /// Paragraphs (recommended actions, a digest's groups).
    pub paragraphs: Vec<String>,
    /// The button: its label and address.
    pub link: Option<(String, String)>,
    /// The signed acting links (acknowledge, snooze until tomorrow 9:00) before the button,
    /// for the person the message acts as (`notify::link`); none for a message to nobody.
    #[serde(default)]
    pub actions: Vec<Link>,
    /// The webhook's `data`: the facts for machines.
    pub data: serde_json::Value,
}

fn event_type(topic: Topic) -> &'static str {
    match topic {
        Topic::AlertOpened => "alert.opened",
        Topic::AlertReopened => "alert.reopened",
        Topic::ChannelFailing => "channel.failing",
        Topic::Digest => "digest",
        Topic::Test => "test",
    }
}

/// An alert event's message for a reader of `lang`.
pub fn alert_content(
    topic: Topic,
    record: &AlertRecord,
    lang: Lang,
    base_url: &str,
    version: Option<i64>,
) -> Content {
    let a = &record.alert;
    let link = crate::export::alert_link(base_url, &a.fingerprint);
    let headline = match topic {
        Topic::AlertReopened => T::Reopened.get(lang),
        _ => T::NewAlert.get(lang),
    };
    let mut facts = vec![
        (
            T::Severity.get(lang),
            a.severity.label().get(lang).to_string(),
        ),
        (T::Where.get(lang), a.entity_name.clone()),
        (T::Period.get(lang), a.period.clone()),
    ];
    let mut paragraphs = vec![a.explanation.get(lang).to_string()];
    for action in &a.actions {
        let due = record.opened_at + chrono::Duration::days(i64::from(action.due_days));
        facts.push((T::Owner.get(lang), action.owner_label.get(lang).to_string()));
        paragraphs.push(format!(
            "{}: {} ({} {})",
            T::RecommendedAction.get(lang),
            action.text.get(lang),
            T::Due.get(lang),
            due.format("%Y-%m-%d")
        ));
    }
    if a.data_issue {
        paragraphs.push(T::DataIssue.get(lang));
    }
    let data = json!({
        "fingerprint": a.fingerprint,
        "rule_id": a.rule_id,
        "severity": a.severity.as_str(),
        "status": record.status.as_str(),
        "entity": a.entity,
        "entity_name": a.entity_name,
        "region": a.region,
        "period": a.period,
        "title": a.title.get(lang),
        "explanation": a.explanation.get(lang),
        "data_issue": a.data_issue,
        "version": version,
        "owners": a.actions.iter().map(|x| x.owner.as_str()).collect::<Vec<_>>(),
        "actions": a.actions.iter().map(|x| json!({
            "text": x.text.get(lang),
            "owner": x.owner,
            "due": (record.opened_at + chrono::Duration::days(i64::from(x.due_days))).format("%Y-%m-%d").to_string(),
        })).collect::<Vec<_>>(),
        "url": link,
    });
    Content {
        event_type: event_type(topic).to_string(),
        lang: lang.code().to_string(),
        headline,
        title: a.title.get(lang).to_string(),
        facts,
        paragraphs,
        link: Some((T::OpenAlert.get(lang), link)),
        actions: Vec::new(),
        data,
    }
}

/// `actionboard notify test`'s message.
pub fn test_content(channel: &str, lang: Lang, base_url: &str) -> Content {
    Content {
        event_type: event_type(Topic::Test).to_string(),
        lang: lang.code().to_string(),
        headline: T::TestMessage.get(lang),
        title: T::TestMessage.get(lang),
        facts: vec![(T::Channel.get(lang), channel.to_string())],
        paragraphs: vec![T::TestBody.get(lang)],
        link: Some((T::OpenAlert.get(lang), base_url.to_string())),
        actions: Vec::new(),
        data: json!({ "channel": channel }),
    }
}

/// The message about a channel that keeps failing, sent to the other channels.
pub fn channel_failing_content(channel: &str, why: &str, lang: Lang, base_url: &str) -> Content {
    Content {
        event_type: event_type(Topic::ChannelFailing).to_string(),
        lang: lang.code().to_string(),
        headline: T::ChannelFailing.get(lang),
        title: format!("{}: {channel}", T::ChannelFailing.get(lang)),
        facts: vec![(T::Channel.get(lang), channel.to_string())],
        paragraphs: vec![why.to_string()],
        link: Some((
            T::Deliveries.get(lang),
            format!("{}/deliveries", base_url.trim_end_matches('/')),
        )),
        actions: Vec::new(),
        data: json!({ "channel": channel, "reason": why }),
    }
}

impl Content {
    /// The message's links by name for machines: `open` and each acting link's action
    /// (`acknowledge`, `snooze_tomorrow_9`).
    pub fn links_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for l in &self.actions {
            map.insert(l.action.clone(), json!(l.url));
        }
        if let Some((_, url)) = &self.link {
            map.insert("open".into(), json!(url));
        }
        serde_json::Value::Object(map)
    }

    /// Every button in order: the acting links, then "open".
    fn buttons(&self) -> impl Iterator<Item = (&str, &str)> {
        self.actions
            .iter()
            .map(|l| (l.label.as_str(), l.url.as_str()))
            .chain(self.link.iter().map(|(l, u)| (l.as_str(), u.as_str())))
    }
}

/// An e-mail's parts, as the outbox keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Slack's mrkdwn treats `&`, `<` and `>` as markup.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The body sent to a channel of `kind` (JSON for HTTP channels; a [`Mail`] as JSON for e-mail).
pub fn payload(kind: ChannelKind, c: &Content, at: DateTime<Utc>) -> String {
    let value = match kind {
        ChannelKind::Webhook => json!({
            "type": c.event_type,
            "timestamp": crate::base::time::timestamp(at),
            "lang": c.lang,
            "data": c.data,
            "links": c.links_json(),
        }),
        ChannelKind::Slack => {
            let facts: Vec<serde_json::Value> = c
                .facts
                .iter()
                .map(|(k, v)| {
                    json!({"type": "mrkdwn", "text": format!("*{}*\n{}", slack_escape(k), slack_escape(v))})
                })
                .collect();
            let mut blocks = vec![
                json!({"type": "header", "text": {"type": "plain_text", "text": c.headline.chars().take(150).collect::<String>()}}),
                json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*{}*", slack_escape(&c.title))}}),
            ];
            if !facts.is_empty() {
                // Slack takes at most 10 fields per section.
                blocks.push(json!({"type": "section", "fields": facts.into_iter().take(10).collect::<Vec<_>>()}));
            }
            for p in &c.paragraphs {
                blocks.push(
                    json!({"type": "section", "text": {"type": "mrkdwn", "text": slack_escape(p)}}),
                );
            }
            let buttons: Vec<serde_json::Value> = c
                .buttons()
                .enumerate()
                .map(|(i, (label, url))| {
                    json!({"type": "button", "action_id": format!("link_{i}"), "text": {"type": "plain_text", "text": label}, "url": url})
                })
                .collect();
            if !buttons.is_empty() {
                blocks.push(json!({"type": "actions", "elements": buttons}));
            }
            json!({ "text": format!("{}: {}", c.headline, c.title), "blocks": blocks })
        }
        ChannelKind::Teams => {
            let mut body = vec![
                json!({"type": "TextBlock", "text": c.headline, "weight": "Bolder", "size": "Medium", "wrap": true}),
                json!({"type": "TextBlock", "text": c.title, "wrap": true}),
                json!({"type": "FactSet", "facts": c.facts.iter().map(|(k, v)| json!({"title": k, "value": v})).collect::<Vec<_>>()}),
            ];
            for p in &c.paragraphs {
                body.push(json!({"type": "TextBlock", "text": p, "wrap": true}));
            }
            let actions: Vec<serde_json::Value> = c
                .buttons()
                .map(|(label, url)| json!({"type": "Action.OpenUrl", "title": label, "url": url}))
                .collect();
            json!({
                "type": "message",
                "attachments": [{
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": null,
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": body,
                        "actions": actions,
                    }
                }]
            })
        }
        ChannelKind::Email => {
            let mut text = format!("{}\n\n{}\n\n", c.headline, c.title);
            let mut html = format!(
                "<!doctype html><html lang=\"{}\"><body><p><strong>{}</strong></p><h2>{}</h2><table>",
                c.lang,
                escape(&c.headline),
                escape(&c.title)
            );
            for (k, v) in &c.facts {
                text.push_str(&format!("{k}: {v}\n"));
                html.push_str(&format!(
                    "<tr><th align=\"left\">{}</th><td>{}</td></tr>",
                    escape(k),
                    escape(v)
                ));
            }
            html.push_str("</table>");
            for p in &c.paragraphs {
                text.push_str(&format!("\n{p}\n"));
                html.push_str(&format!("<p>{}</p>", escape(p)));
            }
            let mut first = true;
            for (label, url) in c.buttons() {
                text.push_str(&format!(
                    "{}{label}: {url}\n",
                    if first { "\n" } else { "" }
                ));
                first = false;
                html.push_str(&format!(
                    "<p><a href=\"{}\">{}</a></p>",
                    escape(url),
                    escape(label)
                ));
            }
            html.push_str("</body></html>");
            let mail = Mail {
                subject: format!("[Actionboard] {}: {}", c.headline, c.title),
                text,
                html,
            };
            serde_json::to_value(mail).unwrap_or_default()
        }
    };
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::link::{LinkSecret, Linker};

    #[test]
    fn every_channel_carries_the_acting_links_and_open() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let linker = Linker {
            secret: LinkSecret::from_bytes(&[3; 32]),
            ttl: std::time::Duration::from_secs(86_400),
            base_url: "https://board.example".into(),
        };
        let mut c = test_content("ops", Lang::En, "https://board.example/alerts/fp");
        c.actions = linker.links("fp", Some("kim"), Lang::En, now);
        let urls: Vec<String> = c.actions.iter().map(|l| l.url.clone()).collect();
        assert_eq!(urls.len(), 2);
        let webhook: serde_json::Value =
            serde_json::from_str(&payload(ChannelKind::Webhook, &c, now)).unwrap();
        assert_eq!(webhook["links"]["acknowledge"], urls[0].as_str());
        assert_eq!(webhook["links"]["snooze_tomorrow_9"], urls[1].as_str());
        assert_eq!(webhook["links"]["open"], "https://board.example/alerts/fp");
        let slack: serde_json::Value =
            serde_json::from_str(&payload(ChannelKind::Slack, &c, now)).unwrap();
        let buttons = slack["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["type"] == "actions")
            .unwrap()["elements"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(buttons.len(), 3);
        assert_eq!(buttons[0]["url"], urls[0].as_str());
        assert_eq!(buttons[0]["text"]["text"], "Acknowledge");
        assert_eq!(buttons[1]["text"]["text"], "Snooze until tomorrow 9:00");
        let teams: serde_json::Value =
            serde_json::from_str(&payload(ChannelKind::Teams, &c, now)).unwrap();
        let actions = teams["attachments"][0]["content"]["actions"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(actions.len(), 3);
        assert!(actions.iter().all(|a| a["type"] == "Action.OpenUrl"));
        assert_eq!(actions[1]["url"], urls[1].as_str());
        let mail: Mail = serde_json::from_str(&payload(ChannelKind::Email, &c, now)).unwrap();
        for url in &urls {
            assert!(mail.text.contains(url.as_str()), "{}", mail.text);
            assert!(
                mail.html.contains(&format!("href=\"{url}\"")),
                "{}",
                mail.html
            );
        }
        // No recipient: only "open".
        c.actions = linker.links("fp", None, Lang::En, now);
        let webhook: serde_json::Value =
            serde_json::from_str(&payload(ChannelKind::Webhook, &c, now)).unwrap();
        assert_eq!(
            webhook["links"],
            serde_json::json!({"open": "https://board.example/alerts/fp"})
        );
    }
}

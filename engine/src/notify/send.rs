//! Sending one message to one channel, and what its answer means: delivered, try again (and
//! when), or final.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::message::Mail;
use super::sign::Secrets;
use crate::notify_config::{Channel, ChannelKind, Smtp};

/// What the receiver answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status, or the SMTP reply code; `None` when nothing answered.
    pub code: Option<i64>,
    /// The start of the answer's body, the SMTP reply, or the error.
    pub reply: String,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Try again; not before `Retry-After` when the receiver gave one.
    Retry {
        after: Option<Duration>,
    },
    /// Do not try again (a 4xx other than 408 and 429, a 5xx SMTP reply).
    Final,
    /// 410 Gone: the receiver is gone; the channel is disabled.
    Gone,
}

/// At most this much of an answer is kept.
const MAX_REPLY: u64 = 2048;

/// Sends messages; holds the HTTP connections (kept alive between messages).
pub struct Sender {
    agent: ureq::Agent,
    timeout: Duration,
}

impl Sender {
    pub fn new(timeout: Duration) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("actionboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Sender { agent, timeout }
    }

    /// Sends `body` (as [`super::message::payload`] shaped it for the channel) with the id
    /// `msg_id`; `recipient` overrides an e-mail channel's `to` (a digest's owner).
    pub fn send(
        &self,
        channel: &Channel,
        msg_id: &str,
        body: &str,
        recipient: Option<&str>,
        now: DateTime<Utc>,
    ) -> Answer {
        match (channel.kind, &channel.url, &channel.smtp) {
            (ChannelKind::Email, _, Some(smtp)) => self.send_mail(smtp, body, recipient),
            (_, Some(url), _) => self.post(channel, url, msg_id, body, now),
            _ => Answer {
                code: None,
                reply: format!("channel `{}` has no address", channel.id),
                verdict: Verdict::Final,
            },
        }
    }

    fn post(
        &self,
        channel: &Channel,
        url: &str,
        msg_id: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> Answer {
        let mut request = self
            .agent
            .post(url)
            .header("content-type", "application/json");
        if channel.kind == ChannelKind::Webhook {
            let Some(var) = &channel.secret_env else {
                return config_problem(format!("channel `{}` has no secret_env", channel.id));
            };
            let secrets = match Secrets::from_env(var) {
                Ok(s) => s,
                // Retried: once the variable is set (and the server restarted), it goes out.
                Err(e) => return config_problem(e.to_string()),
            };
            let timestamp = now.timestamp();
            request = request
                .header("webhook-id", msg_id)
                .header("webhook-timestamp", &timestamp.to_string())
                .header(
                    "webhook-signature",
                    &secrets.sign(msg_id, timestamp, body.as_bytes()),
                );
        }
        match request.send(body) {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| retry_after(v, now));
                let reply = resp
                    .body_mut()
                    .with_config()
                    .limit(MAX_REPLY)
                    .read_to_string()
                    .unwrap_or_default();
                let verdict = match status {
                    200..=299 => Verdict::Delivered,
                    410 => Verdict::Gone,
                    408 | 429 | 500..=599 => Verdict::Retry { after: retry_after },
                    _ => Verdict::Final,
                };
                Answer {
                    code: Some(i64::from(status)),
                    reply: reply.chars().take(500).collect(),
                    verdict,
                }
            }
            Err(e) => Answer {
                code: None,
                reply: match e {
                    ureq::Error::Timeout(_) => {
                        format!("no answer within {} s", self.timeout.as_secs())
                    }
                    e => e.to_string(),
                },
                verdict: Verdict::Retry { after: None },
            },
        }
    }

    fn send_mail(&self, smtp: &Smtp, body: &str, recipient: Option<&str>) -> Answer {
        use lettre::message::{Mailbox, MultiPart};
        use lettre::transport::smtp::authentication::Credentials;
        use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
        use lettre::{Message, SmtpTransport, Transport};

        let mail: Mail = match serde_json::from_str(body) {
            Ok(m) => m,
            Err(e) => {
                return Answer {
                    code: None,
                    reply: format!("the stored e-mail cannot be read: {e}"),
                    verdict: Verdict::Final,
                }
            }
        };
        let bad_address = |a: &str, e: String| Answer {
            code: None,
            reply: format!("`{a}` is not an e-mail address: {e}"),
            verdict: Verdict::Final,
        };
        let from: Mailbox = match smtp.from.parse() {
            Ok(m) => m,
            Err(e) => return bad_address(&smtp.from, format!("{e}")),
        };
        let mut builder = Message::builder().from(from).subject(mail.subject);
        let to: Vec<&str> = match recipient {
            Some(r) => vec![r],
            None => smtp.to.iter().map(String::as_str).collect(),
        };
        if to.is_empty() {
            return Answer {
                code: None,
                reply: "no recipient: give the channel `to` addresses".into(),
                verdict: Verdict::Final,
            };
        }
        for a in to {
            match a.parse::<Mailbox>() {
                Ok(m) => builder = builder.to(m),
                Err(e) => return bad_address(a, format!("{e}")),
            }
        }
        let message =
            match builder.multipart(MultiPart::alternative_plain_html(mail.text, mail.html)) {
                Ok(m) => m,
                Err(e) => {
                    return Answer {
                        code: None,
                        reply: format!("the e-mail cannot be built: {e}"),
                        verdict: Verdict::Final,
                    }
                }
            };
        let transport = if smtp.starttls {
            // The public roots, and the channel's own authorities (`tls_ca_file`).
            let mut tls = TlsParameters::builder(smtp.host.clone());
            if let Some(pem) = &smtp.tls_ca_pem {
                match Certificate::from_pem(pem.as_bytes()) {
                    Ok(cert) => tls = tls.add_root_certificate(cert),
                    Err(e) => {
                        return config_problem(format!("tls_ca_file of SMTP {}: {e}", smtp.host))
                    }
                }
            }
            match tls.build_rustls() {
                Ok(params) => {
                    SmtpTransport::builder_dangerous(&smtp.host).tls(Tls::Required(params))
                }
                Err(e) => return config_problem(format!("SMTP {}: {e}", smtp.host)),
            }
        } else {
            SmtpTransport::builder_dangerous(&smtp.host)
        };
        let mut transport = transport.port(smtp.port).timeout(Some(self.timeout));
        if let (Some(user), Some(pass)) = (&smtp.username_env, &smtp.password_env) {
            match (std::env::var(user), std::env::var(pass)) {
                (Ok(u), Ok(p)) => transport = transport.credentials(Credentials::new(u, p)),
                _ => {
                    return config_problem(format!(
                        "the environment variables {user} and {pass} must hold the SMTP user and password"
                    ))
                }
            }
        }
        match transport.build().send(&message) {
            Ok(response) => Answer {
                code: Some(i64::from(u16::from(response.code()))),
                reply: response.message().collect::<Vec<_>>().join(" "),
                verdict: Verdict::Delivered,
            },
            Err(e) => Answer {
                code: e.status().map(|c| i64::from(u16::from(c))),
                reply: e.to_string(),
                verdict: if e.is_permanent() {
                    Verdict::Final
                } else {
                    Verdict::Retry { after: None }
                },
            },
        }
    }
}

fn config_problem(reply: String) -> Answer {
    Answer {
        code: None,
        reply,
        verdict: Verdict::Retry { after: None },
    }
}

/// `Retry-After`: seconds, or an HTTP date.
fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    (at - now).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Mon, 07 Dec 2026 10:01:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(retry_after("soon", now), None);
    }
}

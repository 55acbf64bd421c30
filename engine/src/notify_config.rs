//! `config/notify.yml`: where alerts are sent. Serde types that mirror the file (unknown keys are
//! errors) validated once into [`Notify`], the runtime object the alert state (which writes the
//! outbox) and the delivery worker read. Secrets are never in the file: a channel names the
//! environment variable that holds its secret, read when a message is sent.
//!
//! ```yaml
//! channels:
//!   - id: ops-hook
//!     kind: webhook                      # webhook | slack | teams | email
//!     url: https://hooks.example.com/actionboard
//!     secret_env: ACTIONBOARD_HOOK_SECRET   # whsec_… ; the secret itself never in the file
//! routes:
//!   - match: { severity: [critical, high] }
//!     send: immediately                  # immediately | digest
//!     to: [ops-hook]
//! ```
//!
//! No file: no notifications ([`Notify::default`]).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use display::alert::Severity;
use display::Lang;
use serde::Deserialize;

use crate::config::ConfigError;

/// The file's name, beside `rules.yml`.
pub const NOTIFY_FILE: &str = "notify.yml";

/// How a channel delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// A JSON POST signed per Standard Webhooks.
    Webhook,
    /// A Slack incoming webhook (Block Kit).
    Slack,
    /// A Microsoft Teams Workflows webhook (Adaptive Card).
    Teams,
    /// E-mail over SMTP with STARTTLS.
    Email,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::Slack => "slack",
            ChannelKind::Teams => "teams",
            ChannelKind::Email => "email",
        }
    }
}

/// When a route's messages go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Send {
    /// One message per alert event (new critical and high alerts, reopened alerts).
    #[default]
    Immediately,
    /// Into the owner's daily digest.
    Digest,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    defaults: FileDefaults,
    #[serde(default)]
    channels: Vec<FileChannel>,
    #[serde(default)]
    routes: Vec<FileRoute>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileDefaults {
    language: Option<String>,
    /// Where links in messages point (the dashboard as its readers reach it).
    base_url: Option<String>,
    /// At most this many immediate messages per rule and channel per hour.
    rate_limit_per_rule: Option<u32>,
    /// How long a receiver may take to answer (default 10).
    timeout_seconds: Option<u64>,
    /// How long a message's acting links work (default 7).
    link_expiry_days: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileChannel {
    id: String,
    kind: ChannelKind,
    url: Option<String>,
    secret_env: Option<String>,
    language: Option<String>,
    // E-mail.
    smtp_host: Option<String>,
    smtp_port: Option<u16>,
    /// `starttls` (the default) or `none` (only for a relay on the same host).
    smtp_tls: Option<String>,
    /// A PEM file of the certificate authorities the SMTP server's certificate may chain to,
    /// besides the public ones (a company's own CA); relative to notify.yml's folder.
    tls_ca_file: Option<String>,
    username_env: Option<String>,
    password_env: Option<String>,
    from: Option<String>,
    #[serde(default)]
    to: Vec<String>,
    /// The user a message's acting links act as when the alert has no assignee.
    act_as: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRoute {
    #[serde(default, rename = "match")]
    matcher: FileMatch,
    #[serde(default)]
    send: Send,
    to: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileMatch {
    #[serde(default)]
    severity: Vec<Severity>,
    #[serde(default)]
    rule: Vec<String>,
    #[serde(default)]
    region: Vec<String>,
    #[serde(default)]
    owner: Vec<String>,
    data_issue: Option<bool>,
}

/// How an e-mail channel reaches its server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    /// STARTTLS required (else plain, for a relay on the same host only).
    pub starttls: bool,
    /// Extra trusted certificate authorities (PEM, read from `tls_ca_file` when the file was
    /// loaded), besides the public roots.
    pub tls_ca_pem: Option<String>,
    pub username_env: Option<String>,
    pub password_env: Option<String>,
    pub from: String,
    pub to: Vec<String>,
}

/// One validated channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub id: String,
    pub kind: ChannelKind,
    /// Webhook, Slack and Teams: where the POST goes.
    pub url: Option<String>,
    /// Webhook: the environment variable with the `whsec_…` secret (two, space-separated,
    /// while it is rotated).
    pub secret_env: Option<String>,
    pub smtp: Option<Smtp>,
    /// The language of its messages (digests use the owner's).
    pub lang: Lang,
    /// The user its messages' acting links act as when the alert is assigned to nobody (a
    /// channel read by a team has no person of its own); without it, such messages only link
    /// to the alert.
    pub act_as: Option<String>,
}

impl Channel {
    /// Who the acting links of a message about an alert assigned to `assignee` act as: the
    /// assignee, else the channel's `act_as`; `None`: the message only opens the alert.
    pub fn link_recipient<'a>(&'a self, assignee: Option<&'a str>) -> Option<&'a str> {
        assignee
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .or(self.act_as.as_deref())
    }
}

/// What a route asks of an alert; an empty list matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Match {
    pub severity: Vec<Severity>,
    pub rule: Vec<String>,
    pub region: Vec<String>,
    pub owner: Vec<String>,
    pub data_issue: Option<bool>,
}

/// The facts of an alert a route is matched against.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub severity: Severity,
    pub rule_id: &'a str,
    pub region: Option<&'a str>,
    pub owners: &'a [&'a str],
    pub data_issue: bool,
}

impl<'a> Subject<'a> {
    /// The facts of `alert`; `owners` are its actions' owners ([`owners_of`]).
    pub fn of(alert: &'a display::alert::Alert, owners: &'a [&'a str]) -> Self {
        Subject {
            severity: alert.severity,
            rule_id: &alert.rule_id,
            region: alert.region.as_deref(),
            owners,
            data_issue: alert.data_issue,
        }
    }
}

/// The owners of an alert's recommended actions.
pub fn owners_of(alert: &display::alert::Alert) -> Vec<&str> {
    alert.actions.iter().map(|a| a.owner.as_str()).collect()
}

impl Match {
    /// Whether the alert matches, and if not the first field that did not.
    pub fn check(&self, s: &Subject<'_>) -> Result<(), &'static str> {
        if !self.severity.is_empty() && !self.severity.contains(&s.severity) {
            return Err("severity");
        }
        if !self.rule.is_empty() && !self.rule.iter().any(|r| r == s.rule_id) {
            return Err("rule");
        }
        if !self.region.is_empty()
            && !s
                .region
                .is_some_and(|region| self.region.iter().any(|r| r == region))
        {
            return Err("region");
        }
        if !self.owner.is_empty() && !s.owners.iter().any(|o| self.owner.iter().any(|m| m == o)) {
            return Err("owner");
        }
        if self.data_issue.is_some_and(|d| d != s.data_issue) {
            return Err("data_issue");
        }
        Ok(())
    }

    /// The conditions in words (`severity in [critical, high]`), or `every alert`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.severity.is_empty() {
            let s: Vec<&str> = self.severity.iter().map(|s| s.as_str()).collect();
            parts.push(format!("severity in [{}]", s.join(", ")));
        }
        for (name, list) in [
            ("rule", &self.rule),
            ("region", &self.region),
            ("owner", &self.owner),
        ] {
            if !list.is_empty() {
                parts.push(format!("{name} in [{}]", list.join(", ")));
            }
        }
        if let Some(d) = self.data_issue {
            parts.push(format!("data_issue = {d}"));
        }
        if parts.is_empty() {
            "every alert".to_string()
        } else {
            parts.join(" and ")
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub matcher: Match,
    pub send: Send,
    /// Indexes into [`Notify::channels`].
    pub to: Vec<usize>,
}

/// `notify.yml`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    pub path: Option<PathBuf>,
    pub channels: Vec<Channel>,
    pub routes: Vec<Route>,
    pub lang: Lang,
    pub base_url: String,
    pub rate_limit_per_rule: u32,
    /// How long a receiver may take to answer.
    pub timeout: std::time::Duration,
    /// How long a message's acting links work (`defaults.link_expiry_days`, default 7).
    pub link_ttl: std::time::Duration,
}

impl Default for Notify {
    fn default() -> Self {
        Notify {
            path: None,
            channels: Vec::new(),
            routes: Vec::new(),
            lang: Lang::Ko,
            base_url: "http://127.0.0.1:3000".to_string(),
            rate_limit_per_rule: 20,
            timeout: std::time::Duration::from_secs(10),
            link_ttl: std::time::Duration::from_secs(7 * 86_400),
        }
    }
}

/// One channel an alert reaches, and the route (its index) that sends it there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reach {
    pub channel: usize,
    pub route: usize,
}

impl Notify {
    /// `notify.yml` beside the rules file `rules`.
    pub fn beside(rules: &Path) -> PathBuf {
        rules.with_file_name(NOTIFY_FILE)
    }

    /// Reads and validates the file; a missing file is no notifications.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Notify::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let invalid = |line: Option<usize>, message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            line,
            message,
        };
        let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).map(|i| i + 1);
        if text.trim().is_empty() {
            return Ok(Notify {
                path: Some(path.to_path_buf()),
                ..Notify::default()
            });
        }
        let doc: FileDoc = serde_yaml_ng::from_str(text).map_err(|e| {
            invalid(
                e.location().map(|l| l.line()),
                format!("{e} (see config/README.md for the keys of notify.yml)"),
            )
        })?;
        let mut notify = Notify {
            path: Some(path.to_path_buf()),
            ..Notify::default()
        };
        if let Some(lang) = &doc.defaults.language {
            notify.lang = Lang::parse(lang).ok_or_else(|| {
                invalid(
                    line_of("language"),
                    format!("defaults.language `{lang}`: use `ko` or `en`"),
                )
            })?;
        }
        if let Some(url) = doc.defaults.base_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(invalid(
                    line_of("base_url"),
                    format!("defaults.base_url `{url}`: give the dashboard's address, http(s)://…"),
                ));
            }
            notify.base_url = url.trim_end_matches('/').to_string();
        }
        if let Some(n) = doc.defaults.rate_limit_per_rule {
            if n == 0 {
                return Err(invalid(
                    line_of("rate_limit_per_rule"),
                    "defaults.rate_limit_per_rule: 0 would send nothing; give at least 1".into(),
                ));
            }
            notify.rate_limit_per_rule = n;
        }
        if let Some(secs) = doc.defaults.timeout_seconds {
            if !(1..=300).contains(&secs) {
                return Err(invalid(
                    line_of("timeout_seconds"),
                    format!("defaults.timeout_seconds {secs}: give 1 to 300"),
                ));
            }
            notify.timeout = std::time::Duration::from_secs(secs);
        }
        if let Some(days) = doc.defaults.link_expiry_days {
            if !(1..=90).contains(&days) {
                return Err(invalid(
                    line_of("link_expiry_days"),
                    format!("defaults.link_expiry_days {days}: give 1 to 90"),
                ));
            }
            notify.link_ttl = std::time::Duration::from_secs(days * 86_400);
        }
        let mut ids = HashSet::new();
        for c in doc.channels {
            let line = line_of(&format!("id: {}", c.id));
            let bad = |m: String| invalid(line, format!("channel `{}`: {m}", c.id));
            if c.id.is_empty()
                || !c
                    .id
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
            {
                return Err(bad("an id is letters, digits, `-` and `_`".into()));
            }
            if !ids.insert(c.id.clone()) {
                return Err(bad("listed twice; give each channel its own id".into()));
            }
            let lang = match &c.language {
                Some(l) => Lang::parse(l)
                    .ok_or_else(|| bad(format!("language `{l}`: use `ko` or `en`")))?,
                None => notify.lang,
            };
            for env in [&c.secret_env, &c.username_env, &c.password_env]
                .into_iter()
                .flatten()
            {
                if env.is_empty()
                    || !env
                        .chars()
                        .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_')
                {
                    return Err(bad(format!(
                        "`{env}` is not an environment variable's name (A-Z, 0-9, _); the secret itself never goes in the file"
                    )));
                }
            }
            let mut smtp = None;
            match c.kind {
                ChannelKind::Webhook | ChannelKind::Slack | ChannelKind::Teams => {
                    let Some(url) = &c.url else {
                        return Err(bad(format!("a {} channel needs `url`", c.kind.as_str())));
                    };
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        return Err(bad(format!("url `{url}` is not http(s)://…")));
                    }
                    if c.kind == ChannelKind::Webhook && c.secret_env.is_none() {
                        return Err(bad(
                            "a webhook is signed: name the environment variable with its whsec_… secret in `secret_env`".into(),
                        ));
                    }
                    if c.smtp_host.is_some() || !c.to.is_empty() || c.from.is_some() {
                        return Err(bad(
                            "smtp_host, from and to are for `kind: email` channels".into()
                        ));
                    }
                }
                ChannelKind::Email => {
                    let Some(host) = c.smtp_host.clone() else {
                        return Err(bad("an email channel needs `smtp_host`".into()));
                    };
                    let Some(from) = c.from.clone() else {
                        return Err(bad("an email channel needs `from` (an address)".into()));
                    };
                    for addr in std::iter::once(&from).chain(&c.to) {
                        if !addr.contains('@') {
                            return Err(bad(format!("`{addr}` is not an e-mail address")));
                        }
                    }
                    let starttls = match c.smtp_tls.as_deref() {
                        None | Some("starttls") => true,
                        Some("none") => false,
                        Some(other) => {
                            return Err(bad(format!(
                                "smtp_tls `{other}`: use `starttls` (default) or `none`"
                            )))
                        }
                    };
                    let tls_ca_pem = match &c.tls_ca_file {
                        None => None,
                        Some(_) if !starttls => {
                            return Err(bad(
                                "tls_ca_file is for `smtp_tls: starttls` channels".into()
                            ))
                        }
                        Some(file) => {
                            let full = path.parent().unwrap_or(Path::new(".")).join(file);
                            let pem = std::fs::read_to_string(&full).map_err(|e| {
                                bad(format!(
                                    "tls_ca_file `{}` cannot be read: {e}",
                                    full.display()
                                ))
                            })?;
                            if !pem.contains("-----BEGIN CERTIFICATE-----") {
                                return Err(bad(format!(
                                    "tls_ca_file `{}` holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                                    full.display()
                                )));
                            }
                            Some(pem)
                        }
                    };
                    if c.username_env.is_some() != c.password_env.is_some() {
                        return Err(bad(
                            "give both username_env and password_env, or neither".into()
                        ));
                    }
                    smtp = Some(Smtp {
                        host,
                        port: c.smtp_port.unwrap_or(587),
                        starttls,
                        tls_ca_pem,
                        username_env: c.username_env.clone(),
                        password_env: c.password_env.clone(),
                        from,
                        to: c.to.clone(),
                    });
                }
            }
            notify.channels.push(Channel {
                id: c.id,
                kind: c.kind,
                url: c.url,
                secret_env: c.secret_env,
                smtp,
                lang,
                act_as: c
                    .act_as
                    .map(|a| a.trim().to_string())
                    .filter(|a| !a.is_empty()),
            });
        }
        for (i, r) in doc.routes.into_iter().enumerate() {
            let mut to = Vec::new();
            for id in &r.to {
                let Some(k) = notify.channels.iter().position(|c| &c.id == id) else {
                    return Err(invalid(
                        line_of(id.as_str()),
                        format!(
                            "route {}: no channel `{id}`; the channels are: {}",
                            i + 1,
                            notify
                                .channels
                                .iter()
                                .map(|c| c.id.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                };
                if !to.contains(&k) {
                    to.push(k);
                }
            }
            if to.is_empty() {
                return Err(invalid(
                    None,
                    format!("route {}: `to` lists no channel", i + 1),
                ));
            }
            notify.routes.push(Route {
                matcher: Match {
                    severity: r.matcher.severity,
                    rule: r.matcher.rule,
                    region: r.matcher.region,
                    owner: r.matcher.owner,
                    data_issue: r.matcher.data_issue,
                },
                send: r.send,
                to,
            });
        }
        Ok(notify)
    }

    pub fn channel(&self, id: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id == id)
    }

    /// The channels an alert's event reaches by routes that send `send`, each once (by the
    /// first route that sends it there).
    pub fn reach(&self, subject: &Subject<'_>, send: Send) -> Vec<Reach> {
        let mut out: Vec<Reach> = Vec::new();
        for (route, r) in self.routes.iter().enumerate() {
            if r.send != send || r.matcher.check(subject).is_err() {
                continue;
            }
            for &channel in &r.to {
                if !out.iter().any(|x| x.channel == channel) {
                    out.push(Reach { channel, route });
                }
            }
        }
        out
    }

    /// Whether any route sends anything right away (the merge skips the outbox otherwise).
    pub fn sends_immediately(&self) -> bool {
        self.routes.iter().any(|r| r.send == Send::Immediately)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUE_SHAPE: &str = "channels:
  - id: ops-hook
    kind: webhook
    url: https://hooks.example.com/actionboard
    secret_env: ACTIONBOARD_HOOK_SECRET
routes:
  - match: { severity: [critical, high] }
    send: immediately
    to: [ops-hook]
";

    fn subject<'a>(severity: Severity, owners: &'a [&'a str]) -> Subject<'a> {
        Subject {
            severity,
            rule_id: "gdp_fall",
            region: Some("EAS"),
            owners,
            data_issue: false,
        }
    }

    #[test]
    fn the_issue_shape_loads_and_routes_by_severity() {
        let n = Notify::parse(ISSUE_SHAPE, Path::new("config/notify.yml")).unwrap();
        assert_eq!(n.channels.len(), 1);
        assert_eq!(n.channels[0].kind, ChannelKind::Webhook);
        assert_eq!(n.lang, Lang::Ko);
        let owners = ["desk_asia"];
        let high = n.reach(&subject(Severity::High, &owners), Send::Immediately);
        assert_eq!(
            high,
            vec![Reach {
                channel: 0,
                route: 0
            }]
        );
        assert!(n
            .reach(&subject(Severity::Medium, &owners), Send::Immediately)
            .is_empty());
        assert!(n
            .reach(&subject(Severity::High, &owners), Send::Digest)
            .is_empty());
    }

    #[test]
    fn an_empty_match_matches_every_alert_and_fields_narrow_it() {
        let text = "channels:
  - { id: a, kind: slack, url: 'https://hooks.slack.com/x' }
  - { id: b, kind: teams, url: 'https://example.com/t' }
routes:
  - match: {}
    to: [a]
  - match: { owner: [desk_asia], region: [EAS], data_issue: false, rule: [gdp_fall] }
    to: [b, a]
";
        let n = Notify::parse(text, Path::new("notify.yml")).unwrap();
        let owners = ["desk_asia"];
        let s = subject(Severity::Low, &owners);
        let reach = n.reach(&s, Send::Immediately);
        assert_eq!(reach.len(), 2, "each channel once: {reach:?}");
        assert_eq!(
            reach[0],
            Reach {
                channel: 0,
                route: 0
            }
        );
        assert_eq!(
            reach[1],
            Reach {
                channel: 1,
                route: 1
            }
        );
        let other = ["desk_eu"];
        assert_eq!(
            n.routes[1].matcher.check(&subject(Severity::Low, &other)),
            Err("owner")
        );
        let mut s2 = subject(Severity::Low, &owners);
        s2.data_issue = true;
        assert_eq!(n.routes[1].matcher.check(&s2), Err("data_issue"));
        s2.data_issue = false;
        s2.region = None;
        assert_eq!(n.routes[1].matcher.check(&s2), Err("region"));
        assert_eq!(n.routes[0].matcher.describe(), "every alert");
    }

    #[test]
    fn a_missing_file_is_no_notifications() {
        let n = Notify::load(Path::new("/nonexistent/notify.yml")).unwrap();
        assert!(n.channels.is_empty() && n.routes.is_empty());
        assert!(!n.sends_immediately());
    }

    #[test]
    fn mistakes_are_named_with_the_channel_or_route() {
        let cases = [
            (
                "channels:\n  - { id: h, kind: webhook, url: 'https://x' }\n",
                "secret_env",
            ),
            (
                "channels:\n  - { id: h, kind: webhook, url: 'https://x', secret_env: 'whsec_abc' }\n",
                "environment variable",
            ),
            (
                "channels:\n  - { id: h, kind: slack, url: 'https://x' }\nroutes:\n  - { to: [nope] }\n",
                "no channel `nope`",
            ),
            ("channels:\n  - { id: m, kind: email, smtp_host: h }\n", "from"),
            ("channels:\n  - { id: h, kind: pager }\n", "unknown variant"),
            ("routes:\n  - { match: { colour: [red] }, to: [x] }\n", "unknown field"),
        ];
        for (text, expected) in cases {
            let err = Notify::parse(text, Path::new("config/notify.yml"))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("config/notify.yml"), "{err}");
            assert!(err.contains(expected), "{expected}: {err}");
        }
    }
}

#[cfg(test)]
mod link_tests {
    use super::*;

    #[test]
    fn links_expire_after_the_configured_days_and_act_as_the_assignee_else_the_channel_user() {
        let text = "defaults: { link_expiry_days: 2 }
channels:
  - { id: team, kind: slack, url: 'https://x', act_as: kim }
  - { id: plain, kind: teams, url: 'https://y' }
";
        let n = Notify::parse(text, Path::new("notify.yml")).unwrap();
        assert_eq!(n.link_ttl, std::time::Duration::from_secs(2 * 86_400));
        assert_eq!(Notify::default().link_ttl.as_secs(), 7 * 86_400);
        let (team, plain) = (&n.channels[0], &n.channels[1]);
        assert_eq!(team.link_recipient(None), Some("kim"));
        assert_eq!(team.link_recipient(Some("lee")), Some("lee"));
        assert_eq!(team.link_recipient(Some(" ")), Some("kim"));
        assert_eq!(plain.link_recipient(None), None);
        let err = Notify::parse(
            "defaults: { link_expiry_days: 0 }\n",
            Path::new("notify.yml"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("link_expiry_days 0: give 1 to 90"), "{err}");
    }
}

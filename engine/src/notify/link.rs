//! Acting from a message: signed, expiring, single-use links ("Acknowledge", "Snooze until
//! tomorrow 9:00") that name the alert, the action and the person they act as.
//!
//! A token is `<base64url payload>.<base64url HMAC-SHA256(payload)>`; the payload is the JSON of
//! [`LinkClaims`] (link id, fingerprint, action, recipient, expiry), so the signature covers all
//! five. The key is the server's link secret ([`LinkSecret`]): `ACTIONBOARD_LINK_SECRET` when
//! set, else 32 random bytes made once and kept in `state/link-secret` (0600) beside the alert
//! state, never in the repository. [`verify`] checks the signature in constant time and the
//! expiry on the clock it is given; whether a link was used, whether its recipient may act and
//! whether the alert still exists are checked by the alert state and the server
//! (`state::AlertStore::act_by_link`, `server::web::links`), with the one error type
//! [`LinkError`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use display::alert::{ActionKind, SnoozePreset};
use display::notify::NotifyText as T;
use display::{Lang, Text};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The environment variable that holds the link secret (base64, at least 32 bytes).
pub const LINK_SECRET_ENV: &str = "ACTIONBOARD_LINK_SECRET";
/// Where the generated link secret is kept, in the data folder.
pub const LINK_SECRET_FILE: &str = "state/link-secret";
/// Where a link points: `{base_url}/act/{token}`.
pub const LINK_PATH: &str = "/act";
/// A token longer than this is not one of ours (checked before decoding).
pub const MAX_TOKEN_LEN: usize = 2048;

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkAction {
    Acknowledge,
    /// Snooze until 9:00 tomorrow on the recipient's clock (the `tomorrow_9` preset).
    SnoozeTomorrow9,
}

impl LinkAction {
    pub const ALL: [LinkAction; 2] = [LinkAction::Acknowledge, LinkAction::SnoozeTomorrow9];

    pub fn as_str(self) -> &'static str {
        match self {
            LinkAction::Acknowledge => "acknowledge",
            LinkAction::SnoozeTomorrow9 => "snooze_tomorrow_9",
        }
    }

    /// The action on alerts it is.
    pub fn kind(self) -> ActionKind {
        match self {
            LinkAction::Acknowledge => ActionKind::Acknowledge,
            LinkAction::SnoozeTomorrow9 => ActionKind::Snooze,
        }
    }

    /// The snooze preset it uses (the one the pages offer), if any.
    pub fn preset(self) -> Option<SnoozePreset> {
        match self {
            LinkAction::Acknowledge => None,
            LinkAction::SnoozeTomorrow9 => Some(SnoozePreset::TomorrowNine),
        }
    }

    /// Its button's label.
    pub fn label(self) -> Text {
        match self {
            LinkAction::Acknowledge => ActionKind::Acknowledge.label(),
            LinkAction::SnoozeTomorrow9 => T::SnoozeTomorrow.text(),
        }
    }
}

/// What a link's token says (and its signature covers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkClaims {
    /// Random, unique per link: the key of its single use.
    pub id: String,
    pub fingerprint: String,
    pub action: LinkAction,
    /// The user the link acts as.
    pub recipient: String,
    /// Seconds since the epoch after which the link is refused.
    pub expires: i64,
}

/// Why a link is refused. Each is a 4xx for its reader.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the link is not one of Actionboard's (malformed)")]
    Malformed,
    #[error("the link's signature does not match: it was changed or made with another secret")]
    BadSignature,
    #[error("the link expired at {0}")]
    Expired(DateTime<Utc>),
    #[error("the link was already used")]
    Replayed,
    #[error("the link names `{0}`, who is not a user of this Actionboard")]
    UnknownRecipient(String),
    #[error("the link names `{0}`, who may not act on alerts (analyst or admin role needed)")]
    NotAnalyst(String),
    #[error("the alert `{0}` is no longer in Actionboard")]
    AlertGone(String),
}

impl LinkError {
    /// A stable code for logs and tests.
    pub fn code(&self) -> &'static str {
        match self {
            LinkError::Malformed => "malformed",
            LinkError::BadSignature => "bad_signature",
            LinkError::Expired(_) => "expired",
            LinkError::Replayed => "replayed",
            LinkError::UnknownRecipient(_) => "unknown_recipient",
            LinkError::NotAnalyst(_) => "not_analyst",
            LinkError::AlertGone(_) => "alert_gone",
        }
    }

    /// What happened and what to do, in both languages.
    pub fn message(&self) -> Text {
        let open = (
            "Open the alert in Actionboard to act on it there.",
            "Actionboard에서 알림을 열어 처리하세요.",
        );
        let (en, ko) = match self {
            LinkError::Malformed | LinkError::BadSignature => (
                "This link is not valid: it was changed or cut short (copy the whole link from the message).".to_string(),
                "이 링크는 유효하지 않습니다: 변경되었거나 잘렸습니다(메시지의 링크 전체를 복사하세요).".to_string(),
            ),
            LinkError::Expired(at) => (
                format!("This link expired on {}.", at.format("%Y-%m-%d %H:%M UTC")),
                format!("이 링크는 {}에 만료되었습니다.", at.format("%Y-%m-%d %H:%M UTC")),
            ),
            LinkError::Replayed => (
                "This link was already used; each link acts once.".to_string(),
                "이 링크는 이미 사용되었습니다. 링크는 한 번만 쓸 수 있습니다.".to_string(),
            ),
            LinkError::UnknownRecipient(who) => (
                format!("This link acts as `{who}`, who is not a user of this Actionboard."),
                format!("이 링크는 `{who}`(으)로 처리하지만, 이 Actionboard의 사용자가 아닙니다."),
            ),
            LinkError::NotAnalyst(who) => (
                format!("This link acts as `{who}`, who may not act on alerts now (the analyst or admin role is needed)."),
                format!("이 링크는 `{who}`(으)로 처리하지만, 지금은 알림을 처리할 권한(분석가 또는 관리자)이 없습니다."),
            ),
            LinkError::AlertGone(_) => (
                "The alert of this link is no longer in Actionboard.".to_string(),
                "이 링크의 알림은 더 이상 Actionboard에 없습니다.".to_string(),
            ),
        };
        Text::new(format!("{en} {}", open.0), format!("{ko} {}", open.1))
    }
}

/// Why the link secret could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LinkSecretError {
    #[error("the environment variable {LINK_SECRET_ENV}: {0}")]
    BadEnv(String),
    #[error("the link secret {path}: {source}; check the data folder's permissions")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the link secret {0} is damaged; delete it (links already sent stop working) and start again")]
    Damaged(PathBuf),
}

/// The key links are signed with.
#[derive(Clone)]
pub struct LinkSecret(Vec<u8>);

impl std::fmt::Debug for LinkSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSecret(…)")
    }
}

impl LinkSecret {
    /// A key of these bytes (tests; the product reads [`LinkSecret::load`]).
    pub fn from_bytes(key: &[u8]) -> Self {
        LinkSecret(key.to_vec())
    }

    /// `ACTIONBOARD_LINK_SECRET` (base64 of at least 32 bytes) when set; else the data folder's
    /// `state/link-secret`, made once with 32 random bytes, readable by its owner only.
    pub fn load(data_dir: &Path) -> Result<Self, LinkSecretError> {
        if let Ok(value) = std::env::var(LINK_SECRET_ENV) {
            return Self::parse(value.trim()).map_err(LinkSecretError::BadEnv);
        }
        let path = data_dir.join(LINK_SECRET_FILE);
        let io = |source| LinkSecretError::Io {
            path: path.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                return Self::parse(text.trim()).map_err(|_| LinkSecretError::Damaged(path.clone()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| io(std::io::Error::other(e.to_string())))?;
        // Written aside, then linked into place: two processes starting at once keep one secret.
        // Its own name per attempt (threads of one process may race here too).
        let aside = path.with_extension(format!("{}.new", new_id()));
        crate::state::first_admin::write_private(&aside, &format!("{}\n", B64.encode(key)))
            .map_err(io)?;
        let linked = std::fs::hard_link(&aside, &path);
        let _ = std::fs::remove_file(&aside);
        match linked {
            Ok(()) => Ok(LinkSecret(key.to_vec())),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(&path).map_err(io)?;
                Self::parse(text.trim()).map_err(|_| LinkSecretError::Damaged(path.clone()))
            }
            Err(e) => Err(io(e)),
        }
    }

    fn parse(text: &str) -> Result<Self, String> {
        let key = B64
            .decode(text.trim_end_matches('='))
            .or_else(|_| base64::engine::general_purpose::STANDARD.decode(text))
            .map_err(|e| format!("not base64 ({e})"))?;
        if key.len() < 32 {
            return Err(format!(
                "{} bytes is too short; use at least 32 random bytes, base64 (`openssl rand -base64 32`)",
                key.len()
            ));
        }
        Ok(LinkSecret(key))
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes keys of any length.
        Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key")
    }

    /// The token of `claims`.
    pub fn sign(&self, claims: &LinkClaims) -> String {
        let payload = serde_json::to_vec(claims).unwrap_or_default();
        let mut mac = self.mac();
        mac.update(&payload);
        format!(
            "{}.{}",
            B64.encode(&payload),
            B64.encode(mac.finalize().into_bytes())
        )
    }

    /// The claims of `token` when its signature is this secret's (compared in constant time)
    /// and it has not expired at `now`. Used or not, and the recipient, are checked by the
    /// caller.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<LinkClaims, LinkError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(LinkError::Malformed);
        }
        let (payload, sig) = token.split_once('.').ok_or(LinkError::Malformed)?;
        let payload = B64.decode(payload).map_err(|_| LinkError::Malformed)?;
        let sig = B64.decode(sig).map_err(|_| LinkError::Malformed)?;
        let mut mac = self.mac();
        mac.update(&payload);
        mac.verify_slice(&sig)
            .map_err(|_| LinkError::BadSignature)?;
        // Signed by us: the payload is ours.
        let claims: LinkClaims =
            serde_json::from_slice(&payload).map_err(|_| LinkError::Malformed)?;
        if now.timestamp() >= claims.expires {
            return Err(LinkError::Expired(
                DateTime::from_timestamp(claims.expires, 0).unwrap_or_default(),
            ));
        }
        Ok(claims)
    }
}

/// A new link id: 16 random bytes, hex.
fn new_id() -> String {
    let mut buf = [0u8; 16];
    if getrandom::fill(&mut buf).is_err() {
        // No randomness: an id from the clock and a counter is still unique per process.
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let t = Utc::now().timestamp_nanos_opt().unwrap_or(0);
        return format!("{:016x}{:016x}", t, n ^ u64::from(std::process::id()));
    }
    hex::encode(buf)
}

/// One link of a message: its label and address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// `acknowledge`, `snooze_tomorrow_9` or `open`.
    pub action: String,
    pub label: String,
    pub url: String,
}

/// Makes the links of messages: the secret, how long links live, and the dashboard's address.
#[derive(Debug, Clone)]
pub struct Linker {
    pub secret: LinkSecret,
    pub ttl: Duration,
    pub base_url: String,
}

impl Linker {
    /// The acting links of alert `fingerprint` for `recipient` (none without one: a message
    /// to nobody in particular only opens the alert), each a new id, valid for the linker's
    /// ttl from `now`.
    pub fn links(
        &self,
        fingerprint: &str,
        recipient: Option<&str>,
        lang: Lang,
        now: DateTime<Utc>,
    ) -> Vec<Link> {
        let Some(recipient) = recipient.map(str::trim).filter(|r| !r.is_empty()) else {
            return Vec::new();
        };
        let expires =
            now.timestamp() + i64::try_from(self.ttl.as_secs()).unwrap_or(i64::from(u32::MAX));
        LinkAction::ALL
            .into_iter()
            .map(|action| {
                let token = self.secret.sign(&LinkClaims {
                    id: new_id(),
                    fingerprint: fingerprint.to_string(),
                    action,
                    recipient: recipient.to_string(),
                    expires,
                });
                Link {
                    action: action.as_str().to_string(),
                    label: action.label().get(lang).to_string(),
                    url: format!("{}{LINK_PATH}/{token}", self.base_url.trim_end_matches('/')),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn linker(key: &[u8]) -> Linker {
        Linker {
            secret: LinkSecret::from_bytes(key),
            ttl: Duration::from_secs(7 * 86_400),
            base_url: "https://board.example/".into(),
        }
    }

    fn token_of(link: &Link) -> &str {
        link.url.rsplit('/').next().unwrap()
    }

    #[test]
    fn a_link_verifies_with_its_secret_until_it_expires() {
        let now = at("2026-12-01T00:00:00Z");
        let l = linker(&[7; 32]);
        let links = l.links("fp-1", Some("kim"), Lang::En, now);
        assert_eq!(links.len(), 2);
        assert!(links[0].url.starts_with("https://board.example/act/"));
        let claims = l.secret.verify(token_of(&links[0]), now).unwrap();
        assert_eq!(
            (
                claims.fingerprint.as_str(),
                claims.action,
                claims.recipient.as_str()
            ),
            ("fp-1", LinkAction::Acknowledge, "kim")
        );
        let snooze = l.secret.verify(token_of(&links[1]), now).unwrap();
        assert_eq!(snooze.action, LinkAction::SnoozeTomorrow9);
        assert_ne!(claims.id, snooze.id, "each link has its own id");
        // The injected clock: a second before the week is up it holds, at the week it expires.
        let week = now + chrono::Duration::days(7);
        assert!(l
            .secret
            .verify(token_of(&links[0]), week - chrono::Duration::seconds(1))
            .is_ok());
        assert_eq!(
            l.secret.verify(token_of(&links[0]), week),
            Err(LinkError::Expired(week))
        );
        // No recipient: no acting links.
        assert!(l.links("fp-1", None, Lang::En, now).is_empty());
    }

    #[test]
    fn a_changed_byte_or_another_secret_is_refused() {
        let now = at("2026-12-01T00:00:00Z");
        let l = linker(&[7; 32]);
        let token = token_of(&l.links("fp-1", Some("kim"), Lang::Ko, now)[0]).to_string();
        // Every single changed character of the token is refused, none panics.
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(bytes).unwrap();
            if changed == token {
                continue;
            }
            let e = l.secret.verify(&changed, now).unwrap_err();
            assert!(
                matches!(e, LinkError::BadSignature | LinkError::Malformed),
                "{i}: {e:?}"
            );
        }
        // A claim rewritten (another recipient) with the old signature.
        let (payload, sig) = token.split_once('.').unwrap();
        let mut claims: LinkClaims = serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap();
        claims.recipient = "admin".into();
        let forged = format!("{}.{sig}", B64.encode(serde_json::to_vec(&claims).unwrap()));
        assert_eq!(l.secret.verify(&forged, now), Err(LinkError::BadSignature));
        // Another server's secret.
        assert_eq!(
            LinkSecret::from_bytes(&[8; 32]).verify(&token, now),
            Err(LinkError::BadSignature)
        );
        for junk in ["", ".", "abc", "a.b.c", &"x".repeat(MAX_TOKEN_LEN + 1)] {
            assert!(l.secret.verify(junk, now).is_err());
        }
    }

    #[test]
    fn the_secret_is_made_once_private_and_kept() {
        use std::os::unix::fs::PermissionsExt;
        if std::env::var_os(LINK_SECRET_ENV).is_some() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let first = LinkSecret::load(dir.path()).unwrap();
        let path = dir.path().join(LINK_SECRET_FILE);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = LinkSecret::load(dir.path()).unwrap();
        assert_eq!(first.0, again.0);
        let claims = LinkClaims {
            id: "1".into(),
            fingerprint: "f".into(),
            action: LinkAction::Acknowledge,
            recipient: "kim".into(),
            expires: i64::MAX,
        };
        assert!(again.verify(&first.sign(&claims), Utc::now()).is_ok());
        std::fs::write(&path, "short").unwrap();
        assert!(matches!(
            LinkSecret::load(dir.path()),
            Err(LinkSecretError::Damaged(_))
        ));
        assert!(LinkSecret::parse("c2hvcnQ=").is_err());
    }

    #[test]
    fn processes_and_threads_starting_at_once_keep_one_secret() {
        if std::env::var_os(LINK_SECRET_ENV).is_some() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let keys: Vec<Vec<u8>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| LinkSecret::load(dir.path()).unwrap().0))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(keys.windows(2).all(|w| w[0] == w[1]));
        // Nothing left aside.
        let left: Vec<_> = std::fs::read_dir(dir.path().join("state"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("link-secret")]);
    }
}

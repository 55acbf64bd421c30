//! Standard Webhooks signatures: `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "id.timestamp.body">`, with the secret `whsec_<base64>`. While a secret is rotated, the
//! environment variable holds two (space-separated) and the message carries both signatures.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a channel's secret cannot sign.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("the environment variable {0} is not set; put the channel's whsec_… secret in it")]
    Missing(String),
    #[error("the environment variable {var}: {why}")]
    Bad { var: String, why: String },
}

/// A channel's signing keys (one, or two while rotating).
#[derive(Clone)]
pub struct Secrets(Vec<Vec<u8>>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} keys)", self.0.len())
    }
}

impl Secrets {
    /// Reads `whsec_…` secrets (at most two, space-separated) from the environment variable `var`.
    pub fn from_env(var: &str) -> Result<Self, SecretError> {
        let value = std::env::var(var).map_err(|_| SecretError::Missing(var.to_string()))?;
        Self::parse(&value).map_err(|why| SecretError::Bad {
            var: var.to_string(),
            why,
        })
    }

    /// `whsec_<base64>`, one or two separated by spaces.
    pub fn parse(value: &str) -> Result<Self, String> {
        let mut keys = Vec::new();
        for part in value.split_whitespace() {
            let Some(b64) = part.strip_prefix("whsec_") else {
                return Err("a secret starts with `whsec_` followed by base64".into());
            };
            let key = B64
                .decode(b64)
                .map_err(|e| format!("the part after whsec_ is not base64 ({e})"))?;
            if key.len() < 24 {
                return Err(format!(
                    "a secret of {} bytes is too short; use at least 24 random bytes",
                    key.len()
                ));
            }
            keys.push(key);
        }
        match keys.len() {
            0 => Err("it is empty; put the channel's whsec_… secret in it".into()),
            1 | 2 => Ok(Secrets(keys)),
            n => Err(format!(
                "it holds {n} secrets; at most two (the new and the old while rotating)"
            )),
        }
    }

    /// The `webhook-signature` header's value for a message: one `v1,<sig>` per key.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        self.0
            .iter()
            .map(|key| {
                // HMAC takes keys of any length.
                let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
                mac.update(msg_id.as_bytes());
                mac.update(b".");
                mac.update(timestamp.to_string().as_bytes());
                mac.update(b".");
                mac.update(body);
                format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_webhooks_test_vector() {
        // From the Standard Webhooks specification's reference implementations.
        let s = Secrets::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = s.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn two_secrets_while_rotating_give_two_signatures() {
        let s = Secrets::parse(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )
        .unwrap();
        let sig = s.sign("msg_1", 1, b"{}");
        assert_eq!(sig.split(' ').count(), 2);
        assert!(Secrets::parse("plain").is_err());
        assert!(Secrets::parse("whsec_AAAA").is_err());
        assert!(Secrets::parse("").is_err());
    }
}

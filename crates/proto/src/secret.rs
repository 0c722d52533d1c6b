//! Secrets: generation, digests, constant-time comparison, redaction.
//!
//! Client secrets, opaque access tokens, codes and refresh tokens are 256-bit random strings.
//! The server keeps only their SHA-256 digests: a slow hash buys nothing on 256 bits of entropy
//! and would cost the token endpoint its throughput.

use aws_lc_rs::digest::{SHA256, digest as sha256};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

/// A secret value whose `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself. Call only where it must leave the process (a response, a prompt).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its SHA-256 digest, for storage.
    pub fn digest(&self) -> [u8; 32] {
        digest(&self.0)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({})", hint(&self.0))
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hint(&self.0))
    }
}

/// 32 random bytes, base64url without padding (43 characters).
pub fn random_token() -> Secret {
    Secret(URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
}

/// 16 random bytes, base64url without padding (22 characters): an identifier that must not be
/// guessed but is not a credential (a `jti`, a grant id, a session's public `sid`).
pub fn random_id() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<16>())
}

/// `N` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    // SystemRandom only fails when the OS has no entropy source at all; nothing sensible can
    // continue then, and returning zeros would be far worse than stopping.
    #[allow(clippy::expect_used)]
    SystemRandom::new()
        .fill(&mut out)
        .expect("the operating system's random number generator failed");
    out
}

/// SHA-256 of a string.
pub fn digest(value: &str) -> [u8; 32] {
    let d = sha256(&SHA256, value.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Whether `presented` hashes to `stored`, compared in constant time.
pub fn digest_matches(presented: &str, stored: &[u8]) -> bool {
    digest(presented).ct_eq(stored).into()
}

/// What may be shown of a secret: its first four characters and its length.
pub fn hint(value: &str) -> String {
    let prefix: String = value.chars().take(4).collect();
    format!("{prefix}...({} chars)", value.chars().count())
}

/// A URL with any password replaced by `***`, for error messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tokens_are_long_and_distinct() {
        let a = random_token();
        let b = random_token();
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a, b);
    }

    #[test]
    fn debug_and_display_redact() {
        let s = Secret::new("supersecretvalue");
        assert_eq!(format!("{s:?}"), "Secret(supe...(16 chars))");
        assert!(!format!("{s}").contains("secretvalue"));
    }

    #[test]
    fn digest_comparison() {
        let stored = digest("abc");
        assert!(digest_matches("abc", &stored));
        assert!(!digest_matches("abd", &stored));
        assert!(!digest_matches("abc", &stored[..31]));
    }
}

//! Identity events (docs/admin-api.md, "Identity events"): what happened to whom at sign-in
//! and at the token endpoint — a sign-in that succeeded or failed (and why), a lockout, a
//! consent given, denied or revoked, a token issued (by grant), a refresh token or code
//! replayed, a token revoked, a signing key rotated.
//!
//! An event holds who (the client, the user's internal id), the cause's diagnosis code, the
//! grant, the address and the request id — never a password, token, code or the username a
//! caller typed. The server records them through an [`EventLog`], which never waits: a
//! bounded queue, one task that writes what is queued in one transaction (the rows of
//! `candor_identity_events` and their sums in the call log's rollups, under source
//! `identity`, so that they chart as calls do), exports them over OTLP when that is on, and
//! offers each to the webhooks that asked for its kind ([`webhook`]).

pub mod log;
pub mod store;
pub mod webhook;

use candor_proto::Code;
use serde::{Serialize, Serializer};

pub use log::{EventLog, EventSettings};
pub use store::{EventQuery, StoredEvent};

macro_rules! kinds {
    ($( $variant:ident => $name:literal, $meaning:literal; )*) => {
        /// What happened. The names are part of the public contract (webhook subscriptions,
        /// dashboards): never rename or remove one; add new ones.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Kind { $( $variant, )* }

        impl Kind {
            /// Every kind, in the order docs list them.
            pub const ALL: &'static [Kind] = &[ $( Kind::$variant, )* ];

            /// The stable dotted name (`signin.failed`).
            pub fn as_str(self) -> &'static str {
                match self { $( Kind::$variant => $name, )* }
            }

            /// What an event of this kind means, for the docs and the API.
            pub fn meaning(self) -> &'static str {
                match self { $( Kind::$variant => $meaning, )* }
            }
        }
    };
}

kinds! {
    SigninSucceeded => "signin.succeeded",
        "A user signed in with their password and a session began; subject is the user, client_id the application.";
    SigninFailed => "signin.failed",
        "A sign-in was refused; cause says why: login.invalid_password, login.unknown_user (no subject), login.locked, login.throttled.";
    LockoutStarted => "lockout.started",
        "Failed sign-ins reached [login] max_failures: the account is locked for failure_window (subject is empty when no such user exists).";
    ConsentGiven => "consent.given",
        "A user granted an application the scopes in detail.";
    ConsentDenied => "consent.denied",
        "A user pressed Deny on the consent page (or Cancel on the sign-in page).";
    ConsentRevoked => "consent.revoked",
        "A user's consent to an application was withdrawn.";
    TokenIssued => "token.issued",
        "The token endpoint issued tokens; grant says by which grant type, subject is the user of a user grant.";
    TokenReuseDetected => "token.reuse_detected",
        "A refresh token already rotated, or an authorization code already redeemed, was presented again: it leaked, and every token of its grant is revoked (cause refresh_token.reused or code.reused).";
    TokenRevoked => "token.revoked",
        "A client revoked a token (RFC 7009); detail says which kind (access_token or refresh_family).";
    KeyRotated => "key.rotated",
        "A signing key was rotated; detail gives the algorithm, the new kid and when it signs from.";
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    /// The names, comma-separated (for error messages).
    pub fn list() -> String {
        Kind::ALL
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One event, as the server hands it over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentityEvent {
    /// A unique id (`evt_…`), also a webhook's `webhook-id`.
    pub uid: String,
    /// Unix microseconds.
    pub at_us: i64,
    pub kind: Kind,
    pub client_id: Option<String>,
    /// The user's internal id (never a username as typed).
    pub subject: Option<String>,
    /// The diagnosis code of why, for a failure.
    #[serde(serialize_with = "code_name")]
    pub cause: Option<Code>,
    /// The grant type of a token request.
    pub grant: Option<&'static str>,
    pub address: Option<String>,
    pub request_id: Option<String>,
    /// A short public description (the scopes consented, a key's kid); never a secret.
    pub detail: Option<String>,
}

fn code_name<S: Serializer>(code: &Option<Code>, s: S) -> Result<S::Ok, S::Error> {
    match code {
        Some(c) => s.serialize_str(c.as_str()),
        None => s.serialize_none(),
    }
}

impl IdentityEvent {
    /// An event of `kind` now, with a fresh id and nothing else known yet.
    pub fn new(kind: Kind) -> IdentityEvent {
        IdentityEvent {
            uid: new_uid(),
            at_us: crate::record::now_us(),
            kind,
            client_id: None,
            subject: None,
            cause: None,
            grant: None,
            address: None,
            request_id: None,
            detail: None,
        }
    }

    /// The status the rollups count it under: its cause's (a failure counts as an error, as
    /// a refused call does), else 200.
    pub fn status(&self) -> u16 {
        self.cause.and_then(|c| c.entry().status).unwrap_or(200)
    }
}

/// `evt_` and 128 random bits in hex.
fn new_uid() -> String {
    let bytes: [u8; 16] = rand::random();
    format!("evt_{}", hex::encode(bytes))
}

/// Values kept at most this long (characters): what comes from outside (a request id, a
/// detail) never makes a row large.
pub fn bounded(value: Option<String>, max: usize) -> Option<String> {
    value.map(|v| match v.char_indices().nth(max) {
        Some((cut, _)) => v.get(..cut).unwrap_or("").to_string(),
        None => v,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_are_dotted() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(*k));
            assert!(k.as_str().contains('.'), "{}", k.as_str());
            assert!(!k.meaning().is_empty());
        }
        assert_eq!(Kind::parse("signin.maybe"), None);
    }

    #[test]
    fn a_failure_counts_under_its_causes_status() {
        let mut e = IdentityEvent::new(Kind::SigninFailed);
        assert_eq!(e.status(), 200);
        e.cause = Some(Code::LoginThrottled);
        assert_eq!(e.status(), 429);
        assert!(e.uid.starts_with("evt_") && e.uid.len() == 36);
    }

    #[test]
    fn bounded_cuts_on_a_character() {
        assert_eq!(bounded(Some("é".repeat(10)), 3), Some("ééé".into()));
        assert_eq!(bounded(Some("ab".into()), 3), Some("ab".into()));
    }
}

//! Why a request did not succeed: the client's fault (an [`OAuthError`] with its diagnosis) or
//! the server's (a [`ServerError`], answered as `server.internal` and logged with its cause).

use candor_proto::{Code, OAuthError};
use candor_store::StoreError;

use crate::error::ServerError;

#[derive(Debug)]
pub enum Refusal {
    OAuth(OAuthError),
    Internal(ServerError),
    /// Over a rate limit: a 429 with the limit's headers.
    Limited(crate::throttle::Refused),
}

impl Refusal {
    /// The client's fault: `code`, described by `why`.
    pub fn oauth(code: Code, why: impl AsRef<str>) -> Refusal {
        Refusal::OAuth(OAuthError::new(code, why))
    }

    /// The error shown to the client; internal causes are not disclosed.
    pub fn public(&self) -> OAuthError {
        match self {
            Refusal::OAuth(e) => e.clone(),
            Refusal::Limited(r) => OAuthError::new(
                Code::RateLimitExceeded,
                candor_limit::refusal_text(r.policy.name(), &r.policy, &r.key, &r.decision),
            ),
            Refusal::Internal(_) => OAuthError::new(
                Code::ServerInternal,
                "the server failed to process the request; the request id in its logs identifies it",
            ),
        }
    }
}

impl From<OAuthError> for Refusal {
    fn from(e: OAuthError) -> Self {
        Refusal::OAuth(e)
    }
}

impl From<ServerError> for Refusal {
    fn from(e: ServerError) -> Self {
        Refusal::Internal(e)
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Internal(e.into())
    }
}

impl From<candor_proto::jose::JoseError> for Refusal {
    fn from(e: candor_proto::jose::JoseError) -> Self {
        Refusal::Internal(e.into())
    }
}

/// `error`'s description as it may be written to the log. An unknown client's description
/// quotes the client_id the caller sent: unverified text which, when a caller swaps client_id
/// and client_secret, is the secret. The caller is told what it sent; the log is not.
pub fn logged_description(error: &OAuthError) -> &str {
    match error.code {
        Code::ClientAuthUnknownClient | Code::ClientUnknown => {
            "no client with the client_id sent is registered (an unregistered client_id is not logged: it may be a misplaced secret)"
        }
        _ => &error.description,
    }
}

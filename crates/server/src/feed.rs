//! The revocation feed over HTTP, for gateways: `GET /revocations?after=SEQ&wait=SECONDS`.
//!
//! A follower asks for the entries after the last sequence number it has seen; when there is
//! none yet, the request waits (a long poll, up to [`MAX_WAIT`]) until one is appended: at
//! once when this node appends it, within [`POLL`] when another node sharing the database (or
//! the `candor` CLI) does — so a gateway learns of a revocation within a fraction of a second
//! without introspecting every request. The caller authenticates as a confidential
//! client registered with the scope [`FEED_SCOPE`], in the Authorization header: credentials
//! in the query string are refused.
//!
//! Sequence numbers only grow, but on PostgreSQL two concurrent revocations can commit in the
//! other order than their numbers: a follower also re-reads a short window behind its
//! position now and then — the rule is [`candor_proto::feed::Follower`], which Candor's
//! gateway follows.

use candor_proto::authorization::Presentation;
use std::time::Duration;

use candor_proto::client_auth::AuthMethod;
use candor_proto::error::quote;
use candor_proto::form::Form;
use candor_proto::{Code, OAuthError};
use serde_json::{Value, json};

use crate::app::App;
use crate::client_auth::authenticate;
use crate::refusal::Refusal;

/// The scope a client needs to read the feed.
pub const FEED_SCOPE: &str = "candor:revocations";
/// The longest a request waits for a new entry.
pub const MAX_WAIT: Duration = Duration::from_secs(25);
/// Entries per response at most.
pub const PAGE: u32 = 1000;
/// How often a waiting request looks for new entries.
pub const POLL: Duration = Duration::from_millis(100);

pub fn endpoint(app: &App) -> String {
    format!("{}/revocations", app.issuer())
}

/// Client credentials that must never come in a URL: URLs are written to access logs, proxy
/// logs and browser history.
const CREDENTIALS: &[&str] = &["client_secret", "client_assertion", "client_assertion_type"];

/// Answers one feed request. `form` is the request's query string: the feed's parameters
/// (`after`, `wait`) come there, the caller's credentials only in the Authorization header
/// (client_secret_basic).
pub async fn read(
    app: &App,
    authorization: Option<Presentation<'_>>,
    form: &Form,
) -> Result<Value, Refusal> {
    if let Some(name) = CREDENTIALS.iter().find(|n| form.contains(n)) {
        return Err(OAuthError::new(
            Code::TokenRequestInvalidParameter,
            format!(
                "{name} was sent in the URL query, which is logged: the revocation feed takes the client's credentials only in an Authorization: Basic header (treat that secret as exposed and rotate it)"
            ),
        )
        .into());
    }
    let auth = authenticate(app, authorization, form, &endpoint(app)).await?;
    if auth.method == AuthMethod::None {
        return Err(OAuthError::new(
            Code::ClientAuthPublicClientForbidden,
            format!(
                "client {} is public; only confidential clients may read the revocation feed",
                quote(&auth.client.client_id)
            ),
        )
        .into());
    }
    if !auth.client.scopes.iter().any(|s| s == FEED_SCOPE) {
        return Err(OAuthError::new(
            Code::ScopeNotAllowed,
            format!(
                "client {} may not read the revocation feed: register it with the scope {}",
                quote(&auth.client.client_id),
                quote(FEED_SCOPE)
            ),
        )
        .into());
    }
    let number = |name: &str| -> Result<Option<i64>, OAuthError> {
        form.get(name)
            .map(|v| {
                v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                    OAuthError::new(
                        Code::TokenRequestInvalidParameter,
                        format!("{name} {} is not a non-negative integer", quote(v)),
                    )
                })
            })
            .transpose()
    };
    let after = number("after")?.unwrap_or(0);
    let wait = Duration::from_secs(number("wait")?.unwrap_or(0).unsigned_abs()).min(MAX_WAIT);
    let deadline = tokio::time::Instant::now() + wait;
    let entries = loop {
        // Registered before the read, so that an append between the read and the wait is not
        // missed.
        let grew = app.feed_grew();
        let entries = app.store().revocations_since(after, PAGE).await?;
        if !entries.is_empty() || tokio::time::Instant::now() + POLL > deadline {
            break entries;
        }
        tokio::select! {
            () = grew => {}
            () = tokio::time::sleep(POLL) => {}
        }
    };
    let next = entries.last().map_or(after, |e| e.seq);
    Ok(json!({
        "entries": entries,
        "next": next,
        "more": entries.len() == PAGE as usize,
        "now": app.now(),
    }))
}

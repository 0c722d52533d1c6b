//! The admin API over the call log, served on the admin listener of the gateway and of the
//! server (never the public one):
//!
//! * `GET /admin/calls` — the latest calls ([`crate::params::tail_query`]);
//! * `GET /admin/calls/stats` — statistics ([`crate::params::stats_query`]).
//!
//! Both need the admin credential: `Authorization: Bearer <token>`, the token configured in
//! `[admin]`; only its SHA-256 digest is held, and compared in constant time. Without a
//! configured token the API refuses every request.

use std::sync::Arc;

use candor_proto::{Code, OAuthError};
use serde_json::json;

use crate::params;
use crate::recorder::Recorder;
use crate::store::CallStore;

/// An answer of the API: status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: serde_json::Value,
    /// A 401: the response carries `WWW-Authenticate: Bearer`.
    pub challenge: bool,
}

/// The call log of a running process: its recorder, and the API over its store.
#[derive(Debug)]
pub struct CallLog {
    pub recorder: Arc<Recorder>,
    store: CallStore,
    admin_token: Option<[u8; 32]>,
    /// Where `error_uri` links point: a catalogue's base (`<issuer>/docs/errors`), if known.
    docs: Option<String>,
}

impl CallLog {
    pub fn new(
        recorder: Arc<Recorder>,
        admin_token: Option<[u8; 32]>,
        docs: Option<String>,
    ) -> Self {
        CallLog {
            store: recorder.store().clone(),
            recorder,
            admin_token,
            docs,
        }
    }

    /// Whether `path` is one of the API's.
    pub fn handles(path: &str) -> bool {
        path == "/admin/calls" || path == "/admin/calls/stats"
    }

    fn refusal(&self, error: &OAuthError) -> Answer {
        let body = error.body_linked(self.docs.as_deref());
        Answer {
            status: error.status(),
            body: serde_json::to_value(&body).unwrap_or_default(),
            challenge: error.code == Code::AdminUnauthorized,
        }
    }

    fn authorized(&self, authorization: &[&str]) -> Result<(), OAuthError> {
        let Some(want) = &self.admin_token else {
            return Err(OAuthError::new(
                Code::AdminUnauthorized,
                "the admin API is off: no admin token is configured ([admin] token_env or token_file)",
            ));
        };
        let presented = candor_proto::authorization::presented(authorization)
            .and_then(|p| candor_proto::authorization::bearer_token(p, None, None))
            .map_err(|_| {
                OAuthError::new(
                    Code::AdminUnauthorized,
                    "send the admin token as Authorization: Bearer",
                )
            })?;
        if candor_proto::secret::digest_matches(presented, want) {
            Ok(())
        } else {
            Err(OAuthError::new(
                Code::AdminUnauthorized,
                "the bearer token is not the admin token",
            ))
        }
    }

    /// Answers a request to `path` (one that [`CallLog::handles`]) with `query` and the
    /// request's `Authorization` values, at `now` (Unix seconds).
    pub async fn answer(
        &self,
        path: &str,
        query: Option<&str>,
        authorization: &[&str],
        now: i64,
    ) -> Answer {
        if let Err(e) = self.authorized(authorization) {
            return self.refusal(&e);
        }
        let p = params::parse_query(query);
        let result = match path {
            "/admin/calls/stats" => match params::stats_query(&p, now) {
                Ok(q) => self.store.stats(&q).await.map(|rows| {
                    json!({
                        "since": q.since,
                        "until": q.until,
                        "by": q.by,
                        "rows": rows,
                    })
                }),
                Err(e) => Err(e),
            },
            _ => match params::tail_query(&p, now) {
                Ok(t) => self
                    .store
                    .tail(&t.filter, t.since.map(|s| s * 1_000_000), t.after, t.limit)
                    .await
                    .map(|calls| {
                        let next = calls.iter().map(|c| c.id).max().or(t.after);
                        json!({ "calls": calls, "after": next })
                    }),
                Err(e) => Err(e),
            },
        };
        match result {
            Ok(body) => Answer {
                status: 200,
                body,
                challenge: false,
            },
            Err(crate::CallsError::Query(why)) => {
                self.refusal(&OAuthError::new(Code::AdminQueryInvalid, why))
            }
            Err(e) => {
                tracing::error!(error = %e, "the call log cannot be read");
                self.refusal(&OAuthError::new(
                    Code::ServerInternal,
                    "the call log cannot be read",
                ))
            }
        }
    }
}

//! The routes' rate limits (docs/rate-limits.md): who a request counts against, the checks,
//! and the 429 a refused request gets. The algorithm and the Redis sharing are
//! `candor_limit`'s; this module only picks keys and writes the response.

use candor_limit::{Decision, KeyKind, Limit, Policy};
use candor_proto::{Code, OAuthError};
use http::{HeaderMap, Response, header};

use crate::identity::Identity;
use crate::{Body, State};

/// When a limit can be checked: before the token is verified (address, API key), or after
/// (client, subject).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    BeforeToken,
    AfterToken,
}

fn stage(kind: &KeyKind) -> Stage {
    match kind {
        KeyKind::Ip | KeyKind::ApiKey { .. } => Stage::BeforeToken,
        KeyKind::ClientId | KeyKind::Subject => Stage::AfterToken,
    }
}

/// What a request can be counted by.
pub struct Caller<'a> {
    ip: std::net::IpAddr,
    headers: &'a HeaderMap,
    identity: Option<&'a Identity>,
}

impl<'a> Caller<'a> {
    /// The caller's address is the peer's, or the one `X-Forwarded-For` names when the peer
    /// is a trusted proxy.
    pub fn new(
        peer: std::net::IpAddr,
        headers: &'a HeaderMap,
        trusted: &[ipnet::IpNet],
        identity: Option<&'a Identity>,
    ) -> Caller<'a> {
        Caller {
            ip: candor_proto::forwarded::client_ip_of(peer, headers, trusted),
            headers,
            identity,
        }
    }

    /// The key bytes for `kind` ([`candor_limit::caller_key`]).
    fn key(&self, kind: &KeyKind) -> Vec<u8> {
        let value: Option<&[u8]> = match kind {
            KeyKind::ClientId => self
                .identity
                .and_then(|i| i.client_id.as_deref())
                .map(str::as_bytes),
            KeyKind::Subject => self.identity.map(|i| i.sub.as_bytes()),
            KeyKind::ApiKey { header } => self.headers.get(header).map(|v| v.as_bytes()),
            KeyKind::Ip => None,
        };
        candor_limit::caller_key(kind, value, self.ip)
    }
}

/// A refused request: the policy and decision that refused it.
pub struct Refused {
    policy: Policy,
    decision: Decision,
    kind: KeyKind,
}

impl Refused {
    /// The 429: `Retry-After`, `RateLimit-Policy`, `RateLimit` and the error body.
    pub fn response(&self, state: &State, route: &str) -> Response<Body> {
        let e = OAuthError::new(
            Code::RateLimitExceeded,
            candor_limit::refusal_text(
                &format!("route {}", candor_proto::error::quote(route)),
                &self.policy,
                &self.kind,
                &self.decision,
            ),
        );
        let mut r = state.refusal(Some(route), &e, None);
        for (name, value) in candor_limit::headers(&self.policy, &self.decision) {
            r.headers_mut().insert(name, value);
        }
        // A refusal is not a challenge for credentials.
        r.headers_mut().remove(header::WWW_AUTHENTICATE);
        r
    }
}

/// The decisions a request met, for the headers of its response.
#[derive(Default)]
pub struct Checks {
    /// The allowed decision with the least left, and its limit (a shared handle: no copy of
    /// the policy per request).
    tightest: Option<(Limit, Decision)>,
}

impl Checks {
    /// Checks the limits of `stage`; the first that refuses ends the request.
    pub async fn check(
        &mut self,
        limits: &[(Limit, KeyKind)],
        caller: &Caller<'_>,
        at: Stage,
    ) -> Result<(), Refused> {
        for (limit, kind) in limits.iter().filter(|(_, k)| stage(k) == at) {
            let decision = limit.check(caller.key(kind)).await;
            if !decision.is_allowed() {
                return Err(Refused {
                    policy: limit.policy().clone(),
                    decision,
                    kind: kind.clone(),
                });
            }
            let tighter = self
                .tightest
                .as_ref()
                .is_none_or(|(_, d)| decision.remaining() < d.remaining());
            if tighter {
                self.tightest = Some((limit.clone(), decision));
            }
        }
        Ok(())
    }

    /// Adds `RateLimit-Policy` and `RateLimit` of the tightest limit to an answer.
    pub fn annotate(&self, headers: &mut HeaderMap) {
        if let Some((limit, decision)) = &self.tightest {
            for (name, value) in candor_limit::headers(limit.policy(), decision) {
                headers.insert(name, value);
            }
        }
    }
}

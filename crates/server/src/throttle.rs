//! The server's rate limits, all decided by `candor_limit` (GCRA; shared through Redis when
//! `[rate_limits] redis_url` is set, else per node):
//!
//! * sign-in, per client address (IPv6 by /64) and per client application — beside the
//!   per-account lock of [`crate::login`]: the lock stops a guesser that targets one user,
//!   these stop one that sprays one guess at each of many users;
//! * the token and authorization endpoints, by the limits `[rate_limits.token]` and
//!   `[rate_limits.authorize]` configure (by address, client_id or API key).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use candor_limit::{Decision, KeyKind, Limit, Limiter, Policy};

/// A rate: `per_minute` on average, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

impl Rate {
    fn policy(self, name: &str) -> Option<Policy> {
        let per_minute = NonZeroU32::new(self.per_minute).unwrap_or(NonZeroU32::MIN);
        let rate = candor_limit::Rate::new(per_minute, NonZeroU32::new(60)?);
        Policy::new(name, rate, self.burst.max(1)).ok()
    }
}

/// Which limit refused an attempt, and when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    Address { retry_after: Duration },
    Client { retry_after: Duration },
}

/// The limits configured for the server's endpoints (`[rate_limits]`).
#[derive(Debug, Clone, Default)]
pub struct EndpointLimits {
    pub token: Vec<(Policy, KeyKind)>,
    pub authorize: Vec<(Policy, KeyKind)>,
    pub login: Vec<(Policy, KeyKind)>,
}

/// What a request is counted by at an endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub address: IpAddr,
    /// The client_id: authenticated at the token endpoint, as requested at authorize.
    pub client_id: Option<&'a str>,
    pub headers: &'a axum::http::HeaderMap,
}

/// A refusal: the policy and decision, for the 429's headers.
#[derive(Debug, Clone)]
pub struct Refused {
    pub policy: Policy,
    pub decision: Decision,
    pub key: KeyKind,
}

impl Refused {
    /// Seconds to wait, rounded up.
    pub fn retry_after(&self) -> u64 {
        candor_limit::retry_after_secs(&self.decision)
    }
}

/// The key bytes a caller is counted under for `kind` ([`candor_limit::caller_key`]).
fn key(kind: &KeyKind, caller: &Caller<'_>) -> Vec<u8> {
    let value: Option<&[u8]> = match kind {
        KeyKind::ClientId | KeyKind::Subject => caller.client_id.map(str::as_bytes),
        KeyKind::ApiKey { header } => caller.headers.get(header).map(|v| v.as_bytes()),
        KeyKind::Ip => None,
    };
    candor_limit::caller_key(kind, value, caller.address)
}

/// The server's limits, made once from the settings on one limiter.
pub struct Throttles {
    per_address: Option<Limit>,
    per_client: Option<Limit>,
    token: Vec<(Limit, KeyKind)>,
    authorize: Vec<(Limit, KeyKind)>,
    login: Vec<(Limit, KeyKind)>,
    limiter: Limiter,
}

impl std::fmt::Debug for Throttles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttles")
            .field("limiter", &self.limiter)
            .finish()
    }
}

/// Which endpoint a check is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Token,
    Authorize,
}

impl Throttles {
    pub fn new(
        per_address: Rate,
        per_client: Rate,
        endpoints: &EndpointLimits,
        limiter: Limiter,
    ) -> Throttles {
        let make = |list: &[(Policy, KeyKind)]| {
            list.iter()
                .map(|(p, k)| (limiter.limit(p.clone()), k.clone()))
                .collect::<Vec<_>>()
        };
        Throttles {
            per_address: per_address
                .policy("server:login:address")
                .map(|p| limiter.limit(p)),
            per_client: per_client
                .policy("server:login:client")
                .map(|p| limiter.limit(p)),
            token: make(&endpoints.token),
            authorize: make(&endpoints.authorize),
            login: make(&endpoints.login),
            limiter,
        }
    }

    /// The limiter, for `/metrics`.
    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    /// Counts one sign-in attempt from `address` through `client_id`; refused when either
    /// sign-in rate, or a `[rate_limits.login]` limit, is spent.
    pub async fn sign_in(
        &self,
        address: IpAddr,
        client_id: &str,
        headers: &axum::http::HeaderMap,
    ) -> Result<(), Limited> {
        let wait = |d: Decision| match d {
            Decision::Limited { retry_after, .. } => Some(retry_after),
            Decision::Allowed { .. } => None,
        };
        if let Some(l) = &self.per_address
            && let Some(retry_after) = wait(l.check(candor_limit::ip_key(address)).await)
        {
            return Err(Limited::Address { retry_after });
        }
        if let Some(l) = &self.per_client
            && let Some(retry_after) = wait(l.check(client_id.as_bytes()).await)
        {
            return Err(Limited::Client { retry_after });
        }
        let caller = Caller {
            address,
            client_id: Some(client_id),
            headers,
        };
        for (l, kind) in &self.login {
            if let Some(retry_after) = wait(l.check(key(kind, &caller)).await) {
                return Err(match kind {
                    KeyKind::Ip => Limited::Address { retry_after },
                    _ => Limited::Client { retry_after },
                });
            }
        }
        Ok(())
    }

    /// Checks `endpoint`'s limits that `caller` can be counted by now: with `client_id`
    /// `None` (before client authentication) the address and API-key limits; with it, the
    /// client limits.
    pub async fn check(&self, endpoint: Endpoint, caller: &Caller<'_>) -> Result<(), Refused> {
        let list = match endpoint {
            Endpoint::Token => &self.token,
            Endpoint::Authorize => &self.authorize,
        };
        for (l, kind) in list {
            let by_client = matches!(kind, KeyKind::ClientId | KeyKind::Subject);
            if by_client != caller.client_id.is_some() {
                continue;
            }
            let decision = l.check(key(kind, caller)).await;
            if !decision.is_allowed() {
                return Err(Refused {
                    policy: l.policy().clone(),
                    decision,
                    key: kind.clone(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_limit_refuses_past_its_burst() {
        let limiter = Limiter::local(candor_limit::LocalOptions::default()).unwrap();
        let t = Throttles::new(
            Rate {
                per_minute: 1,
                burst: 2,
            },
            Rate {
                per_minute: 1,
                burst: 3,
            },
            &EndpointLimits::default(),
            limiter,
        );
        let h = axum::http::HeaderMap::new();
        let a: IpAddr = [192, 0, 2, 1].into();
        let b: IpAddr = [192, 0, 2, 2].into();
        assert!(t.sign_in(a, "app", &h).await.is_ok());
        assert!(t.sign_in(a, "app", &h).await.is_ok());
        assert!(matches!(
            t.sign_in(a, "app", &h).await,
            Err(Limited::Address { .. })
        ));
        // Another address, same client: the client's budget of 3 runs out on the next.
        assert!(t.sign_in(b, "app", &h).await.is_ok());
        assert!(matches!(
            t.sign_in(b, "app", &h).await,
            Err(Limited::Client { .. })
        ));
        assert!(
            t.sign_in(b, "other", &h).await.is_err(),
            "b's own budget of 2 is spent"
        );
        assert!(t.sign_in([192, 0, 2, 3].into(), "other", &h).await.is_ok());
    }

    #[tokio::test]
    async fn ipv6_is_counted_by_its_64_block() {
        let limiter = Limiter::local(candor_limit::LocalOptions::default()).unwrap();
        let t = Throttles::new(
            Rate {
                per_minute: 1,
                burst: 1,
            },
            Rate {
                per_minute: 1000,
                burst: 1000,
            },
            &EndpointLimits::default(),
            limiter,
        );
        let h = axum::http::HeaderMap::new();
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let two: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(t.sign_in(one, "app", &h).await.is_ok());
        assert!(t.sign_in(two, "app", &h).await.is_err(), "same /64");
        assert!(t.sign_in(other, "app", &h).await.is_ok());
    }
}

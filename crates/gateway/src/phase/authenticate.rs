//! Phase 3: who the request speaks for — the bearer token found (RFC 6750), verified by its
//! issuer's keys (or the verified-token cache), not revoked by the issuer's feed, and the feed
//! fresh enough to say so.

use candor_proto::error::quote;
use candor_proto::{Code, OAuthError, authorization};
use http::Request;

use super::{Ctx, Refusal};
use crate::config::{AuthMode, OnStale};
use crate::identity::Identity;
use crate::introspect;
use crate::issuer::Issuer;
use crate::state::RouteState;
use crate::{State, now, verify};

/// Authenticates `req` as the route's `auth` asks; sets `ctx.identity` as soon as the token
/// verifies, so that a refusal after that still records who was refused.
pub async fn authenticate<B>(
    ctx: &mut Ctx<'_>,
    rs: &RouteState,
    req: &Request<B>,
) -> Result<(), Refusal> {
    let mode = rs.route.auth;
    if mode == AuthMode::None {
        return Ok(());
    }
    let presented = authorization::from_headers(req.headers())?;
    let token = match authorization::bearer_token(presented, None, req.uri().query()) {
        Err(e) if e.code == Code::TokenMissing && mode == AuthMode::Optional => return Ok(()),
        Err(e) => return Err(e.into()),
        Ok(token) => token,
    };
    let now = now();
    let (identity, source) = verify::verify(token, &rs.issuers, &ctx.state.verified, now)
        .await
        .map_err(|r| r.error)?;
    match source {
        verify::Source::Cache => ctx.state.metrics.cache_hit(),
        verify::Source::Verified => ctx.state.metrics.cache_miss(),
    }
    let state = ctx.state;
    let identity = ctx.identity.insert(identity);
    revocation(state, identity, token, now).await?;
    Ok(())
}

/// Whether the token's issuer says it is revoked, or cannot say because its feed is behind.
pub async fn revocation(
    state: &State,
    identity: &Identity,
    token: &str,
    now: i64,
) -> Result<(), OAuthError> {
    let Some(issuer) = state
        .issuers
        .iter()
        .find(|i| *i.config.issuer == *identity.issuer)
    else {
        return Ok(());
    };
    if issuer.deny.denies(identity) {
        return Err(OAuthError::new(
            Code::TokenRevoked,
            "the token was revoked at its issuer (the revocation feed says so)",
        ));
    }
    match issuer.stale_policy(now) {
        Some(policy) => stale(state, issuer, identity, token, policy, now).await,
        None => Ok(()),
    }
}

/// The revocation feed of `issuer` is behind: what its policy makes of `identity`.
async fn stale(
    state: &State,
    issuer: &Issuer,
    identity: &Identity,
    token: &str,
    policy: OnStale,
    now: i64,
) -> Result<(), OAuthError> {
    let behind = || {
        OAuthError::new(
            Code::RevocationFeedStale,
            format!(
                "the revocation feed of {} was last read {}s ago; it cannot be told whether the token was revoked",
                quote(&issuer.config.issuer),
                issuer.feed_lag(now).unwrap_or(i64::MAX).min(999_999)
            ),
        )
    };
    match policy {
        OnStale::Refuse => Err(behind()),
        OnStale::Accept => {
            state.metrics.stale_accepted();
            Ok(())
        }
        OnStale::Introspect => {
            let Some(introspector) = &issuer.introspector else {
                return Err(behind());
            };
            let digest = candor_proto::secret::digest(token);
            match introspector.check(token, digest, now).await {
                introspect::Answer::Active(fresh) if fresh.sub == identity.sub => Ok(()),
                introspect::Answer::Active(_) | introspect::Answer::Inactive => {
                    Err(OAuthError::new(
                        Code::TokenRevoked,
                        "the issuer's introspection says the token is no longer active",
                    ))
                }
                introspect::Answer::Unavailable(_) => Err(behind()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use http::header;

    use super::*;
    use crate::deny::FeedEntry;
    use crate::phase::testing::{ISSUER, identity, request, state};

    const ROUTES: &str = r#"
        [[gateway.routes]]
        name = "required"
        match = { path_prefix = "/required" }
        upstreams = [{ url = "http://127.0.0.1:9" }]

        [[gateway.routes]]
        name = "optional"
        match = { path_prefix = "/optional" }
        upstreams = [{ url = "http://127.0.0.1:9" }]
        auth = "optional"

        [[gateway.routes]]
        name = "open"
        match = { path_prefix = "/open" }
        upstreams = [{ url = "http://127.0.0.1:9" }]
        auth = "none"
    "#;

    async fn outcome(path: &str, headers: &[(&str, &str)]) -> (Option<Code>, bool) {
        let state = state(ROUTES);
        let mut ctx = Ctx::new(&state, [127, 0, 0, 1].into());
        let req = request("GET", path, headers);
        let rs = state
            .routes
            .iter()
            .find(|r| path.starts_with(&format!("/{}", r.route.name)))
            .unwrap();
        let result = authenticate(&mut ctx, rs, &req).await;
        (result.err().map(|r| r.code()), ctx.identity.is_some())
    }

    #[tokio::test]
    async fn each_route_mode_asks_for_what_it_says() {
        assert_eq!(
            outcome("/required", &[]).await,
            (Some(Code::TokenMissing), false)
        );
        assert_eq!(outcome("/optional", &[]).await, (None, false));
        // A route without authentication never reads the header, even a broken one.
        assert_eq!(
            outcome(
                "/open",
                &[("authorization", "Bearer a"), ("authorization", "Bearer b")]
            )
            .await,
            (None, false)
        );
    }

    #[tokio::test]
    async fn a_malformed_presentation_is_refused_even_where_a_token_is_optional() {
        for path in ["/required", "/optional"] {
            let two = [("authorization", "Bearer a"), ("authorization", "Bearer b")];
            assert_ne!(outcome(path, &two).await.0, None, "{path}: two headers");
            let (code, identity) = outcome(path, &[("authorization", "Bearer not-a-jwt")]).await;
            assert_eq!(code, Some(Code::TokenMalformed), "{path}");
            assert!(!identity, "nothing verified, no identity");
        }
    }

    #[tokio::test]
    async fn bytes_outside_visible_ascii_are_named() {
        let state = state(ROUTES);
        let mut ctx = Ctx::new(&state, [127, 0, 0, 1].into());
        let mut req = request("GET", "/required", &[]);
        req.headers_mut().insert(
            header::AUTHORIZATION,
            http::HeaderValue::from_bytes(b"Bearer \xff").unwrap(),
        );
        let rs = state.routes.first().unwrap();
        let code = authenticate(&mut ctx, rs, &req)
            .await
            .err()
            .map(|r| r.code());
        assert_eq!(code, Some(Code::AuthorizationHeaderInvalid));
    }

    #[tokio::test]
    async fn a_token_the_feed_revoked_is_refused() {
        let state = state(ROUTES);
        let who = Arc::new(identity(&["read"]));
        assert!(revocation(&state, &who, "t", 1_000).await.is_ok());
        let issuer = state
            .issuers
            .iter()
            .find(|i| *i.config.issuer == *ISSUER)
            .unwrap();
        issuer.deny.apply(&[FeedEntry {
            seq: 1,
            kind: "subject".into(),
            id: who.sub.clone(),
            expires_at: i64::MAX,
            revoked_at: i64::MAX - 1,
        }]);
        let refused = revocation(&state, &who, "t", 1_000).await.unwrap_err();
        assert_eq!(refused.code, Code::TokenRevoked);
    }
}

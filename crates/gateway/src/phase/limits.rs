//! Phases 2 and 5: the route's rate limits. Limits by address or API key come before the token
//! is verified, so that a flood of bad tokens is limited too; limits by client or subject need
//! the verified token and come after it. The decisions met are kept in `ctx.limits` for the
//! response's `RateLimit` headers.

use http::Request;

use super::{Ctx, Refusal};
use crate::rate_limit::{Caller, Stage};
use crate::state::RouteState;

/// Limits by address or API key.
pub async fn before_token<B>(
    ctx: &mut Ctx<'_>,
    rs: &RouteState,
    req: &Request<B>,
) -> Result<(), Refusal> {
    check(ctx, rs, req, Stage::BeforeToken).await
}

/// Limits by client or subject, counted against the verified identity.
pub async fn after_token<B>(
    ctx: &mut Ctx<'_>,
    rs: &RouteState,
    req: &Request<B>,
) -> Result<(), Refusal> {
    check(ctx, rs, req, Stage::AfterToken).await
}

async fn check<B>(
    ctx: &mut Ctx<'_>,
    rs: &RouteState,
    req: &Request<B>,
    stage: Stage,
) -> Result<(), Refusal> {
    if rs.limits.is_empty() {
        return Ok(());
    }
    let identity = match stage {
        Stage::BeforeToken => None,
        Stage::AfterToken => ctx.identity.as_deref(),
    };
    let who = Caller::new(ctx.peer, req.headers(), &ctx.state.trusted, identity);
    ctx.limits
        .check(&rs.limits, &who, stage)
        .await
        .map_err(Refusal::Limited)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use candor_proto::Code;

    use super::*;
    use crate::phase::testing::{identity, request, state};

    const ROUTES: &str = r#"
        [[gateway.routes]]
        name = "orders"
        match = { path_prefix = "/orders" }
        upstreams = [{ url = "http://127.0.0.1:9" }]
        rate_limit = [
          { rate = "2/min", burst = 2, key = "ip" },
          { rate = "1/min", burst = 1, key = "client_id" },
        ]
    "#;

    #[tokio::test]
    async fn address_limits_come_before_the_token_and_client_limits_after() {
        let state = state(ROUTES);
        let rs = state.routes.first().unwrap();
        let req = request("GET", "/orders", &[]);
        let mut who = identity(&[]);
        who.client_id = Some("billing".into());
        let who = Arc::new(who);
        let mut outcomes = Vec::new();
        for _ in 0..3 {
            let mut ctx = Ctx::new(&state, [192, 0, 2, 1].into());
            let before = before_token(&mut ctx, rs, &req)
                .await
                .err()
                .map(|r| r.code());
            ctx.identity = Some(who.clone());
            let after = match before {
                None => after_token(&mut ctx, rs, &req)
                    .await
                    .err()
                    .map(|r| r.code()),
                Some(_) => None,
            };
            outcomes.push((before, after));
        }
        assert_eq!(
            outcomes,
            [
                (None, None),
                (None, Some(Code::RateLimitExceeded)), // the client's one per minute is spent
                (Some(Code::RateLimitExceeded), None), // the address's two are spent
            ]
        );
    }

    #[tokio::test]
    async fn an_allowed_request_carries_its_limits_for_the_headers() {
        let state = state(ROUTES);
        let rs = state.routes.first().unwrap();
        let mut ctx = Ctx::new(&state, [192, 0, 2, 7].into());
        before_token(&mut ctx, rs, &request("GET", "/orders", &[]))
            .await
            .ok()
            .unwrap();
        let mut headers = http::HeaderMap::new();
        ctx.limits.annotate(&mut headers);
        assert!(headers.contains_key("ratelimit-policy"), "{headers:?}");
    }
}

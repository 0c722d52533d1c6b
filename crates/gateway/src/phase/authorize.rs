//! Phase 4: whether the verified token may do this on this route — its scopes (per method)
//! and the route's claim rules.

use candor_proto::error::quote;
use candor_proto::{Code, OAuthError};
use http::Method;

use super::{Ctx, Refusal};
use crate::config::{ClaimCheck, Route};
use crate::identity::Identity;
use crate::state::RouteState;

/// Checks the request's identity, if it has one (a route with `auth = "optional"` lets a
/// request without a token through; its upstream sees no identity headers).
pub fn check(ctx: &Ctx<'_>, rs: &RouteState, method: &Method) -> Result<(), Refusal> {
    match &ctx.identity {
        Some(identity) => authorize(&rs.route, identity, method),
        None => Ok(()),
    }
}

/// Checks the route's scopes and claims for `identity` and `method`.
pub fn authorize(route: &Route, identity: &Identity, method: &Method) -> Result<(), Refusal> {
    let needed = route.scopes_for(method);
    let missing: Vec<&str> = needed
        .iter()
        .copied()
        .filter(|s| !identity.has_scope(s))
        .collect();
    if !missing.is_empty() {
        return Err(Refusal::Oauth {
            error: OAuthError::new(
                Code::TokenInsufficientScope,
                format!(
                    "{} {} on route {} needs the scope {}; the token has {}",
                    method,
                    "requests",
                    quote(&route.name),
                    quote(&missing.join(" ")),
                    quote(&identity.scopes.join(" "))
                ),
            ),
            scope: Some(needed.join(" ")),
        });
    }
    for rule in &route.claims {
        let value = identity.claims.get(&rule.claim);
        let ok = match (&rule.check, value) {
            (ClaimCheck::Equals(want), Some(serde_json::Value::String(got))) => got == want,
            (ClaimCheck::Contains(want), Some(serde_json::Value::String(got))) => {
                got.split(' ').any(|p| p == want)
            }
            (ClaimCheck::Contains(want), Some(serde_json::Value::Array(list))) => {
                list.iter().any(|v| v.as_str() == Some(want.as_str()))
            }
            _ => false,
        };
        if !ok {
            let (how, want) = match &rule.check {
                ClaimCheck::Contains(w) => ("to contain", w),
                ClaimCheck::Equals(w) => ("to equal", w),
            };
            return Err(OAuthError::new(
                Code::TokenClaimMismatch,
                format!(
                    "route {} needs the claim {} {how} {}; the token's is {}",
                    quote(&route.name),
                    quote(&rule.claim),
                    quote(want),
                    value.map_or_else(|| "absent".to_string(), |v| quote(&v.to_string()))
                ),
            )
            .into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::phase::testing::{identity, state};

    const ROUTES: &str = r#"
        [[gateway.routes]]
        name = "orders"
        match = { path_prefix = "/orders" }
        upstreams = [{ url = "http://127.0.0.1:9" }]
        scopes = { GET = ["orders:read"], POST = ["orders:write"] }
        claims = { groups = { contains = "staff" }, tenant = { equals = "acme" } }
    "#;

    async fn refused(
        scopes: &[&str],
        claims: serde_json::Value,
        method: Method,
    ) -> Option<Refusal> {
        let state = state(ROUTES);
        let mut who = identity(scopes);
        who.claims = claims;
        let mut ctx = Ctx::new(&state, [127, 0, 0, 1].into());
        ctx.identity = Some(Arc::new(who));
        check(&ctx, state.routes.first().unwrap(), &method).err()
    }

    fn staff() -> serde_json::Value {
        serde_json::json!({"groups": ["staff", "ops"], "tenant": "acme"})
    }

    #[tokio::test]
    async fn the_scope_of_the_method_is_needed_and_named_in_the_refusal() {
        assert!(
            refused(&["orders:read"], staff(), Method::GET)
                .await
                .is_none()
        );
        match refused(&["orders:read"], staff(), Method::POST).await {
            Some(Refusal::Oauth { error, scope }) => {
                assert_eq!(error.code, Code::TokenInsufficientScope);
                assert_eq!(scope.as_deref(), Some("orders:write"));
                assert!(
                    error.description.contains("'orders:read'"),
                    "{}",
                    error.description
                );
            }
            _ => panic!("POST without orders:write passed"),
        }
    }

    #[tokio::test]
    async fn claim_rules_contain_in_lists_and_strings_and_equal_exactly() {
        let spaced = serde_json::json!({"groups": "ops staff", "tenant": "acme"});
        assert!(
            refused(&["orders:read"], spaced, Method::GET)
                .await
                .is_none()
        );
        for claims in [
            serde_json::json!({"groups": ["ops"], "tenant": "acme"}),
            serde_json::json!({"groups": ["staff"], "tenant": "acme-evil"}),
            serde_json::json!({"groups": ["staff"]}),
            serde_json::json!({"groups": "staffers", "tenant": "acme"}),
        ] {
            let code = refused(&["orders:read"], claims.clone(), Method::GET)
                .await
                .map(|r| r.code());
            assert_eq!(code, Some(Code::TokenClaimMismatch), "{claims}");
        }
    }

    #[tokio::test]
    async fn no_identity_nothing_to_check() {
        let state = state(ROUTES);
        let ctx = Ctx::new(&state, [127, 0, 0, 1].into());
        assert!(check(&ctx, state.routes.first().unwrap(), &Method::POST).is_ok());
    }
}

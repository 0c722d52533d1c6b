//! The request path as named phases — pingora's shape: one per-request context ([`Ctx`])
//! carried through, each phase a plain function over it that may refuse ([`Refusal`]):
//!
//! 1. [`matching`] — the route: CONNECT refused, the path's normal form, host and method, the
//!    upgrade asked for;
//! 2. [`limits::before_token`] — limits by address or API key, so that a flood of bad tokens
//!    is limited too;
//! 3. [`authenticate`] — the bearer token verified, not revoked, its issuer's feed fresh;
//! 4. [`authorize`] — the route's scopes and claims;
//! 5. [`limits::after_token`] — limits by client or subject (they need the verified token);
//! 6. [`prepare`] — what goes upstream beside the request: the route's own credentials, a
//!    tunnel slot, forwarding facts;
//! 7. [`forward`] — by the route's kind;
//! 8. [`record`] — metrics, the call log, the access log.
//!
//! The phases take the request by reference and are generic over its body, so each has unit
//! tests that build requests directly; only [`forward`] consumes the request.

pub mod authenticate;
pub mod authorize;
pub mod forward;
pub mod limits;
pub mod matching;
pub mod prepare;
pub mod record;

use std::net::IpAddr;
use std::sync::Arc;

use candor_proto::{Code, OAuthError};
use candor_serve::Peer;
use http::{HeaderValue, Request, Response, header};
use hyper::body::Incoming;

use crate::identity::Identity;
use crate::state::RouteState;
use crate::{Body, State, rate_limit};

/// What one request has gathered on its way through the phases.
pub struct Ctx<'s> {
    pub state: &'s State,
    /// The route, once [`matching`] found it.
    pub route: Option<&'s RouteState>,
    /// The connection's peer (`0.0.0.0` when the listener did not say).
    pub peer: IpAddr,
    /// Who the verified token speaks for, from [`authenticate`] on: carried to the record
    /// whether the request is then refused or forwarded.
    pub identity: Option<Arc<Identity>>,
    /// The limits the request met, for its response's headers.
    pub limits: rate_limit::Checks,
    /// The upstream tried last.
    pub upstream: Option<Arc<str>>,
    /// The refusal's code, once refused.
    pub diagnosis: Option<Code>,
}

/// Why a phase ends the request.
pub enum Refusal {
    /// The catalogue's JSON refusal (with a Bearer challenge for a token problem); `scope`
    /// for `insufficient_scope`.
    Oauth {
        error: OAuthError,
        scope: Option<String>,
    },
    /// 405, with the methods the route takes.
    Method { error: OAuthError, allow: String },
    /// 429, with the limit's headers.
    Limited(rate_limit::Refused),
}

impl From<OAuthError> for Refusal {
    fn from(error: OAuthError) -> Self {
        Refusal::Oauth { error, scope: None }
    }
}

impl Refusal {
    pub fn code(&self) -> Code {
        match self {
            Refusal::Oauth { error, .. } | Refusal::Method { error, .. } => error.code,
            Refusal::Limited(_) => Code::RateLimitExceeded,
        }
    }
}

impl<'s> Ctx<'s> {
    pub fn new(state: &'s State, peer: IpAddr) -> Ctx<'s> {
        Ctx {
            state,
            route: None,
            peer,
            identity: None,
            limits: rate_limit::Checks::default(),
            upstream: None,
            diagnosis: None,
        }
    }

    /// The response refusing the request, its code noted for the record.
    pub fn refuse(&mut self, refusal: Refusal) -> Response<Body> {
        self.diagnosis = Some(refusal.code());
        let route = self.route.map(|r| r.route.name.as_str());
        match refusal {
            Refusal::Oauth { error, scope } => self.state.refusal(route, &error, scope.as_deref()),
            Refusal::Method { error, allow } => {
                let mut r = self.state.refusal(route, &error, None);
                if let Ok(v) = HeaderValue::from_str(&allow) {
                    r.headers_mut().insert(header::ALLOW, v);
                }
                r
            }
            Refusal::Limited(limited) => limited.response(self.state, route.unwrap_or("-")),
        }
    }
}

/// The connection's peer, as the listener recorded it.
pub fn peer<B>(req: &Request<B>) -> IpAddr {
    req.extensions()
        .get::<Peer>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |p| p.0.ip())
}

/// Handles one request: the phases, then the record.
pub async fn handle(state: &State, mut req: Request<Incoming>) -> Response<Body> {
    let record = record::Record::start(state, &mut req);
    let mut ctx = Ctx::new(state, peer(&req));
    let response = match pipeline(&mut ctx, req).await {
        Ok(response) => response,
        Err(refusal) => ctx.refuse(refusal),
    };
    record.finish(&ctx, &response);
    response
}

async fn pipeline(ctx: &mut Ctx<'_>, req: Request<Incoming>) -> Result<Response<Body>, Refusal> {
    // The request goes upstream whole; its path (shared bytes, no copy) stays for the route.
    let target = req.uri().clone();
    let (rs, matched) = matching::route(ctx, &req, &target)?;
    limits::before_token(ctx, rs, &req).await?;
    authenticate::authenticate(ctx, rs, &req).await?;
    authorize::check(ctx, rs, req.method())?;
    limits::after_token(ctx, rs, &req).await?;
    let prepared = prepare::prepare(ctx, rs, &req, matched.upgrade).await?;
    let mut response = match forward::forward(ctx, rs, req, prepared, &matched.path.forward).await {
        Ok(response) => response,
        Err(refusal) => ctx.refuse(refusal),
    };
    ctx.limits.annotate(response.headers_mut());
    Ok(response)
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use http::Method;

    use super::*;

    const ROUTES: &str = r#"
        [[gateway.routes]]
        name = "orders"
        match = { path_prefix = "/orders" }
        upstreams = [{ url = "http://127.0.0.1:9" }]
        scopes = ["orders:read"]
        rate_limit = { rate = "1/min", burst = 1, key = "ip" }
    "#;

    #[tokio::test]
    async fn a_refusal_after_authentication_keeps_who_was_refused() {
        let state = testing::state(ROUTES);
        let rs = state.routes.first().unwrap();
        let mut ctx = Ctx::new(&state, [127, 0, 0, 1].into());
        ctx.route = Some(rs);
        ctx.identity = Some(Arc::new(testing::identity(&["orders:write"])));
        let refusal = authorize::check(&ctx, rs, &Method::GET).err().unwrap();
        let response = ctx.refuse(refusal);
        assert_eq!(response.status(), 403);
        assert_eq!(ctx.diagnosis, Some(Code::TokenInsufficientScope));
        assert_eq!(
            ctx.identity.as_ref().unwrap().sub,
            "alice",
            "carried to the record"
        );
        let challenge = response.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap();
        assert!(challenge.contains("scope=\"orders:read\""), "{challenge}");
    }

    #[tokio::test]
    async fn a_rate_limit_refusal_is_a_429_without_a_challenge() {
        let state = testing::state(ROUTES);
        let rs = state.routes.first().unwrap();
        let req = testing::request("GET", "/orders", &[]);
        let mut ctx = Ctx::new(&state, [198, 51, 100, 4].into());
        ctx.route = Some(rs);
        limits::before_token(&mut ctx, rs, &req).await.ok().unwrap();
        let refusal = limits::before_token(&mut ctx, rs, &req)
            .await
            .err()
            .unwrap();
        let response = ctx.refuse(refusal);
        assert_eq!(response.status(), 429);
        assert_eq!(ctx.diagnosis, Some(Code::RateLimitExceeded));
        assert!(response.headers().contains_key(header::RETRY_AFTER));
        assert!(!response.headers().contains_key(header::WWW_AUTHENTICATE));
    }
}

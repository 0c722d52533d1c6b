//! Phase 1: which route takes the request — decided on the path in the form the upstream
//! will read ([`crate::path`]), the host and the method; and the upgrade the request asks for,
//! if the route allows it.

use std::borrow::Cow;

use candor_proto::error::quote;
use candor_proto::{Code, OAuthError};
use http::{Method, Request, Uri, header};

use super::{Ctx, Refusal};
use crate::path::{self, Normalized};
use crate::proxy::{self, Upgrade};
use crate::route::{self, NoRoute};
use crate::state::RouteState;

/// What matching learnt of the request.
pub struct Matched<'u> {
    /// The path: what the route matched, and the normal form sent upstream.
    pub path: Normalized<'u>,
    /// The upgrade asked for and allowed by the route.
    pub upgrade: Option<Upgrade>,
}

/// The host a request names: the target's authority when it has one (HTTP/2's `:authority`,
/// an absolute-form target — RFC 9112 §3.2.2 says to ignore `Host` then), else `Host`.
pub fn request_host<B>(req: &Request<B>) -> Option<Cow<'_, str>> {
    match req.uri().authority() {
        Some(a) => Some(match a.port() {
            Some(p) => Cow::Owned(format!("{}:{}", a.host(), p.as_str())),
            None => Cow::Borrowed(a.host()),
        }),
        None => req
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(Cow::Borrowed),
    }
}

/// Finds the route of `req`, whose target is `target` (a copy of the request's, so that the
/// path can outlive the request handed to [`super::forward`]). Sets `ctx.route`.
pub fn route<'s, 'u, B>(
    ctx: &mut Ctx<'s>,
    req: &Request<B>,
    target: &'u Uri,
) -> Result<(&'s RouteState, Matched<'u>), Refusal> {
    if req.method() == Method::CONNECT {
        // A gateway routes requests for paths; it opens no tunnel to where a caller names.
        return Err(OAuthError::new(
            Code::RouteMethodNotAllowed,
            "CONNECT is not accepted: the gateway forwards requests to its routes' upstreams, it opens no tunnels",
        )
        .into());
    }
    let normalized = path::normalize(target.path()).map_err(|why| {
        OAuthError::new(
            Code::RoutePathAmbiguous,
            format!(
                "the path holds {}; refused, since an upstream could read it as another path",
                why.describe()
            ),
        )
    })?;
    let host = request_host(req);
    let host = host.as_deref();
    let routes = &ctx.state.routes;
    let index = route::find(routes, |r| &r.route, host, &normalized, req.method())
        .map_err(|no| no_route(no, req.method(), host, &normalized))?;
    let Some(rs) = routes.get(index) else {
        return Err(OAuthError::new(Code::RouteNotFound, "no route").into());
    };
    ctx.route = Some(rs);
    let upgrade = proxy::requested_upgrade(req.headers(), &rs.route.upgrades)?;
    Ok((
        rs,
        Matched {
            path: normalized,
            upgrade,
        },
    ))
}

fn no_route(no: NoRoute, method: &Method, host: Option<&str>, path: &Normalized) -> Refusal {
    match no {
        NoRoute::NotFound => OAuthError::new(
            Code::RouteNotFound,
            format!(
                "no route matches {} {} (host {})",
                method,
                quote(&path.forward),
                quote(host.unwrap_or("(none)"))
            ),
        )
        .into(),
        NoRoute::Method(allowed) => {
            let allow = allowed
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            Refusal::Method {
                error: OAuthError::new(
                    Code::RouteMethodNotAllowed,
                    format!("{method} is not accepted here; the route takes {allow}"),
                ),
                allow,
            }
        }
        NoRoute::Ambiguous(what) => OAuthError::new(
            Code::RoutePathAmbiguous,
            format!("the path holds {what}, which an upstream could read as another path; refused"),
        )
        .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phase::testing::{request, state};

    const ROUTES: &str = r#"
        [[gateway.routes]]
        name = "orders"
        match = { path_prefix = "/orders", methods = ["GET", "POST"] }
        upstreams = [{ url = "http://127.0.0.1:9" }]
        auth = "none"
    "#;

    fn code(r: Result<(&RouteState, Matched<'_>), Refusal>) -> Code {
        match r {
            Ok(_) => panic!("matched"),
            Err(refusal) => refusal.code(),
        }
    }

    #[tokio::test]
    async fn a_route_is_found_by_path_and_method() {
        let state = state(ROUTES);
        let mut ctx = Ctx::new(&state, [127, 0, 0, 1].into());
        let req = request("GET", "/orders/7", &[]);
        let target = req.uri().clone();
        let (rs, matched) = route(&mut ctx, &req, &target).ok().unwrap();
        assert_eq!(rs.route.name, "orders");
        assert_eq!(matched.path.forward, "/orders/7");
        assert!(ctx.route.is_some(), "the route is carried for the record");
    }

    #[tokio::test]
    async fn each_way_of_not_matching_has_its_code() {
        let state = state(ROUTES);
        let mut ctx = Ctx::new(&state, [127, 0, 0, 1].into());
        for (method, path, want) in [
            ("GET", "/invoices", Code::RouteNotFound),
            ("DELETE", "/orders/7", Code::RouteMethodNotAllowed),
            ("CONNECT", "/orders/7", Code::RouteMethodNotAllowed),
            ("GET", "/orders/%2e%2e%2fadmin%00", Code::RoutePathAmbiguous),
            ("GET", "/orders\\..\\admin", Code::RoutePathAmbiguous),
        ] {
            let req = request(method, path, &[]);
            let target = req.uri().clone();
            assert_eq!(
                code(route(&mut ctx, &req, &target)),
                want,
                "{method} {path}"
            );
        }
        assert!(ctx.route.is_none(), "no route is carried when none matched");
    }

    #[tokio::test]
    async fn a_wrong_method_says_what_the_route_takes() {
        let state = state(ROUTES);
        let mut ctx = Ctx::new(&state, [127, 0, 0, 1].into());
        let req = request("DELETE", "/orders/7", &[]);
        let target = req.uri().clone();
        match route(&mut ctx, &req, &target) {
            Err(Refusal::Method { allow, .. }) => assert_eq!(allow, "GET, POST"),
            _ => panic!("not a method refusal"),
        }
    }

    #[tokio::test]
    async fn an_upgrade_the_route_does_not_allow_is_refused() {
        // The default allows websocket only.
        let state = state(ROUTES);
        let mut ctx = Ctx::new(&state, [127, 0, 0, 1].into());
        let req = request(
            "GET",
            "/orders/ws",
            &[("connection", "Upgrade"), ("upgrade", "irc/6.9")],
        );
        let target = req.uri().clone();
        assert_eq!(
            code(route(&mut ctx, &req, &target)),
            Code::RouteUpgradeNotAllowed
        );
    }

    #[test]
    fn the_host_is_the_authority_of_an_absolute_target() {
        let req = request("GET", "http://api.example:8443/orders", &[("host", "evil")]);
        assert_eq!(request_host(&req).as_deref(), Some("api.example:8443"));
        let req = request("GET", "/orders", &[("host", "api.example")]);
        assert_eq!(request_host(&req).as_deref(), Some("api.example"));
    }
}

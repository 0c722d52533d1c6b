//! Phase 6: what goes upstream beside the request — the route's own credentials for its
//! upstream (`upstream_auth`), a tunnel slot for an upgrade (taken before anything is sent:
//! past the cap nothing reaches the upstream), the host `X-Forwarded-Host` names, and the
//! caller that upstream failures count against.

use std::net::IpAddr;

use candor_proto::{Code, OAuthError};
use http::{HeaderValue, Request, header};
use tokio::sync::OwnedSemaphorePermit;

use super::matching::request_host;
use super::{Ctx, Refusal};
use crate::proxy::Upgrade;
use crate::state::RouteState;

/// What [`super::forward`] sends beside the request.
pub struct Prepared {
    /// The route's own `Authorization` for the upstream, replacing the caller's.
    pub upstream_authorization: Option<String>,
    /// The upgrade, with the tunnel slot it holds.
    pub upgrade: Option<(Upgrade, OwnedSemaphorePermit)>,
    /// What `X-Forwarded-Host` says: the Host header as it came (no copy), or the target's
    /// authority.
    pub forwarded_host: Option<HeaderValue>,
    /// Who failures are counted against (passive ejection wants more than one caller): the
    /// peer, or the client a trusted proxy names.
    pub client: IpAddr,
}

pub async fn prepare<B>(
    ctx: &Ctx<'_>,
    rs: &RouteState,
    req: &Request<B>,
    upgrade: Option<Upgrade>,
) -> Result<Prepared, Refusal> {
    let upstream_authorization = match &rs.upstream_auth {
        None => None,
        Some(auth) => Some(auth.header().await.map_err(|why| {
            OAuthError::new(
                Code::UpstreamConnect,
                format!("the route's own credentials for its upstream cannot be had: {why}"),
            )
        })?),
    };
    let upgrade = match upgrade {
        None => None,
        Some(u) => match ctx.state.tunnels.clone().try_acquire_owned() {
            Ok(permit) => Some((u, permit)),
            Err(_) => {
                return Err(OAuthError::new(
                    Code::TunnelsExhausted,
                    format!(
                        "the gateway holds its {} upgraded connections (max_tunnels) already",
                        ctx.state.max_tunnels
                    ),
                )
                .into());
            }
        },
    };
    let forwarded_host = match req.uri().authority() {
        Some(_) => request_host(req).and_then(|h| HeaderValue::from_str(&h).ok()),
        None => req.headers().get(header::HOST).cloned(),
    };
    let client = candor_proto::forwarded::client_ip_of(ctx.peer, req.headers(), &ctx.state.trusted);
    Ok(Prepared {
        upstream_authorization,
        upgrade,
        forwarded_host,
        client,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phase::testing::{request, state};

    fn ws() -> Upgrade {
        Upgrade {
            header: HeaderValue::from_static("websocket"),
            protocols: vec!["websocket".into()],
        }
    }

    const ROUTES: &str = r#"
        max_tunnels = 1
        trusted_proxies = ["10.0.0.0/8"]

        [[gateway.routes]]
        name = "live"
        match = { path_prefix = "/live" }
        upstreams = [{ url = "http://127.0.0.1:9" }]
        auth = "none"
    "#;

    #[tokio::test]
    async fn the_tunnel_cap_refuses_before_anything_is_sent() {
        let state = state(ROUTES);
        let rs = state.routes.first().unwrap();
        let ctx = Ctx::new(&state, [127, 0, 0, 1].into());
        let req = request("GET", "/live", &[]);
        let first = prepare(&ctx, rs, &req, Some(ws())).await;
        let held = first.ok().unwrap();
        assert!(held.upgrade.is_some());
        let second = prepare(&ctx, rs, &req, Some(ws())).await;
        assert_eq!(second.err().map(|r| r.code()), Some(Code::TunnelsExhausted));
        drop(held);
        assert!(prepare(&ctx, rs, &req, Some(ws())).await.is_ok());
    }

    #[tokio::test]
    async fn failures_count_against_the_client_a_trusted_proxy_names() {
        let state = state(ROUTES);
        let rs = state.routes.first().unwrap();
        let req = request(
            "GET",
            "/live",
            &[("x-forwarded-for", "203.0.113.9"), ("host", "api.example")],
        );
        let from_proxy = Ctx::new(&state, [10, 1, 2, 3].into());
        let p = prepare(&from_proxy, rs, &req, None).await.ok().unwrap();
        assert_eq!(p.client, IpAddr::from([203, 0, 113, 9]));
        assert_eq!(p.forwarded_host.unwrap(), "api.example");
        let direct = Ctx::new(&state, [198, 51, 100, 1].into());
        let p = prepare(&direct, rs, &req, None).await.ok().unwrap();
        assert_eq!(
            p.client,
            IpAddr::from([198, 51, 100, 1]),
            "an untrusted peer's header is ignored"
        );
    }
}

//! Phase 7: the request goes upstream, the way its route's kind says (one arm per kind: a new
//! kind does not compile until it has its own).

use http::{Request, Response};
use hyper::body::Incoming;

use super::prepare::Prepared;
use super::{Ctx, Refusal};
use crate::config::RouteKind;
use crate::state::RouteState;
use crate::{Body, proxy};

/// Sends `req` (whose path in normal form is `path`) to the route's upstreams; notes the
/// upstream tried last in `ctx.upstream`.
pub async fn forward(
    ctx: &mut Ctx<'_>,
    rs: &RouteState,
    req: Request<Incoming>,
    prepared: Prepared,
    path: &str,
) -> Result<Response<Body>, Refusal> {
    let forward = proxy::Forward {
        route: &rs.route,
        pool: &rs.pool,
        connector: &rs.connector,
        identity: ctx.identity.as_deref(),
        origin: proxy::Origin {
            peer: ctx.peer,
            trusted: &ctx.state.trusted,
            scheme: ctx.state.scheme,
            host: prepared.forwarded_host,
            upstream_authorization: prepared.upstream_authorization,
        },
        path,
        client: prepared.client,
        upgrade: prepared.upgrade,
        pace: ctx.state.body_pace,
    };
    // Exhaustive: a new kind of route does not compile until it says how it forwards.
    let (result, upstream) = match rs.route.kind {
        RouteKind::Http => proxy::forward(req, forward).await,
    };
    ctx.upstream = upstream;
    result.map_err(Refusal::from)
}

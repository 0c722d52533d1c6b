//! Candor's admin surface: one axum router for administration, behind one credential
//! ([`AdminAuth`]), served on the server's and the gateway's admin listeners alike.
//!
//! What each process differs in — whether it is ready, what its metrics are — it says through
//! [`Host`]; what is the same everywhere is here once:
//!
//! * `GET /healthz` — alive (`ok`);
//! * `GET /readyz` — ready to take traffic, as the host judges ([`Readiness`]);
//! * `GET /metrics` — Prometheus text of the host's collectors;
//! * `GET /admin/calls`, `GET /admin/calls/stats` — the call log's queries (docs/calls.md),
//!   admin only; the same under `/admin/api/v1/calls`, beside the rest of the admin API;
//! * `GET /admin/api/v1/audit` — the audit log; `GET /admin/api/v1/gateway` — the routes and
//!   issuers of a gateway in this process ([`GatewayView`]).
//!
//! Anything else is a JSON `server.not_found`. To add an endpoint: a handler in a module
//! named for what it manages, taking [`AdminAuth`] (reads) or [`AdminChange`] (changes) first,
//! so that nothing is answered before the credential is checked, a route in [`router`] — or, for what only the authorization
//! server holds, in its own router merged beside this one (`Guard: FromRef` of its state).

mod audit;
mod auth;
mod calls;
mod gateway;
mod health;
mod json;
mod respond;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::get;

pub use auth::{
    AdminAuth, AdminChange, Guard, Principal, Role, SCOPE_ADMIN, SCOPE_VIEWER, TokenVerifier,
};
pub use gateway::{GatewayStatus, GatewayView, IssuerStatus, RouteStatus, UpstreamStatus};
pub use health::{Host, Readiness, readiness_response};
pub use json::{AdminJson, MAX_BODY};
pub use respond::error_response;

/// What the admin router serves from: the call log (when on) and the host, which holds the
/// credential.
#[derive(Clone)]
pub struct Surface {
    calls: Option<Arc<candor_calls::CallLog>>,
    host: Arc<dyn Host>,
}

impl Surface {
    pub fn new(calls: Option<Arc<candor_calls::CallLog>>, host: Arc<dyn Host>) -> Self {
        Surface { calls, host }
    }
}

/// The credential is asked of the host at each request: one attached after the router was
/// built is the one that applies.
impl FromRef<Surface> for Guard {
    fn from_ref(surface: &Surface) -> Guard {
        surface.host.guard()
    }
}

/// The admin listener's router: health, readiness, metrics and the call log's queries.
pub fn router(surface: Surface) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .fallback(respond::not_found)
        .with_state(surface.clone())
        .merge(calls_router(surface))
}

/// The call log's and the audit log's queries alone, for a router that serves the admin API elsewhere (the
/// server's public listener when `[admin] on_public_listener` is set).
pub fn calls_router(surface: Surface) -> Router {
    Router::new()
        .route(CALLS_PATHS[0], get(calls::tail))
        .route(CALLS_PATHS[1], get(calls::stats))
        .route(CALLS_PATHS[2], get(calls::tail))
        .route(CALLS_PATHS[3], get(calls::stats))
        .route(CALLS_PATHS[4], get(audit::list))
        .route(CALLS_PATHS[5], get(gateway::status))
        .with_state(surface)
}

/// The paths [`calls_router`] serves, for a host that mounts it beside routes of its own.
pub const CALLS_PATHS: [&str; 6] = [
    "/admin/calls",
    "/admin/calls/stats",
    "/admin/api/v1/calls",
    "/admin/api/v1/calls/stats",
    "/admin/api/v1/audit",
    "/admin/api/v1/gateway",
];

/// The OpenAPI description of the call log's queries, for the admin API's document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    let mut doc = calls::ApiDoc::openapi();
    doc.merge(audit::ApiDoc::openapi());
    doc.merge(gateway::ApiDoc::openapi());
    doc
}

#[cfg(test)]
mod tests;

//! `GET /admin/api/v1/gateway`: what a gateway runs now — its routes with their upstreams'
//! health, and its issuers with their JWKS and revocation feed — read-only (routes live in
//! the configuration file). Served by the gateway's admin listener, and by the server's when
//! a gateway runs beside it in the same process.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use candor_proto::{Code, OAuthError};
use serde::Serialize;

use crate::respond::{error_response, json};
use crate::{AdminAuth, Surface};

/// A running gateway, as the admin surface reads it.
pub trait GatewayView: Send + Sync + 'static {
    /// The routes and issuers in force at `now` (Unix seconds).
    fn status(&self, now: i64) -> GatewayStatus;
}

/// What a gateway runs now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GatewayStatus {
    pub routes: Vec<RouteStatus>,
    pub issuers: Vec<IssuerStatus>,
}

/// One route, as configured, with its upstreams' state.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RouteStatus {
    pub name: String,
    /// The host it answers for; absent: any.
    pub host: Option<String>,
    pub path_prefix: String,
    /// Empty: every method.
    pub methods: Vec<String>,
    /// `jwt`, `any` or `none` (how callers authenticate).
    pub auth: String,
    /// Scopes every request needs.
    pub scopes: Vec<String>,
    /// The issuers whose tokens it accepts.
    pub issuers: Vec<String>,
    /// How many rate limits apply to it.
    pub rate_limits: usize,
    pub upstreams: Vec<UpstreamStatus>,
}

/// One upstream of a route.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UpstreamStatus {
    pub url: String,
    /// In rotation: its health checks pass and it is not ejected after failures.
    pub available: bool,
    /// Keep-alive connections waiting in the pool.
    pub idle_connections: usize,
}

/// One trusted issuer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssuerStatus {
    pub issuer: String,
    /// The JWKS URI in use (configured, or found by discovery); absent until discovered.
    pub jwks_uri: Option<String>,
    pub jwks_fetches: u64,
    pub jwks_fetch_failures: u64,
    /// Whether a revocation feed is followed.
    pub feed: bool,
    /// Whether the feed's live part has been read once (the gateway is ready then).
    pub feed_loaded: bool,
    /// Seconds since the feed was last read; absent without a feed or before the first read.
    pub feed_lag_seconds: Option<i64>,
    /// Revoked tokens, grants, users and clients held.
    pub deny_entries: usize,
    /// Whether opaque tokens are introspected.
    pub introspection: bool,
}

/// `GET /admin/api/v1/gateway`.
#[utoipa::path(get, path = "/admin/api/v1/gateway", tag = "gateway",
    responses((status = 200, body = GatewayStatus),
              (status = 404, description = "admin.not_found: no gateway runs in this process")))]
pub(crate) async fn status(_: AdminAuth, State(surface): State<Surface>) -> Response {
    match surface.host.gateway() {
        Some(gateway) => json(StatusCode::OK, &gateway.status(surface.host.now())),
        None => error_response(
            &OAuthError::new(
                Code::AdminNotFound,
                "no gateway runs in this process (a [gateway] section starts one beside the server)",
            ),
            surface.host.guard().docs(),
        ),
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(status),
    components(schemas(GatewayStatus, RouteStatus, UpstreamStatus, IssuerStatus))
)]
pub(crate) struct ApiDoc;

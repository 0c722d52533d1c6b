//! The HTTP edge: routes, and the mapping of results to responses. Handlers are thin: they
//! read the request, call a plain function of the domain modules, and map its result.

mod admin;
mod admin_api;
mod backchannel;
mod browser;
mod console;
mod demo;
mod meta;
mod pages;
mod respond;

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, Request};
use axum::routing::{get, post};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::app::App;

pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The server's router, with the issuer's path (if any) as prefix.
pub fn router(app: App) -> Router {
    let endpoints = Router::new()
        .route("/", get(meta::home))
        .route("/.well-known/openid-configuration", get(meta::discovery))
        .route(
            "/token",
            post(backchannel::token).fallback(backchannel::not_post),
        )
        .route(
            "/introspect",
            post(backchannel::introspect).fallback(backchannel::not_post),
        )
        .route(
            "/revoke",
            post(backchannel::revoke).fallback(backchannel::not_post),
        )
        .route("/revocations", get(backchannel::revocations))
        .route(
            "/authorize",
            get(browser::authorize_get).post(browser::authorize_post),
        )
        .route("/login", post(browser::login).get(browser::login_get))
        .route("/consent", post(browser::consent).get(browser::consent_get))
        .route(
            "/logout",
            get(browser::logout_get).post(browser::logout_post),
        )
        .route(
            "/userinfo",
            get(browser::userinfo_get).post(browser::userinfo_post),
        )
        .route("/jwks", get(meta::jwks))
        .route("/healthz", get(meta::healthz))
        .route("/readyz", get(meta::readyz))
        .route("/docs/errors", get(meta::docs_index))
        .route("/assets/candor.js", get(meta::script))
        .route("/assets/uplot.js", get(meta::uplot))
        .route("/assets/console.js", get(meta::console_script))
        .route("/docs/errors/{code}", get(meta::docs_code));
    let endpoints = if app.settings().demo {
        endpoints
            .route("/demo", get(demo::home))
            .route("/demo/start", get(demo::start))
            .route("/demo/callback", get(demo::callback))
    } else {
        endpoints
    };
    let endpoints = endpoints.layer(axum::middleware::from_fn_with_state(
        app.clone(),
        crate::calls::track,
    ));
    // After the call log's layer: administration is not a call of the server's endpoints.
    let endpoints = if app.settings().admin_on_public_listener {
        endpoints
            .merge(admin::api_routes(&app))
            .route("/admin", get(console::overview))
            .route(
                "/admin/clients",
                get(console::clients).post(console::create_client),
            )
            .route(
                "/admin/clients/{client_id}",
                get(console::client).post(console::client_change),
            )
            .route(
                "/admin/users",
                get(console::users).post(console::create_user),
            )
            .route(
                "/admin/users/{username}",
                get(console::user).post(console::user_change),
            )
            .route("/admin/diagnoses", get(console::diagnoses))
            .route("/admin/requests.json", get(console::calls_since))
            .route("/admin/gateway", get(console::gateway))
            .route("/admin/keys", get(console::keys))
            .route("/admin/requests", get(console::calls))
            .route("/admin/audit", get(console::audit))
            .route(
                "/admin/doctor",
                get(console::doctor_form).post(console::doctor),
            )
            .route("/admin/login", get(console::login))
            .route("/admin/callback", get(console::callback))
            .route("/admin/logout", post(console::logout))
    } else {
        endpoints
    };

    // RFC 8414 §3: the well-known segment goes between the host and the issuer's path.
    let path = issuer_path(app.issuer());
    let rfc8414 = format!("/.well-known/oauth-authorization-server{path}");
    let routes = if path.is_empty() {
        endpoints
    } else {
        Router::new().nest(&path, endpoints)
    }
    .route(&rfc8414, get(meta::discovery))
    .fallback(meta::not_found);

    let trace = TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
        let request_id = req
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        tracing::info_span!(
            "request",
            method = %req.method(),
            path = %req.uri().path(),
            request_id,
            client_id = tracing::field::Empty,
        )
    });

    routes
        .with_state(app)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(trace)
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
}

/// The admin listener's router (`candor-admin`): `/metrics`, `/healthz`, `/readyz`, and the
/// call log's queries.
pub fn admin_router(app: App) -> Router {
    admin::router(app)
}

/// The client's address of `req`: its peer, or what a trusted proxy says it forwarded for.
pub(crate) fn client_address_of<B>(app: &App, req: &Request<B>) -> std::net::IpAddr {
    let peer = req
        .extensions()
        .get::<candor_serve::Peer>()
        .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |p| p.0.ip());
    candor_proto::forwarded::client_ip_of(peer, req.headers(), &app.settings().trusted_proxies)
}

/// The path of the issuer URL without a trailing slash ("" for a bare host).
fn issuer_path(issuer: &str) -> String {
    url::Url::parse(issuer)
        .map(|u| u.path().trim_end_matches('/').to_string())
        .unwrap_or_default()
}

//! The console's Gateway page: the routes of the gateway running beside the server, with
//! their upstreams' health, and its issuers with their JWKS and revocation feed — as the
//! admin API's `GET /admin/api/v1/gateway` reads them. Read-only: routes live in the
//! configuration file.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use candor_admin::GatewayStatus;

use super::{Frame, render, signed_in};
use crate::app::App;

#[derive(Template)]
#[template(path = "console_gateway.html")]
struct GatewayPage {
    frame: Frame,
    /// `None`: no gateway runs in this process.
    status: Option<GatewayStatus>,
}

/// `GET /admin/gateway`.
pub(in crate::http) async fn gateway(State(app): State<App>, jar: CookieJar) -> Response {
    let frame = match signed_in(&app, &jar).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    let page = GatewayPage {
        frame,
        status: app.gateway().map(|g| g.status(app.now())),
    };
    render(StatusCode::OK, page.render())
}

//! Discovery, JWKS, health, and the diagnosis docs pages.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use candor_proto::{Code, OAuthError};

use super::respond::error_response;
use crate::app::App;

pub(super) async fn discovery(State(app): State<App>) -> Response {
    let mut r = Json(crate::discovery::metadata(&app)).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}

pub(super) async fn jwks(State(app): State<App>) -> Response {
    let mut r = Json(app.keys().current().jwks()).into_response();
    let headers = r.headers_mut();
    // Short: a rotation must reach clients quickly; they refetch on an unknown kid anyway.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jwk-set+json"),
    );
    r
}

pub(super) async fn healthz() -> &'static str {
    "ok\n"
}

/// `/readyz` on the public listener: the admin surface's readiness rule, answered here too
/// (load balancers probe the port they send traffic to).
pub(super) async fn readyz(State(app): State<App>) -> Response {
    use candor_admin::Host;
    candor_admin::readiness_response(&super::admin::ServerHost(app).readiness().await)
}

/// The docs pages are HTML like the sign-in pages, with the same headers.
fn html(status: StatusCode, body: Result<String, askama::Error>) -> Response {
    super::pages::render(status, body)
}

/// `GET /`: a page saying what this server is, with links to discovery and the docs.
pub(super) async fn home(State(app): State<App>) -> Response {
    html(
        StatusCode::OK,
        crate::docs::home_page(app.issuer(), app.settings().demo),
    )
}

/// `GET /assets/candor.js`: the pages' one script, cacheable (it changes only with the binary).
pub(super) async fn script() -> Response {
    javascript(crate::docs::SCRIPT)
}

/// A script the console's pages load: JavaScript, cacheable (it changes only with the binary).
fn javascript(body: &'static str) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// `GET /assets/uplot.js`: uPlot, the console's charting library, vendored (docs/architecture.md).
pub(super) async fn uplot() -> Response {
    javascript(include_str!("../../assets/uplot-1.6.32.iife.min.js"))
}

/// `GET /assets/console.js`: the console's charts and live tail (progressive enhancement).
pub(super) async fn console_script() -> Response {
    javascript(include_str!("../../assets/console.js"))
}

pub(super) async fn docs_index(State(app): State<App>) -> Response {
    html(StatusCode::OK, crate::docs::index_page(app.issuer()))
}

pub(super) async fn docs_code(State(app): State<App>, Path(code): Path<String>) -> Response {
    match crate::docs::code_page(app.issuer(), &code) {
        Ok(Some(page)) => html(StatusCode::OK, Ok(page)),
        Ok(None) => html(
            StatusCode::NOT_FOUND,
            crate::docs::unknown_code_page(app.issuer(), &code),
        ),
        Err(e) => html(StatusCode::INTERNAL_SERVER_ERROR, Err(e)),
    }
}

pub(super) async fn not_found(State(app): State<App>, uri: Uri) -> Response {
    let error = OAuthError::new(
        Code::ServerNotFound,
        format!("no endpoint at {}", candor_proto::error::quote(uri.path())),
    );
    error_response(&app, &error)
}

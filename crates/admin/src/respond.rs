//! How the admin surface answers: JSON that no cache keeps, and errors in the catalogue's
//! one body (`candor_proto::error`).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use candor_proto::{Code, OAuthError};
use serde::Serialize;

use crate::Surface;

/// `body` as JSON with `status`; admin answers are about live state and may name clients:
/// no cache keeps them.
pub(crate) fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let mut r = (status, Json(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The catalogue's JSON body of `error`, with its status, linked under `docs`.
pub fn error_response(error: &OAuthError, docs: Option<&str>) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json(status, &error.body_linked(docs))
}

/// Any path the surface does not serve.
pub(crate) async fn not_found(State(surface): State<Surface>, uri: Uri) -> Response {
    let error = OAuthError::new(
        Code::ServerNotFound,
        format!("no endpoint at {}", candor_proto::error::quote(uri.path())),
    );
    error_response(&error, surface.host.guard().docs())
}

//! Turning results into responses: the JSON error shape, `Cache-Control: no-store`, and the
//! one log line per refused request.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use candor_proto::OAuthError;
use serde::Serialize;

use crate::app::App;
use crate::refusal::Refusal;

/// A JSON response that must not be cached (RFC 6749 §5.1).
pub fn no_store_json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The response for a refused request, logged once with its diagnosis. The client_id and
/// request id are fields of the request's span, so they are on the same log line.
pub fn refuse(app: &App, refusal: Refusal) -> Response {
    if let Refusal::Internal(cause) = &refusal {
        tracing::error!(diagnosis = "server.internal", error = %cause, "request failed");
    }
    let error = refusal.public();
    if !matches!(refusal, Refusal::Internal(_)) {
        tracing::info!(
            diagnosis = error.code.as_str(),
            error = error.error(),
            status = error.status(),
            description = %error.description,
            "request refused"
        );
    }
    error_response(app, &error)
}

/// The JSON error body with its status and, for client authentication failures, a
/// `WWW-Authenticate` challenge (RFC 6749 §5.2).
pub fn error_response(app: &App, error: &OAuthError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = no_store_json(status, &error.body(app.issuer()));
    if status == StatusCode::UNAUTHORIZED && error.error() == "invalid_client" {
        let challenge = format!("Basic realm=\"{}\"", app.issuer());
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
    }
    response
}

/// A header as text, if present and visible ASCII.
pub fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

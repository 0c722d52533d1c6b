//! Turning results into responses: the JSON error shape, `Cache-Control: no-store`, and the
//! one log line per refused request.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use candor_proto::OAuthError;
use candor_proto::authorization::{self, Scheme};
use serde::Serialize;

use crate::app::App;
use crate::refusal::Refusal;

/// A JSON response that must not be cached (RFC 6749 §5.1).
pub(super) fn no_store_json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The response for a refused request, logged once with its diagnosis. The client_id and
/// request id are fields of the request's span, so they are on the same log line.
pub(super) fn refuse(app: &App, refusal: Refusal) -> Response {
    if let Refusal::Internal(cause) = &refusal {
        tracing::error!(diagnosis = "server.internal", error = %cause, "request failed");
    }
    let error = refusal.public();
    if !matches!(refusal, Refusal::Internal(_)) {
        tracing::info!(
            diagnosis = error.code.as_str(),
            error = error.error(),
            status = error.status(),
            description = crate::refusal::logged_description(&error),
            "request refused"
        );
    }
    let mut response = error_response(app, &error);
    if let Refusal::Limited(r) = &refusal {
        for (name, value) in candor_limit::headers(&r.policy, &r.decision) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// The JSON error body with its status.
pub(super) fn error_response(app: &App, error: &OAuthError) -> Response {
    crate::calls::diagnosis(error.code);
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    no_store_json(status, &error.body(app.issuer()))
}

/// RFC 6749 §5.2: when a client that authenticated with an `Authorization` header is refused
/// as `invalid_client`, the 401 carries a `WWW-Authenticate` challenge for that scheme. Not
/// otherwise: clients such as openid-client treat a challenge as the error and stop reading
/// the body's `error` and `error_description`.
pub(super) fn basic_challenge(app: &App, request: &HeaderMap, mut response: Response) -> Response {
    let basic_attempted = header_str(request, header::AUTHORIZATION)
        .is_some_and(|h| authorization::parse(h).scheme == Scheme::Basic);
    if basic_attempted
        && response.status() == StatusCode::UNAUTHORIZED
        && let Some(v) = authorization::basic_challenge_header(app.issuer())
    {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

/// A header as text, if present and visible ASCII.
pub(super) fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

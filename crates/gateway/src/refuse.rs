//! Refusals: RFC 6750 for token problems (401 `invalid_token` with a `WWW-Authenticate`
//! challenge, 403 `insufficient_scope` with the `scope` attribute, 400 `invalid_request`), the
//! catalogue's JSON body everywhere, and one log line per refused request — never a token.

use bytes::Bytes;
use candor_proto::{OAuthError, authorization};
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::BodyExt;

use crate::Body;

/// Where `error_uri` links point: `<base>/<code>`; no link without a base (a page that does
/// not exist helps nobody).
#[derive(Debug, Clone)]
pub struct Docs {
    pub base: Option<String>,
    /// `WWW-Authenticate` realm.
    pub realm: String,
}

/// A JSON body (no caching) with `status`.
pub fn json<T: serde::Serialize + ?Sized>(status: StatusCode, body: &T) -> Response<Body> {
    let bytes = Bytes::from(serde_json::to_vec(body).unwrap_or_default());
    let mut r = Response::new(full(bytes));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub fn full(bytes: Bytes) -> Body {
    http_body_util::Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// The response refusing a request with `error`; `scope` for `insufficient_scope`.
pub fn refusal(
    docs: &Docs,
    route: Option<&str>,
    error: &OAuthError,
    scope: Option<&str>,
) -> Response<Body> {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    tracing::info!(
        diagnosis = error.code.as_str(),
        status = status.as_u16(),
        route = route.unwrap_or("-"),
        description = %error.description,
        "request refused"
    );
    let mut body = error.body_linked(docs.base.as_deref());
    body.scope = scope.map(str::to_string);
    let mut r = json(status, &body);
    // RFC 6750 §3: every refusal of the bearer token carries the challenge, a malformed
    // request (two Authorization headers) included.
    let about_the_token = error.code.as_str().starts_with("token.")
        || error.code == candor_proto::Code::AuthorizationHeaderInvalid;
    if (matches!(status.as_u16(), 401 | 403) || about_the_token)
        && let Some(v) = authorization::bearer_challenge_header(
            &docs.realm,
            error,
            body.error_uri.as_deref(),
            scope,
        )
    {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

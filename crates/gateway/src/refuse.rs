//! Refusals: RFC 6750 for token problems (401 `invalid_token` with a `WWW-Authenticate`
//! challenge, 403 `insufficient_scope` with the `scope` attribute, 400 `invalid_request`), the
//! catalogue's JSON body everywhere, and one log line per refused request — never a token.

use bytes::Bytes;
use candor_proto::OAuthError;
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
pub fn json(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    let bytes = Bytes::from(body.to_string());
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
    let linked = error.body_linked(docs.base.as_deref());
    let uri = linked.error_uri.clone();
    let mut body = serde_json::to_value(&linked).unwrap_or_default();
    if let (Some(s), Some(fields)) = (scope, body.as_object_mut()) {
        fields.insert("scope".into(), serde_json::Value::String(s.to_string()));
    }
    let mut r = json(status, &body);
    // RFC 6750 §3: every refusal of the bearer token carries the challenge, a malformed
    // request (two Authorization headers) included.
    let about_the_token = error.code.as_str().starts_with("token.")
        || error.code == candor_proto::Code::AuthorizationHeaderInvalid;
    if matches!(status.as_u16(), 401 | 403) || about_the_token {
        let challenge = candor_proto::bearer::challenge(&docs.realm, error, uri.as_deref(), scope);
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
    }
    r
}

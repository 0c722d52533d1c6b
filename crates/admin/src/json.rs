//! Admin request bodies: JSON only, bounded, and read strictly — an unknown field is refused
//! rather than ignored, so that a typo (`redirect_uri` for `redirect_uris`) is not a change
//! that silently did nothing. Every refusal is the catalogue's `admin.invalid_request`.

use axum::extract::{FromRef, FromRequest, Request};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use candor_proto::{Code, OAuthError};
use serde::de::DeserializeOwned;

use crate::Guard;
use crate::respond::error_response;

/// The most an admin body may hold: a client with a few hundred redirect URIs, or a JWK Set.
pub const MAX_BODY: usize = 64 * 1024;

/// A JSON body of `T` (whose type should `deny_unknown_fields`).
#[derive(Debug)]
pub struct AdminJson<T>(pub T);

/// Why a body was not read.
#[derive(Debug)]
pub struct Unreadable {
    error: OAuthError,
    docs: Option<String>,
}

impl IntoResponse for Unreadable {
    fn into_response(self) -> Response {
        error_response(&self.error, self.docs.as_deref())
    }
}

/// Whether `content_type` is JSON (`application/json`, with or without parameters).
fn is_json(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// Reads `bytes` as `T`, naming what is wrong the way serde says it (field and position).
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, OAuthError> {
    serde_json::from_slice(bytes).map_err(|e| {
        OAuthError::new(
            Code::AdminInvalidRequest,
            format!("the body is not a valid request: {e}"),
        )
    })
}

impl<S, T> FromRequest<S> for AdminJson<T>
where
    S: Send + Sync,
    Guard: FromRef<S>,
    T: DeserializeOwned,
{
    type Rejection = Unreadable;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let refuse = |why: String| Unreadable {
            error: OAuthError::new(Code::AdminInvalidRequest, why),
            docs: Guard::from_ref(state).docs().map(str::to_string),
        };
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY)
            .await
            .map_err(|_| refuse(format!("the body is larger than {MAX_BODY} bytes")))?;
        // No body at all reads as `{}`: an action whose fields are all optional (rotate a
        // secret without an overlap) can be sent bare, as curl -X POST sends it.
        let bytes: &[u8] = match (&content_type, bytes.is_empty()) {
            (None, true) => b"{}",
            (ct, _) if !is_json(ct.as_deref()) => {
                return Err(refuse(format!(
                    "send the body as JSON with Content-Type: application/json (got {})",
                    ct.as_deref()
                        .map_or("none".into(), candor_proto::error::quote)
                )));
            }
            _ => &bytes,
        };
        parse(bytes).map(AdminJson).map_err(|error| Unreadable {
            error,
            docs: Guard::from_ref(state).docs().map(str::to_string),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        assert!(is_json(Some("application/json")));
        assert!(is_json(Some("Application/JSON; charset=utf-8")));
        assert!(!is_json(Some("application/x-www-form-urlencoded")));
        assert!(!is_json(Some("text/json")));
        assert!(!is_json(None));
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Named {
        name: String,
    }

    #[test]
    fn a_typo_in_a_field_is_refused_with_its_name() {
        let e = parse::<Named>(br#"{"nmae": "x"}"#).unwrap_err();
        assert_eq!(e.code, Code::AdminInvalidRequest);
        assert!(e.description.contains("nmae"), "{}", e.description);
        let e = parse::<Named>(br#"{"name": 3}"#).unwrap_err();
        assert!(e.description.contains("invalid type"), "{}", e.description);
        assert_eq!(parse::<Named>(br#"{"name": "x"}"#).unwrap().name, "x");
    }
}

//! The admin credential: `Authorization: Bearer <token>`, the token configured in `[admin]`.
//! Only its SHA-256 digest is held, compared in constant time. Without a configured token
//! every admin request is refused: an admin surface is never open by default.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use candor_proto::{Code, OAuthError};

use crate::respond::error_response;

/// The admin credential of a process, and where its refusals link.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    token: Option<[u8; 32]>,
    docs: Option<String>,
}

impl Guard {
    /// A guard that accepts the token whose digest is `token` (none: refuses every request);
    /// its refusals link under `docs` (a catalogue's base), if given.
    pub fn new(token: Option<[u8; 32]>, docs: Option<String>) -> Self {
        Guard { token, docs }
    }

    /// Where refusals link (a catalogue's base), if known.
    pub fn docs(&self) -> Option<&str> {
        self.docs.as_deref()
    }

    /// Whether the request's `Authorization` values present the admin token.
    pub fn check(&self, authorization: &[&str]) -> Result<(), OAuthError> {
        let Some(want) = &self.token else {
            return Err(OAuthError::new(
                Code::AdminUnauthorized,
                "the admin API is off: no admin token is configured ([admin] token_env or token_file)",
            ));
        };
        let presented = candor_proto::authorization::presented(authorization)
            .and_then(|p| candor_proto::authorization::bearer_token(p, None, None))
            .map_err(|_| {
                OAuthError::new(
                    Code::AdminUnauthorized,
                    "send the admin token as Authorization: Bearer",
                )
            })?;
        if candor_proto::secret::digest_matches(presented, want) {
            Ok(())
        } else {
            Err(OAuthError::new(
                Code::AdminUnauthorized,
                "the bearer token is not the admin token",
            ))
        }
    }
}

/// Proof that the request carries the admin credential: a handler that takes it answers
/// only administrators. Refused requests get a 401 with `WWW-Authenticate: Bearer`.
#[derive(Debug, Clone, Copy)]
pub struct AdminAuth;

/// Why a request is not an administrator's.
#[derive(Debug)]
pub struct Refused {
    error: OAuthError,
    docs: Option<String>,
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let mut r = error_response(&self.error, self.docs.as_deref());
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"candor-admin\""),
        );
        r
    }
}

impl<S> FromRequestParts<S> for AdminAuth
where
    S: Send + Sync,
    Guard: FromRef<S>,
{
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let guard = Guard::from_ref(state);
        let authorization: Vec<&str> = parts
            .headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        guard
            .check(&authorization)
            .map(|()| AdminAuth)
            .map_err(|error| Refused {
                error,
                docs: guard.docs,
            })
    }
}

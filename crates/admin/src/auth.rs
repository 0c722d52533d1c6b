//! Who may administer: `Authorization: Bearer <token>` with either the static admin token
//! configured in `[admin]` (for bootstrap; only its SHA-256 digest is held, compared in
//! constant time) or, where the host can verify them ([`TokenVerifier`]), an access token
//! carrying an admin scope. Without either every admin request is refused: an admin surface is
//! never open by default.
//!
//! Two roles: [`Role::Admin`] may change anything, [`Role::Viewer`] may read. A handler that
//! reads takes [`AdminAuth`]; one that changes takes [`AdminChange`], which refuses viewers
//! with `admin.forbidden`.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use candor_proto::{Code, OAuthError};

use crate::respond::error_response;

/// The scope of an access token that may administer everything.
pub const SCOPE_ADMIN: &str = "candor:admin";
/// The scope of an access token that may read what the admin API shows.
pub const SCOPE_VIEWER: &str = "candor:admin:read";

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Admin,
}

/// Who is calling, as the audit log names them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Principal {
    /// `admin-token` for the static credential, `client:<client_id>` for a client's token.
    pub who: String,
    pub role: Role,
}

impl Principal {
    /// The holder of the static admin token.
    pub fn admin_token() -> Self {
        Principal {
            who: "admin-token".into(),
            role: Role::Admin,
        }
    }
}

/// Checks access tokens presented to the admin surface; the authorization server verifies its
/// own. `None`: not a token that may administer (unknown, expired, revoked, without an admin
/// scope).
#[async_trait::async_trait]
pub trait TokenVerifier: Send + Sync {
    async fn verify(&self, token: &str) -> Option<Principal>;
}

/// The admin credential of a process, and where its refusals link.
#[derive(Clone, Default)]
pub struct Guard {
    token: Option<[u8; 32]>,
    docs: Option<String>,
    tokens: Option<Arc<dyn TokenVerifier>>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("token", &self.token.map(|_| "<digest>"))
            .field("docs", &self.docs)
            .field("verifies_tokens", &self.tokens.is_some())
            .finish()
    }
}

impl Guard {
    /// A guard that accepts the static token whose digest is `token`; its refusals link under
    /// `docs` (a catalogue's base), if given.
    pub fn new(token: Option<[u8; 32]>, docs: Option<String>) -> Self {
        Guard {
            token,
            docs,
            tokens: None,
        }
    }

    /// Also accepts the access tokens `verifier` vouches for.
    pub fn with_tokens(mut self, verifier: Arc<dyn TokenVerifier>) -> Self {
        self.tokens = Some(verifier);
        self
    }

    /// Where refusals link (a catalogue's base), if known.
    pub fn docs(&self) -> Option<&str> {
        self.docs.as_deref()
    }

    /// Who the request's `Authorization` values present.
    pub async fn check(&self, authorization: &[&str]) -> Result<Principal, OAuthError> {
        if self.token.is_none() && self.tokens.is_none() {
            return Err(OAuthError::new(
                Code::AdminUnauthorized,
                "the admin API is off: no admin token is configured ([admin] token_env or token_file)",
            ));
        }
        let presented = candor_proto::authorization::presented(authorization)
            .and_then(|p| candor_proto::authorization::bearer_token(p, None, None))
            .map_err(|_| {
                OAuthError::new(
                    Code::AdminUnauthorized,
                    "send the admin token, or an access token with the candor:admin scope, as Authorization: Bearer",
                )
            })?;
        if let Some(want) = &self.token
            && candor_proto::secret::digest_matches(presented, want)
        {
            return Ok(Principal::admin_token());
        }
        if let Some(tokens) = &self.tokens
            && let Some(principal) = tokens.verify(presented).await
        {
            return Ok(principal);
        }
        Err(OAuthError::new(
            Code::AdminUnauthorized,
            "the bearer token is not the admin token, nor an active access token with the candor:admin or candor:admin:read scope",
        ))
    }
}

/// A caller who may read the admin surface (either role).
#[derive(Debug, Clone)]
pub struct AdminAuth(pub Principal);

/// A caller who may change things (the admin role).
#[derive(Debug, Clone)]
pub struct AdminChange(pub Principal);

/// Why a request is not an administrator's.
#[derive(Debug)]
pub struct Refused {
    error: OAuthError,
    docs: Option<String>,
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let challenge = self.error.code == Code::AdminUnauthorized;
        let mut r = error_response(&self.error, self.docs.as_deref());
        if challenge {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"candor-admin\""),
            );
        }
        r
    }
}

async fn principal<S>(parts: &Parts, state: &S) -> Result<Principal, Refused>
where
    Guard: FromRef<S>,
{
    let guard = Guard::from_ref(state);
    let authorization: Vec<&str> = parts
        .headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    guard.check(&authorization).await.map_err(|error| Refused {
        error,
        docs: guard.docs,
    })
}

impl<S> FromRequestParts<S> for AdminAuth
where
    S: Send + Sync,
    Guard: FromRef<S>,
{
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        principal(parts, state).await.map(AdminAuth)
    }
}

impl<S> FromRequestParts<S> for AdminChange
where
    S: Send + Sync,
    Guard: FromRef<S>,
{
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let who = principal(parts, state).await?;
        if who.role < Role::Admin {
            return Err(Refused {
                error: OAuthError::new(
                    Code::AdminForbidden,
                    format!(
                        "{} may read but not change: changes need the candor:admin scope",
                        who.who
                    ),
                ),
                docs: Guard::from_ref(state).docs,
            });
        }
        Ok(AdminChange(who))
    }
}

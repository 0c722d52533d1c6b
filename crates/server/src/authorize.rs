//! The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1): validation, in the order
//! that decides whether an error may be sent back to the client at all.
//!
//! Until the client and the redirect URI are known to be genuine, an error is shown as a page
//! (redirecting would hand a code, or an error, to an unverified address). After that, errors
//! go back to the redirect URI with `error`, `error_description`, `error_uri`, `state`, `iss`
//! (RFC 9207) and `diagnosis`.

use std::sync::Arc;

use candor_proto::error::quote;
use candor_proto::form::Form;
use candor_proto::grant_type::GrantType;
use candor_proto::redirect_uri::{self, closest, matches_registered};
use candor_proto::{Code, OAuthError, pkce, scope};
use candor_store::Client;
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::error::ServerError;
use crate::refusal::Refusal;

/// The longest `state`, `nonce` or `login_hint` accepted.
const MAX_VALUE_CHARS: usize = 2048;

/// `prompt` (OIDC Core §3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A validated authorization request, kept while the user logs in and consents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub redirect_uri_sent: bool,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// SHA-256 (base64url) of the CSRF token of the browser that started the request: its
    /// forms must carry that token. The digest, not the token, so that the sealed request
    /// reveals nothing that could be replayed.
    pub csrf_digest: String,
}

/// Where an error (or a code) goes back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub redirect_uri: String,
    pub state: Option<String>,
}

/// Why an authorization request fails.
#[derive(Debug)]
pub enum AuthorizeError {
    /// Shown as a 400 page: the client or redirect URI cannot be trusted.
    Page(OAuthError),
    /// Sent back to the client.
    Redirect(Callback, OAuthError),
    Internal(ServerError),
}

impl From<ServerError> for AuthorizeError {
    fn from(e: ServerError) -> Self {
        AuthorizeError::Internal(e)
    }
}

impl From<candor_store::StoreError> for AuthorizeError {
    fn from(e: candor_store::StoreError) -> Self {
        AuthorizeError::Internal(e.into())
    }
}

fn page(code: Code, why: impl AsRef<str>) -> AuthorizeError {
    AuthorizeError::Page(OAuthError::new(code, why))
}

/// Builds the callback URL: `redirect_uri` with `params` appended to its query, leaving the
/// registered string itself untouched.
pub fn callback_url(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    format!("{redirect_uri}{sep}{query}")
}

/// The error callback URL for `error`.
pub fn error_url(app: &App, callback: &Callback, error: &OAuthError) -> String {
    crate::calls::diagnosis(error.code);
    let uri = error.error_uri(app.issuer());
    let mut params = vec![
        ("error", error.error()),
        ("error_description", error.description.as_str()),
        ("error_uri", uri.as_str()),
        ("diagnosis", error.code.as_str()),
    ];
    if let Some(state) = &callback.state {
        params.push(("state", state));
    }
    params.push(("iss", app.issuer()));
    callback_url(&callback.redirect_uri, &params)
}

/// The digest under which a CSRF token is bound to a request.
pub fn csrf_digest(csrf: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(candor_proto::secret::digest(csrf))
}

/// Validates an authorization request's parameters (from the query of a GET or the form of a
/// POST).
pub async fn validate(
    app: &App,
    raw: &[u8],
    csrf: &str,
) -> Result<(AuthRequest, Arc<Client>), AuthorizeError> {
    let form = Form::parse(raw).map_err(|e| {
        let code = match e.code {
            Code::TokenRequestDuplicateParameter => Code::AuthorizationRequestDuplicateParameter,
            other => other,
        };
        AuthorizeError::Page(OAuthError::new(code, e.description))
    })?;

    // 1. The client.
    let client_id = form.get("client_id").ok_or_else(|| {
        page(
            Code::AuthorizationRequestMissingParameter,
            "required parameter 'client_id' is missing",
        )
    })?;
    let client = app
        .clients()
        .get(app.store(), client_id)
        .await?
        .ok_or_else(|| {
            page(
                Code::ClientUnknown,
                format!(
                    "no client with client_id {} is registered",
                    quote(client_id)
                ),
            )
        })?;
    // Only a registered client_id reaches the call log: an unknown one is any caller's text.
    crate::calls::client(&client.client_id);
    if client.disabled_at.is_some() {
        return Err(page(
            Code::AuthorizationRequestClientDisabled,
            format!(
                "client {} is disabled by an administrator: no sign-in starts for it until it is enabled again",
                quote(client_id)
            ),
        ));
    }

    // 2. The redirect URI.
    let (redirect_uri, sent) = match form.get("redirect_uri") {
        Some(received) => {
            if let Err(why) = redirect_uri::check(received) {
                return Err(page(
                    Code::RedirectUriUnsafe,
                    format!(
                        "redirect_uri {} is refused: {}",
                        quote(received),
                        why.describe()
                    ),
                ));
            }
            if !client
                .redirect_uris
                .iter()
                .any(|r| matches_registered(received, r))
            {
                return Err(match closest(received, &client.redirect_uris) {
                    Some((kind, registered)) => page(
                        kind.code(),
                        format!(
                            "redirect_uri {} is not registered for client {}; the registered {} is close, but {}",
                            quote(received),
                            quote(&client.client_id),
                            quote(registered),
                            kind.describe()
                        ),
                    ),
                    None => page(
                        Code::RedirectUriNotRegistered,
                        format!(
                            "redirect_uri {} is not registered for client {} (registered: {})",
                            quote(received),
                            quote(&client.client_id),
                            if client.redirect_uris.is_empty() {
                                "none".to_string()
                            } else {
                                client
                                    .redirect_uris
                                    .iter()
                                    .map(|r| quote(r))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            }
                        ),
                    ),
                });
            }
            (received.to_string(), true)
        }
        None => match client.redirect_uris.as_slice() {
            [only] => (only.clone(), false),
            [] => {
                return Err(page(
                    Code::RedirectUriMissing,
                    format!(
                        "client {} has no registered redirect URI",
                        quote(&client.client_id)
                    ),
                ));
            }
            _ => {
                return Err(page(
                    Code::RedirectUriMissing,
                    format!(
                        "redirect_uri is required: client {} has several registered",
                        quote(&client.client_id)
                    ),
                ));
            }
        },
    };

    // From here on, errors go back to the client.
    let state = form.get("state").map(str::to_string);
    let callback = Callback {
        redirect_uri: redirect_uri.clone(),
        state: state
            .clone()
            .filter(|s| s.chars().count() <= MAX_VALUE_CHARS),
    };
    let fail = |code: Code, why: String| {
        AuthorizeError::Redirect(callback.clone(), OAuthError::new(code, why))
    };

    for value in ["state", "nonce", "login_hint"] {
        if let Some(v) = form.get(value)
            && v.chars().count() > MAX_VALUE_CHARS
        {
            return Err(fail(
                Code::AuthorizationRequestInvalidParameter,
                format!("'{value}' is longer than {MAX_VALUE_CHARS} characters"),
            ));
        }
    }
    if form.contains("request") || form.contains("request_uri") {
        return Err(fail(
            Code::AuthorizationRequestObjectUnsupported,
            "request objects ('request', 'request_uri') are not supported; send the parameters in the URL".into(),
        ));
    }
    match form.get("response_type") {
        None => {
            return Err(fail(
                Code::AuthorizationRequestMissingParameter,
                "required parameter 'response_type' is missing (expected 'code')".into(),
            ));
        }
        Some("code") => {}
        Some(other) => {
            return Err(fail(
                Code::ResponseTypeUnsupported,
                format!(
                    "response_type {} is not supported; OAuth 2.1 keeps only 'code'",
                    quote(other)
                ),
            ));
        }
    }
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(fail(
            Code::GrantTypeNotAllowed,
            format!(
                "client {} is not registered for the authorization_code grant",
                quote(&client.client_id)
            ),
        ));
    }
    if let Some(mode) = form.get("response_mode")
        && mode != "query"
    {
        return Err(fail(
            Code::AuthorizationRequestInvalidParameter,
            format!(
                "response_mode {} is not supported; use 'query'",
                quote(mode)
            ),
        ));
    }

    let scopes = match form.get("scope") {
        Some(s) => {
            let requested =
                scope::parse(s).map_err(|e| AuthorizeError::Redirect(callback.clone(), e))?;
            match crate::scopes::check_registered(app, &client, &requested).await {
                Ok(()) => requested,
                Err(Refusal::OAuth(e)) => return Err(AuthorizeError::Redirect(callback, e)),
                Err(Refusal::Internal(e)) => return Err(AuthorizeError::Internal(e)),
                Err(limited @ Refusal::Limited(_)) => {
                    return Err(AuthorizeError::Redirect(callback, limited.public()));
                }
            }
        }
        None => client.scopes.clone(),
    };

    let code_challenge = match form.get("code_challenge") {
        Some(challenge) => {
            pkce::check_challenge(challenge, form.get("code_challenge_method"))
                .map_err(|e| AuthorizeError::Redirect(callback.clone(), e))?;
            Some(challenge.to_string())
        }
        None if client.require_pkce => {
            return Err(fail(
                Code::PkceChallengeMissing,
                format!(
                    "client {} must use PKCE: send code_challenge and code_challenge_method=S256",
                    quote(&client.client_id)
                ),
            ));
        }
        None => None,
    };

    let mut prompt = Prompt::default();
    if let Some(p) = form.get("prompt") {
        for value in p.split(' ').filter(|v| !v.is_empty()) {
            match value {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                "select_account" => {}
                other => {
                    return Err(fail(
                        Code::AuthorizationRequestInvalidParameter,
                        format!(
                            "prompt value {} is not supported (none, login, consent)",
                            quote(other)
                        ),
                    ));
                }
            }
        }
        if prompt.none && (prompt.login || prompt.consent) {
            return Err(fail(
                Code::AuthorizationRequestInvalidParameter,
                "prompt=none cannot be combined with other prompt values".into(),
            ));
        }
    }
    let max_age = match form.get("max_age") {
        Some(v) => Some(v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            fail(
                Code::AuthorizationRequestInvalidParameter,
                format!(
                    "max_age {} is not a non-negative integer of seconds",
                    quote(v)
                ),
            )
        })?),
        None => None,
    };

    Ok((
        AuthRequest {
            client_id: client.client_id.clone(),
            redirect_uri,
            redirect_uri_sent: sent,
            scopes,
            state,
            nonce: form.get("nonce").map(str::to_string),
            code_challenge,
            prompt,
            max_age,
            login_hint: form.get("login_hint").map(str::to_string),
            csrf_digest: csrf_digest(csrf),
        },
        client,
    ))
}

//! The token endpoint's grants (RFC 6749 §3.2): the dispatch on `grant_type` after client
//! authentication, one module per grant, and what they all mint ([`mint`]).
//!
//! To add a grant: a case in [`GrantType`], a module here with its `exchange`, and its arm
//! below; the compiler names what else must know of it.

pub mod authorization_code;
pub mod client_credentials;
pub mod mint;
pub mod refresh_token;

use axum::http::{HeaderMap, Method, Uri};
use candor_proto::authorization::Presentation;
use candor_proto::error::quote;
use candor_proto::form::Form;
use candor_proto::grant_type::GrantType;
use candor_proto::{Code, OAuthError};

use crate::app::App;
use crate::client_auth::authenticate;
use crate::refusal::Refusal;
use mint::TokenResponse;

/// A token request as the endpoint received it: the form and the client's credentials, which
/// grants and client authentication read, and the method, URL and headers, which
/// sender-constrained tokens will (a DPoP proof signs the method and URL; mTLS binds to the
/// connection's certificate).
#[derive(Debug, Clone, Copy)]
pub struct TokenRequest<'a> {
    pub method: &'a Method,
    /// The request target as received.
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    /// The `Authorization` header, read once.
    pub authorization: Option<Presentation<'a>>,
    pub form: &'a Form,
}

/// Handles a parsed token request.
pub async fn exchange(app: &App, req: &TokenRequest<'_>) -> Result<TokenResponse, Refusal> {
    let form = req.form;
    let requested = form.require("grant_type")?;
    let Ok(grant_type) = requested.parse::<GrantType>() else {
        return Err(OAuthError::new(
            Code::GrantTypeUnsupported,
            format!(
                "grant_type {} is not supported; expected one of {}",
                quote(requested),
                GrantType::list()
            ),
        )
        .into());
    };
    let auth = authenticate(
        app,
        req.authorization,
        form,
        &app.settings().token_endpoint(),
    )
    .await?;
    let client = auth.client.as_ref();
    // The client's own limits count only an authenticated client. Keyed by the client_id
    // alone, so the address and headers are not read.
    app.throttles()
        .check(
            crate::throttle::Endpoint::Token,
            &crate::throttle::Caller {
                address: std::net::IpAddr::from([0, 0, 0, 0]),
                client_id: Some(&client.client_id),
                headers: &axum::http::HeaderMap::new(),
            },
        )
        .await
        .map_err(Refusal::Limited)?;
    if !client.allows(grant_type) {
        return Err(OAuthError::new(
            Code::GrantTypeNotAllowed,
            format!(
                "client {} is not registered for grant_type {} (registered: {})",
                quote(&client.client_id),
                quote(requested),
                client
                    .grant_types
                    .iter()
                    .map(|g| g.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .into());
    }
    // Exhaustive: a grant type added to proto's enum does not compile until it has its arm.
    crate::calls::grant(grant_type);
    let response = match grant_type {
        GrantType::ClientCredentials => client_credentials::exchange(app, client, form).await,
        GrantType::AuthorizationCode => authorization_code::exchange(app, client, form).await,
        GrantType::RefreshToken => refresh_token::exchange(app, client, form).await,
    }?;
    if let Some(scope) = &response.scope {
        crate::calls::scopes(scope);
    }
    crate::events::emit(
        app,
        crate::events::Event::new(candor_calls::Kind::TokenIssued),
    );
    Ok(response)
}

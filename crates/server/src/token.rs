//! The token endpoint (RFC 6749 §3.2, §4.4; RFC 8707): grant dispatch and the
//! `client_credentials` grant.

use candor_proto::error::quote;
use candor_proto::form::Form;
use candor_proto::scope::{self, OIDC_SCOPES};
use candor_proto::{Code, OAuthError};
use candor_store::Client;
use serde::Serialize;

use crate::app::App;
use crate::client_auth::authenticate;
use crate::issue::{self, Grant};
use crate::refusal::Refusal;

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// Handles a parsed token request.
pub async fn exchange(
    app: &App,
    authorization: Option<&str>,
    form: &Form,
) -> Result<TokenResponse, Refusal> {
    let grant_type = form.require("grant_type")?;
    if !crate::clients::GRANT_TYPES.contains(&grant_type) {
        return Err(OAuthError::new(
            Code::GrantTypeUnsupported,
            format!(
                "grant_type {} is not supported; expected one of {}",
                quote(grant_type),
                crate::clients::GRANT_TYPES.join(", ")
            ),
        )
        .into());
    }
    let auth = authenticate(app, authorization, form, &app.settings().token_endpoint()).await?;
    let client = auth.client.as_ref();
    if !client.grant_types.iter().any(|g| g == grant_type) {
        return Err(OAuthError::new(
            Code::GrantTypeNotAllowed,
            format!(
                "client {} is not registered for grant_type {} (registered: {})",
                quote(&client.client_id),
                quote(grant_type),
                client.grant_types.join(", ")
            ),
        )
        .into());
    }
    match grant_type {
        "client_credentials" => client_credentials(app, client, form).await,
        "authorization_code" => crate::code_grant::exchange(app, client, form).await,
        _ => crate::refresh_grant::refresh(app, client, form).await,
    }
}

async fn client_credentials(
    app: &App,
    client: &Client,
    form: &Form,
) -> Result<TokenResponse, Refusal> {
    let scopes = match form.get("scope") {
        Some(requested) => {
            let requested = scope::parse(requested)?;
            check_scopes(app, client, &requested).await?;
            requested
        }
        // No scope asked: the client's registered scopes, minus those that only mean something
        // for a user (openid, offline_access...).
        None => client
            .scopes
            .iter()
            .filter(|s| !OIDC_SCOPES.contains(&s.as_str()))
            .cloned()
            .collect(),
    };
    let audiences = audiences(app, client, form)?;
    let issued = issue::access_token(
        app,
        Grant {
            client,
            subject: None,
            scopes: &scopes,
            audiences,
            auth_time: None,
            grant_id: None,
        },
    )?;
    if let Some(record) = &issued.record {
        app.store().insert_access_token(record).await?;
    }
    Ok(TokenResponse {
        access_token: issued.token.expose().to_string(),
        token_type: "Bearer",
        expires_in: issued.expires_in,
        scope: (!scopes.is_empty()).then(|| scopes.join(" ")),
        refresh_token: None,
        id_token: None,
    })
}

/// Every requested scope must be registered for the client; one that is not is named
/// `scope.not_allowed` when the server knows it and `scope.unknown` when nobody does.
pub async fn check_scopes(app: &App, client: &Client, requested: &[String]) -> Result<(), Refusal> {
    for s in requested {
        if client.scopes.iter().any(|c| c == s) {
            continue;
        }
        let known = OIDC_SCOPES.contains(&s.as_str()) || app.store().scope_registered(s).await?;
        let registered = if client.scopes.is_empty() {
            "none".to_string()
        } else {
            client.scopes.join(" ")
        };
        return Err(if known {
            OAuthError::new(
                Code::ScopeNotAllowed,
                format!(
                    "scope {} is not registered for client {} (registered: {registered})",
                    quote(s),
                    quote(&client.client_id)
                ),
            )
        } else {
            OAuthError::new(
                Code::ScopeUnknown,
                format!(
                    "scope {} is not known to this server (client {} may request: {registered})",
                    quote(s),
                    quote(&client.client_id)
                ),
            )
        }
        .into());
    }
    Ok(())
}

/// The audiences of the token: the `resource` parameters (RFC 8707) when sent, each one
/// registered for the client; else the client's registered audiences; else the issuer.
fn audiences(app: &App, client: &Client, form: &Form) -> Result<Vec<String>, OAuthError> {
    let requested = form.get_all("resource");
    if requested.is_empty() {
        return Ok(if client.audiences.is_empty() {
            vec![app.issuer().to_string()]
        } else {
            client.audiences.clone()
        });
    }
    for r in requested {
        let valid = url::Url::parse(r).is_ok_and(|u| u.fragment().is_none());
        if !valid {
            return Err(OAuthError::new(
                Code::ResourceInvalid,
                format!(
                    "resource {} is not an absolute URI without a fragment",
                    quote(r)
                ),
            ));
        }
        if !client.audiences.iter().any(|a| a == r) {
            return Err(OAuthError::new(
                Code::ResourceNotAllowed,
                format!(
                    "resource {} is not an audience registered for client {} (registered: {})",
                    quote(r),
                    quote(&client.client_id),
                    if client.audiences.is_empty() {
                        "none".to_string()
                    } else {
                        client.audiences.join(" ")
                    }
                ),
            ));
        }
    }
    Ok(requested.to_vec())
}

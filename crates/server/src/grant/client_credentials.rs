//! The client_credentials grant (RFC 6749 §4.4, RFC 8707): a confidential client gets an
//! access token for itself, for the audiences (resource indicators) registered for it.

use candor_proto::error::quote;
use candor_proto::form::Form;
use candor_proto::scope::{self, OIDC_SCOPES};
use candor_proto::{Code, OAuthError};
use candor_store::Client;

use crate::app::App;
use crate::grant::mint::{self, AccessGrant, TokenResponse};
use crate::refusal::Refusal;
use crate::scopes;

/// Issues an access token to the client itself (`sub` = its client_id).
pub async fn exchange(app: &App, client: &Client, form: &Form) -> Result<TokenResponse, Refusal> {
    let scopes = match form.get("scope") {
        Some(requested) => {
            let requested = scope::parse(requested)?;
            scopes::check_registered(app, client, &requested).await?;
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
    let issued = mint::access_token(
        app,
        AccessGrant {
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

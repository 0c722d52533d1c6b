//! Whether a client may ask for the scopes it asks for: the one check the authorization
//! endpoint and the token endpoint's grants share.

use candor_proto::error::quote;
use candor_proto::scope::OIDC_SCOPES;
use candor_proto::{Code, OAuthError};
use candor_store::Client;

use crate::app::App;
use crate::refusal::Refusal;

/// Every requested scope must be registered for the client; one that is not is named
/// `scope.not_allowed` when the server knows it and `scope.unknown` when nobody does.
pub async fn check_registered(
    app: &App,
    client: &Client,
    requested: &[String],
) -> Result<(), Refusal> {
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

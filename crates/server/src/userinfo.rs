//! The UserInfo endpoint (OIDC Core §5.3) with RFC 6750 bearer-token errors.

use candor_proto::Code;
use candor_proto::error::quote;
use serde_json::Value;

use crate::app::App;
use crate::id_token::user_claims;
use crate::refusal::Refusal;
use crate::token_lookup::{Lookup, TokenState, lookup};

/// The claims of the user the access token speaks for, as its scopes allow.
pub async fn userinfo(app: &App, token: &str) -> Result<Value, Refusal> {
    let facts = match lookup(app, token).await? {
        Lookup::Found(facts, TokenState::Active) => facts,
        Lookup::Found(facts, TokenState::Expired) => {
            return Err(Refusal::oauth(
                Code::TokenExpired,
                format!(
                    "the access token expired {}s ago",
                    app.now() - facts.expires_at
                ),
            ));
        }
        Lookup::Found(_, TokenState::Revoked) => {
            return Err(Refusal::oauth(
                Code::TokenRevoked,
                "the access token was revoked",
            ));
        }
        Lookup::Unknown => {
            return Err(Refusal::oauth(
                Code::TokenUnknown,
                "the access token was not issued by this server",
            ));
        }
        Lookup::Malformed => {
            return Err(Refusal::oauth(
                Code::TokenMalformed,
                "the access token is not a token of this server's formats",
            ));
        }
    };
    let scopes: Vec<String> = candor_proto::scope::split(facts.scope.as_deref().unwrap_or(""));
    if !scopes.iter().any(|s| s == "openid") {
        return Err(Refusal::oauth(
            Code::TokenInsufficientScope,
            format!(
                "the UserInfo endpoint requires scope 'openid'; the token has {}",
                quote(&scopes.join(" "))
            ),
        ));
    }
    let user = match &facts.subject {
        Some(sub) => {
            crate::calls::subject(sub);
            app.store().get_user(sub).await?
        }
        None => None,
    };
    let user = user.ok_or_else(|| {
        Refusal::oauth(
            Code::TokenUnknown,
            "the access token does not speak for a user (client_credentials, or a deleted user)",
        )
    })?;
    Ok(Value::Object(user_claims(&user, &scopes)))
}

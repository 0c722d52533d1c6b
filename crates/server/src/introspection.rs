//! Token introspection (RFC 7662): client-authenticated; any confidential client may ask.

use candor_proto::authorization::Presentation;
use candor_proto::client_auth::AuthMethod;
use candor_proto::error::quote;
use candor_proto::form::Form;
use candor_proto::{Code, OAuthError};
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::client_auth::authenticate;
use crate::refusal::Refusal;
use crate::token_lookup::{Lookup, TokenState, lookup};

pub fn endpoint(app: &App) -> String {
    format!("{}/introspect", app.issuer())
}

/// Answers an introspection request: `{"active": false}` for anything not active.
pub async fn introspect(
    app: &App,
    authorization: Option<Presentation<'_>>,
    form: &Form,
) -> Result<Value, Refusal> {
    let auth = authenticate(app, authorization, form, &endpoint(app)).await?;
    if auth.method == AuthMethod::None {
        return Err(OAuthError::new(
            Code::ClientAuthPublicClientForbidden,
            format!(
                "client {} is public (auth method none); only confidential clients may introspect",
                quote(&auth.client.client_id)
            ),
        )
        .into());
    }
    let token = form.require("token")?;
    let Lookup::Found(facts, TokenState::Active) = lookup(app, token).await? else {
        return Ok(json!({"active": false}));
    };
    let mut out = Map::new();
    out.insert("active".into(), json!(true));
    out.insert("iss".into(), json!(app.issuer()));
    out.insert("client_id".into(), json!(facts.client_id));
    let refresh = matches!(facts.held, crate::token_lookup::Held::Refresh { .. });
    out.insert(
        "token_type".into(),
        json!(if refresh { "refresh_token" } else { "Bearer" }),
    );
    out.insert("jti".into(), json!(facts.jti));
    out.insert("iat".into(), json!(facts.issued_at));
    out.insert("exp".into(), json!(facts.expires_at));
    out.insert(
        "sub".into(),
        json!(facts.subject.unwrap_or(facts.client_id)),
    );
    if let Some(scope) = facts.scope {
        out.insert("scope".into(), json!(scope));
    }
    if !facts.audiences.is_empty() {
        out.insert(
            "aud".into(),
            match facts.audiences.as_slice() {
                [one] => json!(one),
                all => json!(all),
            },
        );
    }
    Ok(Value::Object(out))
}

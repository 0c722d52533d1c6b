//! id_tokens (OIDC Core §2, §3.1.3.6) and the claims a user's scopes release.

use candor_proto::jose::SigningAlg;
use candor_store::{Client, User};
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::error::ServerError;
use crate::keys::add_key;
use crate::refusal::Refusal;

pub use candor_proto::token_hash::at_hash;

/// The user claims the granted scopes release (OIDC Core §5.4).
pub fn user_claims(user: &User, scopes: &[String]) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(user.id));
    let has = |s: &str| scopes.iter().any(|x| x == s);
    if has("profile") {
        claims.insert("preferred_username".into(), json!(user.username));
        if let Some(name) = &user.name {
            claims.insert("name".into(), json!(name));
        }
    }
    if has("email")
        && let Some(email) = &user.email
    {
        claims.insert("email".into(), json!(email));
        // Candor does not verify addresses; say so rather than let clients assume.
        claims.insert("email_verified".into(), json!(false));
    }
    claims
}

/// What an id_token is about.
pub struct IdTokenInput<'a> {
    pub client: &'a Client,
    pub user: &'a User,
    pub scopes: &'a [String],
    pub nonce: Option<&'a str>,
    pub auth_time: i64,
    pub sid: Option<&'a str>,
    pub amr: &'a [String],
    pub access_token: &'a str,
}

/// Signs an id_token with the client's `id_token_signed_response_alg` (RS256 by default).
pub async fn sign(app: &App, input: IdTokenInput<'_>) -> Result<String, Refusal> {
    let alg = input
        .client
        .id_token_signed_response_alg
        .unwrap_or(SigningAlg::Rs256);
    let now = app.now();
    let mut claims = user_claims(input.user, input.scopes);
    claims.insert("iss".into(), json!(app.issuer()));
    claims.insert("aud".into(), json!(input.client.client_id));
    claims.insert("azp".into(), json!(input.client.client_id));
    claims.insert("iat".into(), json!(now));
    claims.insert(
        "exp".into(),
        json!(now + app.settings().id_token_ttl.as_secs() as i64),
    );
    claims.insert("auth_time".into(), json!(input.auth_time));
    claims.insert("at_hash".into(), json!(at_hash(alg, input.access_token)));
    if let Some(nonce) = input.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    if let Some(sid) = input.sid {
        claims.insert("sid".into(), json!(sid));
    }
    if !input.amr.is_empty() {
        claims.insert("amr".into(), json!(input.amr));
    }

    let mut keys = app.keys().current();
    if keys.active(alg).is_none() {
        // A client asked for an algorithm no key has yet: make one, once, for every node.
        add_key(app.store(), app.master(), alg, now, now).await?;
        app.keys().reload_at(now).await?;
        keys = app.keys().current();
    }
    let key = keys
        .active(alg)
        .ok_or_else(|| Refusal::Internal(ServerError::NotFound(format!("active {alg} key"))))?;
    Ok(key.sign("JWT", &Value::Object(claims))?)
}

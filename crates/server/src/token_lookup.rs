//! Looking up an access token this server issued, JWT or opaque: whose it is, and whether it
//! is active, expired or revoked. Used by introspection, revocation and userinfo.

use candor_proto::access_token::{self, Claims, Expect, TokenError};
use candor_proto::jose::{JoseError, looks_like_jwt};
use candor_proto::scope;
use candor_proto::secret::digest;
use candor_store::RevocationKind;

use crate::app::App;
use crate::refusal::Refusal;

/// How a token is held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    /// A JWT: revoking it appends its jti to the revocation feed.
    Jwt,
    /// An opaque token, by the digest it is stored under.
    Opaque { digest: Vec<u8> },
    /// A refresh token; revoking it revokes its family.
    Refresh { family_id: String },
}

/// What the server knows of one of its access tokens.
#[derive(Debug, Clone)]
pub struct TokenFacts {
    pub held: Held,
    pub jti: String,
    pub client_id: String,
    /// The user; the client_id for `client_credentials` JWTs.
    pub subject: Option<String>,
    pub scope: Option<String>,
    pub audiences: Vec<String>,
    pub issued_at: i64,
    pub expires_at: i64,
    pub grant_id: Option<String>,
    /// When the user authenticated for it; `None` for `client_credentials`.
    pub auth_time: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    Active,
    Expired,
    Revoked,
}

#[derive(Debug)]
pub enum Lookup {
    Found(Box<TokenFacts>, TokenState),
    /// Well-formed, but not issued by this server (unknown key, bad signature, no such row).
    Unknown,
    /// Not a token of any shape this server issues.
    Malformed,
}

/// Looks up `token`.
pub async fn lookup(app: &App, token: &str) -> Result<Lookup, Refusal> {
    if token.len() > 16 * 1024 || token.chars().any(|c| !c.is_ascii_graphic()) {
        return Ok(Lookup::Malformed);
    }
    let now = app.now();
    let facts = if looks_like_jwt(token) {
        let keys = app.keys().current();
        let (header, claims): (_, serde_json::Value) = match keys.verify(token) {
            Ok(v) => v,
            Err(JoseError::Malformed) => return Ok(Lookup::Malformed),
            Err(_) => return Ok(Lookup::Unknown),
        };
        // The one RFC 9068 check, shared with the gateway. Expiry is strict here (our own
        // tokens); `iat`/`nbf` get the leeway, since another node's clock may run a little
        // ahead of this one's.
        let header = serde_json::json!({ "typ": header.typ });
        let expect = Expect {
            issuer: app.issuer(),
            audiences: &[],
            token_types: &[access_token::JWT_TYP.to_string()],
            now,
            leeway: app.leeway(),
        };
        let (v, expired) = match access_token::validate(&header, &claims, &expect) {
            Ok(v) => {
                let expired = v.exp <= now;
                (v, expired)
            }
            Err(TokenError::Expired { .. } | TokenError::NotYetValid { .. }) => {
                // Still ours: report it as expired, with its facts.
                let Ok(parsed) = serde_json::from_value::<Claims>(claims.clone()) else {
                    return Ok(Lookup::Unknown);
                };
                (
                    access_token::Validated {
                        sub: parsed.sub,
                        client_id: Some(parsed.client_id),
                        scopes: parsed.scope.map(|s| scope::split(&s)).unwrap_or_default(),
                        jti: Some(parsed.jti),
                        exp: parsed.exp,
                        iat: Some(parsed.iat),
                        auth_time: parsed.auth_time,
                        grant_id: parsed.grant_id,
                    },
                    true,
                )
            }
            // Signed by us but not one of our access tokens (an id_token, say).
            Err(_) => return Ok(Lookup::Unknown),
        };
        let (Some(client_id), Some(jti)) = (v.client_id, v.jti) else {
            return Ok(Lookup::Unknown);
        };
        let audiences = match claims.get("aud") {
            Some(serde_json::Value::String(a)) => vec![a.clone()],
            Some(serde_json::Value::Array(list)) => list
                .iter()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        let facts = TokenFacts {
            held: Held::Jwt,
            jti,
            client_id,
            subject: Some(v.sub),
            scope: (!v.scopes.is_empty()).then(|| v.scopes.join(" ")),
            audiences,
            issued_at: v.iat.unwrap_or(0),
            expires_at: v.exp,
            grant_id: v.grant_id,
            auth_time: v.auth_time,
        };
        if expired {
            return Ok(Lookup::Found(Box::new(facts), TokenState::Expired));
        }
        facts
    } else {
        let digest = digest(token).to_vec();
        let Some(record) = app.store().get_access_token(&digest).await? else {
            return refresh_lookup(app, &digest).await;
        };
        let facts = TokenFacts {
            held: Held::Opaque { digest },
            jti: record.jti,
            client_id: record.client_id,
            subject: record.subject,
            scope: (!record.scope.is_empty()).then_some(record.scope),
            audiences: record.audiences,
            issued_at: record.issued_at,
            expires_at: record.expires_at,
            grant_id: record.grant_id,
            auth_time: None,
        };
        if record.revoked_at.is_some() {
            return Ok(Lookup::Found(Box::new(facts), TokenState::Revoked));
        }
        if record.expires_at <= now {
            return Ok(Lookup::Found(Box::new(facts), TokenState::Expired));
        }
        facts
    };
    let store = app.store();
    let mut revoked = store
        .is_revoked(RevocationKind::AccessToken, &facts.jti)
        .await?;
    if !revoked && let Some(grant) = &facts.grant_id {
        revoked = store.is_revoked(RevocationKind::Grant, grant).await?
            || store
                .is_revoked(RevocationKind::RefreshFamily, grant)
                .await?;
    }
    if !revoked {
        revoked = voided(app, &facts).await?;
    }
    let state = if revoked {
        TokenState::Revoked
    } else {
        TokenState::Active
    };
    Ok(Lookup::Found(Box::new(facts), state))
}

/// Whether the token's user had their sessions ended after it was authenticated (a password
/// change, a deletion, `candor user revoke-sessions`), or its client was deleted after it was
/// issued.
async fn voided(app: &App, facts: &TokenFacts) -> Result<bool, Refusal> {
    let store = app.store();
    if let Some(at) = store
        .revoked_at(RevocationKind::Client, &facts.client_id)
        .await?
        && facts.issued_at <= at
    {
        return Ok(true);
    }
    let Some(sub) = facts.subject.as_deref() else {
        return Ok(false);
    };
    if facts.auth_time.is_none() && sub == facts.client_id {
        // client_credentials: the subject is the client, not a user.
        return Ok(false);
    }
    Ok(
        match store.revoked_at(RevocationKind::Subject, sub).await? {
            Some(at) => facts.auth_time.unwrap_or(facts.issued_at) <= at,
            None => false,
        },
    )
}

/// A refresh token: active while neither rotated, revoked nor expired.
async fn refresh_lookup(app: &App, digest: &[u8]) -> Result<Lookup, Refusal> {
    let Some(r) = app.store().get_refresh_token(digest).await? else {
        return Ok(Lookup::Unknown);
    };
    let now = app.now();
    let state = if r.revoked_at.is_some() || r.used_at.is_some() {
        TokenState::Revoked
    } else if r.expires_at <= now || r.idle_expires_at <= now {
        TokenState::Expired
    } else {
        TokenState::Active
    };
    let facts = TokenFacts {
        held: Held::Refresh {
            family_id: r.family_id.clone(),
        },
        jti: r.family_id.clone(),
        client_id: r.client_id,
        subject: Some(r.user_id),
        scope: (!r.scope.is_empty()).then_some(r.scope),
        audiences: Vec::new(),
        issued_at: r.issued_at,
        expires_at: r.idle_expires_at.min(r.expires_at),
        grant_id: Some(r.family_id),
        auth_time: Some(r.auth_time),
    };
    let state = if state == TokenState::Active && voided(app, &facts).await? {
        TokenState::Revoked
    } else {
        state
    };
    Ok(Lookup::Found(Box::new(facts), state))
}

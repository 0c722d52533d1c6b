//! What every grant issues, in one place: access tokens (RFC 9068 JWTs, or opaque tokens
//! stored by digest), a user's refresh token (rotated, one family per grant) and id_token, and
//! the token response (RFC 6749 §5.1). The grants import this module; it imports none of them.
//!
//! Minting writes nothing: a grant stores what was issued (the [`Issuance`]) in the same
//! transaction that consumes what it redeemed, so that the two commit (or fail) as one.

use candor_proto::access_token::{self, Audience, Claims, Format};
use candor_proto::error::quote;
use candor_proto::grant_type::GrantType;
use candor_proto::secret::{Secret, random_id, random_token};
use candor_proto::{Code, OAuthError};
use candor_store::{AccessTokenRecord, Client, Issuance, RefreshTokenRecord, RevocationKind, User};
use serde::Serialize;

use crate::app::App;
use crate::error::ServerError;
use crate::id_token::{self, IdTokenInput};
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

/// What a new access token is for.
#[derive(Debug, Clone)]
pub struct AccessGrant<'a> {
    pub client: &'a Client,
    /// The user; `None` for `client_credentials`, where `sub` is the client_id.
    pub subject: Option<&'a str>,
    pub scopes: &'a [String],
    pub audiences: Vec<String>,
    pub auth_time: Option<i64>,
    pub grant_id: Option<&'a str>,
}

/// A minted access token.
#[derive(Debug)]
pub struct Issued {
    pub token: Secret,
    pub expires_in: i64,
    pub jti: String,
    /// For an opaque token, the record to store before the token is handed out.
    pub record: Option<AccessTokenRecord>,
}

/// Mints an access token in the client's format.
pub fn access_token(app: &App, grant: AccessGrant<'_>) -> Result<Issued, Refusal> {
    let now = app.now();
    let ttl = app.settings().access_token_ttl.as_secs() as i64;
    let jti = random_id();
    if let Some(sub) = grant.subject {
        crate::calls::subject(sub);
    }
    let format = grant.client.access_token_format;
    let scope = (!grant.scopes.is_empty()).then(|| grant.scopes.join(" "));
    match format {
        Format::Jwt => {
            let claims = Claims {
                iss: app.issuer().to_string(),
                sub: grant
                    .subject
                    .unwrap_or(grant.client.client_id.as_str())
                    .to_string(),
                aud: Audience::from_list(grant.audiences),
                exp: now + ttl,
                iat: now,
                jti: jti.clone(),
                client_id: grant.client.client_id.clone(),
                scope,
                auth_time: grant.auth_time,
                grant_id: grant.grant_id.map(str::to_string),
            };
            let keys = app.keys().current();
            let alg = app.settings().access_token_alg;
            let key = keys.active(alg).ok_or_else(|| {
                Refusal::Internal(ServerError::NotFound(format!("active {alg} signing key")))
            })?;
            let token = key.sign(access_token::JWT_TYP, &claims)?;
            Ok(Issued {
                token: Secret::new(token),
                expires_in: ttl,
                jti,
                record: None,
            })
        }
        Format::Opaque => {
            let token = random_token();
            let record = AccessTokenRecord {
                digest: token.digest().to_vec(),
                jti: jti.clone(),
                client_id: grant.client.client_id.clone(),
                subject: grant.subject.map(str::to_string),
                scope: scope.unwrap_or_default(),
                audiences: grant.audiences,
                issued_at: now,
                expires_at: now + ttl,
                grant_id: grant.grant_id.map(str::to_string),
                revoked_at: None,
            };
            Ok(Issued {
                token,
                expires_in: ttl,
                jti,
                record: Some(record),
            })
        }
    }
}

/// What the user granted, and how they authenticated.
pub struct UserGrant<'a> {
    pub client: &'a Client,
    pub user: &'a User,
    pub scopes: Vec<String>,
    pub grant_id: &'a str,
    pub auth_time: i64,
    pub sid: Option<&'a str>,
    pub amr: &'a [String],
    pub nonce: Option<&'a str>,
    /// The absolute end of the refresh family (set at the code exchange, kept on rotation).
    pub family_expires_at: i64,
}

/// Whether this grant gets a refresh token: the client is registered for the grant, and
/// either asked for `offline_access` or is a plain OAuth client (no `openid`).
fn wants_refresh(client: &Client, scopes: &[String]) -> bool {
    client.allows(GrantType::RefreshToken)
        && (scopes.iter().any(|s| s == "offline_access") || !scopes.iter().any(|s| s == "openid"))
}

/// Refuses a grant whose user signed in before their sessions were ended (a password change,
/// a deletion, `candor user revoke-sessions`): `code` names it for the grant at hand.
pub async fn check_not_revoked(
    app: &App,
    user: &User,
    auth_time: i64,
    code: Code,
) -> Result<(), Refusal> {
    match app
        .store()
        .revoked_at(RevocationKind::Subject, &user.id)
        .await?
    {
        Some(at) if auth_time <= at => Err(OAuthError::new(
            code,
            format!(
                "the sessions and grants of user {} were ended {}s after this sign-in; sign in again",
                quote(&user.username),
                at - auth_time
            ),
        )
        .into()),
        _ => Ok(()),
    }
}

/// Mints the tokens of `g`; returns the response and what must be stored before it is sent.
pub async fn user_tokens(
    app: &App,
    g: UserGrant<'_>,
) -> Result<(TokenResponse, Issuance), Refusal> {
    let audiences = if g.client.audiences.is_empty() {
        vec![app.issuer().to_string()]
    } else {
        g.client.audiences.clone()
    };
    let mut access = access_token(
        app,
        AccessGrant {
            client: g.client,
            subject: Some(&g.user.id),
            scopes: &g.scopes,
            audiences,
            auth_time: Some(g.auth_time),
            grant_id: Some(g.grant_id),
        },
    )?;

    let mut issuance = Issuance {
        refresh_token: None,
        access_token: access.record.take(),
    };
    let refresh_token = if wants_refresh(g.client, &g.scopes) {
        let token = random_token();
        let now = app.now();
        let idle = now + app.settings().refresh_token_idle_ttl.as_secs() as i64;
        issuance.refresh_token = Some(RefreshTokenRecord {
            digest: token.digest().to_vec(),
            family_id: g.grant_id.to_string(),
            client_id: g.client.client_id.clone(),
            user_id: g.user.id.clone(),
            scope: g.scopes.join(" "),
            auth_time: g.auth_time,
            sid: g.sid.map(str::to_string),
            amr: g.amr.to_vec(),
            issued_at: now,
            expires_at: g.family_expires_at,
            idle_expires_at: idle.min(g.family_expires_at),
            used_at: None,
            revoked_at: None,
        });
        Some(token.expose().to_string())
    } else {
        None
    };

    let id_token = if g.scopes.iter().any(|s| s == "openid") {
        Some(
            id_token::sign(
                app,
                IdTokenInput {
                    client: g.client,
                    user: g.user,
                    scopes: &g.scopes,
                    nonce: g.nonce,
                    auth_time: g.auth_time,
                    sid: g.sid,
                    amr: g.amr,
                    access_token: access.token.expose(),
                },
            )
            .await?,
        )
    } else {
        None
    };

    let response = TokenResponse {
        access_token: access.token.expose().to_string(),
        token_type: "Bearer",
        expires_in: access.expires_in,
        scope: (!g.scopes.is_empty()).then(|| g.scopes.join(" ")),
        refresh_token,
        id_token,
    };
    Ok((response, issuance))
}

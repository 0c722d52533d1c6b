//! Tokens for a user: the access token, the refresh token (rotated, one family per grant) and
//! the id_token, as the authorization_code and refresh_token grants issue them.
//!
//! [`mint`] writes nothing: it returns the response and the [`Issuance`] to store, which the
//! grant hands to the store together with the code or refresh token it consumes, so that the
//! two commit (or fail) as one.

use candor_proto::error::quote;
use candor_proto::secret::random_token;
use candor_proto::{Code, OAuthError};
use candor_store::{Client, Issuance, RefreshTokenRecord, RevocationKind, User};

use crate::app::App;
use crate::id_token::{self, IdTokenInput};
use crate::issue::{self, Grant};
use crate::refusal::Refusal;
use crate::token::TokenResponse;

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
    client.grant_types.iter().any(|g| g == "refresh_token")
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
pub async fn mint(app: &App, g: UserGrant<'_>) -> Result<(TokenResponse, Issuance), Refusal> {
    let audiences = if g.client.audiences.is_empty() {
        vec![app.issuer().to_string()]
    } else {
        g.client.audiences.clone()
    };
    let mut access = issue::access_token(
        app,
        Grant {
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

//! The refresh_token grant (RFC 6749 §6, RFC 9700 §4.14): rotation on every use, reuse
//! detection that revokes the whole family, absolute and idle lifetimes, narrowing scope.

use candor_calls::Kind;
use candor_proto::error::quote;
use candor_proto::form::Form;
use candor_proto::secret::hint;
use candor_proto::{Code, scope};
use candor_store::{Client, Consumed, RefreshTokenRecord};

use crate::app::App;
use crate::events::{Event, emit};
use crate::grant::mint::{self, TokenResponse, UserGrant};
use crate::refusal::Refusal;

/// Rotates a refresh token. Every check runs before anything changes: a request that is
/// refused (a wider scope, another client) or fails (a database error) leaves the token
/// usable, so the client's retry is not mistaken for a reuse.
pub async fn exchange(app: &App, client: &Client, form: &Form) -> Result<TokenResponse, Refusal> {
    let token = form.require("refresh_token")?;
    let now = app.now();
    let digest = candor_proto::secret::digest(token);
    let record = match app.store().get_refresh_token(&digest).await? {
        Some(r) if r.revoked_at.is_some() || r.used_at.is_some() => {
            return Err(spent(app, client, &r, now).await);
        }
        Some(r) => r,
        None => return Err(unknown(token)),
    };
    if record.client_id != client.client_id {
        return Err(Refusal::oauth(
            Code::RefreshTokenClientMismatch,
            format!(
                "the refresh token was issued to client {}, not to {}",
                quote(&record.client_id),
                quote(&client.client_id)
            ),
        ));
    }
    if record.expires_at <= now {
        return Err(Refusal::oauth(
            Code::RefreshTokenExpired,
            format!(
                "the refresh token's family ended {}s ago (absolute lifetime)",
                now - record.expires_at
            ),
        ));
    }
    if record.idle_expires_at <= now {
        return Err(Refusal::oauth(
            Code::RefreshTokenExpired,
            format!(
                "the refresh token went unused too long and expired {}s ago (idle lifetime)",
                now - record.idle_expires_at
            ),
        ));
    }

    let granted: Vec<String> = scope::split(&record.scope);
    let scopes = match form.get("scope") {
        Some(requested) => {
            let requested = scope::parse(requested)?;
            if let Some(extra) = requested.iter().find(|s| !granted.contains(s)) {
                return Err(Refusal::oauth(
                    Code::ScopeExceedsGrant,
                    format!(
                        "scope {} was not part of the original grant ({}); a refresh may only narrow the scope",
                        quote(extra),
                        quote(&granted.join(" "))
                    ),
                ));
            }
            requested
        }
        None => granted,
    };
    let user = app
        .store()
        .get_user(&record.user_id)
        .await?
        .ok_or_else(|| {
            Refusal::oauth(
                Code::RefreshTokenRevoked,
                "the user this refresh token was issued for no longer exists",
            )
        })?;
    mint::check_not_revoked(app, &user, record.auth_time, Code::RefreshTokenRevoked).await?;
    let (response, issuance) = mint::user_tokens(
        app,
        UserGrant {
            client,
            user: &user,
            scopes,
            grant_id: &record.family_id,
            auth_time: record.auth_time,
            sid: record.sid.as_deref(),
            amr: &record.amr,
            nonce: None,
            family_expires_at: record.expires_at,
        },
    )
    .await?;
    match app
        .store()
        .consume_refresh_token(&digest, now, &issuance)
        .await?
    {
        Consumed::Fresh(_) => Ok(response),
        // Rotated or revoked between the read and now.
        Consumed::Spent(r) => Err(spent(app, client, &r, now).await),
        Consumed::NotFound => Err(unknown(token)),
    }
}

fn unknown(token: &str) -> Refusal {
    Refusal::oauth(
        Code::RefreshTokenUnknown,
        format!(
            "no refresh token {} was issued by this server",
            quote(&hint(token))
        ),
    )
}

/// A token that was revoked or already rotated. A reuse revokes the family (RFC 9700 §4.14),
/// except within the grace period for the same client: two requests racing from one client
/// are a benign duplicate, not a theft.
async fn spent(app: &App, client: &Client, r: &RefreshTokenRecord, now: i64) -> Refusal {
    if r.revoked_at.is_some() {
        return Refusal::oauth(
            Code::RefreshTokenRevoked,
            "the refresh token was revoked (explicitly, with its family after a reuse, or when the user's sessions were ended)",
        );
    }
    let used_at = r.used_at.unwrap_or(now);
    let grace = app.settings().refresh_reuse_grace.as_secs() as i64;
    if r.client_id == client.client_id && now - used_at <= grace {
        return Refusal::oauth(
            Code::RefreshTokenReused,
            format!(
                "the refresh token was rotated {}s ago by a concurrent request; use the refresh token from that response",
                now - used_at
            ),
        );
    }
    if let Err(e) = app.revoke_family(&r.family_id, now, r.expires_at).await {
        return e.into();
    }
    tracing::warn!(family = %r.family_id, "refresh token reused; its family is revoked");
    let reuse = Event::new(Kind::TokenReuseDetected).cause(Code::RefreshTokenReused);
    emit(app, reuse.subject(&r.user_id).client(&r.client_id));
    Refusal::oauth(
        Code::RefreshTokenReused,
        format!(
            "the refresh token was already rotated {}s ago; reuse means it leaked, so its whole family is now revoked",
            now - used_at
        ),
    )
}

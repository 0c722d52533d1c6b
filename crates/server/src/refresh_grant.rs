//! The refresh_token grant (RFC 6749 §6, RFC 9700 §4.14): rotation on every use, reuse
//! detection that revokes the whole family, absolute and idle lifetimes, narrowing scope.

use candor_proto::error::quote;
use candor_proto::form::Form;
use candor_proto::secret::hint;
use candor_proto::{Code, scope};
use candor_store::{Client, Consumed};

use crate::app::App;
use crate::refusal::Refusal;
use crate::token::TokenResponse;
use crate::user_grant::{self, UserGrant};

pub async fn refresh(app: &App, client: &Client, form: &Form) -> Result<TokenResponse, Refusal> {
    let token = form.require("refresh_token")?;
    let now = app.now();
    let digest = candor_proto::secret::digest(token);
    let record = match app.store().consume_refresh_token(&digest, now).await? {
        Consumed::Fresh(r) => r,
        Consumed::Spent(r) if r.revoked_at.is_some() => {
            return Err(Refusal::oauth(
                Code::RefreshTokenRevoked,
                "the refresh token was revoked (explicitly, or with its family after a reuse)",
            ));
        }
        Consumed::Spent(r) => {
            let used_at = r.used_at.unwrap_or(now);
            let grace = app.settings().refresh_reuse_grace.as_secs() as i64;
            if r.client_id == client.client_id && now - used_at <= grace {
                // Two requests racing from the same client: refuse the loser, keep the family.
                return Err(Refusal::oauth(
                    Code::RefreshTokenReused,
                    format!(
                        "the refresh token was rotated {}s ago by a concurrent request; use the refresh token from that response",
                        now - used_at
                    ),
                ));
            }
            app.store()
                .revoke_refresh_family(&r.family_id, now, r.expires_at)
                .await?;
            tracing::warn!(family = %r.family_id, "refresh token reused; its family is revoked");
            return Err(Refusal::oauth(
                Code::RefreshTokenReused,
                format!(
                    "the refresh token was already rotated {}s ago; reuse means it leaked, so its whole family is now revoked",
                    now - used_at
                ),
            ));
        }
        Consumed::NotFound => {
            return Err(Refusal::oauth(
                Code::RefreshTokenUnknown,
                format!(
                    "no refresh token {} was issued by this server",
                    quote(&hint(token))
                ),
            ));
        }
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
    user_grant::issue(
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
    .await
}

//! The authorization_code grant (RFC 6749 §4.1.3, RFC 7636 §4.6, RFC 9700 §2.1.1): a code is
//! single-use, bound to its client, redirect URI, PKCE challenge, nonce and scope. A second
//! redemption revokes everything issued from the first.

use candor_proto::error::quote;
use candor_proto::form::Form;
use candor_proto::redirect_uri::{Comparison, compare};
use candor_proto::secret::hint;
use candor_proto::{Code, pkce, scope};
use candor_store::{Client, Consumed};

use crate::app::App;
use crate::refusal::Refusal;
use crate::token::TokenResponse;
use crate::user_grant::{self, UserGrant};

pub async fn exchange(app: &App, client: &Client, form: &Form) -> Result<TokenResponse, Refusal> {
    let code = form.require("code")?;
    let now = app.now();
    let digest = candor_proto::secret::digest(code);
    let record = match app.store().consume_code(&digest, now).await? {
        Consumed::Fresh(r) => r,
        Consumed::Spent(r) => {
            // RFC 6749 §4.1.2: a reused code revokes the tokens issued from it.
            let until = now + app.settings().refresh_token_ttl.as_secs() as i64;
            app.store()
                .revoke_refresh_family(&r.grant_id, now, until)
                .await?;
            tracing::warn!(grant_id = %r.grant_id, "authorization code reused; its grant is revoked");
            return Err(Refusal::oauth(
                Code::CodeReused,
                format!(
                    "the authorization code was already redeemed {}s ago; every token issued from it is now revoked",
                    now - r.used_at.unwrap_or(now)
                ),
            ));
        }
        Consumed::NotFound => {
            return Err(Refusal::oauth(
                Code::CodeUnknown,
                format!(
                    "no authorization code {} was issued by this server",
                    quote(&hint(code))
                ),
            ));
        }
    };
    if record.client_id != client.client_id {
        return Err(Refusal::oauth(
            Code::CodeClientMismatch,
            format!(
                "the code was issued to client {}, not to {}",
                quote(&record.client_id),
                quote(&client.client_id)
            ),
        ));
    }
    if record.expires_at <= now {
        return Err(Refusal::oauth(
            Code::CodeExpired,
            format!(
                "the authorization code expired {}s ago (codes live {}s)",
                now - record.expires_at,
                app.settings().authorization_code_ttl.as_secs()
            ),
        ));
    }

    match (form.get("redirect_uri"), record.redirect_uri_sent) {
        (None, true) => {
            return Err(Refusal::oauth(
                Code::RedirectUriMissing,
                format!(
                    "redirect_uri is required: the authorization request used {}",
                    quote(&record.redirect_uri)
                ),
            ));
        }
        (Some(received), _) => match compare(received, &record.redirect_uri) {
            Comparison::Equal => {}
            Comparison::Near(kind) => {
                return Err(Refusal::oauth(
                    kind.code(),
                    format!(
                        "redirect_uri {} differs from the one used in the authorization request {}: {}",
                        quote(received),
                        quote(&record.redirect_uri),
                        kind.describe()
                    ),
                ));
            }
            Comparison::Different(parts) => {
                return Err(Refusal::oauth(
                    Code::RedirectUriMismatch,
                    format!(
                        "redirect_uri {} differs from the one used in the authorization request {} (different: {})",
                        quote(received),
                        quote(&record.redirect_uri),
                        parts.join(", ")
                    ),
                ));
            }
        },
        (None, false) => {}
    }

    match (&record.code_challenge, form.get("code_verifier")) {
        (Some(challenge), Some(verifier)) => pkce::verify(verifier, challenge)?,
        (Some(_), None) => {
            return Err(Refusal::oauth(
                Code::PkceVerifierMissing,
                "the code was issued with a code_challenge, so code_verifier is required",
            ));
        }
        (None, Some(_)) => {
            return Err(Refusal::oauth(
                Code::PkceVerifierUnexpected,
                "code_verifier was sent, but the authorization request had no code_challenge",
            ));
        }
        (None, None) => {}
    }

    let user = app
        .store()
        .get_user(&record.user_id)
        .await?
        .ok_or_else(|| {
            Refusal::oauth(
                Code::CodeUnknown,
                "the user this code was issued for no longer exists",
            )
        })?;
    let scopes: Vec<String> = scope::split(&record.scope);
    user_grant::issue(
        app,
        UserGrant {
            client,
            user: &user,
            scopes,
            grant_id: &record.grant_id,
            auth_time: record.auth_time,
            sid: record.sid.as_deref(),
            amr: &record.amr,
            nonce: record.nonce.as_deref(),
            family_expires_at: now + app.settings().refresh_token_ttl.as_secs() as i64,
        },
    )
    .await
}

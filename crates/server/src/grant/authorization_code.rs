//! The authorization_code grant (RFC 6749 §4.1.3, RFC 7636 §4.6, RFC 9700 §2.1.1): a code is
//! single-use, bound to its client, redirect URI, PKCE challenge, nonce and scope. A second
//! redemption revokes everything issued from the first.

use candor_proto::error::quote;
use candor_proto::form::Form;
use candor_proto::redirect_uri::{self, Comparison, compare};
use candor_proto::secret::hint;
use candor_proto::{Code, pkce, scope};
use candor_store::{AuthorizationCodeRecord, Client, Consumed};

use crate::app::App;
use crate::grant::mint::{self, TokenResponse, UserGrant};
use crate::refusal::Refusal;

/// Redeems a code. Every check runs before anything changes: a refused request leaves the code
/// usable, and the code is consumed in the same transaction that stores what it yields.
pub async fn exchange(app: &App, client: &Client, form: &Form) -> Result<TokenResponse, Refusal> {
    let code = form.require("code")?;
    let now = app.now();
    let digest = candor_proto::secret::digest(code);
    let record = match app.store().get_code(&digest).await? {
        Some(r) if r.used_at.is_some() => return Err(reused(app, &r, now).await),
        Some(r) => r,
        None => return Err(unknown(code)),
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
        (Some(received), _) => {
            match redirect_uri::check(received).map(|_| compare(received, &record.redirect_uri)) {
                Err(why) => {
                    return Err(Refusal::oauth(
                        Code::RedirectUriUnsafe,
                        format!(
                            "redirect_uri {} is refused: {}",
                            quote(received),
                            why.describe()
                        ),
                    ));
                }
                Ok(Comparison::Equal) => {}
                Ok(Comparison::Near(kind)) => {
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
                Ok(Comparison::Different(parts)) => {
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
            }
        }
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
    mint::check_not_revoked(app, &user, record.auth_time, Code::CodeRevoked).await?;
    let scopes: Vec<String> = scope::split(&record.scope);
    let (response, issuance) = mint::user_tokens(
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
    .await?;
    match app.store().consume_code(&digest, now, &issuance).await? {
        Consumed::Fresh(_) => Ok(response),
        // Another redemption won between the read and now: this one is the reuse.
        Consumed::Spent(r) => Err(reused(app, &r, now).await),
        Consumed::NotFound => Err(unknown(code)),
    }
}

fn unknown(code: &str) -> Refusal {
    Refusal::oauth(
        Code::CodeUnknown,
        format!(
            "no authorization code {} was issued by this server",
            quote(&hint(code))
        ),
    )
}

/// A second redemption: RFC 6749 §4.1.2 wants the tokens issued from the first revoked.
async fn reused(app: &App, r: &AuthorizationCodeRecord, now: i64) -> Refusal {
    let until = now + app.settings().refresh_token_ttl.as_secs() as i64;
    if let Err(e) = app.revoke_family(&r.grant_id, now, until).await {
        return e.into();
    }
    tracing::warn!(grant_id = %r.grant_id, "authorization code reused; its grant is revoked");
    let reuse = crate::events::Event::new(candor_calls::Kind::TokenReuseDetected);
    let reuse = reuse.cause(Code::CodeReused).subject(&r.user_id);
    crate::events::emit(app, reuse.client(&r.client_id));
    Refusal::oauth(
        Code::CodeReused,
        format!(
            "the authorization code was already redeemed {}s ago; every token issued from it is now revoked",
            now - r.used_at.unwrap_or(now)
        ),
    )
}

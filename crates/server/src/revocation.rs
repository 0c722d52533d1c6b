//! Token revocation (RFC 7009). A revoked JWT goes to the revocation feed by jti, so that
//! introspection refuses it until it expires and gateways following the feed learn of it.

use candor_proto::authorization::Presentation;
use candor_proto::error::quote;
use candor_proto::form::Form;
use candor_proto::{Code, OAuthError};
use candor_store::{NewRevocation, RevocationKind};

use crate::app::App;
use crate::client_auth::authenticate;
use crate::refusal::Refusal;
use crate::token_lookup::{Held, Lookup, TokenState, lookup};

pub fn endpoint(app: &App) -> String {
    format!("{}/revoke", app.issuer())
}

/// Revokes a token of the calling client. Unknown, malformed and expired tokens are answered
/// with success, as RFC 7009 §2.2 requires: the client's goal, an unusable token, holds.
pub async fn revoke(
    app: &App,
    authorization: Option<Presentation<'_>>,
    form: &Form,
) -> Result<(), Refusal> {
    let auth = authenticate(app, authorization, form, &endpoint(app)).await?;
    let token = form.require("token")?;
    let Lookup::Found(facts, state) = lookup(app, token).await? else {
        return Ok(());
    };
    if facts.client_id != auth.client.client_id {
        return Err(OAuthError::new(
            Code::TokenClientMismatch,
            format!(
                "the token was issued to client {}, not to {}",
                quote(&facts.client_id),
                quote(&auth.client.client_id)
            ),
        )
        .into());
    }
    let now = app.now();
    // Any token of a refresh family revokes the family, the current one or one already
    // rotated (RFC 7009 §2.1, RFC 9700 §4.14): a logout that races a background refresh
    // presents the token the refresh just rotated, and must still end the grant.
    if let Held::Refresh { family_id } = &facts.held {
        if state != TokenState::Expired {
            let until = now + app.settings().refresh_token_ttl.as_secs() as i64;
            app.revoke_family(family_id, now, until).await?;
            revoked(app, &facts, "refresh_family");
        }
        return Ok(());
    }
    if state != TokenState::Active {
        return Ok(());
    }
    match &facts.held {
        Held::Opaque { digest } => {
            app.revoke_opaque(digest, now).await?;
        }
        Held::Refresh { .. } => {}
        Held::Jwt => {
            app.append_revocation(&NewRevocation {
                kind: RevocationKind::AccessToken,
                id: facts.jti.clone(),
                expires_at: facts.expires_at,
                revoked_at: now,
            })
            .await?;
        }
    }
    revoked(app, &facts, "access_token");
    Ok(())
}

/// The identity event of a revocation: what was revoked, and whose.
fn revoked(app: &App, facts: &crate::token_lookup::TokenFacts, what: &str) {
    let event = crate::events::Event::new(candor_calls::Kind::TokenRevoked).detail(what);
    crate::events::emit(
        app,
        // A user's token (one with an auth_time); a client's own token's subject is the client.
        match (&facts.subject, facts.auth_time) {
            (Some(sub), Some(_)) => event.subject(sub),
            _ => event,
        },
    );
}

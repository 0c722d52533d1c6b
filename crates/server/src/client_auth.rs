//! Authenticating the client at back-channel endpoints against its registration: exactly one
//! method per request, and the registered method only (docs/server.md; the `client_auth.*` codes in docs/errors.md).

use candor_proto::authorization::Presentation;
use std::sync::Arc;

use candor_proto::Code;
use candor_proto::client_assertion::{self, AssertionKey};
use candor_proto::client_auth::{AuthMethod, Presented, presented};
use candor_proto::error::quote;
use candor_proto::form::Form;
use candor_proto::jose::JwkSet;
use candor_proto::secret::digest_matches;
use candor_store::{Client, StoreError};

use crate::app::App;
use crate::clients::{previous_secret, unseal_previous_secret, unseal_secret};
use crate::error::ServerError;
use crate::refusal::Refusal;

/// A client whose credentials checked out.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub client: Arc<Client>,
    pub method: AuthMethod,
}

/// Authenticates the client of a back-channel request. `endpoint` is the URL being called; a
/// client assertion may name it, the token endpoint, or the issuer as its audience.
pub async fn authenticate(
    app: &App,
    authorization: Option<Presentation<'_>>,
    form: &Form,
    endpoint: &str,
) -> Result<Authenticated, Refusal> {
    let presented = presented(authorization, form)?;
    let client_id = match &presented {
        Presented::Basic { client_id, .. }
        | Presented::Post { client_id, .. }
        | Presented::ClientIdOnly { client_id } => client_id.clone(),
        Presented::Assertion {
            client_id,
            assertion,
        } => {
            let claimed = client_assertion::claimed_client_id(assertion)?;
            match client_id {
                Some(id) if *id != claimed => {
                    return Err(Refusal::oauth(
                        Code::ClientAuthAssertionInvalid,
                        "the client_id parameter differs from the client_assertion's 'sub'; they must be equal",
                    ));
                }
                _ => claimed,
            }
        }
        Presented::Nothing => {
            return Err(Refusal::oauth(
                Code::ClientAuthMissing,
                "no client credentials: send an Authorization: Basic header, client_id and client_secret, or a client assertion",
            ));
        }
    };
    let client = app
        .clients()
        .get(app.store(), &client_id)
        .await?
        .ok_or_else(|| {
            Refusal::oauth(
                Code::ClientAuthUnknownClient,
                format!(
                    "no client with client_id {} is registered",
                    quote(&client_id)
                ),
            )
        })?;
    // Only now is the client_id known to be one: an unregistered one is any caller's text,
    // and may be a client secret sent in its place (client_id and secret swapped). It is
    // neither logged nor recorded (docs/calls.md).
    tracing::Span::current().record("client_id", client.client_id.as_str());
    crate::calls::client(&client.client_id);
    let registered = client.auth_method;

    match (&presented, registered) {
        (Presented::Basic { secret, .. }, AuthMethod::ClientSecretBasic)
        | (Presented::Post { secret, .. }, AuthMethod::ClientSecretPost) => {
            let matches = |digest: &[u8]| digest_matches(secret.expose(), digest);
            // During a rotation's overlap the previous secret is accepted too.
            let ok = client.secret_digest.as_deref().is_some_and(matches)
                || previous_secret(&client, app.now()).is_some_and(|p| matches(&p.digest));
            if !ok {
                return Err(Refusal::oauth(
                    Code::ClientAuthSecretMismatch,
                    format!(
                        "the client secret presented for {} (via {}) does not match the registered one",
                        quote(&client_id),
                        registered
                    ),
                ));
            }
        }
        (
            Presented::Assertion { assertion, .. },
            AuthMethod::PrivateKeyJwt | AuthMethod::ClientSecretJwt,
        ) => {
            verify_assertion(app, &client, registered, assertion, endpoint).await?;
        }
        (Presented::ClientIdOnly { .. }, AuthMethod::None) => {}
        (Presented::ClientIdOnly { .. }, _) => {
            return Err(Refusal::oauth(
                Code::ClientAuthMissing,
                format!(
                    "client {} is confidential (registered for {registered}) but the request carries only its client_id",
                    quote(&client_id)
                ),
            ));
        }
        (p, registered) => {
            return Err(Refusal::oauth(
                Code::ClientAuthMethodMismatch,
                format!(
                    "client {} is registered for {registered} but authenticated with {}",
                    quote(&client_id),
                    p.describe()
                ),
            ));
        }
    }
    // Said only to a client that proved who it is: to anyone else a disabled client looks
    // like any other.
    if client.disabled_at.is_some() {
        return Err(Refusal::oauth(
            Code::ClientAuthClientDisabled,
            format!(
                "client {} is disabled by an administrator: nothing is issued to it until it is enabled again",
                quote(&client_id)
            ),
        ));
    }
    Ok(Authenticated {
        client,
        method: registered,
    })
}

async fn verify_assertion(
    app: &App,
    client: &Client,
    method: AuthMethod,
    assertion: &str,
    endpoint: &str,
) -> Result<(), Refusal> {
    let token_endpoint = app.settings().token_endpoint();
    let audiences = [token_endpoint.as_str(), app.issuer(), endpoint];
    let now = app.now();
    let verified = match method {
        AuthMethod::PrivateKeyJwt => {
            let jwks: JwkSet = client
                .jwks
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| Refusal::Internal(StoreError::Corrupt(e.to_string()).into()))?
                .unwrap_or(JwkSet { keys: Vec::new() });
            client_assertion::verify(
                assertion,
                AssertionKey::PublicKeys(&jwks),
                &client.client_id,
                &audiences,
                now,
                app.leeway(),
            )?
        }
        _ => {
            let secret = unseal_secret(app.master(), client).ok_or_else(|| {
                Refusal::Internal(ServerError::InvalidRegistration(format!(
                    "client '{}' has no sealed secret for client_secret_jwt",
                    client.client_id
                )))
            })?;
            let verify = |secret: &[u8]| {
                client_assertion::verify(
                    assertion,
                    AssertionKey::Secret(secret),
                    &client.client_id,
                    &audiences,
                    now,
                    app.leeway(),
                )
            };
            match verify(&secret) {
                Ok(verified) => verified,
                // During a rotation's overlap, an assertion signed with the previous secret.
                Err(refused) => match unseal_previous_secret(app.master(), client, now) {
                    Some(previous) => verify(&previous).map_err(|_| refused)?,
                    None => return Err(refused.into()),
                },
            }
        }
    };
    let fresh = app
        .store()
        .remember_assertion(
            &client.client_id,
            &verified.jti,
            verified.exp + app.leeway(),
        )
        .await?;
    if !fresh {
        return Err(Refusal::oauth(
            Code::ClientAuthAssertionInvalid,
            format!(
                "client_assertion 'jti' {} was used before; sign a new assertion for every request",
                quote(&verified.jti)
            ),
        ));
    }
    Ok(())
}

//! Client registration: validating metadata, issuing client_ids and secrets, rotation.
//!
//! Secrets are 256-bit random strings shown once; the store keeps their SHA-256 digest. A
//! `client_secret_jwt` client's secret is also sealed with the master key, because verifying
//! its HMAC assertions needs the secret itself.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use candor_proto::access_token::Format;
use candor_proto::client_auth::AuthMethod;
use candor_proto::error::quote;
use candor_proto::grant_type::GrantType;
use candor_proto::jose::JwkSet;
use candor_proto::jose::SigningAlg;
use candor_proto::seal::MasterKey;
use candor_proto::secret::{Secret, random_token};
use candor_proto::{redirect_uri, scope};
use candor_store::{Client, Directory, PreviousSecret, Store, StoreError};
use serde_json::Value;

use crate::error::ServerError;

/// What a new registration asks for.
#[derive(Debug, Clone)]
pub struct NewClient {
    /// Chosen client_id; generated when `None`.
    pub client_id: Option<String>,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// Empty: `client_credentials` without redirect URIs, else `authorization_code` +
    /// `refresh_token`.
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub audiences: Vec<String>,
    pub auth_method: AuthMethod,
    pub access_token_format: Format,
    /// JWK Set JSON, required for `private_key_jwt`.
    pub jwks: Option<String>,
    pub require_pkce: bool,
    pub id_token_signed_response_alg: Option<SigningAlg>,
}

impl NewClient {
    pub fn new(name: impl Into<String>) -> Self {
        NewClient {
            client_id: None,
            name: name.into(),
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            grant_types: Vec::new(),
            scopes: Vec::new(),
            audiences: Vec::new(),
            auth_method: AuthMethod::ClientSecretBasic,
            access_token_format: Format::Jwt,
            jwks: None,
            require_pkce: true,
            id_token_signed_response_alg: None,
        }
    }
}

fn invalid(why: impl Into<String>) -> ServerError {
    ServerError::InvalidRegistration(why.into())
}

fn secret_context(client_id: &str) -> String {
    format!("client-secret:{client_id}")
}

/// Deletes a client after voiding every token issued to it (a `client` entry in the
/// revocation feed, so that introspection and every gateway following the feed refuse its JWT
/// access tokens too). `false` when no such client exists.
pub async fn delete(
    store: &dyn Store,
    settings: &crate::settings::Settings,
    client_id: &str,
    now: i64,
) -> Result<bool, ServerError> {
    if store.get_client(client_id).await?.is_none() {
        return Ok(false);
    }
    store
        .append_revocation(&candor_store::NewRevocation {
            kind: candor_store::RevocationKind::Client,
            id: client_id.to_string(),
            expires_at: now + settings.longest_grant_ttl().as_secs() as i64,
            revoked_at: now,
        })
        .await?;
    Ok(store.delete_client(client_id).await?)
}

/// Checks a client_id chosen by an operator: 1 to 128 unreserved URI characters.
pub fn validate_client_id(id: &str) -> Result<(), ServerError> {
    if id.is_empty() || id.len() > 128 {
        return Err(invalid("client_id must be 1 to 128 characters"));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
    {
        return Err(invalid(format!(
            "client_id '{id}' may contain only letters, digits and - . _ ~"
        )));
    }
    Ok(())
}

/// Checks a redirect URI offered for registration: safe to compare (see
/// [`candor_proto::redirect_uri::check`]), written as the WHATWG parser writes it (so that the
/// exact comparison and the parsed one agree), https or loopback http, or a private-use scheme
/// for native apps (RFC 8252 §7.1).
pub fn validate_redirect_uri(uri: &str) -> Result<(), ServerError> {
    let url = redirect_uri::check(uri).map_err(|e| {
        invalid(format!(
            "redirect URI {} is refused: {}",
            quote(uri),
            e.describe()
        ))
    })?;
    if url.as_str() != uri {
        return Err(invalid(format!(
            "redirect URI {} is not in canonical form; register it as {}",
            quote(uri),
            quote(url.as_str())
        )));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            if candor_proto::loopback::is_loopback_url(&url) {
                Ok(())
            } else {
                Err(invalid(format!(
                    "redirect URI '{uri}' uses plain http off loopback; use https"
                )))
            }
        }
        scheme if scheme.contains('.') => Ok(()),
        scheme => Err(invalid(format!(
            "redirect URI '{uri}' has scheme '{scheme}'; use https, loopback http, or a reverse-domain private-use scheme such as com.example.app"
        ))),
    }
}

fn validate(new: &NewClient) -> Result<Vec<GrantType>, ServerError> {
    if new.name.trim().is_empty() || new.name.chars().count() > 200 {
        return Err(invalid("the client name must be 1 to 200 characters"));
    }
    if new.name.chars().any(char::is_control) {
        return Err(invalid(
            "the client name must not contain control characters",
        ));
    }
    if let Some(id) = &new.client_id {
        validate_client_id(id)?;
    }
    let mut grants = new.grant_types.clone();
    if grants.is_empty() {
        grants = if new.redirect_uris.is_empty() {
            vec![GrantType::ClientCredentials]
        } else {
            vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
        };
    }
    grants.sort();
    grants.dedup();
    if new.auth_method == AuthMethod::None && grants.contains(&GrantType::ClientCredentials) {
        return Err(invalid(
            "a public client (auth method none) cannot use client_credentials: it has no credentials",
        ));
    }
    if grants.contains(&GrantType::AuthorizationCode) && new.redirect_uris.is_empty() {
        return Err(invalid(
            "the authorization_code grant needs at least one --redirect-uri",
        ));
    }
    for uri in new
        .redirect_uris
        .iter()
        .chain(&new.post_logout_redirect_uris)
    {
        validate_redirect_uri(uri)?;
    }
    for s in &new.scopes {
        let parsed = scope::parse(s).map_err(|e| invalid(e.description))?;
        if parsed.len() != 1 {
            return Err(invalid(format!("'{s}' is not a single scope")));
        }
    }
    for aud in &new.audiences {
        let url = url::Url::parse(aud)
            .map_err(|_| invalid(format!("audience '{aud}' is not an absolute URI")))?;
        if url.fragment().is_some() {
            return Err(invalid(format!(
                "audience '{aud}' must not have a fragment"
            )));
        }
    }
    match (new.auth_method, &new.jwks) {
        (AuthMethod::PrivateKeyJwt, None) => {
            return Err(invalid(
                "private_key_jwt needs the client's public keys (--jwks FILE with a JWK Set)",
            ));
        }
        (AuthMethod::PrivateKeyJwt, Some(jwks)) => {
            let set: JwkSet = serde_json::from_str(jwks)
                .map_err(|e| invalid(format!("--jwks is not a JWK Set: {e}")))?;
            if set.keys.is_empty() {
                return Err(invalid("--jwks has no keys"));
            }
        }
        (_, Some(_)) => {
            return Err(invalid("--jwks is only for private_key_jwt clients"));
        }
        _ => {}
    }
    Ok(grants)
}

/// A registered client and, when it has one, its secret (shown once).
#[derive(Debug)]
pub struct Registered {
    pub client: Client,
    pub secret: Option<Secret>,
}

/// The client already registered under `name`, if any. Names label clients in the call log,
/// metrics and consent pages: two clients with one name are two rows nobody can tell apart, so
/// administration refuses a second (`create` itself does not: a test may want twins).
pub async fn named(store: &dyn Directory, name: &str) -> Result<Option<Client>, ServerError> {
    Ok(store
        .list_clients()
        .await?
        .into_iter()
        .find(|c| c.name == name))
}

/// Registers a client.
pub async fn create(
    store: &dyn Directory,
    master: &MasterKey,
    new: NewClient,
    now: i64,
) -> Result<Registered, ServerError> {
    let grants = validate(&new)?;
    let client_id = match &new.client_id {
        Some(id) => id.clone(),
        None => {
            let mut id = random_token().expose().to_string();
            id.truncate(22);
            id
        }
    };
    let secret = new.auth_method.uses_secret().then(random_token);
    let secret_sealed = match (&secret, new.auth_method) {
        (Some(s), AuthMethod::ClientSecretJwt) => {
            Some(master.seal(&secret_context(&client_id), s.expose().as_bytes())?)
        }
        _ => None,
    };
    let client = Client {
        client_id,
        name: new.name.trim().to_string(),
        secret_digest: secret.as_ref().map(|s| s.digest().to_vec()),
        secret_sealed,
        auth_method: new.auth_method,
        redirect_uris: new.redirect_uris,
        post_logout_redirect_uris: new.post_logout_redirect_uris,
        grant_types: grants,
        scopes: new.scopes,
        audiences: new.audiences,
        access_token_format: new.access_token_format,
        jwks: new.jwks,
        require_pkce: new.require_pkce || new.auth_method == AuthMethod::None,
        id_token_signed_response_alg: new.id_token_signed_response_alg,
        disabled_at: None,
        previous_secret: None,
        created_at: now,
        updated_at: now,
    };
    store.insert_client(&client).await.map_err(|e| match e {
        StoreError::Conflict(_) => {
            ServerError::Taken(format!("client_id '{}' is taken", client.client_id))
        }
        other => other.into(),
    })?;
    Ok(Registered { client, secret })
}

/// The longest overlap a rotation may give the previous secret: long enough for a fleet's
/// slowest deployment, short enough that a leaked secret cannot be kept alive by rotating.
pub const MAX_SECRET_OVERLAP: Duration = Duration::from_secs(30 * 24 * 3600);

/// Issues a new secret for a client. The previous one stops working at once when `overlap` is
/// zero, else keeps working for `overlap` (at most [`MAX_SECRET_OVERLAP`]) so that every
/// instance of the application can move to the new one; a rotation during an overlap ends
/// the older overlap (only one previous secret is kept).
pub async fn rotate_secret(
    store: &dyn Directory,
    master: &MasterKey,
    client_id: &str,
    overlap: Duration,
    now: i64,
) -> Result<Registered, ServerError> {
    if overlap > MAX_SECRET_OVERLAP {
        return Err(invalid(format!(
            "an overlap of {}s is longer than the most allowed, {}s (30 days)",
            overlap.as_secs(),
            MAX_SECRET_OVERLAP.as_secs()
        )));
    }
    let mut client = store
        .get_client(client_id)
        .await?
        .ok_or_else(|| ServerError::NotFound(format!("client '{client_id}'")))?;
    let method = client.auth_method;
    if !method.uses_secret() {
        return Err(invalid(format!(
            "client '{client_id}' authenticates with {method}, which has no secret"
        )));
    }
    let secret = random_token();
    let previous_digest = client.secret_digest.replace(secret.digest().to_vec());
    let previous_sealed = client.secret_sealed.take();
    client.previous_secret = match previous_digest {
        Some(digest) if !overlap.is_zero() => Some(PreviousSecret {
            digest,
            sealed: previous_sealed,
            until: now.saturating_add(i64::try_from(overlap.as_secs()).unwrap_or(i64::MAX)),
        }),
        _ => None,
    };
    if method == AuthMethod::ClientSecretJwt {
        client.secret_sealed =
            Some(master.seal(&secret_context(client_id), secret.expose().as_bytes())?);
    }
    client.updated_at = now;
    store.update_client(&client).await?;
    Ok(Registered {
        client,
        secret: Some(secret),
    })
}

/// The previous secret of a rotation with an overlap, while it is still accepted at `now`.
pub fn previous_secret(client: &Client, now: i64) -> Option<&PreviousSecret> {
    client.previous_secret.as_ref().filter(|p| now < p.until)
}

/// Disables a client: nothing more is issued to it and every token it holds is revoked
/// (gateways learn it from the revocation feed). `false` when it was disabled already.
pub async fn disable(
    store: &dyn Store,
    settings: &crate::settings::Settings,
    client_id: &str,
    now: i64,
) -> Result<bool, ServerError> {
    if store.get_client(client_id).await?.is_none() {
        return Err(ServerError::NotFound(format!("client '{client_id}'")));
    }
    let feed_expires_at = now + settings.longest_grant_ttl().as_secs() as i64;
    Ok(store
        .disable_client(client_id, now, feed_expires_at)
        .await?)
}

/// Enables a disabled client; what it held before it was disabled stays revoked. `false`
/// when it was enabled already.
pub async fn enable(store: &dyn Store, client_id: &str, now: i64) -> Result<bool, ServerError> {
    if store.get_client(client_id).await?.is_none() {
        return Err(ServerError::NotFound(format!("client '{client_id}'")));
    }
    Ok(store.enable_client(client_id, now).await?)
}

/// Recovers a `client_secret_jwt` client's secret, to verify its HMAC assertions.
pub fn unseal_secret(master: &MasterKey, client: &Client) -> Option<Vec<u8>> {
    unseal(master, &client.client_id, client.secret_sealed.as_deref()?)
}

/// Recovers the previous secret of a `client_secret_jwt` client during an overlap.
pub fn unseal_previous_secret(master: &MasterKey, client: &Client, now: i64) -> Option<Vec<u8>> {
    unseal(
        master,
        &client.client_id,
        previous_secret(client, now)?.sealed.as_deref()?,
    )
}

fn unseal(master: &MasterKey, client_id: &str, sealed: &[u8]) -> Option<Vec<u8>> {
    master.open(&secret_context(client_id), sealed).ok()
}

/// A client's public registration (RFC 7591 names): what the CLI prints and the admin API
/// answers. Never the secret's digest; the secret itself only when it was just issued.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ClientView {
    pub client_id: String,
    pub client_name: String,
    /// `client_secret_basic`, `client_secret_post`, `client_secret_jwt`, `private_key_jwt` or
    /// `none` (a public client).
    pub token_endpoint_auth_method: String,
    pub grant_types: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// The scopes the client may ask for, space-separated.
    pub scope: String,
    pub audiences: Vec<String>,
    /// `jwt` or `opaque`.
    pub access_token_format: String,
    pub require_pkce: bool,
    pub id_token_signed_response_alg: String,
    /// When it was registered (Unix seconds).
    pub client_id_issued_at: i64,
    /// When it was last changed (Unix seconds).
    pub updated_at: i64,
    /// Whether it is disabled: nothing is issued to it until it is enabled again.
    pub disabled: bool,
    /// When it was disabled (Unix seconds), if it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<i64>,
    /// Until when (Unix seconds) the secret a rotation replaced is still accepted, during a
    /// rotation's overlap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_secret_expires_at: Option<i64>,
    /// The secret, only in the answer that issued it: it is never shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// `0`: the secret does not expire (RFC 7591), given with `client_secret`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
}

impl ClientView {
    pub fn of(client: &Client, secret: Option<&Secret>) -> Self {
        ClientView {
            client_id: client.client_id.clone(),
            client_name: client.name.clone(),
            token_endpoint_auth_method: client.auth_method.as_str().to_string(),
            grant_types: client
                .grant_types
                .iter()
                .map(|g| g.as_str().to_string())
                .collect(),
            redirect_uris: client.redirect_uris.clone(),
            post_logout_redirect_uris: client.post_logout_redirect_uris.clone(),
            scope: client.scopes.join(" "),
            audiences: client.audiences.clone(),
            access_token_format: client.access_token_format.as_str().to_string(),
            require_pkce: client.require_pkce,
            id_token_signed_response_alg: client
                .id_token_signed_response_alg
                .map_or("RS256", SigningAlg::as_str)
                .to_string(),
            client_id_issued_at: client.created_at,
            updated_at: client.updated_at,
            disabled: client.disabled_at.is_some(),
            disabled_at: client.disabled_at,
            previous_secret_expires_at: client.previous_secret.as_ref().map(|p| p.until),
            client_secret: secret.map(|s| s.expose().to_string()),
            client_secret_expires_at: secret.map(|_| 0),
        }
    }
}

/// [`ClientView`] as JSON.
pub fn to_json(client: &Client, secret: Option<&Secret>) -> Value {
    serde_json::to_value(ClientView::of(client, secret)).unwrap_or(Value::Null)
}

/// What an update changes; a field left `None` stays as it is.
#[derive(Debug, Clone, Default)]
pub struct ClientChange {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<GrantType>>,
    pub scopes: Option<Vec<String>>,
    pub audiences: Option<Vec<String>>,
    pub auth_method: Option<AuthMethod>,
    pub access_token_format: Option<Format>,
    /// `Some(None)` removes the keys (only for a client that no longer uses private_key_jwt).
    pub jwks: Option<Option<String>>,
    pub require_pkce: Option<bool>,
    /// `Some(None)`: back to the server default.
    pub id_token_signed_response_alg: Option<Option<SigningAlg>>,
}

/// Parses one field's value with `parse`; a refusal names the field.
fn field<T, E: std::fmt::Display>(
    name: &str,
    value: Option<&str>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Option<T>, ServerError> {
    value
        .map(|v| parse(v).map_err(|e| invalid(format!("{name}: {e}"))))
        .transpose()
}

fn grant_types(names: &[String]) -> Result<Vec<GrantType>, ServerError> {
    names
        .iter()
        .map(|g| {
            g.parse::<GrantType>()
                .map_err(|e| invalid(format!("grant_types: {e}")))
        })
        .collect()
}

fn scopes(value: &str) -> Result<Vec<String>, String> {
    scope::parse(value).map_err(|e| e.description)
}

/// A registration as the admin API receives it (RFC 7591 names); only `client_name` is
/// required.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientRegistration {
    pub client_name: String,
    /// Chosen client_id (1 to 128 of letters, digits, `-._~`); generated when absent.
    pub client_id: Option<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Default: `authorization_code` and `refresh_token` with redirect URIs, else
    /// `client_credentials`.
    #[serde(default)]
    pub grant_types: Vec<String>,
    /// Space-separated scopes the client may ask for.
    pub scope: Option<String>,
    #[serde(default)]
    pub audiences: Vec<String>,
    /// Default `client_secret_basic`; `none` registers a public client.
    pub token_endpoint_auth_method: Option<String>,
    /// `jwt` (default) or `opaque`.
    pub access_token_format: Option<String>,
    /// The client's public keys (a JWK Set), for `private_key_jwt`.
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<Value>,
    /// Default true (always true for public clients).
    pub require_pkce: Option<bool>,
    pub id_token_signed_response_alg: Option<String>,
}

impl ClientRegistration {
    /// The typed registration; a bad value names its field.
    pub fn into_new(self) -> Result<NewClient, ServerError> {
        let mut new = NewClient::new(self.client_name);
        new.client_id = self.client_id;
        new.redirect_uris = self.redirect_uris;
        new.post_logout_redirect_uris = self.post_logout_redirect_uris;
        new.grant_types = grant_types(&self.grant_types)?;
        new.scopes = field("scope", self.scope.as_deref(), scopes)?.unwrap_or_default();
        new.audiences = self.audiences;
        if let Some(m) = field(
            "token_endpoint_auth_method",
            self.token_endpoint_auth_method.as_deref(),
            str::parse::<AuthMethod>,
        )? {
            new.auth_method = m;
        }
        if let Some(f) = field(
            "access_token_format",
            self.access_token_format.as_deref(),
            str::parse::<Format>,
        )? {
            new.access_token_format = f;
        }
        new.jwks = self.jwks.map(|j| j.to_string());
        new.require_pkce = self.require_pkce.unwrap_or(true);
        new.id_token_signed_response_alg = field(
            "id_token_signed_response_alg",
            self.id_token_signed_response_alg.as_deref(),
            str::parse::<SigningAlg>,
        )?;
        Ok(new)
    }
}

/// A change as the admin API and `candor client update` send it (RFC 7591 names): every field
/// optional, a field left out stays as it is, an unknown one refused.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    pub client_name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    /// Space-separated.
    pub scope: Option<String>,
    pub audiences: Option<Vec<String>>,
    /// A change to a method that needs a secret the client has not got issues one, returned
    /// once.
    pub token_endpoint_auth_method: Option<String>,
    /// `jwt` or `opaque`.
    pub access_token_format: Option<String>,
    /// A JWK Set; `null` removes the keys.
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<Value>,
    pub require_pkce: Option<bool>,
    /// `default` goes back to the server's.
    pub id_token_signed_response_alg: Option<String>,
}

impl ClientPatch {
    /// The typed change, each value parsed by its type's own parser; a bad one names its field.
    pub fn into_change(self) -> Result<ClientChange, ServerError> {
        Ok(ClientChange {
            name: self.client_name,
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            grant_types: self.grant_types.as_deref().map(grant_types).transpose()?,
            scopes: field("scope", self.scope.as_deref(), scopes)?,
            audiences: self.audiences,
            auth_method: field(
                "token_endpoint_auth_method",
                self.token_endpoint_auth_method.as_deref(),
                str::parse::<AuthMethod>,
            )?,
            access_token_format: field(
                "access_token_format",
                self.access_token_format.as_deref(),
                str::parse::<Format>,
            )?,
            jwks: self.jwks.map(|j| (!j.is_null()).then(|| j.to_string())),
            require_pkce: self.require_pkce,
            id_token_signed_response_alg: field(
                "id_token_signed_response_alg",
                self.id_token_signed_response_alg.as_deref(),
                |a| match a {
                    "default" => Ok(None),
                    other => other.parse::<SigningAlg>().map(Some),
                },
            )?,
        })
    }
}

/// Changes a registration in place: its client_id, tokens and secret stay (a change of auth
/// method that needs a secret the client cannot present issues one, returned once). The
/// result is validated by the rules registration uses. `NotFound` when no such client exists.
pub async fn update(
    store: &dyn Directory,
    master: &MasterKey,
    client_id: &str,
    change: ClientChange,
    now: i64,
) -> Result<Registered, ServerError> {
    let mut client = store
        .get_client(client_id)
        .await?
        .ok_or_else(|| ServerError::NotFound(format!("client '{client_id}'")))?;
    let method = change.auth_method.unwrap_or(client.auth_method);
    let wanted = NewClient {
        client_id: Some(client.client_id.clone()),
        name: change.name.unwrap_or_else(|| client.name.clone()),
        redirect_uris: change
            .redirect_uris
            .unwrap_or_else(|| client.redirect_uris.clone()),
        post_logout_redirect_uris: change
            .post_logout_redirect_uris
            .unwrap_or_else(|| client.post_logout_redirect_uris.clone()),
        grant_types: change
            .grant_types
            .unwrap_or_else(|| client.grant_types.clone()),
        scopes: change.scopes.unwrap_or_else(|| client.scopes.clone()),
        audiences: change.audiences.unwrap_or_else(|| client.audiences.clone()),
        auth_method: method,
        access_token_format: change
            .access_token_format
            .unwrap_or(client.access_token_format),
        jwks: match change.jwks {
            Some(jwks) => jwks,
            // Keys belong to private_key_jwt: leaving that method leaves them behind.
            None if method == AuthMethod::PrivateKeyJwt => client.jwks.clone(),
            None => None,
        },
        require_pkce: change.require_pkce.unwrap_or(client.require_pkce),
        id_token_signed_response_alg: change
            .id_token_signed_response_alg
            .unwrap_or(client.id_token_signed_response_alg),
    };
    let grants = validate(&wanted)?;
    // A secret the new method can use: the digest serves basic and post; client_secret_jwt
    // needs the secret itself, which only a sealed copy gives back.
    let usable = match method {
        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => {
            client.secret_digest.is_some()
        }
        AuthMethod::ClientSecretJwt => client.secret_sealed.is_some(),
        _ => true,
    };
    let secret = (method.uses_secret() && !usable).then(random_token);
    if let Some(s) = &secret {
        client.secret_digest = Some(s.digest().to_vec());
        client.secret_sealed = None;
    }
    match (&secret, method) {
        (Some(s), AuthMethod::ClientSecretJwt) => {
            client.secret_sealed =
                Some(master.seal(&secret_context(client_id), s.expose().as_bytes())?);
        }
        (_, AuthMethod::ClientSecretJwt) => {}
        (_, m) if m.uses_secret() => client.secret_sealed = None,
        _ => {
            client.secret_digest = None;
            client.secret_sealed = None;
        }
    }
    // A new secret, or none at all, ends a rotation's overlap: the previous secret belonged
    // to the secret that is gone.
    if secret.is_some() || !method.uses_secret() {
        client.previous_secret = None;
    }
    client.name = wanted.name.trim().to_string();
    client.auth_method = method;
    client.redirect_uris = wanted.redirect_uris;
    client.post_logout_redirect_uris = wanted.post_logout_redirect_uris;
    client.grant_types = grants;
    client.scopes = wanted.scopes;
    client.audiences = wanted.audiences;
    client.access_token_format = wanted.access_token_format;
    client.jwks = wanted.jwks;
    client.require_pkce = wanted.require_pkce || method == AuthMethod::None;
    client.id_token_signed_response_alg = wanted.id_token_signed_response_alg;
    client.updated_at = now;
    if !store.update_client(&client).await? {
        return Err(ServerError::NotFound(format!("client '{client_id}'")));
    }
    Ok(Registered { client, secret })
}

/// Something a registration allows that will make requests fail later, with the diagnosis
/// the server will then answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Warning {
    /// The catalogue code a request will be refused with (`redirect_uri.trailing_slash`…).
    pub code: String,
    pub description: String,
}

/// What in `client`'s registration invites a refusal later: redirect URIs registered twice in
/// near-identical forms (the one a client does not send is dead weight, and the pair hides
/// which one it sends), and loopback URIs written with the name `localhost`, which RFC 8252
/// §8.3 advises against (a client that sends `127.0.0.1` is refused).
pub fn warnings(client: &Client) -> Vec<Warning> {
    let mut out = Vec::new();
    for (i, a) in client.redirect_uris.iter().enumerate() {
        for b in client.redirect_uris.iter().skip(i + 1) {
            if let redirect_uri::Comparison::Near(miss) = redirect_uri::compare(a, b) {
                out.push(Warning {
                    code: miss.code().as_str().to_string(),
                    description: format!(
                        "{} and {} are both registered and {}: keep the one the client sends",
                        quote(a),
                        quote(b),
                        miss.describe()
                    ),
                });
            }
        }
        if let Ok(url) = url::Url::parse(a)
            && url.scheme() == "http"
            && url.host_str() == Some("localhost")
        {
            out.push(Warning {
                code: candor_proto::Code::RedirectUriLoopbackAlias.as_str().to_string(),
                description: format!(
                    "{} names the loopback host 'localhost': a client that sends 127.0.0.1 is refused; RFC 8252 §8.3 advises registering http://127.0.0.1",
                    quote(a)
                ),
            });
        }
    }
    out
}

/// A short-lived in-memory cache of client registrations, so that the token endpoint does not
/// read the database on every request. Changes reach every node within `ttl`.
pub struct ClientCache {
    ttl: Duration,
    entries: RwLock<HashMap<String, (Instant, Arc<Client>)>>,
}

impl ClientCache {
    /// Entries beyond this count make the cache start over: a bound against floods of ids.
    const MAX_ENTRIES: usize = 10_000;

    pub fn new(ttl: Duration) -> Self {
        ClientCache {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The client, from the cache when fresh, else from the store.
    pub async fn get(
        &self,
        store: &dyn Directory,
        client_id: &str,
    ) -> Result<Option<Arc<Client>>, StoreError> {
        if let Ok(entries) = self.entries.read()
            && let Some((at, client)) = entries.get(client_id)
            && at.elapsed() < self.ttl
        {
            return Ok(Some(client.clone()));
        }
        let Some(client) = store.get_client(client_id).await? else {
            if let Ok(mut entries) = self.entries.write() {
                entries.remove(client_id);
            }
            return Ok(None);
        };
        let client = Arc::new(client);
        if !self.ttl.is_zero()
            && let Ok(mut entries) = self.entries.write()
        {
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(client_id.to_string(), (Instant::now(), client.clone()));
        }
        Ok(Some(client))
    }

    /// Drops `client_id`'s entry, so that a change made on this node applies here at once
    /// (other nodes see it within `ttl`).
    pub fn forget(&self, client_id: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(client_id);
        }
    }
}

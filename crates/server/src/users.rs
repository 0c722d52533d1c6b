//! End users: creation, passwords (argon2id), listing.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use candor_proto::secret::{Secret, random_bytes, random_token};
use candor_store::{Directory, Store, StoreError, User};
use serde_json::Value;

use crate::error::ServerError;
use crate::settings::Settings;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

fn invalid(why: impl Into<String>) -> ServerError {
    ServerError::InvalidUser(why.into())
}

/// Hashes a password with argon2id (the crate's defaults follow RFC 9106's recommendations).
pub fn hash_password(password: &Secret) -> Result<String, ServerError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>())
        .map_err(|e| ServerError::PasswordHash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServerError::PasswordHash(e.to_string()))
}

/// Whether `password` matches the PHC string `hash`. A malformed hash never matches.
pub fn verify_password(password: &Secret, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

fn validate_username(username: &str) -> Result<(), ServerError> {
    if username.is_empty() || username.chars().count() > 128 {
        return Err(invalid("the username must be 1 to 128 characters"));
    }
    if username
        .chars()
        .any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(invalid(
            "the username must not contain spaces or control characters",
        ));
    }
    Ok(())
}

fn validate_password(password: &Secret) -> Result<(), ServerError> {
    if password.expose().chars().count() < MIN_PASSWORD_CHARS {
        return Err(invalid(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

/// Creates a user with a fresh subject identifier.
pub async fn create(
    store: &dyn Directory,
    username: &str,
    password: &Secret,
    email: Option<String>,
    name: Option<String>,
    now: i64,
) -> Result<User, ServerError> {
    validate_username(username)?;
    validate_password(password)?;
    if let Some(e) = &email {
        check_email(e)?;
    }
    let mut id = random_token().expose().to_string();
    id.truncate(22);
    let user = User {
        id,
        username: username.to_string(),
        password_hash: hash_password(password)?,
        email,
        name,
        roles: Vec::new(),
        disabled_at: None,
        created_at: now,
    };
    store.insert_user(&user).await.map_err(|e| match e {
        StoreError::Conflict(_) => ServerError::Taken(format!("username '{username}' is taken")),
        other => other.into(),
    })?;
    Ok(user)
}

/// A password for a reset by an administrator: random, long enough for any policy, and
/// typeable (the URL-safe alphabet of the server's tokens).
pub fn generated_password() -> Secret {
    let mut p = random_token().expose().to_string();
    p.truncate(20);
    Secret::new(p)
}

/// Replaces a user's password and ends their sessions and grants: whoever knew the old
/// password (or holds tokens from it) loses access.
pub async fn set_password(
    store: &dyn Store,
    settings: &Settings,
    username: &str,
    password: &Secret,
    now: i64,
) -> Result<(), ServerError> {
    validate_password(password)?;
    let hash = hash_password(password)?;
    if !store.set_password_hash(username, &hash).await? {
        return Err(ServerError::NotFound(format!("user '{username}'")));
    }
    revoke_sessions(store, settings, username, now)
        .await
        .map(|_| ())
}

/// Ends every session and grant of a user, on this server and — through the revocation feed
/// — at every gateway following it. Returns the feed entry's sequence number.
pub async fn revoke_sessions(
    store: &dyn Store,
    settings: &Settings,
    username: &str,
    now: i64,
) -> Result<i64, ServerError> {
    let user = by_name(store, username).await?;
    let until = now + settings.longest_grant_ttl().as_secs() as i64;
    Ok(store.revoke_subject(&user.id, now, until).await?)
}

async fn by_name(store: &dyn Store, username: &str) -> Result<User, ServerError> {
    store
        .get_user_by_username(username)
        .await?
        .ok_or_else(|| ServerError::NotFound(format!("user '{username}'")))
}

/// Disables an account: it cannot sign in, and its sessions and grants end at once (the feed
/// tells gateways). `false` when it was disabled already.
pub async fn disable(
    store: &dyn Store,
    settings: &Settings,
    username: &str,
    now: i64,
) -> Result<bool, ServerError> {
    let user = by_name(store, username).await?;
    let until = now + settings.longest_grant_ttl().as_secs() as i64;
    Ok(store.disable_user(&user.id, now, until).await?)
}

/// Lets a disabled account sign in again. `false` when it was enabled already.
pub async fn enable(store: &dyn Store, username: &str) -> Result<bool, ServerError> {
    let user = by_name(store, username).await?;
    Ok(store.enable_user(&user.id).await?)
}

/// Withdraws a user's consent to a client and revokes the grants it gave (the application
/// must ask again). `false` when the user had not consented to that client.
pub async fn revoke_consent(
    store: &dyn Store,
    settings: &Settings,
    username: &str,
    client_id: &str,
    now: i64,
) -> Result<bool, ServerError> {
    let user = by_name(store, username).await?;
    let until = now + settings.longest_grant_ttl().as_secs() as i64;
    Ok(store
        .revoke_consent(&user.id, client_id, now, until)
        .await?)
}

/// Ends one browser session of a user (by its public `sid`). `false` when the user has no
/// such session: a sid of someone else's session is not theirs to end through this user.
pub async fn end_session(
    store: &dyn Store,
    username: &str,
    sid: &str,
    now: i64,
) -> Result<bool, ServerError> {
    let user = by_name(store, username).await?;
    let theirs = store
        .list_sessions(&user.id, now)
        .await?
        .iter()
        .any(|s| s.sid == sid);
    Ok(theirs && store.delete_session(sid).await?)
}

/// Deletes a user after ending their sessions and grants (the feed tells gateways that the
/// user's access tokens are void). `false` when no such user exists.
pub async fn delete(
    store: &dyn Store,
    settings: &Settings,
    username: &str,
    now: i64,
) -> Result<bool, ServerError> {
    match revoke_sessions(store, settings, username, now).await {
        Ok(_) => {}
        Err(ServerError::NotFound(_)) => return Ok(false),
        Err(e) => return Err(e),
    }
    Ok(store.delete_user(username).await?)
}

/// The most roles a user may hold, and the longest name: roles travel in the console's session
/// and in tokens.
const MAX_ROLES: usize = 32;
const MAX_ROLE_CHARS: usize = 64;

/// Checks role names (letters, digits and `-._:`, at most 64 characters, at most 32 roles) and
/// returns them sorted without repeats.
pub fn roles(names: &[String]) -> Result<Vec<String>, ServerError> {
    let mut out: Vec<String> = Vec::new();
    for r in names {
        let ok = !r.is_empty()
            && r.chars().count() <= MAX_ROLE_CHARS
            && r.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'));
        if !ok {
            return Err(invalid(format!(
                "role '{r}' must be 1 to {MAX_ROLE_CHARS} letters, digits, - . _ or :"
            )));
        }
        out.push(r.clone());
    }
    out.sort();
    out.dedup();
    if out.len() > MAX_ROLES {
        return Err(invalid(format!("at most {MAX_ROLES} roles")));
    }
    Ok(out)
}

/// What a profile change sets; `None` leaves the field as it is (`Some(None)` clears it).
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub email: Option<Option<String>>,
    pub name: Option<Option<String>>,
    pub roles: Option<Vec<String>>,
}

fn check_email(email: &str) -> Result<(), ServerError> {
    if !email.contains('@') || email.chars().any(char::is_whitespace) {
        return Err(invalid(format!("'{email}' is not an email address")));
    }
    Ok(())
}

/// Changes a user's email, name or roles; the password, sessions and subject stay.
pub async fn update(
    store: &dyn Store,
    username: &str,
    change: UserChange,
) -> Result<User, ServerError> {
    let mut user = store
        .get_user_by_username(username)
        .await?
        .ok_or_else(|| ServerError::NotFound(format!("user '{username}'")))?;
    if let Some(email) = change.email {
        if let Some(e) = &email {
            check_email(e)?;
        }
        user.email = email;
    }
    if let Some(name) = change.name {
        user.name = name;
    }
    if let Some(r) = change.roles {
        user.roles = roles(&r)?;
    }
    if !store.update_user_profile(&user).await? {
        return Err(ServerError::NotFound(format!("user '{username}'")));
    }
    Ok(user)
}

/// A user as the CLI prints it and the admin API answers; never the password hash.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct UserView {
    /// The subject identifier in tokens (`sub`); never reused.
    pub sub: String,
    pub username: String,
    pub email: Option<String>,
    pub name: Option<String>,
    /// `admin` and `viewer` let the user's tokens with an admin scope administer.
    pub roles: Vec<String>,
    /// Whether an administrator disabled the account (it cannot sign in).
    pub disabled: bool,
    /// When it was disabled (Unix seconds), if it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<i64>,
    /// When it was created (Unix seconds).
    pub created_at: i64,
}

impl UserView {
    pub fn of(user: &User) -> Self {
        UserView {
            sub: user.id.clone(),
            username: user.username.clone(),
            email: user.email.clone(),
            name: user.name.clone(),
            roles: user.roles.clone(),
            disabled: user.disabled_at.is_some(),
            disabled_at: user.disabled_at,
            created_at: user.created_at,
        }
    }
}

/// A browser session of a user, as the admin API and the CLI show it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SessionView {
    /// The session's public id (`sid` in id_tokens and logout tokens).
    pub sid: String,
    /// When the user authenticated (Unix seconds).
    pub auth_time: i64,
    /// How (`pwd`…).
    pub amr: Vec<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

impl SessionView {
    pub fn of(s: &candor_store::SessionRecord) -> Self {
        SessionView {
            sid: s.sid.clone(),
            auth_time: s.auth_time,
            amr: s.amr.clone(),
            created_at: s.created_at,
            expires_at: s.expires_at,
        }
    }
}

/// A consent a user gave an application, as the admin API, the console and the CLI show it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ConsentView {
    pub client_id: String,
    /// The client's name, when it is still registered.
    pub client_name: Option<String>,
    /// The scopes granted, space-separated.
    pub scope: String,
    pub granted_at: i64,
}

/// The consents `user_id` gave, by client_id, with the clients' names.
pub async fn consents(store: &dyn Store, user_id: &str) -> Result<Vec<ConsentView>, ServerError> {
    let mut out = Vec::new();
    for c in store.list_consents(user_id).await? {
        let client_name = store.get_client(&c.client_id).await?.map(|x| x.name);
        out.push(ConsentView {
            client_id: c.client_id,
            client_name,
            scope: c.scopes.join(" "),
            granted_at: c.granted_at,
        });
    }
    Ok(out)
}

/// [`UserView`] as JSON.
pub fn to_json(user: &User) -> Value {
    serde_json::to_value(UserView::of(user)).unwrap_or(Value::Null)
}

/// Forgets a user's failed sign-ins, lifting a lockout at once. `NotFound` when no such user
/// exists (failures are counted for any typed name, but only a user can be unlocked).
pub async fn unlock(store: &dyn Store, username: &str) -> Result<(), ServerError> {
    if store.get_user_by_username(username).await?.is_none() {
        return Err(ServerError::NotFound(format!("user '{username}'")));
    }
    Ok(store.clear_login_failures(username).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify() {
        let p = Secret::new("correct horse");
        let h = hash_password(&p).unwrap_or_default();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&p, &h));
        assert!(!verify_password(&Secret::new("wrong horse"), &h));
        assert!(!verify_password(&p, "not a hash"));
    }
}

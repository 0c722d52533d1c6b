//! Administrative acts as one actor performs them: the change (by the rules of [`clients`]
//! and [`users`]), the registration cache, and the audit event. The admin API and the console
//! both call these, so a change made from either is the same change, recorded the same way.

use std::time::Duration;

use candor_proto::secret::Secret;
use candor_store::{Client, User};
use serde_json::{Value, json};

use crate::app::App;
use crate::audit::{self, Actor};
use crate::clients::{self, ClientChange, NewClient, Registered};
use crate::error::ServerError;
use crate::users::{self, UserChange};

fn client_object(client_id: &str) -> String {
    format!("client:{client_id}")
}

fn user_object(username: &str) -> String {
    format!("user:{username}")
}

fn client_view(client: Option<&Client>) -> Value {
    client.map_or(Value::Null, |c| clients::to_json(c, None))
}

fn user_view(user: Option<&User>) -> Value {
    user.map_or(Value::Null, users::to_json)
}

/// `before`/`after` of a disable or an enable, for the audit log.
pub fn switch(disabled: bool) -> (Value, Value) {
    (
        json!({ "disabled": !disabled }),
        json!({ "disabled": disabled }),
    )
}

/// Refuses a second client with the name of another: names label clients in the call log,
/// metrics and consent pages.
async fn name_free(app: &App, name: &str, except: Option<&str>) -> Result<(), ServerError> {
    match clients::named(app.store(), name.trim()).await? {
        Some(twin) if Some(twin.client_id.as_str()) != except => Err(ServerError::Taken(format!(
            "a client named '{}' is registered already (client_id '{}')",
            twin.name, twin.client_id
        ))),
        _ => Ok(()),
    }
}

async fn client_of(app: &App, client_id: &str) -> Result<Client, ServerError> {
    app.store()
        .get_client(client_id)
        .await?
        .ok_or_else(|| ServerError::NotFound(format!("client '{client_id}'")))
}

async fn user_of(app: &App, username: &str) -> Result<User, ServerError> {
    app.store()
        .get_user_by_username(username)
        .await?
        .ok_or_else(|| ServerError::NotFound(format!("user '{username}'")))
}

/// Registers a client; its secret (when its method has one) is in the answer only.
pub async fn create_client(
    app: &App,
    actor: &Actor,
    new: NewClient,
) -> Result<Registered, ServerError> {
    name_free(app, &new.name, None).await?;
    let r = clients::create(app.store(), app.master(), new, app.now()).await?;
    let object = client_object(&r.client.client_id);
    let after = client_view(Some(&r.client));
    audit::record(app, actor, "client.create", &object, &Value::Null, &after).await;
    Ok(r)
}

/// Changes a client in place: its client_id, secret and tokens stay (unless a new method
/// needs a new secret, which is then in the answer).
pub async fn update_client(
    app: &App,
    actor: &Actor,
    client_id: &str,
    change: ClientChange,
) -> Result<Registered, ServerError> {
    if let Some(name) = &change.name {
        name_free(app, name, Some(client_id)).await?;
    }
    let before = app.store().get_client(client_id).await?;
    let r = clients::update(app.store(), app.master(), client_id, change, app.now()).await?;
    app.clients().forget(client_id);
    let (before, after) = (client_view(before.as_ref()), client_view(Some(&r.client)));
    audit::record(
        app,
        actor,
        "client.update",
        &client_object(client_id),
        &before,
        &after,
    )
    .await;
    Ok(r)
}

/// Deletes a client after voiding every token issued to it.
pub async fn delete_client(app: &App, actor: &Actor, client_id: &str) -> Result<(), ServerError> {
    let before = client_of(app, client_id).await?;
    if !clients::delete(app.store(), app.settings(), client_id, app.now()).await? {
        return Err(ServerError::NotFound(format!("client '{client_id}'")));
    }
    app.clients().forget(client_id);
    let before = client_view(Some(&before));
    audit::record(
        app,
        actor,
        "client.delete",
        &client_object(client_id),
        &before,
        &Value::Null,
    )
    .await;
    Ok(())
}

/// Issues a new secret; the previous one keeps working for `overlap` (zero: not at all).
pub async fn rotate_secret(
    app: &App,
    actor: &Actor,
    client_id: &str,
    overlap: Duration,
) -> Result<Registered, ServerError> {
    let r =
        clients::rotate_secret(app.store(), app.master(), client_id, overlap, app.now()).await?;
    app.clients().forget(client_id);
    let until = r.client.previous_secret.as_ref().map(|p| p.until);
    let after = json!({ "secret": "rotated", "previous_secret_expires_at": until });
    audit::record(
        app,
        actor,
        "client.rotate_secret",
        &client_object(client_id),
        &Value::Null,
        &after,
    )
    .await;
    Ok(r)
}

/// Disables (`true`) or enables a client; asking for the state it is in changes nothing and
/// records nothing. The client as it now is.
pub async fn set_client_disabled(
    app: &App,
    actor: &Actor,
    client_id: &str,
    disabled: bool,
) -> Result<Client, ServerError> {
    let now = app.now();
    let changed = if disabled {
        clients::disable(app.store(), app.settings(), client_id, now).await?
    } else {
        clients::enable(app.store(), client_id, now).await?
    };
    app.clients().forget(client_id);
    if changed {
        let action = if disabled {
            "client.disable"
        } else {
            "client.enable"
        };
        let (before, after) = switch(disabled);
        audit::record(
            app,
            actor,
            action,
            &client_object(client_id),
            &before,
            &after,
        )
        .await;
    }
    client_of(app, client_id).await
}

/// Creates a user with these roles (checked before anything is stored).
pub async fn create_user(
    app: &App,
    actor: &Actor,
    username: &str,
    password: &Secret,
    email: Option<String>,
    name: Option<String>,
    roles: &[String],
) -> Result<User, ServerError> {
    let roles = users::roles(roles)?;
    let mut user = users::create(app.store(), username, password, email, name, app.now()).await?;
    if !roles.is_empty() {
        let change = UserChange {
            roles: Some(roles),
            ..UserChange::default()
        };
        user = users::update(app.store(), &user.username, change).await?;
    }
    let after = user_view(Some(&user));
    audit::record(
        app,
        actor,
        "user.create",
        &user_object(username),
        &Value::Null,
        &after,
    )
    .await;
    Ok(user)
}

/// Changes a user's email, name or roles.
pub async fn update_user(
    app: &App,
    actor: &Actor,
    username: &str,
    change: UserChange,
) -> Result<User, ServerError> {
    let before = user_view(Some(&user_of(app, username).await?));
    let user = users::update(app.store(), username, change).await?;
    let after = user_view(Some(&user));
    audit::record(
        app,
        actor,
        "user.update",
        &user_object(username),
        &before,
        &after,
    )
    .await;
    Ok(user)
}

/// Deletes a user after ending their sessions and grants.
pub async fn delete_user(app: &App, actor: &Actor, username: &str) -> Result<(), ServerError> {
    let before = user_of(app, username).await?;
    if !users::delete(app.store(), app.settings(), username, app.now()).await? {
        return Err(ServerError::NotFound(format!("user '{username}'")));
    }
    let before = user_view(Some(&before));
    audit::record(
        app,
        actor,
        "user.delete",
        &user_object(username),
        &before,
        &Value::Null,
    )
    .await;
    Ok(())
}

/// Resets a password — to `password`, or to a generated one, returned — and ends the user's
/// sessions and grants.
pub async fn reset_password(
    app: &App,
    actor: &Actor,
    username: &str,
    password: Option<Secret>,
) -> Result<Option<Secret>, ServerError> {
    let generated = password.is_none().then(users::generated_password);
    let chosen = match (&password, &generated) {
        (Some(p), _) | (None, Some(p)) => p,
        (None, None) => return Err(ServerError::InvalidUser("no password".into())),
    };
    users::set_password(app.store(), app.settings(), username, chosen, app.now()).await?;
    audit::record_effect(app, actor, "user.set_password", &user_object(username)).await;
    Ok(generated)
}

/// Disables (`true`) or enables an account; asking for the state it is in changes nothing
/// and records nothing. The user as they now are.
pub async fn set_user_disabled(
    app: &App,
    actor: &Actor,
    username: &str,
    disabled: bool,
) -> Result<User, ServerError> {
    let changed = if disabled {
        users::disable(app.store(), app.settings(), username, app.now()).await?
    } else {
        users::enable(app.store(), username).await?
    };
    if changed {
        let action = if disabled {
            "user.disable"
        } else {
            "user.enable"
        };
        let (before, after) = switch(disabled);
        audit::record(app, actor, action, &user_object(username), &before, &after).await;
    }
    user_of(app, username).await
}

/// Lifts a lockout.
pub async fn unlock(app: &App, actor: &Actor, username: &str) -> Result<(), ServerError> {
    users::unlock(app.store(), username).await?;
    audit::record_effect(app, actor, "user.unlock", &user_object(username)).await;
    Ok(())
}

/// Ends every session and grant of a user.
pub async fn revoke_sessions(app: &App, actor: &Actor, username: &str) -> Result<(), ServerError> {
    users::revoke_sessions(app.store(), app.settings(), username, app.now()).await?;
    audit::record_effect(app, actor, "user.revoke_sessions", &user_object(username)).await;
    Ok(())
}

/// Ends one browser session of a user.
pub async fn end_session(
    app: &App,
    actor: &Actor,
    username: &str,
    sid: &str,
) -> Result<(), ServerError> {
    if !users::end_session(app.store(), username, sid, app.now()).await? {
        return Err(ServerError::NotFound(format!(
            "session '{sid}' of user '{username}'"
        )));
    }
    let before = json!({ "session": sid });
    let after = json!({ "session": null });
    audit::record(
        app,
        actor,
        "user.end_session",
        &user_object(username),
        &before,
        &after,
    )
    .await;
    Ok(())
}

/// Withdraws a user's consent to a client and revokes the grants it gave.
pub async fn revoke_consent(
    app: &App,
    actor: &Actor,
    username: &str,
    client_id: &str,
) -> Result<(), ServerError> {
    let now = app.now();
    let user = user_of(app, username).await?;
    if !users::revoke_consent(app.store(), app.settings(), username, client_id, now).await? {
        return Err(ServerError::NotFound(format!(
            "consent of user '{username}' to client '{client_id}'"
        )));
    }
    crate::events::consent_revoked(app, actor, &user.id, client_id);
    let before = json!({ "consent": client_id });
    let after = json!({ "consent": null });
    audit::record(
        app,
        actor,
        "user.revoke_consent",
        &user_object(username),
        &before,
        &after,
    )
    .await;
    Ok(())
}

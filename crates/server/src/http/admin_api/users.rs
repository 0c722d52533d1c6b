//! `/admin/api/v1/users`: list, create, show, delete, set a password, unlock, end sessions.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use candor_admin::{AdminAuth, AdminJson};
use candor_proto::Code;
use candor_proto::secret::Secret;
use serde::{Deserialize, Serialize};

use super::{Answer, Changer, ListQuery, Refused, page, respond, view};
use crate::app::App;
use crate::users::{self, UserView};
use serde_json::Value;

/// A page of users.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct UserList {
    users: Vec<UserView>,
    /// Pass as `after` for the next page; absent on the last.
    next: Option<String>,
}

/// A new user.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct UserInput {
    username: String,
    /// At least 8 characters; stored as an Argon2id hash, never returned.
    password: String,
    email: Option<String>,
    name: Option<String>,
    /// `admin` or `viewer` let the user's tokens with an admin scope administer.
    #[serde(default)]
    roles: Vec<String>,
}

/// A profile change: a field left out stays; `null` clears `email` or `name`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct UserPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    name: Option<Option<String>>,
    roles: Option<Vec<String>>,
}

/// A field that is present, `null` included (`Some(None)`), as opposed to absent (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// A new password.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PasswordInput {
    password: String,
}

/// What an action on a user did.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Done {
    username: String,
    /// Whether the user's sessions and grants were ended (their tokens are void, and the
    /// revocation feed tells gateways).
    sessions_revoked: bool,
}

/// Records `action` on `username` and says what it did.
async fn acted(
    app: &App,
    who: &Changer,
    username: &str,
    action: &str,
    sessions_revoked: bool,
) -> Answer<Done> {
    who.record_effect(app, action, &format!("user:{username}"))
        .await;
    Ok((
        StatusCode::OK,
        Done {
            username: username.to_string(),
            sessions_revoked,
        },
    ))
}

async fn find(app: &App, username: &str) -> Result<candor_store::User, Refused> {
    app.store()
        .get_user_by_username(username)
        .await?
        .ok_or_else(|| Refused::new(Code::AdminNotFound, format!("no user '{username}'")))
}

/// The users, sorted by username.
#[utoipa::path(get, path = "/admin/api/v1/users", tag = "users", params(ListQuery),
    responses((status = 200, body = UserList), (status = 400, body = super::ErrorBody)))]
pub(super) async fn list(
    _: AdminAuth,
    State(app): State<App>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let answer = async {
        let Query(q) = query?;
        let all = app.store().list_users().await?;
        let (chosen, next) = page(
            all,
            &q,
            |u| &u.username,
            |u| u.name.as_deref().unwrap_or(""),
        )?;
        Ok((
            StatusCode::OK,
            UserList {
                users: chosen.iter().map(UserView::of).collect(),
                next,
            },
        ))
    };
    respond(&app, answer.await)
}

/// Creates a user.
#[utoipa::path(post, path = "/admin/api/v1/users", tag = "users", request_body = UserInput,
    responses((status = 201, body = UserView), (status = 400, body = super::ErrorBody),
              (status = 409, body = super::ErrorBody)))]
pub(super) async fn create(
    who: Changer,
    State(app): State<App>,
    AdminJson(input): AdminJson<UserInput>,
) -> Response {
    let answer = async {
        let password = Secret::new(input.password);
        // Checked before anything is stored: a bad role leaves no half-made user.
        let roles = users::roles(&input.roles)?;
        let mut user = users::create(
            app.store(),
            &input.username,
            &password,
            input.email,
            input.name,
            app.now(),
        )
        .await?;
        if !roles.is_empty() {
            let change = users::UserChange {
                roles: Some(roles),
                ..users::UserChange::default()
            };
            user = users::update(app.store(), &user.username, change).await?;
        }
        let object = format!("user:{}", user.username);
        let after = view(&UserView::of(&user));
        who.record(&app, "user.create", &object, &Value::Null, &after)
            .await;
        Ok((StatusCode::CREATED, UserView::of(&user)))
    };
    respond(&app, answer.await)
}

/// One user.
#[utoipa::path(get, path = "/admin/api/v1/users/{username}", tag = "users",
    params(("username" = String, Path)),
    responses((status = 200, body = UserView), (status = 404, body = super::ErrorBody)))]
pub(super) async fn show(
    _: AdminAuth,
    State(app): State<App>,
    Path(username): Path<String>,
) -> Response {
    let answer = async { Ok((StatusCode::OK, UserView::of(&find(&app, &username).await?))) };
    respond(&app, answer.await)
}

/// Changes a user's email, name or roles; the password, sessions and subject stay.
#[utoipa::path(patch, path = "/admin/api/v1/users/{username}", tag = "users",
    params(("username" = String, Path)), request_body = UserPatch,
    responses((status = 200, body = UserView), (status = 400, body = super::ErrorBody),
              (status = 404, body = super::ErrorBody)))]
pub(super) async fn update(
    who: Changer,
    State(app): State<App>,
    Path(username): Path<String>,
    AdminJson(patch): AdminJson<UserPatch>,
) -> Response {
    let answer = async {
        let before = view(&UserView::of(&find(&app, &username).await?));
        let change = users::UserChange {
            email: patch.email,
            name: patch.name,
            roles: patch.roles,
        };
        let user = users::update(app.store(), &username, change).await?;
        let after = view(&UserView::of(&user));
        let object = format!("user:{username}");
        who.record(&app, "user.update", &object, &before, &after)
            .await;
        Ok((StatusCode::OK, UserView::of(&user)))
    };
    respond(&app, answer.await)
}

/// Deletes a user after ending their sessions and grants.
#[utoipa::path(delete, path = "/admin/api/v1/users/{username}", tag = "users",
    params(("username" = String, Path)),
    responses((status = 200, body = Done), (status = 404, body = super::ErrorBody)))]
pub(super) async fn delete(
    who: Changer,
    State(app): State<App>,
    Path(username): Path<String>,
) -> Response {
    let answer = async {
        let before = find(&app, &username).await?;
        if !users::delete(app.store(), app.settings(), &username, app.now()).await? {
            return Err(Refused::new(
                Code::AdminNotFound,
                format!("no user '{username}'"),
            ));
        }
        let object = format!("user:{username}");
        let before = view(&UserView::of(&before));
        who.record(&app, "user.delete", &object, &before, &Value::Null)
            .await;
        Ok((
            StatusCode::OK,
            Done {
                username: username.clone(),
                sessions_revoked: true,
            },
        ))
    };
    respond(&app, answer.await)
}

/// Replaces the password and ends the user's sessions and grants.
#[utoipa::path(post, path = "/admin/api/v1/users/{username}/password", tag = "users",
    params(("username" = String, Path)), request_body = PasswordInput,
    responses((status = 200, body = Done), (status = 400, body = super::ErrorBody),
              (status = 404, body = super::ErrorBody)))]
pub(super) async fn set_password(
    who: Changer,
    State(app): State<App>,
    Path(username): Path<String>,
    AdminJson(input): AdminJson<PasswordInput>,
) -> Response {
    let answer = async {
        let password = Secret::new(input.password);
        users::set_password(app.store(), app.settings(), &username, &password, app.now()).await?;
        acted(&app, &who, &username, "user.set_password", true).await
    };
    respond(&app, answer.await)
}

/// Lifts a lockout: the user's failed sign-ins are forgotten.
#[utoipa::path(post, path = "/admin/api/v1/users/{username}/unlock", tag = "users",
    params(("username" = String, Path)),
    responses((status = 200, body = Done), (status = 404, body = super::ErrorBody)))]
pub(super) async fn unlock(
    who: Changer,
    State(app): State<App>,
    Path(username): Path<String>,
) -> Response {
    let answer = async {
        users::unlock(app.store(), &username).await?;
        acted(&app, &who, &username, "user.unlock", false).await
    };
    respond(&app, answer.await)
}

/// Ends every session and grant of the user, here and at every gateway following the feed.
#[utoipa::path(post, path = "/admin/api/v1/users/{username}/sessions/revoke", tag = "users",
    params(("username" = String, Path)),
    responses((status = 200, body = Done), (status = 404, body = super::ErrorBody)))]
pub(super) async fn revoke_sessions(
    who: Changer,
    State(app): State<App>,
    Path(username): Path<String>,
) -> Response {
    let answer = async {
        users::revoke_sessions(app.store(), app.settings(), &username, app.now()).await?;
        acted(&app, &who, &username, "user.revoke_sessions", true).await
    };
    respond(&app, answer.await)
}

//! `/admin/api/v1/users`: list, create, show, delete, set a password, unlock, end sessions.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use candor_admin::{AdminAuth, AdminJson};
use candor_proto::Code;
use candor_proto::secret::Secret;
use serde::{Deserialize, Serialize};

use super::{Changer, ListQuery, Refused, page, respond};
use crate::app::App;
use crate::manage;
use crate::users::{self, ConsentView, SessionView, UserView};

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
    #[schema(min_length = 8)]
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

/// A new password: the one given, or (when `password` is absent) one the server generates
/// and answers this once.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PasswordInput {
    #[schema(min_length = 8)]
    password: Option<String>,
}

/// A password reset's answer.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Reset {
    #[serde(flatten)]
    done: Done,
    /// The generated password, only when the request gave none: hand it to the user over a
    /// channel you trust; it is never shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<String>,
}

/// A user's live sessions, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct SessionList {
    sessions: Vec<SessionView>,
}

/// A user's consents, by client_id.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct ConsentList {
    consents: Vec<ConsentView>,
}

/// What an action on a user did.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Done {
    username: String,
    /// Whether the user's sessions and grants were ended (their tokens are void, and the
    /// revocation feed tells gateways).
    sessions_revoked: bool,
}

/// What an action on `username` did.
fn done(username: &str, sessions_revoked: bool) -> super::Answer<Done> {
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
        let user = manage::create_user(
            &app,
            &who.0,
            &input.username,
            &password,
            input.email,
            input.name,
            &input.roles,
        )
        .await?;
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
        let change = users::UserChange {
            email: patch.email,
            name: patch.name,
            roles: patch.roles,
        };
        let user = manage::update_user(&app, &who.0, &username, change).await?;
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
        manage::delete_user(&app, &who.0, &username).await?;
        done(&username, true)
    };
    respond(&app, answer.await)
}

/// Resets the password — to the one given, or to a generated one answered this once — and
/// ends the user's sessions and grants.
#[utoipa::path(post, path = "/admin/api/v1/users/{username}/password", tag = "users",
    params(("username" = String, Path)), request_body = PasswordInput,
    responses((status = 200, body = Reset), (status = 400, body = super::ErrorBody),
              (status = 404, body = super::ErrorBody)))]
pub(super) async fn set_password(
    who: Changer,
    State(app): State<App>,
    Path(username): Path<String>,
    AdminJson(input): AdminJson<PasswordInput>,
) -> Response {
    let answer = async {
        let password = input.password.map(Secret::new);
        let generated = manage::reset_password(&app, &who.0, &username, password).await?;
        Ok((
            StatusCode::OK,
            Reset {
                done: Done {
                    username: username.clone(),
                    sessions_revoked: true,
                },
                password: generated.map(|g| g.expose().to_string()),
            },
        ))
    };
    respond(&app, answer.await)
}

/// Disables the account: it cannot sign in, and its sessions and grants end at once.
#[utoipa::path(post, path = "/admin/api/v1/users/{username}/disable", tag = "users",
    params(("username" = String, Path)),
    responses((status = 200, body = UserView), (status = 404, body = super::ErrorBody)))]
pub(super) async fn disable(
    who: Changer,
    State(app): State<App>,
    Path(username): Path<String>,
) -> Response {
    let answer = async {
        let user = manage::set_user_disabled(&app, &who.0, &username, true).await?;
        Ok((StatusCode::OK, UserView::of(&user)))
    };
    respond(&app, answer.await)
}

/// Lets a disabled account sign in again.
#[utoipa::path(post, path = "/admin/api/v1/users/{username}/enable", tag = "users",
    params(("username" = String, Path)),
    responses((status = 200, body = UserView), (status = 404, body = super::ErrorBody)))]
pub(super) async fn enable(
    who: Changer,
    State(app): State<App>,
    Path(username): Path<String>,
) -> Response {
    let answer = async {
        let user = manage::set_user_disabled(&app, &who.0, &username, false).await?;
        Ok((StatusCode::OK, UserView::of(&user)))
    };
    respond(&app, answer.await)
}

/// The user's live browser sessions, newest first.
#[utoipa::path(get, path = "/admin/api/v1/users/{username}/sessions", tag = "users",
    params(("username" = String, Path)),
    responses((status = 200, body = SessionList), (status = 404, body = super::ErrorBody)))]
pub(super) async fn sessions(
    _: AdminAuth,
    State(app): State<App>,
    Path(username): Path<String>,
) -> Response {
    let answer = async {
        let user = find(&app, &username).await?;
        let sessions = app
            .store()
            .list_sessions(&user.id, app.now())
            .await?
            .iter()
            .map(SessionView::of)
            .collect();
        Ok((StatusCode::OK, SessionList { sessions }))
    };
    respond(&app, answer.await)
}

/// Ends one session of the user (the browser must sign in again; tokens already issued stay
/// until they expire or are revoked — `sessions/revoke` ends everything).
#[utoipa::path(delete, path = "/admin/api/v1/users/{username}/sessions/{sid}", tag = "users",
    params(("username" = String, Path), ("sid" = String, Path)),
    responses((status = 200, body = Done), (status = 404, body = super::ErrorBody)))]
pub(super) async fn end_session(
    who: Changer,
    State(app): State<App>,
    Path((username, sid)): Path<(String, String)>,
) -> Response {
    let answer = async {
        manage::end_session(&app, &who.0, &username, &sid).await?;
        done(&username, false)
    };
    respond(&app, answer.await)
}

/// The consents the user gave applications.
#[utoipa::path(get, path = "/admin/api/v1/users/{username}/consents", tag = "users",
    params(("username" = String, Path)),
    responses((status = 200, body = ConsentList), (status = 404, body = super::ErrorBody)))]
pub(super) async fn consents(
    _: AdminAuth,
    State(app): State<App>,
    Path(username): Path<String>,
) -> Response {
    let answer = async {
        let user = find(&app, &username).await?;
        let consents = users::consents(app.store(), &user.id).await?;
        Ok((StatusCode::OK, ConsentList { consents }))
    };
    respond(&app, answer.await)
}

/// Withdraws the user's consent to a client and revokes what that consent let it hold: the
/// application must ask again.
#[utoipa::path(delete, path = "/admin/api/v1/users/{username}/consents/{client_id}", tag = "users",
    params(("username" = String, Path), ("client_id" = String, Path)),
    responses((status = 200, body = Done), (status = 404, body = super::ErrorBody)))]
pub(super) async fn revoke_consent(
    who: Changer,
    State(app): State<App>,
    Path((username, client_id)): Path<(String, String)>,
) -> Response {
    let answer = async {
        manage::revoke_consent(&app, &who.0, &username, &client_id).await?;
        done(&username, false)
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
        manage::unlock(&app, &who.0, &username).await?;
        done(&username, false)
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
        manage::revoke_sessions(&app, &who.0, &username).await?;
        done(&username, true)
    };
    respond(&app, answer.await)
}

//! The console's Users pages: the list with a form to create one, and one user's page — their
//! profile and roles, their actions (disable, enable, reset the password, unlock, end every
//! session), their live sessions and the consents they gave, each with its own end, and their
//! audit trail. Every change goes through [`crate::manage`], as the admin API's do.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use candor_proto::secret::Secret;

use super::{Change, EventRow, Frame, IdentityRow, field, render, signed_in, when};
use crate::app::App;
use crate::error::ServerError;
use crate::manage;
use crate::users::{UserChange, UserView};

struct UserRow {
    username: String,
    name: String,
    email: String,
    roles: String,
    disabled: bool,
}

#[derive(Template)]
#[template(path = "console_users.html")]
struct UsersPage {
    frame: Frame,
    notice: Option<String>,
    users: Vec<UserRow>,
}

struct SessionRow {
    sid: String,
    signed_in: String,
    expires: String,
    amr: String,
}

struct ConsentRow {
    client_id: String,
    client_name: String,
    scope: String,
    granted: String,
}

#[derive(Template)]
#[template(path = "console_user.html")]
struct UserPage {
    frame: Frame,
    docs: String,
    notice: Option<String>,
    /// A password just generated, shown this once.
    password: Option<String>,
    user: UserView,
    sessions: Vec<SessionRow>,
    consents: Vec<ConsentRow>,
    /// Their sign-ins, consents and tokens (the identity events), newest first.
    identity: Vec<IdentityRow>,
    events: Vec<EventRow>,
}

/// `GET /admin/users`.
pub(in crate::http) async fn users(State(app): State<App>, jar: CookieJar) -> Response {
    match signed_in(&app, &jar).await {
        Ok(frame) => list(&app, frame, None, StatusCode::OK).await,
        Err(page) => page,
    }
}

async fn list(app: &App, frame: Frame, notice: Option<String>, status: StatusCode) -> Response {
    let users = app
        .store()
        .list_users()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|u| UserRow {
            disabled: u.disabled_at.is_some(),
            username: u.username,
            name: u.name.unwrap_or_default(),
            email: u.email.unwrap_or_default(),
            roles: u.roles.join(" "),
        })
        .collect();
    let page = UsersPage {
        frame,
        notice,
        users,
    };
    render(status, page.render())
}

/// The optional text of a form field: empty is none.
fn optional(form: &[(String, String)], name: &str) -> Option<String> {
    Some(field(form, name).trim().to_string()).filter(|v| !v.is_empty())
}

fn roles_of(form: &[(String, String)]) -> Vec<String> {
    field(form, "roles")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// `POST /admin/users` (`username`, `password`, `email`, `name`, `roles`): the new user's
/// page, or the list with the refusal.
pub(in crate::http) async fn create_user(
    State(app): State<App>,
    Change { frame, actor, form }: Change,
) -> Response {
    let username = field(&form, "username").trim().to_string();
    let password = Secret::new(field(&form, "password"));
    let created = manage::create_user(
        &app,
        &actor,
        &username,
        &password,
        optional(&form, "email"),
        optional(&form, "name"),
        &roles_of(&form),
    )
    .await;
    match created {
        Ok(user) => {
            let notice = format!("{} is created.", user.username);
            page(&app, frame, &user.username, Some(notice), None).await
        }
        Err(e) => {
            list(
                &app,
                frame,
                Some(format!("Not created: {e}")),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

/// `GET /admin/users/{username}`.
pub(in crate::http) async fn user(
    State(app): State<App>,
    Path(username): Path<String>,
    jar: CookieJar,
) -> Response {
    match signed_in(&app, &jar).await {
        Ok(frame) => page(&app, frame, &username, None, None).await,
        Err(page) => page,
    }
}

async fn page(
    app: &App,
    frame: Frame,
    username: &str,
    notice: Option<String>,
    password: Option<String>,
) -> Response {
    let Ok(Some(user)) = app.store().get_user_by_username(username).await else {
        let notice = format!("There is no user '{username}'.");
        return list(app, frame, Some(notice), StatusCode::NOT_FOUND).await;
    };
    let sessions = app
        .store()
        .list_sessions(&user.id, app.now())
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|s| SessionRow {
            sid: s.sid,
            signed_in: when(s.auth_time),
            expires: when(s.expires_at),
            amr: s.amr.join(" "),
        })
        .collect();
    let mut consents = Vec::new();
    for c in app
        .store()
        .list_consents(&user.id)
        .await
        .unwrap_or_default()
    {
        let name = app.store().get_client(&c.client_id).await.ok().flatten();
        consents.push(ConsentRow {
            client_name: name.map(|n| n.name).unwrap_or_default(),
            client_id: c.client_id,
            scope: c.scopes.join(" "),
            granted: when(c.granted_at),
        });
    }
    let page = UserPage {
        frame,
        docs: candor_proto::error::docs_base(app.issuer()),
        notice,
        password,
        user: UserView::of(&user),
        sessions,
        consents,
        identity: super::identity_events(app, None, Some(&user.id), 20).await,
        events: super::audit_events(app, Some(&format!("user:{username}")), 20).await,
    };
    render(StatusCode::OK, page.render())
}

/// `POST /admin/users/{username}` (`op` = `profile`, `disable`, `enable`, `reset`,
/// `unlock`, `revoke_sessions`, `end_session` with `sid`, `revoke_consent` with `client_id`,
/// or `delete` with `confirm`): the user's page with what was done.
pub(in crate::http) async fn user_change(
    State(app): State<App>,
    Path(username): Path<String>,
    Change { frame, actor, form }: Change,
) -> Response {
    let name = username.as_str();
    let done: Result<(String, Option<String>), ServerError> = match field(&form, "op") {
        "profile" => {
            let change = UserChange {
                email: Some(optional(&form, "email")),
                name: Some(optional(&form, "name")),
                roles: Some(roles_of(&form)),
            };
            manage::update_user(&app, &actor, name, change)
                .await
                .map(|_| ("Saved.".to_string(), None))
        }
        action @ ("disable" | "enable") => {
            manage::set_user_disabled(&app, &actor, name, action == "disable")
                .await
                .map(|u| {
                    let state = if u.disabled_at.is_some() {
                        "disabled: they cannot sign in, and their sessions and grants are ended"
                    } else {
                        "enabled"
                    };
                    (format!("{name} is {state}."), None)
                })
        }
        "reset" => manage::reset_password(&app, &actor, name, None)
            .await
            .map(|generated| {
                (
                    "The password is reset and every session ended.".to_string(),
                    generated.map(|g| g.expose().to_string()),
                )
            }),
        "unlock" => manage::unlock(&app, &actor, name)
            .await
            .map(|()| (format!("{name} is unlocked."), None)),
        "revoke_sessions" => manage::revoke_sessions(&app, &actor, name)
            .await
            .map(|()| ("Every session and grant is ended.".to_string(), None)),
        "end_session" => manage::end_session(&app, &actor, name, field(&form, "sid"))
            .await
            .map(|()| ("The session is ended.".to_string(), None)),
        "revoke_consent" => {
            let client_id = field(&form, "client_id");
            manage::revoke_consent(&app, &actor, name, client_id)
                .await
                .map(|()| {
                    (
                        format!("The consent to {client_id} is withdrawn and its grants revoked."),
                        None,
                    )
                })
        }
        "delete" if field(&form, "confirm") == name => {
            return match manage::delete_user(&app, &actor, name).await {
                Ok(()) => {
                    list(
                        &app,
                        frame,
                        Some(format!("{name} is deleted.")),
                        StatusCode::OK,
                    )
                    .await
                }
                Err(e) => page(&app, frame, name, Some(format!("Not deleted: {e}")), None).await,
            };
        }
        "delete" => Err(ServerError::InvalidUser(format!(
            "type the username '{name}' to confirm the deletion"
        ))),
        other => Err(ServerError::InvalidUser(format!(
            "unknown action '{other}'"
        ))),
    };
    match done {
        Ok((notice, password)) => page(&app, frame, name, Some(notice), password).await,
        Err(e) => {
            page(
                &app,
                frame,
                name,
                Some(format!("Nothing changed: {e}")),
                None,
            )
            .await
        }
    }
}

//! The console's pages (`/admin`; see [`crate::console`]).

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use candor_admin::{Principal, Role};

use super::pages::render;
use crate::app::App;
use crate::console::{self, Overview};
use crate::first_party::{self, Finished};

/// The console's session (the sealed access token).
const SESSION: &str = "candor_console";
/// A sign-in in progress (state, verifier, nonce).
const STARTED: &str = "candor_console_start";
const STARTED_SECONDS: i64 = 600;

#[derive(Template)]
#[template(path = "console_signin.html")]
struct SignInPage {
    start: String,
    refused: Option<String>,
}

#[derive(Template)]
#[template(path = "console_overview.html")]
struct OverviewPage {
    home: String,
    who: String,
    role: &'static str,
    docs: String,
    overview: Overview,
}

struct ClientRow {
    id: String,
    name: String,
    method: &'static str,
    grants: String,
    warnings: Vec<crate::clients::Warning>,
}

#[derive(Template)]
#[template(path = "console_clients.html")]
struct ClientsPage {
    home: String,
    who: String,
    role: &'static str,
    clients: Vec<ClientRow>,
}

struct UserRow {
    username: String,
    name: String,
    email: String,
    roles: String,
}

#[derive(Template)]
#[template(path = "console_users.html")]
struct UsersPage {
    home: String,
    who: String,
    role: &'static str,
    users: Vec<UserRow>,
}

fn home(app: &App) -> String {
    console::home_uri(app.issuer())
}

/// A console cookie: HttpOnly, Secure on https, SameSite=Strict (no other site's page can
/// make the browser send it, which is the console's CSRF defence), sent under `/admin` only.
fn cookie(app: &App, name: &'static str, value: String, seconds: i64) -> Cookie<'static> {
    let path = format!(
        "{}/admin",
        app.settings().cookie_path().trim_end_matches('/')
    );
    let mut c = super::browser::cookie_at(app, name, value, Some(seconds), path);
    c.set_same_site(SameSite::Strict);
    c
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Viewer => "viewer",
    }
}

fn sign_in(app: &App, refused: Option<String>, status: StatusCode) -> Response {
    render(
        status,
        SignInPage {
            start: format!("{}/login", home(app)),
            refused,
        }
        .render(),
    )
}

/// The signed-in administrator, or the sign-in page to answer with.
async fn session(app: &App, jar: &CookieJar) -> Result<Principal, Response> {
    match jar.get(SESSION) {
        Some(c) => match console::principal(app, c.value()).await {
            Some(p) => Ok(p),
            None => Err(sign_in(
                app,
                Some("Your session has ended (it expired, was revoked, or your role changed): sign in again.".into()),
                StatusCode::UNAUTHORIZED,
            )),
        },
        None => Err(sign_in(app, None, StatusCode::OK)),
    }
}

/// `GET /admin`: the overview, or the way in.
pub(super) async fn overview(State(app): State<App>, jar: CookieJar) -> Response {
    let who = match session(&app, &jar).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    let page = OverviewPage {
        home: home(&app),
        who: who.who,
        role: role_name(who.role),
        docs: candor_proto::error::docs_base(app.issuer()),
        overview: console::overview(&app, app.now()).await,
    };
    render(StatusCode::OK, page.render())
}

/// `GET /admin/clients`.
pub(super) async fn clients(State(app): State<App>, jar: CookieJar) -> Response {
    let who = match session(&app, &jar).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    let mut all = app.store().list_clients().await.unwrap_or_default();
    all.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    let clients = all
        .iter()
        .map(|c| ClientRow {
            id: c.client_id.clone(),
            name: c.name.clone(),
            method: c.auth_method.as_str(),
            grants: c
                .grant_types
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            warnings: crate::clients::warnings(c),
        })
        .collect();
    let page = ClientsPage {
        home: home(&app),
        who: who.who,
        role: role_name(who.role),
        clients,
    };
    render(StatusCode::OK, page.render())
}

/// `GET /admin/users`.
pub(super) async fn users(State(app): State<App>, jar: CookieJar) -> Response {
    let who = match session(&app, &jar).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    let users = app
        .store()
        .list_users()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|u| UserRow {
            username: u.username,
            name: u.name.unwrap_or_default(),
            email: u.email.unwrap_or_default(),
            roles: u.roles.join(" "),
        })
        .collect();
    let page = UsersPage {
        home: home(&app),
        who: who.who,
        role: role_name(who.role),
        users,
    };
    render(StatusCode::OK, page.render())
}

/// `GET /admin/login`: remember state, verifier and nonce; send the browser to `/authorize`.
pub(super) async fn login(State(app): State<App>, jar: CookieJar) -> Response {
    let (started, url) = first_party::start(app.issuer(), &console::PARTY);
    let jar = jar.add(cookie(
        &app,
        STARTED,
        started.cookie_value(),
        STARTED_SECONDS,
    ));
    (jar, super::browser::redirect(&url)).into_response()
}

/// `GET /admin/callback`: redeem the code; a user whose roles allow it gets a session.
pub(super) async fn callback(
    State(app): State<App>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let remembered = jar.get(STARTED).map(|c| c.value().to_string());
    let finished = first_party::returned(
        &app,
        &console::PARTY,
        query.as_deref(),
        remembered.as_deref(),
    )
    .await;
    // The sign-in is over either way: its state and verifier are not kept.
    let jar = jar.remove(cookie(&app, STARTED, String::new(), 0));
    let token = match finished {
        Finished::Tokens { response, .. } => response.access_token,
        Finished::Refused(error) => {
            let why = format!("Sign-in refused ({}): {}", error.code, error.description);
            return (jar, sign_in(&app, Some(why), StatusCode::BAD_REQUEST)).into_response();
        }
        Finished::Unexpected(why) => {
            return (
                jar,
                sign_in(&app, Some(why.to_string()), StatusCode::BAD_REQUEST),
            )
                .into_response();
        }
    };
    let Ok(sealed) = console::seal_session(app.master(), &token) else {
        return (
            jar,
            sign_in(
                &app,
                Some("The session cannot be sealed; see the server's log.".into()),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        )
            .into_response();
    };
    if console::principal(&app, &sealed).await.is_none() {
        let why = "Your account has neither the admin nor the viewer role: ask an administrator (candor user update USERNAME --role viewer).";
        return (jar, sign_in(&app, Some(why.into()), StatusCode::FORBIDDEN)).into_response();
    }
    let lifetime = app.settings().access_token_ttl.as_secs() as i64;
    let jar = jar.add(cookie(&app, SESSION, sealed, lifetime));
    (jar, super::browser::redirect(&home(&app))).into_response()
}

/// `POST /admin/logout`: forget the session here (the token expires on its own).
pub(super) async fn logout(State(app): State<App>, jar: CookieJar) -> Response {
    let jar = jar.remove(cookie(&app, SESSION, String::new(), 0));
    (jar, super::browser::redirect(&home(&app))).into_response()
}

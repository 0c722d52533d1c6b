//! The demo application's pages (`serve --dev` only; see [`crate::demo`]).

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar};
use serde_json::Value;

use super::pages::render;
use crate::app::App;
use crate::authorize::callback_url;
use crate::demo::{self, Finished};

/// The demo application's own cookie (not the authorization server's session).
const COOKIE: &str = "candor_demo";
/// A sign-in left unfinished for this long is forgotten.
const COOKIE_SECONDS: i64 = 600;

#[derive(Template)]
#[template(path = "demo_home.html")]
struct HomePage {
    start: String,
}

enum DemoOutcome {
    Tokens {
        response: String,
        id_token: Option<String>,
        access_token: Option<String>,
        userinfo_curl: String,
    },
    Refused {
        code: &'static str,
        description: String,
        docs_url: String,
    },
    Unexpected(&'static str),
}

#[derive(Template)]
#[template(path = "demo_callback.html")]
struct CallbackPage {
    outcome: DemoOutcome,
    start: String,
    logout: String,
}

fn start_uri(issuer: &str) -> String {
    format!("{}/start", demo::home_uri(issuer))
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// `GET /demo`.
pub(super) async fn home(State(app): State<App>) -> Response {
    render(
        StatusCode::OK,
        HomePage {
            start: start_uri(app.issuer()),
        }
        .render(),
    )
}

/// The demo app's own cookie, sent to its pages only.
fn cookie(app: &App, value: String, seconds: i64) -> Cookie<'static> {
    let path = format!(
        "{}/demo",
        app.settings().cookie_path().trim_end_matches('/')
    );
    super::browser::cookie_at(app, COOKIE, value, Some(seconds), path)
}

/// `GET /demo/start`: remember state, verifier and nonce; send the browser to `/authorize`.
pub(super) async fn start(State(app): State<App>, jar: CookieJar) -> Response {
    let (started, url) = demo::start(app.issuer());
    let jar = jar.add(cookie(&app, started.cookie_value(), COOKIE_SECONDS));
    (jar, super::browser::redirect(&url)).into_response()
}

/// `GET /demo/callback`: where Candor sends the browser back.
pub(super) async fn callback(
    State(app): State<App>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let remembered = jar.get(COOKIE).map(|c| c.value().to_string());
    let issuer = app.issuer();
    let finished =
        crate::first_party::returned(&app, &demo::PARTY, query.as_deref(), remembered.as_deref())
            .await;
    let mut logout = vec![
        ("client_id", demo::CLIENT_ID.to_string()),
        ("post_logout_redirect_uri", demo::home_uri(issuer)),
    ];
    let outcome = match finished {
        Finished::Tokens {
            response,
            id_token,
            access_token,
        } => {
            if let Some(hint) = &response.id_token {
                logout.push(("id_token_hint", hint.clone()));
            }
            DemoOutcome::Tokens {
                userinfo_curl: format!(
                    "curl -H 'Authorization: Bearer {}' \\\n     {issuer}/userinfo",
                    response.access_token
                ),
                response: pretty(&serde_json::to_value(&response).unwrap_or(Value::Null)),
                id_token: id_token.as_ref().map(pretty),
                access_token: access_token.as_ref().map(pretty),
            }
        }
        Finished::Refused(error) => DemoOutcome::Refused {
            code: error.code.as_str(),
            docs_url: error.error_uri(issuer),
            description: error.description,
        },
        Finished::Unexpected(why) => DemoOutcome::Unexpected(why),
    };
    let status = match outcome {
        DemoOutcome::Tokens { .. } => StatusCode::OK,
        _ => StatusCode::BAD_REQUEST,
    };
    let pairs: Vec<(&str, &str)> = logout.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = CallbackPage {
        outcome,
        start: start_uri(issuer),
        logout: callback_url(&format!("{issuer}/logout"), &pairs),
    };
    // The sign-in is over either way: its state and verifier are not kept.
    let jar = jar.remove(cookie(&app, String::new(), 0));
    (jar, render(status, page.render())).into_response()
}

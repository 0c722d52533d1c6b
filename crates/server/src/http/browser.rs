//! Browser-facing endpoints: authorize, login, consent, logout; and UserInfo.

use axum::body::Body;
use std::net::IpAddr;

use axum::extract::{Extension, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use candor_proto::authorization;
use candor_proto::form::Form;
use candor_proto::forwarded::client_ip_of;
use candor_proto::secret::random_token;
use candor_proto::{Code, OAuthError};
use candor_serve::Peer;

use super::pages;
use super::respond::{header_str, no_store_json, refuse};
use crate::app::App;
use crate::browser::{self, Outcome, Step};
use crate::error::ServerError;
use crate::logout::{self, LogoutStep};
use crate::refusal::Refusal;

const SESSION_COOKIE: &str = "candor_session";
const CSRF_COOKIE: &str = "candor_csrf";
/// Largest browser form or query accepted.
const MAX_FORM_BYTES: usize = 64 * 1024;

fn cookie(app: &App, name: &'static str, value: String, max_age: Option<i64>) -> Cookie<'static> {
    cookie_at(app, name, value, max_age, app.settings().cookie_path())
}

/// A page cookie: HttpOnly, SameSite=Lax (it must come back on the top-level redirects of a
/// sign-in), Secure on an https issuer, for `path`.
pub(super) fn cookie_at(
    app: &App,
    name: &'static str,
    value: String,
    max_age: Option<i64>,
    path: String,
) -> Cookie<'static> {
    let mut c = Cookie::new(name, value);
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_secure(app.settings().secure_cookies());
    c.set_path(path);
    if let Some(secs) = max_age {
        c.set_max_age(time::Duration::seconds(secs));
    }
    c
}

/// The browser's CSRF token, creating one (and its cookie) when it has none.
fn csrf(app: &App, jar: CookieJar) -> (String, CookieJar) {
    match jar.get(CSRF_COOKIE).map(|c| c.value().to_string()) {
        Some(v) if v.len() == 43 => (v, jar),
        _ => {
            let v = random_token().expose().to_string();
            let jar = jar.add(cookie(app, CSRF_COOKIE, v.clone(), None));
            (v, jar)
        }
    }
}

pub(super) fn redirect(to: &str) -> Response {
    match HeaderValue::from_str(to) {
        Ok(location) => {
            let mut r = StatusCode::SEE_OTHER.into_response();
            r.headers_mut().insert(header::LOCATION, location);
            pages::harden(r)
        }
        Err(_) => pages::request_error(
            "",
            &OAuthError::new(
                Code::ServerInternal,
                "the redirect URL is not a valid header value",
            ),
        ),
    }
}

fn internal(app: &App, e: ServerError) -> Response {
    tracing::error!(diagnosis = "server.internal", error = %e, "request failed");
    pages::request_error(
        app.issuer(),
        &OAuthError::new(
            Code::ServerInternal,
            "the server failed to process the request; the request id in its logs identifies it",
        ),
    )
}

fn render(
    app: &App,
    outcome: Result<Outcome, ServerError>,
    csrf: &str,
    jar: CookieJar,
) -> Response {
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => return (jar, internal(app, e)).into_response(),
    };
    let jar = match outcome.new_session {
        Some(value) => jar.add(cookie(
            app,
            SESSION_COOKIE,
            value.expose().to_string(),
            Some(app.settings().session_ttl.as_secs() as i64),
        )),
        None => jar,
    };
    let issuer = app.issuer();
    let response = match &outcome.step {
        Step::Login(view) => pages::login(issuer, view, csrf),
        Step::Consent(view) => pages::consent(issuer, view, csrf),
        Step::Redirect(to) => redirect(to),
        Step::Page(error) => pages::request_error(issuer, error),
    };
    (jar, response).into_response()
}

async fn read_body(body: Body) -> Result<Vec<u8>, OAuthError> {
    axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map(|b| b.to_vec())
        .map_err(|_| {
            OAuthError::new(
                Code::TokenRequestTooLarge,
                format!("the form is larger than {MAX_FORM_BYTES} bytes"),
            )
        })
}

/// The authorization endpoint's rate limits, by address (and API key), then by the
/// client_id the request names; a refusal is an error page with the limit's headers.
async fn authorize_limits(
    app: &App,
    address: IpAddr,
    headers: &HeaderMap,
    raw: &[u8],
) -> Option<Response> {
    use crate::throttle::{Caller, Endpoint};
    let client_id = Form::parse(raw)
        .ok()
        .and_then(|f| f.get("client_id").map(str::to_string));
    let mut caller = Caller {
        address,
        client_id: None,
        headers,
    };
    let mut result = app.throttles().check(Endpoint::Authorize, &caller).await;
    if result.is_ok() && client_id.is_some() {
        caller.client_id = client_id.as_deref();
        result = app.throttles().check(Endpoint::Authorize, &caller).await;
    }
    let refused = result.err()?;
    let error = crate::refusal::Refusal::Limited(refused.clone()).public();
    let mut response = pages::request_error(app.issuer(), &error);
    for (name, value) in candor_limit::headers(&refused.policy, &refused.decision) {
        response.headers_mut().insert(name, value);
    }
    Some(response)
}

pub(super) async fn authorize_get(
    State(app): State<App>,
    peer: Option<Extension<Peer>>,
    headers: HeaderMap,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let raw = query.unwrap_or_default();
    let address = client_address(&app, peer, &headers);
    if let Some(refused) = authorize_limits(&app, address, &headers, raw.as_bytes()).await {
        return refused;
    }
    if raw.len() > MAX_FORM_BYTES {
        return pages::request_error(
            app.issuer(),
            &OAuthError::new(
                Code::TokenRequestTooLarge,
                "the authorization request is too large",
            ),
        );
    }
    let (csrf, jar) = csrf(&app, jar);
    let session = jar.get(SESSION_COOKIE).map(|c| c.value().to_string());
    let outcome = browser::authorize(&app, raw.as_bytes(), &csrf, session.as_deref()).await;
    render(&app, outcome, &csrf, jar)
}

pub(super) async fn authorize_post(
    State(app): State<App>,
    peer: Option<Extension<Peer>>,
    headers: HeaderMap,
    jar: CookieJar,
    body: Body,
) -> Response {
    let raw = match read_body(body).await {
        Ok(b) => b,
        Err(e) => return pages::request_error(app.issuer(), &e),
    };
    let address = client_address(&app, peer, &headers);
    if let Some(refused) = authorize_limits(&app, address, &headers, &raw).await {
        return refused;
    }
    let (csrf, jar) = csrf(&app, jar);
    let session = jar.get(SESSION_COOKIE).map(|c| c.value().to_string());
    let outcome = browser::authorize(&app, &raw, &csrf, session.as_deref()).await;
    render(&app, outcome, &csrf, jar)
}

async fn parse_form(app: &App, body: Body) -> Result<Form, Response> {
    let raw = read_body(body)
        .await
        .map_err(|e| pages::request_error(app.issuer(), &e))?;
    Form::parse(&raw).map_err(|e| pages::request_error(app.issuer(), &e))
}

/// The client's address: the peer, or what a trusted proxy says it forwarded for.
pub(super) fn client_address(
    app: &App,
    peer: Option<Extension<Peer>>,
    headers: &HeaderMap,
) -> IpAddr {
    let peer = peer.map_or(IpAddr::from([0, 0, 0, 0]), |Extension(Peer(p))| p.ip());
    client_ip_of(peer, headers, &app.settings().trusted_proxies)
}

pub(super) async fn login(
    State(app): State<App>,
    peer: Option<Extension<Peer>>,
    headers: HeaderMap,
    jar: CookieJar,
    body: Body,
) -> Response {
    let form = match parse_form(&app, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let csrf_cookie = jar.get(CSRF_COOKIE).map(|c| c.value().to_string());
    let address = client_address(&app, peer, &headers);
    let outcome = browser::login(&app, &form, csrf_cookie.as_deref(), address)
        .await
        .map(|o| see_consent(&app, o));
    render(&app, outcome, csrf_cookie.as_deref().unwrap_or(""), jar)
}

/// The longest sealed request sent through a URL; a larger one (a request with very long
/// parameters) is shown in the answer to the POST instead.
const MAX_PENDING_IN_URL: usize = 6 * 1024;

/// POST/redirect/GET: a sign-in that leads to the consent page answers with a redirect to it,
/// so that the browser's history holds a GET (going back never asks to resend the password).
fn see_consent(app: &App, outcome: Outcome) -> Outcome {
    match outcome.step {
        Step::Consent(view) if view.pending.len() <= MAX_PENDING_IN_URL => Outcome {
            step: Step::Redirect(format!("{}/consent?pending={}", app.issuer(), view.pending)),
            new_session: outcome.new_session,
        },
        step => Outcome {
            step,
            new_session: outcome.new_session,
        },
    }
}

pub(super) async fn consent(State(app): State<App>, jar: CookieJar, body: Body) -> Response {
    let form = match parse_form(&app, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let csrf_cookie = jar.get(CSRF_COOKIE).map(|c| c.value().to_string());
    let session = jar.get(SESSION_COOKIE).map(|c| c.value().to_string());
    let outcome = browser::consent(&app, &form, csrf_cookie.as_deref(), session.as_deref()).await;
    render(&app, outcome, csrf_cookie.as_deref().unwrap_or(""), jar)
}

async fn logout_with(app: App, jar: CookieJar, form: Form, post: bool) -> Response {
    let (csrf, jar) = csrf(&app, jar);
    // The confirmation button counts only with this browser's CSRF token.
    let confirmed =
        post && form.get("confirm") == Some("yes") && form.get("csrf").is_some_and(|c| c == csrf);
    let session = jar.get(SESSION_COOKIE).map(|c| c.value().to_string());
    match logout::logout(&app, &form, session.as_deref(), confirmed).await {
        Err(e) => (jar, internal(&app, e)).into_response(),
        Ok(LogoutStep::Page(error)) => {
            (jar, pages::request_error(app.issuer(), &error)).into_response()
        }
        Ok(LogoutStep::Confirm(view)) => {
            (jar, pages::logout_confirm(app.issuer(), &view, &csrf)).into_response()
        }
        Ok(LogoutStep::Done { redirect: to }) => {
            let jar = jar.remove(cookie(&app, SESSION_COOKIE, String::new(), None));
            let response = match to {
                Some(url) => redirect(&url),
                None => pages::signed_out(),
            };
            (jar, response).into_response()
        }
    }
}

pub(super) async fn logout_get(
    State(app): State<App>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    match Form::parse(query.unwrap_or_default().as_bytes()) {
        Ok(form) => logout_with(app, jar, form, false).await,
        Err(e) => pages::request_error(app.issuer(), &e),
    }
}

pub(super) async fn logout_post(State(app): State<App>, jar: CookieJar, body: Body) -> Response {
    match parse_form(&app, body).await {
        Ok(form) => logout_with(app, jar, form, true).await,
        Err(r) => r,
    }
}

/// An RFC 6750 error: the JSON shape plus `WWW-Authenticate: Bearer`.
fn bearer_refusal(app: &App, refusal: Refusal) -> Response {
    let error = refusal.public();
    let mut response = refuse(app, refusal);
    if let Some(v) = authorization::bearer_challenge_header(
        app.issuer(),
        &error,
        Some(&error.error_uri(app.issuer())),
        None,
    ) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

pub(super) async fn userinfo_get(
    State(app): State<App>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let result = async {
        let presented = authorization::from_headers(&headers)?;
        let token = authorization::bearer_token(presented, None, query.as_deref())?;
        crate::userinfo::userinfo(&app, token).await
    }
    .await;
    match result {
        Ok(claims) => no_store_json(StatusCode::OK, &claims),
        Err(r) => bearer_refusal(&app, r),
    }
}

pub(super) async fn userinfo_post(
    State(app): State<App>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Body,
) -> Response {
    let result = async {
        let raw = read_body(body).await?;
        let form = if raw.is_empty() {
            Form::default()
        } else {
            candor_proto::form::parse_request(header_str(&headers, header::CONTENT_TYPE), &raw)?
        };
        let presented = authorization::from_headers(&headers)?;
        let token =
            authorization::bearer_token(presented, form.get("access_token"), query.as_deref())?;
        crate::userinfo::userinfo(&app, token).await
    }
    .await;
    match result {
        Ok(claims) => no_store_json(StatusCode::OK, &claims),
        Err(r) => bearer_refusal(&app, r),
    }
}

/// `GET /login`: reached by reloading or going back; explained, not a bare 405.
pub(super) async fn login_get(State(app): State<App>) -> Response {
    super::pages::step_page(app.issuer(), "sign-in", StatusCode::METHOD_NOT_ALLOWED)
}

/// `GET /consent?pending=…`: the consent page a sign-in redirected to; without a live
/// request of this browser's session, the page that says how to start again.
pub(super) async fn consent_get(
    State(app): State<App>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let form = Form::parse(query.unwrap_or_default().as_bytes()).unwrap_or_default();
    let session = jar.get(SESSION_COOKIE).map(|c| c.value().to_string());
    let (csrf, jar) = csrf(&app, jar);
    let sealed = form.get("pending").unwrap_or("");
    match browser::consent_page(&app, sealed, session.as_deref()).await {
        Ok(Some(view)) => (jar, pages::consent(app.issuer(), &view, &csrf)).into_response(),
        Ok(None) => (
            jar,
            pages::step_page(app.issuer(), "consent", StatusCode::BAD_REQUEST),
        )
            .into_response(),
        Err(e) => (jar, internal(&app, e)).into_response(),
    }
}

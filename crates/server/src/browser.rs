//! The interactive part of the authorization code flow: sessions, the login and consent steps,
//! and issuing the code. No HTTP types here: the edge reads cookies and forms, calls these
//! functions, and renders the [`Step`] they return.

use std::net::IpAddr;

use candor_proto::error::quote;
use candor_proto::form::Form;
use candor_proto::secret::{Secret, digest, random_token};
use candor_proto::{Code, OAuthError};
use candor_store::{AuthorizationCodeRecord, SessionRecord};
use subtle::ConstantTimeEq;

use crate::app::App;
use crate::authorize::{
    AuthRequest, AuthorizeError, Callback, callback_url, csrf_digest, error_url, validate,
};
use crate::error::ServerError;
use crate::events::{Event, emit};
use crate::login::{LoginResult, attempt};
use crate::pending::{Pending, Step as FormStep};
use crate::throttle::Limited;
use candor_calls::Kind;
use candor_proto::secret::random_id;

/// What the browser should see next.
#[derive(Debug)]
pub enum Step {
    Login(LoginView),
    Consent(ConsentView),
    /// Back to the client: a code or an error, as a URL.
    Redirect(String),
    /// An error page (the request cannot go back to the client).
    Page(OAuthError),
}

#[derive(Debug, Clone)]
pub struct LoginView {
    /// The sealed pending request (see [`crate::pending`]).
    pub pending: String,
    pub client_name: String,
    pub username: String,
    pub error: Option<String>,
    /// 200 normally; 429 when the account is locked or sign-ins are throttled.
    pub status: u16,
    /// Seconds to wait, for a `Retry-After` header with a 429.
    pub retry_after: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct ConsentView {
    /// The sealed pending request (see [`crate::pending`]).
    pub pending: String,
    pub client_name: String,
    pub username: String,
    pub scopes: Vec<(String, &'static str)>,
}

/// A step plus, when the user just logged in, the new session cookie value.
#[derive(Debug)]
pub struct Outcome {
    pub step: Step,
    pub new_session: Option<Secret>,
}

impl From<Step> for Outcome {
    fn from(step: Step) -> Self {
        Outcome {
            step,
            new_session: None,
        }
    }
}

/// What a scope means, for the consent page.
pub fn scope_description(scope: &str) -> &'static str {
    match scope {
        "openid" => "Confirm who you are (your user identifier)",
        "profile" => "Your name and username",
        "email" => "Your email address",
        "address" => "Your postal address",
        "phone" => "Your phone number",
        "offline_access" => {
            "Stay signed in: access your data when you are not using the application"
        }
        _ => "Access granted by this permission",
    }
}

/// The session behind a session cookie, if valid.
pub async fn current_session(
    app: &App,
    cookie: Option<&str>,
) -> Result<Option<SessionRecord>, ServerError> {
    let Some(value) = cookie.filter(|v| !v.is_empty() && v.len() < 256) else {
        return Ok(None);
    };
    let session = app.store().get_session(&digest(value)).await?;
    Ok(session.filter(|s| s.expires_at > app.now()))
}

fn csrf_matches(a: &str, b: &str) -> bool {
    !a.is_empty() && a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The form's CSRF token equals this browser's cookie, and the cookie is the one the request
/// was started with.
fn csrf_ok(form: &Form, cookie: Option<&str>, req: &AuthRequest) -> bool {
    let cookie = cookie.unwrap_or("");
    csrf_matches(form.get("csrf").unwrap_or(""), cookie)
        && csrf_matches(&csrf_digest(cookie), &req.csrf_digest)
}

async fn client_name(app: &App, client_id: &str) -> Result<String, ServerError> {
    Ok(app
        .clients()
        .get(app.store(), client_id)
        .await?
        .map(|c| c.name.clone())
        .unwrap_or_else(|| client_id.to_string()))
}

fn expired() -> Step {
    Step::Page(OAuthError::new(
        Code::LoginRequestExpired,
        "this sign-in request has expired or was already completed; start again from the application",
    ))
}

fn forged() -> Step {
    Step::Page(OAuthError::new(
        Code::LoginCsrf,
        "the form's anti-forgery token does not match this browser's; start again from the application",
    ))
}

fn misplaced(why: &str) -> Step {
    Step::Page(OAuthError::new(Code::LoginRequestMismatch, why))
}

/// The pending request a form carries, if it opens and has not expired.
fn pending_of(app: &App, form: &Form) -> Option<Pending> {
    Pending::open(app, form.get("pending").unwrap_or("")).filter(|p| p.expires_at > app.now())
}

/// `GET|POST /authorize`.
pub async fn authorize(
    app: &App,
    raw: &[u8],
    csrf: &str,
    session_cookie: Option<&str>,
) -> Result<Outcome, ServerError> {
    let (req, client) = match validate(app, raw, csrf).await {
        Ok(v) => v,
        Err(AuthorizeError::Page(e)) => return Ok(Step::Page(e).into()),
        Err(AuthorizeError::Redirect(cb, e)) => {
            return Ok(Step::Redirect(error_url(app, &cb, &e)).into());
        }
        Err(AuthorizeError::Internal(e)) => return Err(e),
    };
    let session = current_session(app, session_cookie).await?;
    let now = app.now();
    let fresh_enough = |s: &SessionRecord| req.max_age.is_none_or(|max| now - s.auth_time <= max);
    match session {
        Some(s) if !req.prompt.login && fresh_enough(&s) => consent_step(app, req, &s).await.map(Outcome::from),
        _ if req.prompt.none => Ok(Step::Redirect(error_url(
            app,
            &callback(&req),
            &OAuthError::new(
                Code::PromptLoginRequired,
                "prompt=none was requested but the user is not logged in (or the login is older than max_age)",
            ),
        ))
        .into()),
        _ => {
            let username = req.login_hint.clone().unwrap_or_default();
            let pending = Pending::new(app, FormStep::Login, None, req).seal(app)?;
            Ok(Step::Login(LoginView {
                pending,
                client_name: client.name.clone(),
                username,
                error: None,
                status: 200,
                retry_after: None,
            })
            .into())
        }
    }
}

fn callback(req: &AuthRequest) -> Callback {
    Callback {
        redirect_uri: req.redirect_uri.clone(),
        state: req.state.clone(),
    }
}

/// After login: skip the consent page when the user already granted these scopes (and
/// `prompt=consent` was not asked), else show it.
async fn consent_step(
    app: &App,
    req: AuthRequest,
    session: &SessionRecord,
) -> Result<Step, ServerError> {
    let granted = app
        .store()
        .get_consent(&session.user_id, &req.client_id)
        .await?
        .unwrap_or_default();
    let covered = req.scopes.iter().all(|s| granted.contains(s));
    if covered && !req.prompt.consent {
        return issue_code(app, &req, session).await.map(Step::Redirect);
    }
    if req.prompt.none {
        return Ok(Step::Redirect(error_url(
            app,
            &callback(&req),
            &OAuthError::new(
                Code::PromptConsentRequired,
                format!(
                    "prompt=none was requested but the user has not granted {} to client {}",
                    quote(&req.scopes.join(" ")),
                    quote(&req.client_id)
                ),
            ),
        )));
    }
    // Only this session may answer: a form of the login step, or of another browser's
    // session, cannot be posted here.
    let pending = Pending::new(app, FormStep::Consent, Some(session.sid.clone()), req);
    let sealed = pending.seal(app)?;
    Ok(Step::Consent(
        consent_view(app, sealed, &pending.request, session).await?,
    ))
}

/// The consent page's content for `req`, answered by `session`.
async fn consent_view(
    app: &App,
    sealed: String,
    req: &AuthRequest,
    session: &SessionRecord,
) -> Result<ConsentView, ServerError> {
    let user = app.store().get_user(&session.user_id).await?;
    Ok(ConsentView {
        pending: sealed,
        client_name: client_name(app, &req.client_id).await?,
        username: user.map(|u| u.username).unwrap_or_default(),
        scopes: req
            .scopes
            .iter()
            .map(|s| (s.clone(), scope_description(s)))
            .collect(),
    })
}

/// `GET /consent?pending=…`: the consent page a sign-in redirected to (POST/redirect/GET, so
/// that going back never resubmits the password). `None` when the value is not a live consent
/// step of this browser's session; the caller then says how to start again.
pub async fn consent_page(
    app: &App,
    sealed: &str,
    session_cookie: Option<&str>,
) -> Result<Option<ConsentView>, ServerError> {
    let Some(pending) = Pending::open(app, sealed).filter(|p| p.expires_at > app.now()) else {
        return Ok(None);
    };
    if pending.step != FormStep::Consent {
        return Ok(None);
    }
    let Some(session) = current_session(app, session_cookie).await? else {
        return Ok(None);
    };
    if pending.sid.as_deref() != Some(session.sid.as_str()) {
        return Ok(None);
    }
    consent_view(app, sealed.to_string(), &pending.request, &session)
        .await
        .map(Some)
}

/// `POST /login`, from `address` (the client's, trusted proxies resolved).
pub async fn login(
    app: &App,
    form: &Form,
    csrf_cookie: Option<&str>,
    address: IpAddr,
) -> Result<Outcome, ServerError> {
    let Some(pending) = pending_of(app, form) else {
        return Ok(expired().into());
    };
    if pending.step != FormStep::Login {
        return Ok(
            misplaced("this form is not a sign-in form; start again from the application").into(),
        );
    }
    let req = &pending.request;
    if !csrf_ok(form, csrf_cookie, req) {
        return Ok(forged().into());
    }
    crate::calls::client(&req.client_id);
    if form.get("cancel").is_some() {
        // Back to the application, which learns the user declined (RFC 6749 §4.1.2.1
        // access_denied); the form is used up like any other answer to it.
        if !app
            .store()
            .spend_request(&pending.id, pending.expires_at)
            .await?
        {
            return Ok(expired().into());
        }
        emit(
            app,
            Event::new(Kind::ConsentDenied).cause(Code::ConsentDenied),
        );
        return Ok(Step::Redirect(error_url(
            app,
            &callback(req),
            &OAuthError::new(Code::ConsentDenied, "the user cancelled the sign-in"),
        ))
        .into());
    }
    let sealed = form.get("pending").unwrap_or("").to_string();
    let username = form.get("username").unwrap_or("").trim().to_string();
    let password = Secret::new(form.get("password").unwrap_or(""));
    let name = client_name(app, &req.client_id).await?;
    let view = |error: &str, status: u16, retry_after: Option<u64>| {
        Step::Login(LoginView {
            pending: sealed.clone(),
            client_name: name.clone(),
            username: username.clone(),
            error: Some(error.to_string()),
            status,
            retry_after,
        })
    };
    if username.is_empty() || password.expose().is_empty() {
        return Ok(view("Enter your username and password.", 200, None).into());
    }
    if let Err(limited) = app
        .throttles()
        .sign_in(address, &req.client_id, &axum::http::HeaderMap::new())
        .await
    {
        let (wait, whose) = match limited {
            Limited::Address { retry_after } => (retry_after, "from your network"),
            Limited::Client { retry_after } => (retry_after, "to this application"),
        };
        let seconds = wait.as_secs().max(1);
        tracing::info!(diagnosis = Code::LoginThrottled.as_str(), client_id = %req.client_id, %address, "sign-in throttled");
        crate::calls::diagnosis(Code::LoginThrottled);
        crate::calls::client(&req.client_id);
        app.metrics().login_throttled();
        emit(
            app,
            Event::new(Kind::SigninFailed).cause(Code::LoginThrottled),
        );
        return Ok(view(
            &format!(
                "Too many sign-in attempts {whose}. Try again in {seconds} second{}.",
                if seconds == 1 { "" } else { "s" }
            ),
            429,
            Some(seconds),
        )
        .into());
    }
    if username.chars().count() > 128 || password.expose().len() > 1024 {
        return Ok(view("The username or password is incorrect.", 200, None).into());
    }
    match attempt(app, &username, &password).await? {
        LoginResult::Failed => Ok(view("The username or password is incorrect.", 200, None).into()),
        LoginResult::Disabled => Ok(view(
            "This account is disabled. Ask an administrator to enable it.",
            403,
            None,
        )
        .into()),
        LoginResult::Locked { retry_after } => {
            let minutes = (retry_after + 59) / 60;
            Ok(view(
                &format!(
                    "Too many failed sign-in attempts for this account. For your security it is locked: try again in {minutes} minute{}.",
                    if minutes == 1 { "" } else { "s" }
                ),
                429,
                u64::try_from(retry_after).ok(),
            )
            .into())
        }
        LoginResult::Success(user) => {
            // The sign-in form is used up: it cannot log anyone in again.
            if !app
                .store()
                .spend_request(&pending.id, pending.expires_at)
                .await?
            {
                return Ok(expired().into());
            }
            let now = app.now();
            let cookie = random_token();
            let session = SessionRecord {
                digest: cookie.digest().to_vec(),
                sid: random_id(),
                user_id: user.id.clone(),
                auth_time: now,
                amr: vec!["pwd".into()],
                created_at: now,
                expires_at: now + app.settings().session_ttl.as_secs() as i64,
            };
            app.store().insert_session(&session).await?;
            emit(app, Event::new(Kind::SigninSucceeded).subject(&user.id));
            let mut req = pending.request;
            req.prompt.login = false;
            let step = consent_step(app, req, &session).await?;
            Ok(Outcome {
                step,
                new_session: Some(cookie),
            })
        }
    }
}

/// `POST /consent`.
pub async fn consent(
    app: &App,
    form: &Form,
    csrf_cookie: Option<&str>,
    session_cookie: Option<&str>,
) -> Result<Outcome, ServerError> {
    let Some(pending) = pending_of(app, form) else {
        return Ok(expired().into());
    };
    if pending.step != FormStep::Consent {
        return Ok(misplaced(
            "this form is a sign-in form, not a consent form: the request still needs the password; start again from the application",
        )
        .into());
    }
    if !csrf_ok(form, csrf_cookie, &pending.request) {
        return Ok(forged().into());
    }
    let Some(session) = current_session(app, session_cookie).await? else {
        return Ok(expired().into());
    };
    if pending.sid.as_deref() != Some(session.sid.as_str()) {
        return Ok(misplaced(
            "this consent form was issued to another sign-in session; start again from the application",
        )
        .into());
    }
    // Single use: a replayed consent form finds its id spent.
    if !app
        .store()
        .spend_request(&pending.id, pending.expires_at)
        .await?
    {
        return Ok(expired().into());
    }
    let req = pending.request;
    match form.get("consent") {
        Some("switch") => {
            // "Not you?": this browser's session ends (a shared computer must not keep the
            // other person signed in) and the same request asks for a password again.
            app.store().delete_session(&session.sid).await?;
            let client_name = client_name(app, &req.client_id).await?;
            let sealed = Pending::new(app, FormStep::Login, None, req).seal(app)?;
            Ok(Step::Login(LoginView {
                pending: sealed,
                client_name,
                username: String::new(),
                error: None,
                status: 200,
                retry_after: None,
            })
            .into())
        }
        Some("allow") => {
            app.store()
                .put_consent(&session.user_id, &req.client_id, &req.scopes, app.now())
                .await?;
            let given = Event::new(Kind::ConsentGiven).detail(req.scopes.join(" "));
            emit(app, given.subject(&session.user_id).client(&req.client_id));
            Ok(Step::Redirect(issue_code(app, &req, &session).await?).into())
        }
        _ => {
            let denied = Event::new(Kind::ConsentDenied).cause(Code::ConsentDenied);
            emit(app, denied.subject(&session.user_id).client(&req.client_id));
            Ok(Step::Redirect(error_url(
                app,
                &callback(&req),
                &OAuthError::new(Code::ConsentDenied, "the user denied the request"),
            ))
            .into())
        }
    }
}

/// Issues a code for `req` on behalf of the session's user; returns the callback URL.
async fn issue_code(
    app: &App,
    req: &AuthRequest,
    session: &SessionRecord,
) -> Result<String, ServerError> {
    let code = random_token();
    let now = app.now();
    app.store()
        .insert_code(&AuthorizationCodeRecord {
            digest: code.digest().to_vec(),
            client_id: req.client_id.clone(),
            user_id: session.user_id.clone(),
            redirect_uri: req.redirect_uri.clone(),
            redirect_uri_sent: req.redirect_uri_sent,
            scope: req.scopes.join(" "),
            nonce: req.nonce.clone(),
            code_challenge: req.code_challenge.clone(),
            auth_time: session.auth_time,
            sid: Some(session.sid.clone()),
            amr: session.amr.clone(),
            grant_id: random_id(),
            issued_at: now,
            expires_at: now + app.settings().authorization_code_ttl.as_secs() as i64,
            used_at: None,
        })
        .await?;
    let mut params = vec![("code", code.expose())];
    if let Some(state) = &req.state {
        params.push(("state", state));
    }
    params.push(("iss", app.issuer()));
    Ok(callback_url(&req.redirect_uri, &params))
}

//! The console's pages (`/admin`; see [`crate::console`]): the frame every page shares, the
//! session and its CSRF check, and the pages over the call log, keys, audit and doctor;
//! [`clients`] and [`users`] hold the pages that manage those.

mod clients;
mod diagnoses;
mod gateway;
mod users;

pub(super) use clients::{client, client_change, clients, create_client};
pub(super) use diagnoses::diagnoses;
pub(super) use gateway::gateway;
pub(super) use users::{create_user, user, user_change, users};

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
    frame: Frame,
    docs: String,
    /// Where the scripts are (`<issuer>/assets`).
    assets: String,
    overview: Overview,
}

#[derive(serde::Serialize)]
struct CallRow {
    at: String,
    route: String,
    method: String,
    path: String,
    status: u16,
    client: String,
    diagnosis: String,
    ms: String,
}

/// The calls page's filter, as typed (shown back in the form).
#[derive(Default)]
struct CallFilter {
    client: String,
    route: String,
    diagnosis: String,
    status: String,
}

#[derive(Template)]
#[template(path = "console_calls.html")]
struct CallsPage {
    frame: Frame,
    /// Where the scripts are (`<issuer>/assets`).
    assets: String,
    /// The live tail's URL (this filter, after the last call shown).
    tail: String,
    docs: String,
    filter: CallFilter,
    refused: Option<String>,
    calls: Vec<CallRow>,
}

struct EventRow {
    at: String,
    actor: String,
    action: String,
    object: String,
    changes: String,
    address: String,
}

#[derive(Template)]
#[template(path = "console_audit.html")]
struct AuditPage {
    frame: Frame,
    events: Vec<EventRow>,
}

struct KeyRow {
    kid: String,
    alg: &'static str,
    status: &'static str,
    activates: String,
    until: String,
}

#[derive(Template)]
#[template(path = "console_keys.html")]
struct KeysPage {
    frame: Frame,
    keys: Vec<KeyRow>,
}

#[derive(Template)]
#[template(path = "console_doctor.html")]
struct DoctorPage {
    frame: Frame,
    capture: String,
    refused: Option<String>,
    findings: Option<String>,
}

/// The largest capture the doctor page reads (a HAR of a whole sign-in fits).
pub(super) const MAX_CAPTURE_BYTES: usize = 8 * 1024 * 1024;

/// A Unix time as `YYYY-MM-DD HH:MM:SS` (UTC).
fn when(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!(
            "{}-{:02}-{:02} {:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => unix.to_string(),
    }
}

/// Where the console's scripts are served (`<issuer>/assets`).
fn assets(app: &App) -> String {
    format!("{}/assets", app.issuer().trim_end_matches('/'))
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

/// What every signed-in page shows around its own content (console_base.html), and what its
/// forms need.
struct Frame {
    home: String,
    who: String,
    role: &'static str,
    /// Whether the forms that change things are shown (the admin role).
    admin: bool,
    /// The session's CSRF token, sent back by every form that changes something.
    csrf: String,
}

/// The CSRF token of a session: derived from the sealed session cookie, which no other site
/// can read (HttpOnly) or send (SameSite=Strict) — a second, independent defence.
fn csrf_of(session_cookie: &str) -> String {
    let digest = candor_proto::secret::digest(&format!("candor-console-csrf:{session_cookie}"));
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, digest)
}

/// The frame of the signed-in administrator's pages, or the sign-in page to answer with.
async fn signed_in(app: &App, jar: &CookieJar) -> Result<Frame, Response> {
    let who = session(app, jar).await?;
    Ok(Frame {
        home: home(app),
        who: who.who,
        role: role_name(who.role),
        admin: who.role == Role::Admin,
        csrf: jar
            .get(SESSION)
            .map(|c| csrf_of(c.value()))
            .unwrap_or_default(),
    })
}

/// For a form that changes something: the frame and who acts, when the session is an
/// admin's and the form carries its CSRF token; else the page to answer with.
async fn changing(
    app: &App,
    frame: Frame,
    headers: &axum::http::HeaderMap,
    peer: Option<axum::Extension<candor_serve::Peer>>,
    form: &[(String, String)],
) -> Result<(Frame, crate::audit::Actor), Response> {
    let sent = form
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let expected = frame.csrf.as_bytes();
    if expected.is_empty() || !bool::from(subtle::ConstantTimeEq::ct_eq(sent.as_bytes(), expected))
    {
        return Err(sign_in(
            app,
            Some("The form is stale or came from elsewhere (its CSRF token does not match this session): nothing was changed.".into()),
            StatusCode::FORBIDDEN,
        ));
    }
    if !frame.admin {
        return Err(sign_in(
            app,
            Some("Viewers may look but not change: ask for the admin role.".into()),
            StatusCode::FORBIDDEN,
        ));
    }
    let actor = crate::audit::Actor {
        who: frame.who.clone(),
        address: Some(super::browser::client_address(app, peer, headers).to_string()),
        request_id: headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    };
    Ok((frame, actor))
}

/// A form that changes something, from an admin's session with its CSRF token (else the
/// page to answer with): the frame, who acts, and the form's fields.
pub(super) struct Change {
    frame: Frame,
    actor: crate::audit::Actor,
    form: Vec<(String, String)>,
}

impl axum::extract::FromRequest<App> for Change {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, app: &App) -> Result<Self, Response> {
        let (parts, body) = req.into_parts();
        let jar = CookieJar::from_headers(&parts.headers);
        let peer = parts
            .extensions
            .get::<candor_serve::Peer>()
            .cloned()
            .map(axum::Extension);
        // The session first: an anonymous caller makes Candor read no body.
        let frame = signed_in(app, &jar).await?;
        let body = axum::body::to_bytes(body, 64 * 1024).await.map_err(|_| {
            sign_in(
                app,
                Some("The form is too large.".into()),
                StatusCode::PAYLOAD_TOO_LARGE,
            )
        })?;
        let form = form_of(&body);
        let (frame, actor) = changing(app, frame, &parts.headers, peer, &form).await?;
        Ok(Change { frame, actor, form })
    }
}

fn form_of(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
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
    let frame = match signed_in(&app, &jar).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    let page = OverviewPage {
        frame,
        assets: assets(&app),
        docs: candor_proto::error::docs_base(app.issuer()),
        overview: console::overview(&app, app.now()).await,
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

/// `GET /admin/requests?client=&route=&diagnosis=&status=` (not `/admin/calls`, the call
/// log's JSON API): the latest calls, filtered by the call log's own parser (the one the
/// admin API and `candor calls tail` use).
pub(super) async fn calls(
    State(app): State<App>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let frame = match signed_in(&app, &jar).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    // Empty fields of the form are no filter.
    let params = call_params(query.as_deref(), &[]);
    let typed = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let filter = CallFilter {
        client: typed("client"),
        route: typed("route"),
        diagnosis: typed("diagnosis"),
        status: typed("status"),
    };
    let (calls, after, refused) = match calls_page(&app, &params, 100).await {
        Ok((calls, after)) => (calls, after, None),
        Err(why) => (Vec::new(), None, Some(why)),
    };
    // The live tail follows the same filter from the last call shown.
    let mut follow = form_urlencoded::Serializer::new(String::new());
    follow.extend_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    follow.append_pair("after", &after.unwrap_or(0).to_string());
    let tail = format!("{}/requests.json?{}", home(&app), follow.finish());
    let page = CallsPage {
        frame,
        assets: assets(&app),
        tail,
        docs: candor_proto::error::docs_base(app.issuer()),
        filter,
        refused,
        calls,
    };
    render(StatusCode::OK, page.render())
}

/// The latest calls that `params` (the call log's own query parameters) select, newest
/// first; or why there are none to show.
async fn recent_calls(
    app: &App,
    params: &candor_calls::params::Params,
    limit: u32,
) -> Result<Vec<CallRow>, String> {
    Ok(calls_page(app, params, limit).await?.0)
}

/// [`recent_calls`], with the id to follow from (the call log's `after`).
async fn calls_page(
    app: &App,
    params: &candor_calls::params::Params,
    limit: u32,
) -> Result<(Vec<CallRow>, Option<i64>), String> {
    let log = app
        .call_log()
        .ok_or_else(|| "The call log is off ([calls] enabled = false).".to_string())?;
    let mut q = candor_calls::params::tail_query(params, app.now()).map_err(|e| e.to_string())?;
    q.limit = limit;
    let page = log.tail(&q).await.map_err(|e| {
        tracing::warn!(error = %e, "the console cannot read the call log");
        "The call log cannot be read; see the server's log.".to_string()
    })?;
    let rows = page
        .calls
        .into_iter()
        .map(|c| CallRow {
            at: when(c.at_us.div_euclid(1_000_000)),
            route: c.route,
            method: c.method,
            path: c.path,
            status: c.status,
            client: c.client_id.unwrap_or_default(),
            diagnosis: c.diagnosis.unwrap_or_default(),
            ms: format!("{:.1}", c.latency_us as f64 / 1000.0),
        })
        .collect();
    Ok((rows, page.after))
}

/// The calls page's filter parameters, as the call log reads them (empty fields dropped).
fn call_params(query: Option<&str>, extra: &[&str]) -> candor_calls::params::Params {
    candor_calls::params::parse_query(query)
        .into_iter()
        .filter(|(k, v)| {
            !v.is_empty()
                && (["client", "route", "diagnosis", "status"].contains(&k.as_str())
                    || extra.contains(&k.as_str()))
        })
        .collect()
}

/// `GET /admin/requests.json?after=ID&…`: the calls written after `after` that the calls
/// page's filter selects, for its live tail; `{"calls": [...], "after": ID}`.
pub(super) async fn calls_since(
    State(app): State<App>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    if let Err(page) = signed_in(&app, &jar).await {
        return page;
    }
    let params = call_params(query.as_deref(), &["after"]);
    let body = match calls_page(&app, &params, 200).await {
        Ok((calls, after)) => serde_json::json!({ "calls": calls, "after": after }),
        Err(why) => serde_json::json!({ "error": why }),
    };
    let mut answer = axum::Json(body).into_response();
    answer.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    answer
}

/// The latest audit events, of one object when `object` is given, newest first.
async fn audit_events(app: &App, object: Option<&str>, limit: u32) -> Vec<EventRow> {
    let q = candor_calls::AuditQuery {
        limit,
        object: object.map(str::to_string),
        ..candor_calls::AuditQuery::default()
    };
    let events = match app.call_log() {
        Some(log) => log.recorder.store().audit(&q).await.unwrap_or_default(),
        None => Vec::new(),
    };
    events
        .into_iter()
        .rev()
        .map(|e| EventRow {
            at: when(e.at_us.div_euclid(1_000_000)),
            actor: e.actor,
            action: e.action,
            object: e.object,
            changes: e.changes.to_string(),
            address: e.address.unwrap_or_default(),
        })
        .collect()
}

/// An identity event as a timeline shows it.
struct IdentityRow {
    at: String,
    kind: String,
    client: String,
    cause: String,
    grant: String,
    address: String,
}

/// The latest identity events of one client or one user (their internal id), newest first;
/// empty when the call log is off.
async fn identity_events(
    app: &App,
    client_id: Option<&str>,
    subject: Option<&str>,
    limit: u32,
) -> Vec<IdentityRow> {
    let Some(log) = app.call_log() else {
        return Vec::new();
    };
    let q = candor_calls::EventQuery {
        client_id: client_id.map(str::to_string),
        subject: subject.map(str::to_string),
        limit,
        ..candor_calls::EventQuery::default()
    };
    let events = log.recorder.store().events(&q).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "the console cannot read the identity events");
        Vec::new()
    });
    events
        .into_iter()
        .rev()
        .map(|e| IdentityRow {
            at: when(e.at_us.div_euclid(1_000_000)),
            kind: e.kind,
            client: e.client_id.unwrap_or_default(),
            cause: e.cause.unwrap_or_default(),
            grant: e.grant.unwrap_or_default(),
            address: e.address.unwrap_or_default(),
        })
        .collect()
}

/// `GET /admin/audit`: the latest changes made through the admin API.
pub(super) async fn audit(State(app): State<App>, jar: CookieJar) -> Response {
    let frame = match signed_in(&app, &jar).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    let events = audit_events(&app, None, 200).await;
    let page = AuditPage { frame, events };
    render(StatusCode::OK, page.render())
}

/// `GET /admin/keys`: the signing keys and their state now.
pub(super) async fn keys(State(app): State<App>, jar: CookieJar) -> Response {
    let frame = match signed_in(&app, &jar).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    let now = app.now();
    let keys = app
        .store()
        .list_signing_keys()
        .await
        .unwrap_or_default()
        .iter()
        .map(|k| KeyRow {
            kid: k.kid.clone(),
            alg: k.alg.as_str(),
            status: crate::keys::status_at(k, now),
            activates: when(k.activates_at),
            until: k.publish_until.map(when).unwrap_or_default(),
        })
        .collect();
    let page = KeysPage { frame, keys };
    render(StatusCode::OK, page.render())
}

/// `GET /admin/doctor`: the form.
pub(super) async fn doctor_form(State(app): State<App>, jar: CookieJar) -> Response {
    let frame = match signed_in(&app, &jar).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    let page = DoctorPage {
        frame,
        capture: String::new(),
        refused: None,
        findings: None,
    };
    render(StatusCode::OK, page.render())
}

/// What the doctor finds in `capture`: a HAR when it reads as one, else a raw response. The
/// capture stays in this function: it is neither stored nor logged.
fn explain(capture: &str, now: i64) -> Result<String, String> {
    let trimmed = capture.trim_start();
    let report = if trimmed.starts_with('{') && trimmed.contains("\"log\"") {
        let parsed =
            candor_doctor::har::parse_reader(trimmed.as_bytes()).map_err(|e| e.to_string())?;
        candor_doctor::har::analyze(
            &parsed,
            &candor_doctor::har::Options { leeway: 60 },
            "the pasted HAR",
        )
    } else {
        candor_doctor::response::diagnose(
            capture.as_bytes(),
            &candor_doctor::response::ResponseOptions { leeway: 60, now },
            "the pasted response",
        )
        .map_err(|e| e.to_string())?
    };
    Ok(candor_doctor::render::text(&report, false))
}

/// `POST /admin/doctor`: the findings for the pasted capture. A form post from another site
/// does not carry the SameSite=Strict session, so it only finds the sign-in page.
pub(super) async fn doctor(
    State(app): State<App>,
    jar: CookieJar,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> Response {
    // The session first: an anonymous caller makes Candor read no capture.
    let frame = match signed_in(&app, &jar).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    let Ok(body) = axum::body::to_bytes(body, MAX_CAPTURE_BYTES).await else {
        return sign_in(
            &app,
            Some(format!(
                "The capture is larger than {MAX_CAPTURE_BYTES} bytes."
            )),
            StatusCode::PAYLOAD_TOO_LARGE,
        );
    };
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let read = if content_type.starts_with("multipart/form-data") {
        uploaded(content_type, body).await
    } else {
        let pasted = form_urlencoded::parse(&body)
            .find(|(k, _)| k == "capture")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        Ok((pasted, None))
    };
    // What was pasted is shown back in the form; an uploaded file is not (it may be megabytes).
    let (capture, found) = match read {
        Ok((pasted, file)) => {
            let found = explain(file.as_deref().unwrap_or(&pasted), app.now())
                .map_err(|why| format!("The doctor cannot read this capture: {why}"));
            (pasted, found)
        }
        Err(why) => (String::new(), Err(why)),
    };
    let (findings, refused) = match found {
        Ok(text) => (Some(text), None),
        Err(why) => (None, Some(why)),
    };
    let page = DoctorPage {
        frame,
        capture,
        refused,
        findings,
    };
    render(StatusCode::OK, page.render())
}

/// A form sent as `multipart/form-data`: the pasted text (`capture`) and the uploaded file
/// (`capture_file`), when one was chosen. Read from `body`, already bounded.
async fn uploaded(
    content_type: &str,
    body: bytes::Bytes,
) -> Result<(String, Option<String>), String> {
    let unreadable = |e: multer::Error| format!("The form cannot be read: {e}");
    let boundary = multer::parse_boundary(content_type).map_err(unreadable)?;
    let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut form = multer::Multipart::new(stream, boundary);
    let (mut pasted, mut file) = (String::new(), String::new());
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("capture") => pasted = field.text().await.map_err(unreadable)?,
            Some("capture_file") => {
                let bytes = field.bytes().await.map_err(unreadable)?;
                file = String::from_utf8(bytes.to_vec()).map_err(|_| {
                    "The file is not text: a HAR file is JSON, a response is what curl -i prints."
                        .to_string()
                })?;
            }
            _ => {}
        }
    }
    Ok((pasted, Some(file).filter(|f| !f.trim().is_empty())))
}

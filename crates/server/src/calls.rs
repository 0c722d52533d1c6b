//! What the server records of each request: the call log's record for the endpoints that
//! matter (token, authorize, login, consent, userinfo, introspection, revocation, logout) and
//! the metrics of every endpoint.
//!
//! A request's handling notes what it learns about itself — the client, the subject, the
//! scopes, the grant, the diagnosis of a refusal — into a note that lives as long as the
//! request's task ([`track`] scopes it); the domain code calls [`client`], [`subject`], … and
//! knows nothing of the log. Outside a request these calls do nothing.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use candor_proto::Code;
use candor_proto::grant_type::GrantType;

use crate::app::App;

/// What a request's handling learned about it.
#[derive(Debug, Default, Clone)]
pub struct Note {
    pub client_id: Option<String>,
    pub subject: Option<String>,
    pub scopes: Option<String>,
    pub diagnosis: Option<Code>,
    pub grant: Option<GrantType>,
    /// The client's address (trusted proxies resolved), for identity events.
    pub address: Option<std::net::IpAddr>,
    pub request_id: Option<String>,
}

tokio::task_local! {
    static NOTE: Arc<Mutex<Note>>;
}

fn with(f: impl FnOnce(&mut Note)) {
    let _ = NOTE.try_with(|n| {
        if let Ok(mut n) = n.lock() {
            f(&mut n);
        }
    });
}

/// What the current request has noted so far (`None` outside a request).
pub fn current() -> Option<Note> {
    NOTE.try_with(|n| n.lock().ok().map(|n| n.clone()))
        .ok()
        .flatten()
}

/// The request is made by (or for) this client.
pub fn client(client_id: &str) {
    with(|n| n.client_id = Some(client_id.to_string()));
}

/// The request concerns this end user (their internal id).
pub fn subject(sub: &str) {
    with(|n| n.subject = Some(sub.to_string()));
}

/// The scopes granted (or asked for), space-separated.
pub fn scopes(scopes: &str) {
    with(|n| n.scopes = Some(scopes.to_string()));
}

/// The request was refused with this diagnosis.
pub fn diagnosis(code: Code) {
    with(|n| n.diagnosis = Some(code));
}

/// A token request of this grant.
pub fn grant(grant: GrantType) {
    with(|n| n.grant = Some(grant));
}

/// The endpoints metrics are kept for, by the last segment of their path.
pub const ENDPOINTS: &[&str] = &[
    "token",
    "authorize",
    "login",
    "consent",
    "userinfo",
    "introspect",
    "revoke",
    "logout",
    "revocations",
    "jwks",
    "openid-configuration",
    "healthz",
    "readyz",
    "errors",
];

/// Of those, the ones every request of which goes into the call log.
const LOGGED: &[&str] = &[
    "token",
    "authorize",
    "login",
    "consent",
    "userinfo",
    "introspect",
    "revoke",
    "logout",
];

/// The endpoint of a matched route (`/issuer/token` → `token`), or `other`.
fn endpoint(matched: Option<&MatchedPath>) -> &'static str {
    let Some(m) = matched else {
        return "other";
    };
    let path = m.as_str();
    let last = if path.contains("/docs/errors") {
        "errors"
    } else {
        path.rsplit('/').next().unwrap_or("")
    };
    ENDPOINTS
        .iter()
        .find(|e| **e == last)
        .copied()
        .unwrap_or_else(|| {
            if path.contains("oauth-authorization-server") {
                "openid-configuration"
            } else {
                "other"
            }
        })
}

/// The middleware: scopes the note, then records the call and counts it.
pub async fn track(
    State(app): State<App>,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let endpoint = endpoint(matched.as_ref());
    let logged = LOGGED.contains(&endpoint) && app.call_log().is_some();
    let start = logged.then(|| {
        (
            candor_calls::record::now_us(),
            candor_calls::record::method(req.method().as_str()),
            candor_calls::record::path_only(req.uri().path()),
            http_body::Body::size_hint(req.body()).exact(),
            candor_calls::record::request_id(
                req.headers()
                    .get(crate::http::REQUEST_ID)
                    .map(|v| v.as_bytes()),
            ),
            app.call_log().filter(|log| log.recorder.traces()).map(|_| {
                candor_calls::trace::Trace::start(
                    req.headers().get("traceparent").map(|v| v.as_bytes()),
                )
            }),
        )
    });
    let access = app.settings().access_log.then(|| {
        (
            req.method().clone(),
            candor_calls::record::path_only(req.uri().path()),
            req.headers()
                .get(crate::http::REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        )
    });
    let note = Arc::new(Mutex::new(Note {
        address: Some(crate::http::client_address_of(&app, &req)),
        request_id: req
            .headers()
            .get(crate::http::REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        ..Note::default()
    }));
    let response = NOTE.scope(note.clone(), next.run(req)).await;
    let elapsed = started.elapsed();
    let note = note.lock().map(|n| n.clone()).unwrap_or_default();
    let status = response.status().as_u16();
    app.metrics()
        .request(endpoint, status, note.diagnosis, elapsed);
    if let Some((method, path, request_id)) = &access {
        candor_calls::access::log(&candor_calls::access::Line {
            source: candor_calls::Source::Server,
            route: endpoint,
            method: method.as_str(),
            path,
            status,
            elapsed,
            client: note.client_id.as_deref(),
            diagnosis: note.diagnosis.map(Code::as_str),
            request_id: request_id.as_deref(),
        });
    }
    if endpoint == "token"
        && status == 200
        && let Some(g) = note.grant
    {
        app.metrics().token_issued(g);
    }
    if let (Some(log), Some((at_us, method, path, bytes_in, request_id, trace))) =
        (app.call_log(), start)
    {
        let principal = (note.client_id.is_some() || note.subject.is_some()).then(|| {
            Arc::new(candor_calls::Principal {
                issuer: Some(Arc::from(app.issuer())),
                subject: note.subject.as_deref().map(Arc::from),
                client_id: note.client_id.as_deref().map(Arc::from),
                scopes: note.scopes.as_deref().map(Arc::from),
            })
        });
        log.recorder.record(candor_calls::Call {
            at_us,
            source: candor_calls::Source::Server,
            route: Arc::from(endpoint),
            method,
            path,
            status,
            latency_us: u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            upstream: None,
            bytes_in,
            bytes_out: http_body::Body::size_hint(response.body()).exact(),
            principal,
            diagnosis: note.diagnosis.map(Code::as_str),
            request_id,
            trace,
        });
    }
    response
}

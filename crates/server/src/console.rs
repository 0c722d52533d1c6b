//! The admin console (docs/console.md): a first-party application of this server at `/admin`
//! that signs administrators in with Candor itself — authorization code with PKCE, as the
//! client `candor-console` — and shows who fails, why, and how to fix it.
//!
//! Its session is the access token it was issued, sealed with the master key in an HttpOnly,
//! SameSite=Strict cookie: each page verifies it again as the admin API verifies any token
//! (`admin_tokens`), so a revoked token, an expired one or a role taken away ends the session
//! at the next page. Only users whose roles allow it (`admin`, `viewer`) get in.

use candor_admin::{Principal, TokenVerifier};
use candor_proto::access_token::Format;
use candor_proto::client_auth::AuthMethod;
use candor_proto::grant_type::GrantType;
use candor_proto::seal::MasterKey;
use candor_store::Store;

use crate::app::App;
use crate::clients::{self, NewClient};
use crate::error::ServerError;
use crate::first_party::Party;
use crate::settings::Settings;

/// The console's client_id.
pub const CLIENT_ID: &str = "candor-console";

/// The console as a first-party application.
pub const PARTY: Party = Party {
    client_id: CLIENT_ID,
    callback_path: "/admin/callback",
    scopes: "openid candor:admin",
    name: "the console",
};

/// Where the console lives.
pub fn home_uri(issuer: &str) -> String {
    format!("{issuer}/admin")
}

/// Registers the console's client unless it is registered with today's callback (a dev server
/// on another port moves it; re-registering voids the old registration's tokens).
pub async fn ensure(
    store: &dyn Store,
    master: &MasterKey,
    settings: &Settings,
    now: i64,
) -> Result<(), ServerError> {
    let issuer = settings.issuer.as_str();
    let callback = PARTY.callback_uri(issuer);
    match store.get_client(CLIENT_ID).await? {
        Some(c) if c.redirect_uris == [callback.clone()] => return Ok(()),
        Some(_) => {
            clients::delete(store, settings, CLIENT_ID, now).await?;
        }
        None => {}
    }
    let mut new = NewClient::new("Candor console");
    new.client_id = Some(CLIENT_ID.to_string());
    new.redirect_uris = vec![callback];
    new.grant_types = vec![GrantType::AuthorizationCode];
    new.scopes = ["openid", "candor:admin", "candor:admin:read"]
        .map(str::to_string)
        .to_vec();
    new.auth_method = AuthMethod::None;
    new.access_token_format = Format::Jwt;
    clients::create(store, master, new, now).await?;
    Ok(())
}

fn seal_context() -> &'static str {
    "console-session"
}

/// The session cookie's value: the access token, sealed (the browser can neither read nor
/// change it).
pub fn seal_session(master: &MasterKey, access_token: &str) -> Result<String, ServerError> {
    use base64::Engine;
    let sealed = master.seal(seal_context(), access_token.as_bytes())?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed))
}

/// Who a session cookie signs in, if anyone: the token it holds, verified now.
pub async fn principal(app: &App, cookie: &str) -> Option<Principal> {
    use base64::Engine;
    let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cookie)
        .ok()?;
    let token = app.master().open(seal_context(), &sealed).ok()?;
    let token = String::from_utf8(token).ok()?;
    let who = crate::admin_tokens::ServerTokens(app.clone())
        .verify(&token)
        .await?;
    // The console is for people: a client's token sealed into a cookie is not a session.
    who.who.starts_with("user:").then_some(who)
}

/// One diagnosis on the overview: how often, for which clients, and what to do.
#[derive(Debug, Clone)]
pub struct Failing {
    pub code: String,
    pub title: &'static str,
    pub fix: &'static str,
    pub calls: u64,
    /// The clients that caused it, most first (`-` for calls without a verified client).
    pub clients: Vec<(String, u64)>,
}

/// Traffic over a window.
#[derive(Debug, Clone, Default)]
pub struct Window {
    pub calls: u64,
    pub errors: u64,
    pub p95_ms: f64,
}

impl Window {
    pub fn error_rate(&self) -> String {
        if self.calls == 0 {
            "—".into()
        } else {
            format!("{:.1} %", self.errors as f64 * 100.0 / self.calls as f64)
        }
    }
}

/// "What is failing right now, for whom, why, and what do I change."
#[derive(Debug, Clone, Default)]
pub struct Overview {
    pub hour: Window,
    pub day: Window,
    pub failing: Vec<Failing>,
    /// Whether there is a call log to read at all.
    pub logged: bool,
    /// The last hour minute by minute, for the charts: `[[unix_minute…], [calls…], [errors…],
    /// [p95_ms…]]`, as uPlot takes its data (JSON of numbers only).
    pub series: String,
}

async fn window(log: &candor_calls::CallLog, now: i64, seconds: i64) -> Window {
    let q = candor_calls::StatsQuery {
        since: now - seconds,
        until: now,
        by: Vec::new(),
        interval: None,
        filter: candor_calls::Filter::default(),
        limit: None,
    };
    match log.stats(&q).await {
        Ok(s) => s
            .rows
            .first()
            .map(|r| Window {
                calls: r.calls,
                errors: r.errors,
                p95_ms: r.latency.p95_ms,
            })
            .unwrap_or_default(),
        Err(e) => {
            tracing::warn!(error = %e, "the console cannot read the call log");
            Window::default()
        }
    }
}

/// The overview at `now`: the last hour and day, and the diagnoses of the last hour.
pub async fn overview(app: &App, now: i64) -> Overview {
    let Some(log) = app.call_log() else {
        return Overview::default();
    };
    let q = candor_calls::StatsQuery {
        since: now - 3600,
        until: now,
        by: vec![
            candor_calls::Dimension::Diagnosis,
            candor_calls::Dimension::Client,
        ],
        interval: None,
        filter: candor_calls::Filter::default(),
        limit: None,
    };
    let rows = log.stats(&q).await.map(|s| s.rows).unwrap_or_default();
    let mut failing: Vec<Failing> = Vec::new();
    for row in rows {
        let Some(code) = row.group.get("diagnosis").and_then(|v| v.as_str()) else {
            continue;
        };
        let client = row
            .group
            .get("client")
            .and_then(|v| v.as_str())
            .unwrap_or("-")
            .to_string();
        match failing.iter_mut().find(|f| f.code == code) {
            Some(f) => {
                f.calls += row.calls;
                f.clients.push((client, row.calls));
            }
            None => {
                let entry = candor_proto::diagnosis::lookup(code);
                failing.push(Failing {
                    code: code.to_string(),
                    title: entry.map_or("", |e| e.title),
                    fix: entry.map_or("", |e| e.fix),
                    calls: row.calls,
                    clients: vec![(client, row.calls)],
                });
            }
        }
    }
    failing.sort_by(|a, b| b.calls.cmp(&a.calls).then(a.code.cmp(&b.code)));
    failing.truncate(10);
    for f in &mut failing {
        f.clients.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        f.clients.truncate(5);
    }
    Overview {
        hour: window(log, now, 3600).await,
        day: window(log, now, 86_400).await,
        failing,
        logged: true,
        series: series(log, now).await,
    }
}

/// The last hour per minute (see [`Overview::series`]); minutes without a call are zeros, so
/// the charts show the quiet too.
async fn series(log: &candor_calls::CallLog, now: i64) -> String {
    let start = (now - 3600).div_euclid(60) * 60;
    let q = candor_calls::StatsQuery {
        since: start,
        until: now,
        by: Vec::new(),
        interval: Some(candor_calls::Interval::Minute),
        filter: candor_calls::Filter::default(),
        limit: None,
    };
    let rows = log.stats(&q).await.map(|s| s.rows).unwrap_or_default();
    let minutes: Vec<i64> = (0..=60).map(|i| start + i * 60).collect();
    let at = |minute: i64| rows.iter().find(|r| r.bucket == Some(minute));
    let calls: Vec<u64> = minutes
        .iter()
        .map(|m| at(*m).map_or(0, |r| r.calls))
        .collect();
    let errors: Vec<u64> = minutes
        .iter()
        .map(|m| at(*m).map_or(0, |r| r.errors))
        .collect();
    let p95: Vec<f64> = minutes
        .iter()
        .map(|m| at(*m).map_or(0.0, |r| r.latency.p95_ms))
        .collect();
    serde_json::json!([minutes, calls, errors, p95]).to_string()
}

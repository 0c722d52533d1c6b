//! The `[gateway]` configuration: the TOML shape (`File`), and its validation into the typed
//! [`Config`] the gateway runs on. Every error names the key and says what is wrong; unknown
//! keys are errors, so a typo is not silently ignored.
//!
//! One module per section, each holding the section's keys as written, what they validate
//! into, and the validation: `listener` (the top-level keys: addresses, TLS, connection and
//! body limits, threads), `issuers`, `routes` (a route's name and kind, checked against the
//! issuers), `matching` (`match = { … }`), `access` (auth, scopes, claims), `upstreams`
//! (where a route forwards, health, timeouts, its own credentials), `limits` (`rate_limit`),
//! `upgrades` (protocols and tunnel bounds), `secret` (where a client secret is read from).
//! Their public types are re-exported here: `config::Route`, not `config::routes::Route`.
//!
//! To add a key: a field in the section's `…File` struct (serde rejects what no struct names),
//! the validated field beside it, and a step in that section's validator that reads one and
//! writes the other, with its error naming the full key (`gateway.routes[0].…`).

mod access;
mod issuers;
mod limits;
mod listener;
mod matching;
mod routes;
mod secret;
mod upgrades;
mod upstreams;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;

pub use access::{AuthMode, ClaimCheck, ClaimFile, ClaimRule, ScopesFile};
pub use issuers::{Feed, FeedFile, Introspection, IntrospectionFile, Issuer, IssuerFile, OnStale};
pub use limits::{RateLimit, RateLimitFile, RateLimitsFile};
pub use listener::BodyPace;
pub use matching::MatchFile;
pub use routes::{Route, RouteFile, RouteKind};
pub use secret::SecretSource;
pub use upgrades::TunnelFile;
pub use upstreams::{
    Balance, EjectOn, Health, HealthFile, TimeoutsFile, Upstream, UpstreamAuth, UpstreamAuthFile,
    UpstreamFile,
};

/// A configuration error: the key, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {why}")]
pub struct ConfigError {
    pub key: String,
    pub why: String,
}

fn err(key: impl Into<String>, why: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.into(),
        why: why.into(),
    }
}

/// A duration as written (`"5s"`, `"2m"`), or `default` when the key is absent; never zero.
fn duration(value: Option<&str>, key: &str, default: Duration) -> Result<Duration, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => {
            let d = humantime::parse_duration(v).map_err(|_| {
                err(
                    key,
                    format!("'{v}' is not a duration (e.g. \"5s\", \"2m\")"),
                )
            })?;
            if d.is_zero() {
                return Err(err(key, "must be longer than zero"));
            }
            Ok(d)
        }
    }
}

/// `[gateway]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub listen: Option<String>,
    pub admin_listen: Option<String>,
    pub tls_cert: Option<std::path::PathBuf>,
    pub tls_key: Option<std::path::PathBuf>,
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    pub max_connections: Option<usize>,
    pub max_connections_per_address: Option<usize>,
    pub header_read_timeout: Option<String>,
    pub idle_timeout: Option<String>,
    /// How long a request body may keep the gateway waiting before its first bytes; each
    /// `body_min_rate` bytes received adds a second (as Apache's mod_reqtimeout).
    pub body_read_timeout: Option<String>,
    pub body_min_rate: Option<u64>,
    /// Upgraded connections (WebSocket tunnels) open at once.
    pub max_tunnels: Option<usize>,
    /// Where refusals' `error_uri` links point: a catalogue's base (`…/docs/errors`).
    pub docs_url: Option<String>,
    /// One log line per request ([`candor_calls::access`]).
    #[serde(default)]
    pub access_log: bool,
    /// Event-loop threads serving requests (default: one per CPU).
    pub threads: Option<usize>,
    /// Verified tokens remembered at once (each for at most its lifetime).
    pub verified_cache_entries: Option<usize>,
    #[serde(default)]
    pub issuers: Vec<IssuerFile>,
    #[serde(default)]
    pub routes: Vec<RouteFile>,
}

/// The gateway's configuration, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub admin_listen: Option<SocketAddr>,
    pub tls_cert: Option<std::path::PathBuf>,
    pub tls_key: Option<std::path::PathBuf>,
    pub trusted_proxies: Vec<IpNet>,
    pub limits: candor_serve::Limits,
    /// The request-body pace every route holds callers to.
    pub body_pace: BodyPace,
    /// Upgraded connections open at once.
    pub max_tunnels: usize,
    /// The catalogue's base for `error_uri` links, as configured (see [`Config::docs`]).
    pub docs_url: Option<String>,
    /// One log line per request.
    pub access_log: bool,
    /// Event-loop threads serving requests.
    pub threads: usize,
    pub verified_cache_entries: usize,
    pub issuers: Vec<Issuer>,
    pub routes: Vec<Route>,
}

impl File {
    /// Parses the `[gateway]` table of a TOML document.
    pub fn from_toml(text: &str) -> Result<File, ConfigError> {
        #[derive(Deserialize)]
        struct Document {
            gateway: Option<File>,
        }
        let doc: Document = toml::from_str(text).map_err(|e| err("gateway", e.to_string()))?;
        doc.gateway
            .ok_or_else(|| err("gateway", "the file has no [gateway] section"))
    }

    /// Checks everything and builds the [`Config`]: the top-level keys, the issuers, then the
    /// routes, which name the issuers. Steps that read one key take its value; those that read
    /// several take the file.
    pub fn validate(&self) -> Result<Config, ConfigError> {
        let (listen, admin_listen) = listener::addresses(self)?;
        listener::tls_pair(self)?;
        let trusted_proxies = listener::trusted_proxies(&self.trusted_proxies)?;
        let limits = listener::connection_limits(self, &trusted_proxies)?;
        let body_pace = listener::body_pace(self)?;
        let max_tunnels = listener::max_tunnels(self.max_tunnels, &limits)?;
        let threads = listener::threads(self.threads)?;
        let docs_url = listener::docs_url(self.docs_url.as_deref())?;
        let issuers = issuers::validate_all(&self.issuers)?;
        let routes = routes::validate_all(&self.routes, &issuers)?;
        Ok(Config {
            listen,
            admin_listen,
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            trusted_proxies,
            limits,
            body_pace,
            max_tunnels,
            docs_url,
            access_log: self.access_log,
            threads,
            verified_cache_entries: self.verified_cache_entries.unwrap_or(100_000),
            issuers,
            routes,
        })
    }
}

impl Config {
    /// Where refusals link: `docs_url`, else the pages of the first issuer that is a Candor
    /// server (one with a revocation feed: only Candor publishes one), else nowhere — another
    /// provider has no `/docs/errors` pages to link to.
    pub fn docs(&self) -> Option<String> {
        self.docs_url.clone().or_else(|| {
            self.issuers
                .iter()
                .find(|i| i.feed.is_some())
                .map(|i| candor_proto::error::docs_base(&i.issuer))
        })
    }

    /// What validates but deserves a second look: `candor gateway check` prints these, and
    /// the gateway logs them when it starts.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in &self.routes {
            let accepted = r.issuers.as_ref().map_or(self.issuers.len(), Vec::len);
            let rules =
                !r.scopes_all.is_empty() || !r.scopes_by_method.is_empty() || !r.claims.is_empty();
            if r.auth != AuthMode::None && rules && accepted > 1 {
                out.push(format!(
                    "route '{}' checks scopes or claims and accepts the tokens of {accepted} issuers: a scope or claim any of them grants opens it; list the ones it trusts in routes[].issuers",
                    r.name
                ));
            }
        }
        out
    }
}

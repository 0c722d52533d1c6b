//! The `[gateway]` configuration: the TOML shape (`File`), and its validation into the typed
//! [`Config`] the gateway runs on. Every error names the key and says what is wrong; unknown
//! keys are errors, so a typo is not silently ignored.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use http::Method;
use ipnet::IpNet;
use serde::Deserialize;

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

// ---- the file's shape ---------------------------------------------------------------------

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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerFile {
    pub issuer: String,
    /// Without it, discovery (`/.well-known/openid-configuration`) names it.
    pub jwks_uri: Option<String>,
    #[serde(default)]
    pub audiences: Vec<String>,
    pub algorithms: Option<Vec<String>>,
    pub token_types: Option<Vec<String>>,
    pub leeway: Option<String>,
    /// The least time between two JWKS fetches for unknown kids (default 30 s; "0s" allows
    /// one per request burst, for tests and issuers that rotate without publishing ahead).
    pub jwks_min_refetch: Option<String>,
    pub revocation_feed: Option<FeedFile>,
    /// RFC 7662 introspection of opaque tokens.
    pub introspection: Option<IntrospectionFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntrospectionFile {
    pub client_id: String,
    pub client_secret_env: Option<String>,
    pub client_secret_file: Option<std::path::PathBuf>,
    /// Without it, discovery's `introspection_endpoint`.
    pub endpoint: Option<String>,
    /// How long an active answer is reused (never past the token's exp); default 30 s.
    pub cache: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedFile {
    pub client_id: String,
    /// The name of the environment variable holding the client secret…
    pub client_secret_env: Option<String>,
    /// …or a file holding it (a mounted secret); exactly one of the two.
    pub client_secret_file: Option<std::path::PathBuf>,
    pub max_feed_lag: Option<String>,
    /// `refuse` (default) or `accept`.
    pub on_stale: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteFile {
    pub name: String,
    #[serde(rename = "match", default)]
    pub matcher: MatchFile,
    #[serde(default)]
    pub upstreams: Vec<UpstreamFile>,
    pub balance: Option<String>,
    pub health: Option<HealthFile>,
    pub auth: Option<String>,
    pub scopes: Option<ScopesFile>,
    #[serde(default)]
    pub claims: BTreeMap<String, ClaimFile>,
    #[serde(default)]
    pub strip_prefix: bool,
    pub timeouts: Option<TimeoutsFile>,
    /// PEM certificates of the CAs that sign this route's https upstreams (instead of the
    /// system's roots): a private CA's.
    pub upstream_ca: Option<std::path::PathBuf>,
    /// Replace the caller's Authorization with the gateway's own client_credentials token.
    pub upstream_auth: Option<UpstreamAuthFile>,
    /// Rate limits (docs/rate-limits.md): one table or a list of them.
    pub rate_limit: Option<RateLimitsFile>,
    /// The issuers whose tokens the route accepts (default: every configured issuer).
    pub issuers: Option<Vec<String>>,
    /// The protocols a caller may upgrade to (default: `["websocket"]`; never `h2c`).
    pub upgrades: Option<Vec<String>>,
    /// Bounds of an upgraded connection.
    pub tunnel: Option<TunnelFile>,
    /// What takes an upstream out of rotation passively: `connect`, `5xx`, `timeout`.
    pub eject_on: Option<Vec<String>>,
}

/// `rate_limit = { … }` or `rate_limit = [{ … }, { … }]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RateLimitsFile {
    One(RateLimitFile),
    Many(Vec<RateLimitFile>),
}

impl RateLimitsFile {
    pub fn list(&self) -> &[RateLimitFile] {
        match self {
            RateLimitsFile::One(one) => std::slice::from_ref(one),
            RateLimitsFile::Many(many) => many,
        }
    }
}

/// One rate limit as written: `{ rate = "100/s", burst = 20, key = "client_id" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitFile {
    pub rate: String,
    /// Requests allowed at once (default: the rate's count).
    pub burst: Option<u32>,
    /// client_id, subject, ip, api_key or api_key:<header> (default ip).
    pub key: Option<String>,
}

impl RateLimitFile {
    /// The limit, as policy `name`; errors name `key`.
    pub fn validate(&self, key: &str, name: String) -> Result<RateLimit, ConfigError> {
        let rate: candor_limit::Rate = self
            .rate
            .parse()
            .map_err(|e: candor_limit::Error| err(format!("{key}.rate"), e.to_string()))?;
        let burst = self.burst.unwrap_or(rate.limit());
        let policy = candor_limit::Policy::new(name, rate, burst)
            .map_err(|e| err(key.to_string(), e.to_string()))?;
        let by = match &self.key {
            None => candor_limit::KeyKind::Ip,
            Some(k) => k
                .parse()
                .map_err(|e: candor_limit::Error| err(format!("{key}.key"), e.to_string()))?,
        };
        Ok(RateLimit { policy, key: by })
    }
}

/// A validated rate limit.
#[derive(Debug, Clone)]
pub struct RateLimit {
    pub policy: candor_limit::Policy,
    pub key: candor_limit::KeyKind,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamAuthFile {
    pub token_endpoint: String,
    pub client_id: String,
    pub client_secret_env: Option<String>,
    pub client_secret_file: Option<std::path::PathBuf>,
    pub scope: Option<String>,
    /// RFC 8707 `resource` (the upstream's audience).
    pub resource: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchFile {
    pub host: Option<String>,
    pub path_prefix: Option<String>,
    pub methods: Option<Vec<String>>,
    /// Match the prefix without regard to ASCII case, for upstreams that fold case.
    #[serde(default)]
    pub case_insensitive: bool,
    /// Let paths with matrix parameters (`;`, `%3B`) through to this route.
    #[serde(default)]
    pub allow_matrix_params: bool,
    /// Let paths with an encoded slash (`%2F`) through to this route.
    #[serde(default)]
    pub allow_encoded_slash: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamFile {
    pub url: String,
    pub weight: Option<u32>,
    /// Connections to this upstream open at once (idle ones included).
    pub max_connections: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TunnelFile {
    pub idle_timeout: Option<String>,
    pub max_lifetime: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthFile {
    pub path: String,
    pub interval: Option<String>,
    pub unhealthy_after: Option<u32>,
    pub healthy_after: Option<u32>,
}

/// `scopes = ["a"]` for every method, or `scopes = { GET = ["a"], POST = ["b"] }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ScopesFile {
    All(Vec<String>),
    PerMethod(BTreeMap<String, Vec<String>>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimFile {
    /// The claim (a string, or an array of strings) must hold this value.
    pub contains: Option<String>,
    /// The claim must be exactly this string.
    pub equals: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeoutsFile {
    pub connect: Option<String>,
    pub response: Option<String>,
}

// ---- validated ------------------------------------------------------------------------------

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

#[derive(Debug, Clone, PartialEq)]
pub struct Issuer {
    pub issuer: String,
    pub jwks_uri: Option<String>,
    pub audiences: Vec<String>,
    pub algorithms: Vec<String>,
    pub token_types: Vec<String>,
    pub leeway: i64,
    pub jwks_min_refetch: Duration,
    pub feed: Option<Feed>,
    pub introspection: Option<Introspection>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Introspection {
    pub client_id: String,
    pub secret: SecretSource,
    pub endpoint: Option<String>,
    pub cache: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    pub client_id: String,
    pub secret: SecretSource,
    pub max_lag: Duration,
    pub on_stale: OnStale,
}

/// Where the feed client's secret is read from, at start (never from the file itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Env(String),
    File(std::path::PathBuf),
}

impl SecretSource {
    /// An HTTP Basic `Authorization` value for `client_id` with this secret (RFC 6749 §2.3.1
    /// form-encodes both), read now; `purpose` names what it is for in errors.
    pub fn basic(&self, client_id: &str, purpose: &str) -> Result<String, String> {
        use base64::Engine;
        let secret = match self {
            SecretSource::Env(name) => std::env::var(name).map_err(|_| {
                format!("{purpose} needs the client secret in ${name}, which is not set")
            })?,
            SecretSource::File(path) => std::fs::read_to_string(path)
                .map_err(|e| {
                    format!(
                        "{purpose} needs the client secret in {}: {e}",
                        path.display()
                    )
                })?
                .trim()
                .to_string(),
        };
        let pair = format!(
            "{}:{}",
            form_urlencoded::byte_serialize(client_id.as_bytes()).collect::<String>(),
            form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>()
        );
        Ok(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        ))
    }
}

/// What to do with a token while the revocation feed is behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnStale {
    /// 503 `revocation_feed.stale`.
    Refuse,
    /// Let it through, and count it.
    Accept,
    /// Ask the issuer's introspection endpoint (the issuer needs `introspection`).
    Introspect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    Required,
    /// A token is checked when present; requests without one go through anonymously.
    Optional,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Balance {
    RoundRobin,
    LeastRequests,
}

/// How slowly a caller may send a request body (Apache mod_reqtimeout's model): the gateway
/// waits at most `timeout` for it, plus a second for every `min_rate` bytes received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyPace {
    pub timeout: Duration,
    pub min_rate: u64,
}

/// What takes an upstream out of rotation passively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EjectOn {
    /// A connection that could not be opened (the default; callers cannot cause it).
    pub connect: bool,
    /// A 5xx answer (a caller can provoke these; counted only from two or more callers).
    pub server_error: bool,
    /// No answer within the response timeout (a caller can choose slow requests).
    pub timeout: bool,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub name: String,
    pub host: Option<String>,
    /// In normal form ([`crate::path::normalize`]).
    pub path_prefix: String,
    pub case_insensitive: bool,
    pub allow_matrix_params: bool,
    pub allow_encoded_slash: bool,
    /// The issuers whose tokens the route accepts; `None`: every configured issuer.
    pub issuers: Option<Vec<String>>,
    /// Protocols a caller may upgrade to, lower case.
    pub upgrades: Vec<String>,
    pub tunnel_idle_timeout: Duration,
    pub tunnel_max_lifetime: Duration,
    pub eject_on: EjectOn,
    /// Empty: every method.
    pub methods: Vec<Method>,
    pub upstreams: Vec<Upstream>,
    pub balance: Balance,
    pub health: Option<Health>,
    pub auth: AuthMode,
    /// Scopes required for every method, and per method (added to the former).
    pub scopes_all: Vec<String>,
    pub scopes_by_method: BTreeMap<String, Vec<String>>,
    pub claims: Vec<ClaimRule>,
    pub strip_prefix: bool,
    pub connect_timeout: Duration,
    pub response_timeout: Duration,
    pub upstream_ca: Option<std::path::PathBuf>,
    pub upstream_auth: Option<UpstreamAuth>,
    pub rate_limits: Vec<RateLimit>,
}

#[derive(Debug, Clone)]
pub struct UpstreamAuth {
    pub token_endpoint: String,
    pub client_id: String,
    pub secret: SecretSource,
    pub scope: Option<String>,
    pub resource: Option<String>,
}

impl Route {
    /// The scopes a request with `method` needs.
    pub fn scopes_for(&self, method: &Method) -> Vec<&str> {
        self.scopes_all
            .iter()
            .chain(
                self.scopes_by_method
                    .get(method.as_str())
                    .into_iter()
                    .flatten(),
            )
            .map(String::as_str)
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct Upstream {
    /// Scheme, authority and an optional base path, without a trailing slash.
    pub url: url::Url,
    pub weight: u32,
    /// Connections open at once, idle ones included.
    pub max_connections: usize,
}

#[derive(Debug, Clone)]
pub struct Health {
    pub path: String,
    pub interval: Duration,
    pub unhealthy_after: u32,
    pub healthy_after: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRule {
    pub claim: String,
    pub check: ClaimCheck,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimCheck {
    Contains(String),
    Equals(String),
}

fn duration(value: &Option<String>, key: &str, default: Duration) -> Result<Duration, ConfigError> {
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

fn secret_source(
    env: &Option<String>,
    file: &Option<std::path::PathBuf>,
    key: &str,
) -> Result<SecretSource, ConfigError> {
    match (env, file) {
        (Some(env), None) if !env.is_empty() => Ok(SecretSource::Env(env.clone())),
        (None, Some(path)) => Ok(SecretSource::File(path.clone())),
        _ => Err(err(
            key,
            "needs exactly one of client_secret_env (a variable's name) and client_secret_file (a path); secrets never go in the file itself",
        )),
    }
}

fn address(value: &str, key: &str) -> Result<SocketAddr, ConfigError> {
    value.parse().map_err(|_| {
        err(
            key,
            format!("'{value}' is not HOST:PORT (an IP address and a port)"),
        )
    })
}

/// Algorithms a gateway may accept: asymmetric only (an HMAC key would be the issuer's
/// secret; `none` is no signature at all).
const ALGORITHMS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT",
];

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

    /// Checks everything and builds the [`Config`].
    pub fn validate(&self) -> Result<Config, ConfigError> {
        let listen = address(
            self.listen.as_deref().unwrap_or("127.0.0.1:8000"),
            "gateway.listen",
        )?;
        let admin_listen = self
            .admin_listen
            .as_deref()
            .map(|a| address(a, "gateway.admin_listen"))
            .transpose()?;
        if admin_listen == Some(listen) {
            return Err(err(
                "gateway.admin_listen",
                "must differ from gateway.listen: /metrics never goes on the public port",
            ));
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(err(
                "gateway.tls_cert",
                "tls_cert and tls_key go together: set both, or neither",
            ));
        }
        let trusted_proxies = candor_proto::forwarded::parse_trusted(&self.trusted_proxies)
            .map_err(|e| err("gateway.trusted_proxies", e))?;
        let limits = candor_serve::Limits::from_config(candor_serve::LimitsConfig {
            max_connections: self.max_connections,
            max_connections_per_address: self.max_connections_per_address,
            header_read_timeout: self.header_read_timeout.as_deref(),
            idle_timeout: self.idle_timeout.as_deref(),
        })
        .map_err(|e| err(format!("gateway.{}", e.key), e.why))?;
        let mut limits = limits;
        // A proxy in front carries many callers' connections: the per-address cap is not for it.
        limits.per_address_exempt = trusted_proxies.clone();
        let body_pace = BodyPace {
            timeout: duration(
                &self.body_read_timeout,
                "gateway.body_read_timeout",
                Duration::from_secs(20),
            )?,
            min_rate: match self.body_min_rate {
                None => 500,
                Some(0) => {
                    return Err(err(
                        "gateway.body_min_rate",
                        "must be at least 1 (bytes per second)",
                    ));
                }
                Some(n) => n,
            },
        };
        let max_tunnels = match self.max_tunnels {
            None => 256.min(limits.max_connections),
            Some(n) if n <= limits.max_connections => n,
            Some(n) => {
                return Err(err(
                    "gateway.max_tunnels",
                    format!(
                        "{n} is more than max_connections ({}): each tunnel holds a connection",
                        limits.max_connections
                    ),
                ));
            }
        };
        let threads = match self.threads {
            None => candor_serve::default_threads(),
            Some(n @ 1..=256) => n,
            Some(n) => {
                return Err(err(
                    "gateway.threads",
                    format!("{n} is not between 1 and 256 (one per CPU is the default)"),
                ));
            }
        };

        let docs_url = match &self.docs_url {
            None => None,
            Some(u) => match url::Url::parse(u) {
                Ok(p) if matches!(p.scheme(), "http" | "https") => {
                    Some(u.trim_end_matches('/').to_string())
                }
                _ => {
                    return Err(err(
                        "gateway.docs_url",
                        format!(
                            "'{u}' is not an http(s) URL (e.g. \"https://id.example.com/docs/errors\")"
                        ),
                    ));
                }
            },
        };
        let mut issuers = Vec::new();
        for (i, f) in self.issuers.iter().enumerate() {
            let issuer = f.validate(&format!("gateway.issuers[{i}]"))?;
            if issuers.iter().any(|o: &Issuer| o.issuer == issuer.issuer) {
                return Err(err(
                    format!("gateway.issuers[{i}].issuer"),
                    format!("'{}' is configured twice", issuer.issuer),
                ));
            }
            issuers.push(issuer);
        }
        let mut routes = Vec::new();
        for (i, f) in self.routes.iter().enumerate() {
            let route = f.validate(&format!("gateway.routes[{i}]"))?;
            if routes.iter().any(|o: &Route| o.name == route.name) {
                return Err(err(
                    format!("gateway.routes[{i}].name"),
                    format!("'{}' names two routes", route.name),
                ));
            }
            if route.auth != AuthMode::None && issuers.is_empty() {
                return Err(err(
                    format!("gateway.routes[{i}].auth"),
                    "the route checks tokens, but no [[gateway.issuers]] is configured",
                ));
            }
            if route.auth != AuthMode::None && route.issuers.as_ref().is_some_and(Vec::is_empty) {
                return Err(err(
                    format!("gateway.routes[{i}].issuers"),
                    "is empty: no token could pass; leave it out to accept every issuer",
                ));
            }
            for name in route.issuers.iter().flatten() {
                if !issuers.iter().any(|o: &Issuer| o.issuer == *name) {
                    return Err(err(
                        format!("gateway.routes[{i}].issuers"),
                        format!(
                            "'{name}' is not a configured issuer ({})",
                            issuers
                                .iter()
                                .map(|o| format!("'{}'", o.issuer))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
            }
            routes.push(route);
        }
        if routes.is_empty() {
            return Err(err("gateway.routes", "no route is configured"));
        }
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

impl IssuerFile {
    fn validate(&self, key: &str) -> Result<Issuer, ConfigError> {
        let url = url::Url::parse(&self.issuer).map_err(|e| {
            err(
                format!("{key}.issuer"),
                format!("'{}' is not a URL: {e}", self.issuer),
            )
        })?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(err(
                format!("{key}.issuer"),
                format!("'{}' is not an http(s) URL", self.issuer),
            ));
        }
        if let Some(j) = &self.jwks_uri {
            url::Url::parse(j).map_err(|e| {
                err(
                    format!("{key}.jwks_uri"),
                    format!("'{j}' is not a URL: {e}"),
                )
            })?;
        }
        let algorithms = self
            .algorithms
            .clone()
            .unwrap_or_else(|| vec!["ES256".into(), "RS256".into(), "EdDSA".into()]);
        if algorithms.is_empty() {
            return Err(err(format!("{key}.algorithms"), "must name at least one"));
        }
        for a in &algorithms {
            if !ALGORITHMS.contains(&a.as_str()) {
                return Err(err(
                    format!("{key}.algorithms"),
                    format!(
                        "'{a}' is not allowed; expected some of {} ('none' and HMAC algorithms never are)",
                        ALGORITHMS.join(", ")
                    ),
                ));
            }
        }
        let token_types = self
            .token_types
            .clone()
            .unwrap_or_else(|| vec!["at+jwt".into()]);
        if token_types.is_empty() {
            return Err(err(format!("{key}.token_types"), "must name at least one"));
        }
        let leeway = duration(
            &self.leeway,
            &format!("{key}.leeway"),
            Duration::from_secs(60),
        )?;
        let feed = self
            .revocation_feed
            .as_ref()
            .map(|f| {
                let on_stale = match f.on_stale.as_deref().unwrap_or("refuse") {
                    "refuse" => OnStale::Refuse,
                    "accept" => OnStale::Accept,
                    "introspect" if self.introspection.is_some() => OnStale::Introspect,
                    "introspect" => {
                        return Err(err(
                            format!("{key}.revocation_feed.on_stale"),
                            "'introspect' needs the issuer's introspection = { … } client",
                        ));
                    }
                    other => {
                        return Err(err(
                            format!("{key}.revocation_feed.on_stale"),
                            format!("'{other}' is not one of refuse, accept, introspect"),
                        ));
                    }
                };
                let secret = secret_source(
                    &f.client_secret_env,
                    &f.client_secret_file,
                    &format!("{key}.revocation_feed"),
                )?;
                Ok(Feed {
                    client_id: f.client_id.clone(),
                    secret,
                    max_lag: duration(
                        &f.max_feed_lag,
                        &format!("{key}.revocation_feed.max_feed_lag"),
                        Duration::from_secs(5),
                    )?,
                    on_stale,
                })
            })
            .transpose()?;
        let jwks_min_refetch = match &self.jwks_min_refetch {
            None => Duration::from_secs(30),
            Some(v) => humantime::parse_duration(v).map_err(|_| {
                err(
                    format!("{key}.jwks_min_refetch"),
                    format!("'{v}' is not a duration (e.g. \"30s\")"),
                )
            })?,
        };
        let introspection = self
            .introspection
            .as_ref()
            .map(|f| {
                let ikey = format!("{key}.introspection");
                if let Some(e) = &f.endpoint {
                    url::Url::parse(e).map_err(|why| {
                        err(
                            format!("{ikey}.endpoint"),
                            format!("'{e}' is not a URL: {why}"),
                        )
                    })?;
                }
                Ok(Introspection {
                    client_id: f.client_id.clone(),
                    secret: secret_source(&f.client_secret_env, &f.client_secret_file, &ikey)?,
                    endpoint: f.endpoint.clone(),
                    cache: duration(
                        &f.cache,
                        &format!("{ikey}.cache"),
                        crate::introspect::DEFAULT_CACHE,
                    )?,
                })
            })
            .transpose()?;
        Ok(Issuer {
            introspection,
            jwks_min_refetch,
            issuer: self.issuer.clone(),
            jwks_uri: self.jwks_uri.clone(),
            audiences: self.audiences.clone(),
            algorithms,
            token_types,
            leeway: leeway.as_secs() as i64,
            feed,
        })
    }
}

impl RouteFile {
    fn validate(&self, key: &str) -> Result<Route, ConfigError> {
        if self.name.is_empty()
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(err(
                format!("{key}.name"),
                "must be letters, digits, '-', '_' or '.' (it labels metrics and logs)",
            ));
        }
        let path_prefix = self
            .matcher
            .path_prefix
            .clone()
            .unwrap_or_else(|| "/".into());
        if !path_prefix.starts_with('/') {
            return Err(err(
                format!("{key}.match.path_prefix"),
                format!("'{path_prefix}' must start with '/'"),
            ));
        }
        // Requests are matched in normal form: so is the prefix.
        let path_prefix = match crate::path::normalize(&path_prefix) {
            Ok(n) if !n.readings_differ() => n.forward.into_owned(),
            Ok(_) => {
                return Err(err(
                    format!("{key}.match.path_prefix"),
                    format!("'{path_prefix}' holds a ';' or an encoded '/'"),
                ));
            }
            Err(why) => {
                return Err(err(
                    format!("{key}.match.path_prefix"),
                    format!("'{path_prefix}' holds {}", why.describe()),
                ));
            }
        };
        let host = self
            .matcher
            .host
            .as_ref()
            .map(|h| crate::route::host_name(h));
        let mut methods = Vec::new();
        for m in self.matcher.methods.iter().flatten() {
            let upper = m.to_ascii_uppercase();
            if !METHODS.contains(&upper.as_str()) {
                return Err(err(
                    format!("{key}.match.methods"),
                    format!("'{m}' is not an HTTP method"),
                ));
            }
            methods.push(Method::from_bytes(upper.as_bytes()).map_err(|_| {
                err(
                    format!("{key}.match.methods"),
                    format!("'{m}' is not an HTTP method"),
                )
            })?);
        }
        if self.upstreams.is_empty() {
            return Err(err(format!("{key}.upstreams"), "the route has no upstream"));
        }
        let mut upstreams = Vec::new();
        for (j, u) in self.upstreams.iter().enumerate() {
            let ukey = format!("{key}.upstreams[{j}].url");
            let url = url::Url::parse(&u.url)
                .map_err(|e| err(&ukey, format!("'{}' is not a URL: {e}", u.url)))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(err(
                    &ukey,
                    format!("'{}' must be an http:// or https:// URL", u.url),
                ));
            }
            if url.host().is_none() || url.query().is_some() || url.fragment().is_some() {
                return Err(err(
                    &ukey,
                    format!("'{}' must be scheme://host[:port][/base] only", u.url),
                ));
            }
            let weight = u.weight.unwrap_or(1);
            if weight == 0 || weight > 1000 {
                return Err(err(
                    format!("{key}.upstreams[{j}].weight"),
                    "must be 1 to 1000",
                ));
            }
            let max_connections = match u.max_connections {
                None => 512,
                Some(n @ 1..) => n,
                Some(_) => {
                    return Err(err(
                        format!("{key}.upstreams[{j}].max_connections"),
                        "must be at least 1",
                    ));
                }
            };
            upstreams.push(Upstream {
                url,
                weight,
                max_connections,
            });
        }
        let balance = match self.balance.as_deref().unwrap_or("round_robin") {
            "round_robin" => Balance::RoundRobin,
            "least_requests" => Balance::LeastRequests,
            other => {
                return Err(err(
                    format!("{key}.balance"),
                    format!("'{other}' is not one of round_robin, least_requests"),
                ));
            }
        };
        let health = self
            .health
            .as_ref()
            .map(|h| {
                if !h.path.starts_with('/') {
                    return Err(err(
                        format!("{key}.health.path"),
                        format!("'{}' must start with '/'", h.path),
                    ));
                }
                Ok(Health {
                    path: h.path.clone(),
                    interval: duration(
                        &h.interval,
                        &format!("{key}.health.interval"),
                        Duration::from_secs(5),
                    )?,
                    unhealthy_after: h.unhealthy_after.unwrap_or(3).max(1),
                    healthy_after: h.healthy_after.unwrap_or(2).max(1),
                })
            })
            .transpose()?;
        let auth = match self.auth.as_deref().unwrap_or("required") {
            "required" => AuthMode::Required,
            "optional" => AuthMode::Optional,
            "none" => AuthMode::None,
            other => {
                return Err(err(
                    format!("{key}.auth"),
                    format!("'{other}' is not one of required, optional, none"),
                ));
            }
        };
        let (scopes_all, scopes_by_method) = match &self.scopes {
            None => (Vec::new(), BTreeMap::new()),
            Some(ScopesFile::All(list)) => (list.clone(), BTreeMap::new()),
            Some(ScopesFile::PerMethod(map)) => {
                let mut out = BTreeMap::new();
                for (m, list) in map {
                    let upper = m.to_ascii_uppercase();
                    if !METHODS.contains(&upper.as_str()) {
                        return Err(err(
                            format!("{key}.scopes"),
                            format!("'{m}' is not an HTTP method"),
                        ));
                    }
                    out.insert(upper, list.clone());
                }
                (Vec::new(), out)
            }
        };
        for s in scopes_all.iter().chain(scopes_by_method.values().flatten()) {
            if s.is_empty() || s.contains(' ') {
                return Err(err(
                    format!("{key}.scopes"),
                    format!("'{s}' is not one scope"),
                ));
            }
        }
        if auth == AuthMode::None && (!scopes_all.is_empty() || !scopes_by_method.is_empty()) {
            return Err(err(
                format!("{key}.scopes"),
                "the route has auth = \"none\": it cannot require scopes",
            ));
        }
        let mut claims = Vec::new();
        for (claim, rule) in &self.claims {
            let check = match (&rule.contains, &rule.equals) {
                (Some(v), None) => ClaimCheck::Contains(v.clone()),
                (None, Some(v)) => ClaimCheck::Equals(v.clone()),
                _ => {
                    return Err(err(
                        format!("{key}.claims.{claim}"),
                        "needs exactly one of contains, equals",
                    ));
                }
            };
            claims.push(ClaimRule {
                claim: claim.clone(),
                check,
            });
        }
        let t = self.timeouts.as_ref();
        let rate_limits = match &self.rate_limit {
            None => Vec::new(),
            Some(limits) => {
                let list = limits.list();
                list.iter()
                    .enumerate()
                    .map(|(i, l)| {
                        // Policy names are the route's; a second limit gets its index.
                        let name = if list.len() == 1 {
                            format!("route:{}", self.name)
                        } else {
                            format!("route:{}:{i}", self.name)
                        };
                        l.validate(&format!("{key}.rate_limit"), name)
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
        };
        let upgrades = match &self.upgrades {
            None => vec!["websocket".to_string()],
            Some(list) => {
                let mut out = Vec::new();
                for p in list {
                    let p = p.to_ascii_lowercase();
                    if p.starts_with("h2c") {
                        return Err(err(
                            format!("{key}.upgrades"),
                            "'h2c' cannot be allowed: through an h2c tunnel a caller sends requests the route never sees",
                        ));
                    }
                    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
                        return Err(err(
                            format!("{key}.upgrades"),
                            format!("'{p}' is not a protocol name"),
                        ));
                    }
                    out.push(p);
                }
                out
            }
        };
        let tunnel = self.tunnel.as_ref();
        let mut eject_on = EjectOn {
            connect: false,
            server_error: false,
            timeout: false,
        };
        for what in self
            .eject_on
            .clone()
            .unwrap_or_else(|| vec!["connect".into()])
        {
            match what.as_str() {
                "connect" => eject_on.connect = true,
                "5xx" => eject_on.server_error = true,
                "timeout" => eject_on.timeout = true,
                other => {
                    return Err(err(
                        format!("{key}.eject_on"),
                        format!("'{other}' is not one of connect, 5xx, timeout"),
                    ));
                }
            }
        }
        Ok(Route {
            rate_limits,
            name: self.name.clone(),
            host,
            path_prefix,
            case_insensitive: self.matcher.case_insensitive,
            allow_matrix_params: self.matcher.allow_matrix_params,
            allow_encoded_slash: self.matcher.allow_encoded_slash,
            issuers: self.issuers.clone(),
            upgrades,
            tunnel_idle_timeout: duration(
                &tunnel.and_then(|t| t.idle_timeout.clone()),
                &format!("{key}.tunnel.idle_timeout"),
                Duration::from_secs(60),
            )?,
            tunnel_max_lifetime: duration(
                &tunnel.and_then(|t| t.max_lifetime.clone()),
                &format!("{key}.tunnel.max_lifetime"),
                Duration::from_secs(3600),
            )?,
            eject_on,
            methods,
            upstreams,
            balance,
            health,
            auth,
            scopes_all,
            scopes_by_method,
            claims,
            strip_prefix: self.strip_prefix,
            upstream_ca: self.upstream_ca.clone(),
            upstream_auth: self
                .upstream_auth
                .as_ref()
                .map(|u| {
                    let akey = format!("{key}.upstream_auth");
                    url::Url::parse(&u.token_endpoint).map_err(|e| {
                        err(
                            format!("{akey}.token_endpoint"),
                            format!("'{}' is not a URL: {e}", u.token_endpoint),
                        )
                    })?;
                    Ok(UpstreamAuth {
                        token_endpoint: u.token_endpoint.clone(),
                        client_id: u.client_id.clone(),
                        secret: secret_source(&u.client_secret_env, &u.client_secret_file, &akey)?,
                        scope: u.scope.clone(),
                        resource: u.resource.clone(),
                    })
                })
                .transpose()?,
            connect_timeout: duration(
                &t.and_then(|t| t.connect.clone()),
                &format!("{key}.timeouts.connect"),
                Duration::from_secs(2),
            )?,
            response_timeout: duration(
                &t.and_then(|t| t.response.clone()),
                &format!("{key}.timeouts.response"),
                Duration::from_secs(30),
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
[gateway]
listen = "127.0.0.1:8000"
admin_listen = "127.0.0.1:8001"

[[gateway.issuers]]
issuer = "http://127.0.0.1:8080"
audiences = ["https://api.example"]
algorithms = ["ES256", "RS256"]
token_types = ["at+jwt"]
revocation_feed = { client_id = "gateway", client_secret_env = "CANDOR_GATEWAY_SECRET" }

[[gateway.routes]]
name = "orders"
match = { host = "api.example", path_prefix = "/orders", methods = ["GET", "POST"] }
upstreams = [{ url = "http://127.0.0.1:9001", weight = 1 }, { url = "http://127.0.0.1:9002" }]
balance = "least_requests"
health = { path = "/healthz", interval = "5s", unhealthy_after = 3, healthy_after = 2 }
auth = "required"
scopes = { GET = ["orders:read"], POST = ["orders:write"] }
claims = { "groups" = { contains = "staff" } }
strip_prefix = false
timeouts = { connect = "2s", response = "30s" }
"#;

    fn check(text: &str) -> Result<Config, ConfigError> {
        File::from_toml(text)?.validate()
    }

    #[test]
    fn the_documented_example_validates() {
        let c = check(EXAMPLE).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.routes.len(), 1);
        let r = &c.routes[0];
        assert_eq!(r.scopes_for(&Method::GET), vec!["orders:read"]);
        assert_eq!(r.scopes_for(&Method::DELETE), Vec::<&str>::new());
        assert_eq!(r.balance, Balance::LeastRequests);
        assert_eq!(
            c.issuers[0].feed.as_ref().map(|f| f.on_stale),
            Some(OnStale::Refuse)
        );
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            (
                EXAMPLE.replace("ES256\", \"RS256", "HS256"),
                "gateway.issuers[0].algorithms",
            ),
            (
                EXAMPLE.replace("\"/orders\"", "\"orders\""),
                "gateway.routes[0].match.path_prefix",
            ),
            (
                EXAMPLE.replace("least_requests", "random"),
                "gateway.routes[0].balance",
            ),
            (
                EXAMPLE.replace("http://127.0.0.1:9002", "ftp://x"),
                "gateway.routes[0].upstreams[1].url",
            ),
            (
                EXAMPLE.replace("interval = \"5s\"", "interval = \"soon\""),
                "gateway.routes[0].health.interval",
            ),
            (
                EXAMPLE.replace("contains = \"staff\"", "contains = \"a\", equals = \"b\""),
                "gateway.routes[0].claims.groups",
            ),
            (
                EXAMPLE.replace("127.0.0.1:8001", "127.0.0.1:8000"),
                "gateway.admin_listen",
            ),
            (
                EXAMPLE.replace("auth = \"required\"", "auth = \"maybe\""),
                "gateway.routes[0].auth",
            ),
            (
                EXAMPLE.replace("strip_prefix = false", "strip_prefx = false"),
                "gateway",
            ),
        ];
        for (text, key) in cases {
            let e = check(&text)
                .err()
                .unwrap_or_else(|| panic!("accepted: {key}"));
            assert!(e.key.starts_with(key), "{key}: {e}");
        }
        assert!(check("[server]\n").is_err());
    }
}

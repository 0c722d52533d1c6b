//! `[[gateway.routes]]`: the keys of a route as written ([`RouteFile`]), the validated
//! [`Route`] the request path reads, and the checks that need the whole file (unique names,
//! the issuers a route names). Each group of keys is validated by its own module: `match` in
//! `matching`, auth/scopes/claims in `access`, forwarding in `upstreams`, `rate_limit` in
//! `limits`, upgrades in `upgrades`.

use std::collections::BTreeMap;
use std::time::Duration;

use http::Method;
use serde::Deserialize;

use super::access::{self, AuthMode, ClaimFile, ClaimRule, ScopesFile};
use super::issuers::Issuer;
use super::limits::{self, RateLimit, RateLimitsFile};
use super::matching::MatchFile;
use super::upgrades::{self, TunnelFile};
use super::upstreams::{
    self, Balance, EjectOn, Health, HealthFile, TimeoutsFile, Upstream, UpstreamAuth,
    UpstreamAuthFile, UpstreamFile,
};
use super::{ConfigError, err};

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

/// What a route does with a request that has passed its checks. The request path matches on
/// it where it forwards (`pipeline` in `lib.rs`), with no wildcard arm, so a new kind does not
/// compile until it is handled there.
///
/// A new kind (an AI route, the login pages) is an arm that carries what only it needs —
/// `Ai(AiRoute)`, its keys validated in a module of its own and chosen in
/// `RouteFile::validate` — while matching, access and rate limits stay [`Route`]'s. Today's
/// only kind keeps its settings in `Route`'s own fields (upstreams, balance, health, timeouts,
/// upgrades, …), which the request path reads at several steps without a match at each; they
/// move into an `Http(HttpRoute)` arm when a kind arrives that does not forward to upstreams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    /// Forwarded to the route's upstreams ([`crate::proxy::forward`]).
    Http,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub name: String,
    /// What the route does with a request that passes; see [`RouteKind`].
    pub kind: RouteKind,
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

/// Every `[[gateway.routes]]` (at least one), each checked against the configured `issuers`.
pub(super) fn validate_all(
    files: &[RouteFile],
    issuers: &[Issuer],
) -> Result<Vec<Route>, ConfigError> {
    let mut routes: Vec<Route> = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let key = format!("gateway.routes[{i}]");
        let route = f.validate(&key)?;
        if routes.iter().any(|o| o.name == route.name) {
            return Err(err(
                format!("{key}.name"),
                format!("'{}' names two routes", route.name),
            ));
        }
        check_issuers(&route, issuers, &key)?;
        routes.push(route);
    }
    if routes.is_empty() {
        return Err(err("gateway.routes", "no route is configured"));
    }
    Ok(routes)
}

/// A route that checks tokens needs an issuer to check them with, and may name only
/// configured ones.
fn check_issuers(route: &Route, issuers: &[Issuer], key: &str) -> Result<(), ConfigError> {
    if route.auth != AuthMode::None && issuers.is_empty() {
        return Err(err(
            format!("{key}.auth"),
            "the route checks tokens, but no [[gateway.issuers]] is configured",
        ));
    }
    if route.auth != AuthMode::None && route.issuers.as_ref().is_some_and(Vec::is_empty) {
        return Err(err(
            format!("{key}.issuers"),
            "is empty: no token could pass; leave it out to accept every issuer",
        ));
    }
    for name in route.issuers.iter().flatten() {
        if !issuers.iter().any(|o| o.issuer == *name) {
            return Err(err(
                format!("{key}.issuers"),
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
    Ok(())
}

/// A route's name labels metrics and logs: a plain word.
fn check_name(name: &str, key: &str) -> Result<(), ConfigError> {
    let plain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    if name.is_empty() || !name.bytes().all(plain) {
        return Err(err(
            format!("{key}.name"),
            "must be letters, digits, '-', '_' or '.' (it labels metrics and logs)",
        ));
    }
    Ok(())
}

impl RouteFile {
    /// The route at `key` (`gateway.routes[i]`). The steps run in the order the keys were
    /// always checked, so a file with several mistakes reports the same one first.
    fn validate(&self, key: &str) -> Result<Route, ConfigError> {
        check_name(&self.name, key)?;
        let path_prefix = self.matcher.path_prefix(key)?;
        let host = self.matcher.host();
        let methods = self.matcher.methods(key)?;
        let upstreams = upstreams::list(&self.upstreams, key)?;
        let balance = upstreams::balance(self.balance.as_deref(), key)?;
        let health = self.health.as_ref().map(|h| h.validate(key)).transpose()?;
        let auth = access::auth_mode(self.auth.as_deref(), key)?;
        let (scopes_all, scopes_by_method) = access::scopes(self.scopes.as_ref(), auth, key)?;
        let claims = access::claims(&self.claims, key)?;
        let rate_limits = limits::route_limits(self.rate_limit.as_ref(), &self.name, key)?;
        let upgrades = upgrades::protocols(self.upgrades.as_deref(), key)?;
        let eject_on = upstreams::eject_on(self.eject_on.as_deref(), key)?;
        let (tunnel_idle_timeout, tunnel_max_lifetime) =
            upgrades::tunnel_bounds(self.tunnel.as_ref(), key)?;
        let upstream_auth = self
            .upstream_auth
            .as_ref()
            .map(|u| u.validate(&format!("{key}.upstream_auth")))
            .transpose()?;
        let (connect_timeout, response_timeout) = upstreams::timeouts(self.timeouts.as_ref(), key)?;
        Ok(Route {
            name: self.name.clone(),
            // The file has no key for the kind yet: every route forwards.
            kind: RouteKind::Http,
            host,
            path_prefix,
            case_insensitive: self.matcher.case_insensitive,
            allow_matrix_params: self.matcher.allow_matrix_params,
            allow_encoded_slash: self.matcher.allow_encoded_slash,
            issuers: self.issuers.clone(),
            upgrades,
            tunnel_idle_timeout,
            tunnel_max_lifetime,
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
            connect_timeout,
            response_timeout,
            upstream_ca: self.upstream_ca.clone(),
            upstream_auth,
            rate_limits,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::File;
    use super::RouteKind;

    #[test]
    fn every_route_forwards_while_the_file_has_no_kind_key() {
        let text = "[gateway]\n[[gateway.routes]]\nname = \"a\"\nauth = \"none\"\nupstreams = [{ url = \"http://127.0.0.1:9\" }]\n";
        let config = File::from_toml(text).and_then(|f| f.validate()).unwrap();
        assert_eq!(config.routes[0].kind, RouteKind::Http);
    }
}

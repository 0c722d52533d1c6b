//! Where a route forwards: `upstreams`, `balance`, `health`, `eject_on`, `timeouts`, and
//! `upstream_auth` (the route's own credentials for its upstreams).

use std::time::Duration;

use serde::Deserialize;

use super::secret::{SecretSource, secret_source};
use super::{ConfigError, duration, err};

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
pub struct HealthFile {
    pub path: String,
    pub interval: Option<String>,
    pub unhealthy_after: Option<u32>,
    pub healthy_after: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeoutsFile {
    pub connect: Option<String>,
    pub response: Option<String>,
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

#[derive(Debug, Clone)]
pub struct Upstream {
    /// Scheme, authority and an optional base path, without a trailing slash.
    pub url: url::Url,
    pub weight: u32,
    /// Connections open at once, idle ones included.
    pub max_connections: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Balance {
    RoundRobin,
    LeastRequests,
}

#[derive(Debug, Clone)]
pub struct Health {
    pub path: String,
    pub interval: Duration,
    pub unhealthy_after: u32,
    pub healthy_after: u32,
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
pub struct UpstreamAuth {
    pub token_endpoint: String,
    pub client_id: String,
    pub secret: SecretSource,
    pub scope: Option<String>,
    pub resource: Option<String>,
}

/// `upstreams` of the route at `key`: at least one.
pub(super) fn list(files: &[UpstreamFile], key: &str) -> Result<Vec<Upstream>, ConfigError> {
    if files.is_empty() {
        return Err(err(format!("{key}.upstreams"), "the route has no upstream"));
    }
    files
        .iter()
        .enumerate()
        .map(|(j, u)| u.validate(&format!("{key}.upstreams[{j}]")))
        .collect()
}

impl UpstreamFile {
    /// The upstream at `key` (`gateway.routes[i].upstreams[j]`).
    fn validate(&self, key: &str) -> Result<Upstream, ConfigError> {
        let ukey = format!("{key}.url");
        let url = url::Url::parse(&self.url)
            .map_err(|e| err(&ukey, format!("'{}' is not a URL: {e}", self.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(err(
                &ukey,
                format!("'{}' must be an http:// or https:// URL", self.url),
            ));
        }
        // The query sent upstream is the request's: one written here would never be sent.
        if url.host().is_none() || url.query().is_some() || url.fragment().is_some() {
            return Err(err(
                &ukey,
                format!("'{}' must be scheme://host[:port][/base] only", self.url),
            ));
        }
        let weight = self.weight.unwrap_or(1);
        if weight == 0 || weight > 1000 {
            return Err(err(format!("{key}.weight"), "must be 1 to 1000"));
        }
        let max_connections = match self.max_connections {
            None => 512,
            Some(n @ 1..) => n,
            Some(_) => {
                return Err(err(format!("{key}.max_connections"), "must be at least 1"));
            }
        };
        Ok(Upstream {
            url,
            weight,
            max_connections,
        })
    }
}

/// `balance` of the route at `key` (default `round_robin`).
pub(super) fn balance(value: Option<&str>, key: &str) -> Result<Balance, ConfigError> {
    match value.unwrap_or("round_robin") {
        "round_robin" => Ok(Balance::RoundRobin),
        "least_requests" => Ok(Balance::LeastRequests),
        other => Err(err(
            format!("{key}.balance"),
            format!("'{other}' is not one of round_robin, least_requests"),
        )),
    }
}

impl HealthFile {
    /// The active health check of the route at `key`.
    pub(super) fn validate(&self, key: &str) -> Result<Health, ConfigError> {
        if !self.path.starts_with('/') {
            return Err(err(
                format!("{key}.health.path"),
                format!("'{}' must start with '/'", self.path),
            ));
        }
        Ok(Health {
            path: self.path.clone(),
            interval: duration(
                self.interval.as_deref(),
                &format!("{key}.health.interval"),
                Duration::from_secs(5),
            )?,
            unhealthy_after: self.unhealthy_after.unwrap_or(3).max(1),
            healthy_after: self.healthy_after.unwrap_or(2).max(1),
        })
    }
}

/// `eject_on` of the route at `key` (default `["connect"]`).
pub(super) fn eject_on(value: Option<&[String]>, key: &str) -> Result<EjectOn, ConfigError> {
    let mut eject_on = EjectOn {
        connect: false,
        server_error: false,
        timeout: false,
    };
    let default = ["connect".to_string()];
    for what in value.unwrap_or(&default) {
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
    Ok(eject_on)
}

impl UpstreamAuthFile {
    /// The route's own client at `key` (`gateway.routes[i].upstream_auth`).
    pub(super) fn validate(&self, key: &str) -> Result<UpstreamAuth, ConfigError> {
        url::Url::parse(&self.token_endpoint).map_err(|e| {
            err(
                format!("{key}.token_endpoint"),
                format!("'{}' is not a URL: {e}", self.token_endpoint),
            )
        })?;
        Ok(UpstreamAuth {
            token_endpoint: self.token_endpoint.clone(),
            client_id: self.client_id.clone(),
            secret: secret_source(&self.client_secret_env, &self.client_secret_file, key)?,
            scope: self.scope.clone(),
            resource: self.resource.clone(),
        })
    }
}

/// `timeouts.connect` and `timeouts.response` of the route at `key`.
pub(super) fn timeouts(
    value: Option<&TimeoutsFile>,
    key: &str,
) -> Result<(Duration, Duration), ConfigError> {
    let connect = duration(
        value.and_then(|t| t.connect.as_deref()),
        &format!("{key}.timeouts.connect"),
        Duration::from_secs(2),
    )?;
    let response = duration(
        value.and_then(|t| t.response.as_deref()),
        &format!("{key}.timeouts.response"),
        Duration::from_secs(30),
    )?;
    Ok((connect, response))
}

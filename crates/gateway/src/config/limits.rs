//! Rate limits as written (docs/rate-limits.md): a route's `rate_limit`, and the server's
//! `[rate_limits]` tables, which the CLI reads with the same types.

use serde::Deserialize;

use super::{ConfigError, err};

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

/// The `rate_limit` of the route `route` at `key` (`gateway.routes[i]`).
pub(super) fn route_limits(
    limits: Option<&RateLimitsFile>,
    route: &str,
    key: &str,
) -> Result<Vec<RateLimit>, ConfigError> {
    let Some(limits) = limits else {
        return Ok(Vec::new());
    };
    let list = limits.list();
    list.iter()
        .enumerate()
        .map(|(i, l)| {
            // Policy names are the route's; a second limit gets its index.
            let name = if list.len() == 1 {
                format!("route:{route}")
            } else {
                format!("route:{route}:{i}")
            };
            l.validate(&format!("{key}.rate_limit"), name)
        })
        .collect()
}

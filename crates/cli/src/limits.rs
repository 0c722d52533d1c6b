//! The rate limiter of a `candor` process, from `[rate_limits]`: one for the server and the
//! gateway together, shared through Redis when `redis_url` is set.

use anyhow::{Context, Result, bail};
use candor_gateway::config::RateLimitsFile;
use candor_limit::{KeyKind, Limiter, LocalOptions, Policy, RedisOptions};
use candor_server::throttle::EndpointLimits;

use crate::config::Resolved;

fn duration(value: &Option<String>, key: &str) -> Result<Option<std::time::Duration>> {
    value
        .as_ref()
        .map(|v| {
            humantime::parse_duration(v)
                .with_context(|| format!("[rate_limits] {key} = '{v}' is not a duration"))
        })
        .transpose()
}

/// The process's limiter.
pub(crate) async fn limiter(resolved: &Resolved) -> Result<Limiter> {
    let r = &resolved.file.rate_limits;
    let mut local = LocalOptions::default();
    if let Some(n) = r.max_keys {
        if n == 0 {
            bail!("[rate_limits] max_keys must be at least 1");
        }
        local.max_keys = n;
    }
    if let Some(t) = duration(&r.forget_every, "forget_every")? {
        local.forget_every = t;
    }
    let Some(url) = &r.redis_url else {
        return Limiter::local(local).map_err(|e| anyhow::anyhow!("rate limiter: {e}"));
    };
    let mut redis = RedisOptions::new(url.clone());
    if let Some(p) = &r.key_prefix {
        redis.key_prefix = p.clone();
    }
    if let Some(t) = duration(&r.redis_timeout, "redis_timeout")? {
        redis.timeout = t;
    }
    if let Some(t) = duration(&r.redis_retry, "redis_retry")? {
        redis.retry_every = t;
    }
    let limiter = Limiter::shared(redis, local)
        .await
        .map_err(|e| anyhow::anyhow!("[rate_limits] redis_url: {e}"))?;
    // One line that says what holds now: shared, or (when Redis did not answer, which the
    // limiter has already warned of) local until it does.
    if limiter.stats().on_fallback {
        tracing::info!(
            redis = %candor_proto::secret::redact_url(url),
            "rate limits will be shared through Redis once it answers; local until then"
        );
    } else {
        tracing::info!(redis = %candor_proto::secret::redact_url(url), "rate limits shared through Redis");
    }
    Ok(limiter)
}

fn list(file: &Option<RateLimitsFile>, endpoint: &str) -> Result<Vec<(Policy, KeyKind)>> {
    let Some(file) = file else {
        return Ok(Vec::new());
    };
    let items = file.list();
    items
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let name = if items.len() == 1 {
                format!("server:{endpoint}")
            } else {
                format!("server:{endpoint}:{i}")
            };
            let v = l
                .validate(&format!("rate_limits.{endpoint}"), name)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok((v.policy, v.key))
        })
        .collect()
}

/// The server endpoints' limits of `[rate_limits.token|authorize|login]`.
pub(crate) fn endpoint_limits(resolved: &Resolved) -> Result<EndpointLimits> {
    let r = &resolved.file.rate_limits;
    Ok(EndpointLimits {
        token: list(&r.token, "token")?,
        authorize: list(&r.authorize, "authorize")?,
        login: list(&r.login, "login")?,
    })
}

//! Rate limits for Candor's gateway routes and server endpoints.
//!
//! GCRA with a rate and a burst (see [`Policy`]), decided either in this process
//! ([`Limiter::local`], governor's keyed limiter with a bounded key map) or by every node
//! together through Redis ([`Limiter::shared`]: one atomic Lua script per decision, on
//! Redis's clock). A shared limiter whose Redis does not answer decides locally, logs it once,
//! counts it, and goes back to Redis when it answers: a request never fails because Redis is
//! down. [`headers`] writes the `RateLimit-Policy` / `RateLimit` / `Retry-After` fields.
//!
//! ```no_run
//! # async fn example() -> Result<(), candor_limit::Error> {
//! use candor_limit::{Limiter, LocalOptions, Policy, RedisOptions, headers};
//!
//! let limiter = Limiter::shared(RedisOptions::new("redis://127.0.0.1:6379"), LocalOptions::default()).await?;
//! let orders = limiter.limit(Policy::new("route:orders", "100/s".parse()?, 20)?);
//! let decision = orders.check("client-a").await;
//! let fields = headers(orders.policy(), &decision);
//! # Ok(()) }
//! ```
mod decision;
mod error;
mod headers;
mod key;
mod limiter;
mod local;
mod policy;
mod rate;
mod shared;

pub use decision::Decision;
pub use error::Error;
pub use headers::{RATELIMIT, RATELIMIT_POLICY, headers, refusal_text, retry_after_secs};
pub use key::{DEFAULT_API_KEY_HEADER, KeyKind, caller_key, ip_key};
pub use limiter::{Limit, Limiter, LocalOptions, PolicyStats, Stats};
pub use policy::Policy;
pub use rate::Rate;
pub use shared::RedisOptions;

/// The limiter's counters as Prometheus text (shared by the gateway's and the server's
/// `/metrics`).
pub fn metrics(limiter: &Limiter) -> String {
    use std::fmt::Write;
    let s = limiter.stats();
    let mut out = String::from(
        "# HELP candor_rate_limit_decisions_total Rate-limit decisions, by policy and outcome.\n# TYPE candor_rate_limit_decisions_total counter\n",
    );
    for p in &s.policies {
        let _ = writeln!(
            out,
            "candor_rate_limit_decisions_total{{policy=\"{}\",outcome=\"allowed\"}} {}",
            p.name, p.allowed
        );
        let _ = writeln!(
            out,
            "candor_rate_limit_decisions_total{{policy=\"{}\",outcome=\"limited\"}} {}",
            p.name, p.limited
        );
    }
    out.push_str("# HELP candor_rate_limit_keys Callers held in this node's memory, by policy.\n# TYPE candor_rate_limit_keys gauge\n");
    for p in &s.policies {
        let _ = writeln!(
            out,
            "candor_rate_limit_keys{{policy=\"{}\"}} {}",
            p.name, p.keys
        );
    }
    let _ = write!(
        out,
        "# HELP candor_rate_limit_redis_errors_total Failed Redis calls and connection attempts.\n# TYPE candor_rate_limit_redis_errors_total counter\ncandor_rate_limit_redis_errors_total {}\n\
         # HELP candor_rate_limit_fallback_decisions_total Decisions made locally because Redis did not answer.\n# TYPE candor_rate_limit_fallback_decisions_total counter\ncandor_rate_limit_fallback_decisions_total {}\n\
         # HELP candor_rate_limit_fallback Whether decisions are local now because Redis does not answer (1) or not (0).\n# TYPE candor_rate_limit_fallback gauge\ncandor_rate_limit_fallback {}\n",
        s.redis_errors,
        s.fallback_decisions,
        u8::from(s.on_fallback),
    );
    out
}

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
mod metrics;
mod policy;
mod rate;
mod shared;

pub use decision::Decision;
pub use error::Error;
pub use headers::{RATELIMIT, RATELIMIT_POLICY, headers, refusal_text, retry_after_secs};
pub use key::{DEFAULT_API_KEY_HEADER, KeyKind, caller_key, ip_key};
pub use limiter::{Limit, Limiter, LocalOptions, PolicyStats, Stats};
pub use metrics::LimiterMetrics;
pub use policy::Policy;
pub use rate::Rate;
pub use shared::RedisOptions;

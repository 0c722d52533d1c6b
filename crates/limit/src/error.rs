//! What can be wrong with a limit's configuration. Deciding never fails: a broken Redis is
//! not an error here but a fallback (see [`crate::Limiter`]).

/// A rate, policy, key kind or Redis setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A rate string such as `"100/s"` that does not parse.
    #[error("rate '{input}': {reason}")]
    Rate { input: String, reason: &'static str },
    /// A policy whose name, rate or burst cannot be enforced.
    #[error("rate-limit policy '{name}': {reason}")]
    Policy { name: String, reason: &'static str },
    /// A key kind other than `client_id`, `subject`, `ip` or `api_key[:header]`.
    #[error("rate-limit key '{input}': {reason}")]
    KeyKind { input: String, reason: &'static str },
    /// A Redis URL the client refuses, or a key prefix that is not safe in a key name.
    #[error("rate-limit Redis settings: {0}")]
    Redis(String),
    /// The limiter was built outside a Tokio runtime: its housekeeping runs on one.
    #[error("the rate limiter needs a Tokio runtime for its housekeeping")]
    NoRuntime,
}

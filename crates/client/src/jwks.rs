//! A provider's JWK Set, kept fresh for a data plane (the gateway checks every request with
//! it; the doctor and id_token validation use it too).
//!
//! - Readers take the current snapshot under a lock never held across I/O.
//! - A snapshot lives as long as the JWKS response's `Cache-Control: max-age` says, clamped to
//!   [`MIN_TTL`]..[`MAX_TTL`] ([`DEFAULT_TTL`] without one); [`JwksCache::spawn_refresher`]
//!   fetches the next one before it expires, and when a fetch fails the old keys stay.
//! - A token naming an unknown `kid` (a rotation) triggers a refetch — one at a time (single
//!   flight: a burst of such tokens waits for the one fetch), and at most once per
//!   `min_refetch` (a flood of forged kids cannot make the gateway hammer the provider).
//!   That bound has its own clock, the time of the last refetch an unknown kid caused: a
//!   background refresh that happened to run just before an immediate rotation does not hold
//!   the new key back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use candor_proto::jose::JwkSet;
use serde_json::Value;

use crate::error::ClientError;
use crate::http::HttpClient;
use crate::id_token::{Expectations, IdTokenError, parse_jwks, validate};

/// Key sets are kept at least this long, whatever the provider says.
pub const MIN_TTL: Duration = Duration::from_secs(30);
/// …and at most this long.
pub const MAX_TTL: Duration = Duration::from_secs(24 * 3600);
/// Without `Cache-Control: max-age`.
pub const DEFAULT_TTL: Duration = Duration::from_secs(600);
/// Unknown-kid refetches are at least this far apart, by default.
pub const DEFAULT_MIN_REFETCH: Duration = Duration::from_secs(30);

/// One fetched key set.
#[derive(Debug)]
pub struct Snapshot {
    pub jwks: JwkSet,
    pub fetched_at: Instant,
    /// When the refresher fetches the next one.
    pub fresh_until: Instant,
}

/// A provider's JWKS, fetched on first use.
#[derive(Debug)]
pub struct JwksCache {
    http: HttpClient,
    uri: String,
    min_refetch: Duration,
    current: RwLock<Option<Arc<Snapshot>>>,
    /// Held while fetching: one fetch at a time.
    fetching: tokio::sync::Mutex<()>,
    /// Held while deciding on (and making) a refetch for an unknown kid; holds when the last
    /// such refetch started. Taken before `fetching`, never after.
    kid_refetch: tokio::sync::Mutex<Option<Instant>>,
    fetches: AtomicU64,
    failures: AtomicU64,
}

/// The lifetime a JWKS response asks for.
pub fn ttl_of(cache_control: Option<&str>) -> Duration {
    let max_age = cache_control.and_then(|v| {
        v.split(',')
            .map(str::trim)
            .find_map(|d| d.strip_prefix("max-age="))
            .and_then(|n| n.trim_matches('"').parse::<u64>().ok())
    });
    let no_store = cache_control.is_some_and(|v| {
        v.split(',')
            .map(str::trim)
            .any(|d| d.eq_ignore_ascii_case("no-store") || d.eq_ignore_ascii_case("no-cache"))
    });
    match (max_age, no_store) {
        (_, true) => MIN_TTL,
        (Some(secs), false) => Duration::from_secs(secs).clamp(MIN_TTL, MAX_TTL),
        (None, false) => DEFAULT_TTL,
    }
}

impl JwksCache {
    pub fn new(http: HttpClient, uri: impl Into<String>) -> Self {
        JwksCache {
            http,
            uri: uri.into(),
            min_refetch: DEFAULT_MIN_REFETCH,
            current: RwLock::new(None),
            fetching: tokio::sync::Mutex::new(()),
            kid_refetch: tokio::sync::Mutex::new(None),
            fetches: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        }
    }

    pub fn with_min_refetch(mut self, d: Duration) -> Self {
        self.min_refetch = d;
        self
    }

    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Fetches attempted, and of those failed (for metrics).
    pub fn counts(&self) -> (u64, u64) {
        (
            self.fetches.load(Ordering::Relaxed),
            self.failures.load(Ordering::Relaxed),
        )
    }

    /// The current snapshot, if one was ever fetched. Never waits for I/O.
    pub fn current(&self) -> Option<Arc<Snapshot>> {
        self.current.read().ok().and_then(|c| c.clone())
    }

    async fn fetch(&self) -> Result<Arc<Snapshot>, ClientError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let fetched = async {
            let raw = self.http.get_json(&self.uri).await?;
            let parsed = parse_jwks(&self.uri, raw.status, raw.content_type(), &raw.body)
                .map_err(|k| ClientError::with_exchange(k, raw.exchange.clone()))?;
            Ok::<_, ClientError>((parsed.jwks, ttl_of(raw.header("cache-control"))))
        }
        .await;
        match fetched {
            Ok((jwks, ttl)) => {
                let now = Instant::now();
                let snapshot = Arc::new(Snapshot {
                    jwks,
                    fetched_at: now,
                    fresh_until: now + ttl,
                });
                if let Ok(mut current) = self.current.write() {
                    *current = Some(snapshot.clone());
                }
                Ok(snapshot)
            }
            Err(e) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                Err(e)
            }
        }
    }

    /// The current snapshot, fetching the first one (concurrent first callers share one
    /// fetch).
    pub async fn snapshot(&self) -> Result<Arc<Snapshot>, ClientError> {
        if let Some(s) = self.current() {
            return Ok(s);
        }
        let _one = self.fetching.lock().await;
        if let Some(s) = self.current() {
            return Ok(s);
        }
        self.fetch().await
    }

    /// The cached key set, fetching it the first time.
    pub async fn keys(&self) -> Result<JwkSet, ClientError> {
        Ok(self.snapshot().await?.jwks.clone())
    }

    /// A token named a kid that `seen` lacks: fetch again, unless another fetch replaced
    /// `seen` meanwhile (then its snapshot is returned) or the last refetch for an unknown kid
    /// started less than `min_refetch` ago (then `None`: the kid is unknown). Background
    /// refreshes do not count against `min_refetch`: after an immediate rotation, the first
    /// token of the new key refetches even if the refresher has just run.
    pub async fn refetch_for_unknown_kid(
        &self,
        seen: &Arc<Snapshot>,
    ) -> Result<Option<Arc<Snapshot>>, ClientError> {
        let replaced = || {
            self.current()
                .filter(|now| !Arc::ptr_eq(now, seen))
                .map(|now| Ok(Some(now)))
        };
        let mut last = self.kid_refetch.lock().await;
        if let Some(r) = replaced() {
            return r;
        }
        if last.is_some_and(|at| at.elapsed() < self.min_refetch) {
            return Ok(None);
        }
        let _one = self.fetching.lock().await;
        if let Some(r) = replaced() {
            return r;
        }
        *last = Some(Instant::now());
        self.fetch().await.map(Some)
    }

    /// Keeps the key set fresh in the background: fetches the next snapshot shortly before
    /// the current one expires; after a failure keeps the old keys and tries again with a
    /// growing delay (1 s to `MIN_TTL`).
    pub fn spawn_refresher(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let cache = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut backoff = Duration::from_secs(1);
            loop {
                let Some(this) = cache.upgrade() else {
                    return;
                };
                let wait = match this.current() {
                    // Refresh at 90% of the lifetime.
                    Some(s) => {
                        let life = s.fresh_until.saturating_duration_since(s.fetched_at);
                        (s.fetched_at + life.mul_f32(0.9)).saturating_duration_since(Instant::now())
                    }
                    None => Duration::ZERO,
                };
                drop(this);
                tokio::time::sleep(wait).await;
                let Some(this) = cache.upgrade() else {
                    return;
                };
                let result = {
                    let _one = this.fetching.lock().await;
                    this.fetch().await
                };
                drop(this);
                match result {
                    Ok(_) => backoff = Duration::from_secs(1),
                    Err(e) => {
                        tracing::warn!(error = %e, "JWKS refresh failed; keeping the keys we have");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MIN_TTL);
                    }
                }
            }
        })
    }

    /// Validates an id_token; on an unknown kid, refetches the JWKS once and tries again.
    pub async fn validate(&self, token: &str, expect: &Expectations) -> Result<Value, ClientError> {
        let snapshot = self.snapshot().await?;
        match validate(token, &snapshot.jwks, expect) {
            Err(IdTokenError::KidUnknown { .. }) => {
                match self.refetch_for_unknown_kid(&snapshot).await? {
                    Some(fresh) => Ok(validate(token, &fresh.jwks, expect)?),
                    None => Ok(validate(token, &snapshot.jwks, expect)?),
                }
            }
            other => Ok(other?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_follow_cache_control_within_bounds() {
        assert_eq!(ttl_of(None), DEFAULT_TTL);
        assert_eq!(
            ttl_of(Some("public, max-age=300")),
            Duration::from_secs(300)
        );
        assert_eq!(ttl_of(Some("max-age=1")), MIN_TTL);
        assert_eq!(ttl_of(Some("max-age=99999999")), MAX_TTL);
        assert_eq!(ttl_of(Some("no-store")), MIN_TTL);
        assert_eq!(ttl_of(Some("max-age=junk")), DEFAULT_TTL);
    }
}

//! A trusted issuer at run time: its keys (found by discovery unless configured), its deny
//! set, and how current its revocation feed is.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use candor_client::{HttpClient, JwksCache};

use crate::config;
use crate::deny::DenySet;

/// After a failed discovery, requests are answered 503 at once for this long instead of each
/// trying again.
const DISCOVERY_RETRY: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub struct Issuer {
    pub config: config::Issuer,
    pub deny: DenySet,
    /// For opaque tokens, when the issuer is configured with introspection.
    pub introspector: Option<crate::introspect::Introspector>,
    /// The revocation feed's `Authorization`, when the issuer has a feed.
    pub feed_authorization: Option<candor_proto::secret::Secret>,
    http: HttpClient,
    jwks: tokio::sync::OnceCell<Arc<JwksCache>>,
    last_failure: Mutex<Option<(Instant, String)>>,
    /// Unix time of the last successful read of the revocation feed (0: never).
    feed_ok_at: AtomicI64,
    /// Whether the feed's live part has been loaded once (readiness).
    feed_loaded: AtomicBool,
}

impl Issuer {
    pub fn new(config: config::Issuer, http: HttpClient) -> Result<Issuer, String> {
        Ok(Issuer {
            introspector: crate::introspect::Introspector::new(&config, http.clone())?,
            feed_authorization: crate::feed::credentials(&config)?
                .map(candor_proto::secret::Secret::new),
            config,
            deny: DenySet::default(),
            http,
            jwks: tokio::sync::OnceCell::new(),
            last_failure: Mutex::new(None),
            feed_ok_at: AtomicI64::new(0),
            feed_loaded: AtomicBool::new(false),
        })
    }

    /// Whether this running issuer can stand for `fresh`, built from a reloaded
    /// configuration: the same settings and the same credentials. Then its deny set, its
    /// feed's position and its keys are kept instead of being learned again.
    pub fn carries_over(&self, fresh: &Issuer) -> bool {
        self.config == fresh.config
            && self.feed_authorization == fresh.feed_authorization
            && match (&self.introspector, &fresh.introspector) {
                (None, None) => true,
                (Some(a), Some(b)) => a.same_as(b),
                _ => false,
            }
    }

    /// The issuer's key cache, resolving its JWKS URI by discovery the first time (one
    /// discovery at a time; after a failure, none for a few seconds).
    pub async fn keys(&self) -> Result<Arc<JwksCache>, String> {
        if let Some(k) = self.jwks.get() {
            return Ok(k.clone());
        }
        if let Ok(last) = self.last_failure.lock()
            && let Some((at, why)) = last.as_ref()
            && at.elapsed() < DISCOVERY_RETRY
        {
            return Err(why.clone());
        }
        let result = self
            .jwks
            .get_or_try_init(|| async {
                let uri = match &self.config.jwks_uri {
                    Some(u) => u.clone(),
                    None => {
                        let meta = self.http.discover(&self.config.issuer).await.map_err(|e| {
                            format!("discovery of {} failed: {e}", self.config.issuer)
                        })?;
                        meta.jwks_uri.ok_or_else(|| {
                            format!(
                                "{}'s discovery document has no jwks_uri",
                                self.config.issuer
                            )
                        })?
                    }
                };
                let cache = Arc::new(
                    JwksCache::new(self.http.clone(), uri)
                        .with_min_refetch(self.config.jwks_min_refetch),
                );
                cache.snapshot().await.map_err(|e| {
                    format!("the JWKS of {} cannot be fetched: {e}", self.config.issuer)
                })?;
                cache.spawn_refresher();
                Ok::<_, String>(cache)
            })
            .await
            .cloned();
        if let Err(why) = &result
            && let Ok(mut last) = self.last_failure.lock()
        {
            *last = Some((Instant::now(), why.clone()));
        }
        result
    }

    /// The JWKS cache if discovery has happened (for metrics and readiness).
    pub fn jwks(&self) -> Option<&Arc<JwksCache>> {
        self.jwks.get()
    }

    pub fn feed_read(&self, now: i64) {
        self.feed_ok_at.store(now, Ordering::Relaxed);
        self.feed_loaded.store(true, Ordering::Relaxed);
    }

    pub fn feed_loaded(&self) -> bool {
        self.config.feed.is_none() || self.feed_loaded.load(Ordering::Relaxed)
    }

    /// Seconds since the feed was last read; `None` without a feed.
    pub fn feed_lag(&self, now: i64) -> Option<i64> {
        self.config.feed.as_ref()?;
        let at = self.feed_ok_at.load(Ordering::Relaxed);
        Some(if at == 0 { i64::MAX } else { now - at })
    }

    /// What the feed's lag means for tokens now: `None` while it is fresh (or there is no
    /// feed), the configured policy once it is behind `max_feed_lag`.
    pub fn stale_policy(&self, now: i64) -> Option<config::OnStale> {
        match (&self.config.feed, self.feed_lag(now)) {
            (Some(f), Some(lag))
                if lag > i64::try_from(f.max_lag.as_secs()).unwrap_or(i64::MAX) =>
            {
                Some(f.on_stale)
            }
            _ => None,
        }
    }
}

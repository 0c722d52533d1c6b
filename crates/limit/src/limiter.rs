//! The limiter a process builds once ([`Limiter::local`] or [`Limiter::shared`]), and the
//! per-policy handles ([`Limit`]) that make decisions.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use crate::local::LocalLimit;
use crate::shared::Shared;
use crate::{Decision, Error, Policy, RedisOptions};

/// How the in-process limiter bounds its memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalOptions {
    /// Most callers one policy remembers; a new caller beyond it is counted under one shared
    /// overflow key (so a flood of made-up keys shares one budget). About 100 bytes each.
    /// Default 100 000.
    pub max_keys: usize,
    /// How often to forget the callers whose budget is full again. Default 10 s.
    pub forget_every: Duration,
}

impl Default for LocalOptions {
    fn default() -> LocalOptions {
        LocalOptions {
            max_keys: 100_000,
            forget_every: Duration::from_secs(10),
        }
    }
}

/// Decides rate limits, in this process or shared through Redis. Cheap to clone; build one
/// per process and take a [`Limit`] from it per policy.
#[derive(Clone)]
pub struct Limiter {
    inner: Arc<Inner>,
}

struct Inner {
    local: LocalOptions,
    shared: Option<Arc<Shared>>,
    /// Every live limit, for the sweep and for [`Limiter::stats`].
    limits: Mutex<Vec<Weak<LimitState>>>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("local", &self.inner.local)
            .field("shared", &self.inner.shared.is_some())
            .finish_non_exhaustive()
    }
}

impl Limiter {
    /// Limits enforced by this process alone. Must be called inside a Tokio runtime (the
    /// sweep of idle callers runs there).
    pub fn local(local: LocalOptions) -> Result<Limiter, Error> {
        Limiter::start(local, None)
    }

    /// Limits shared by every process on one Redis. Tries Redis once (within
    /// `connect_timeout`); if it does not answer, the limiter starts on fallback and keeps
    /// trying in the background. Errs only for a URL or key prefix that can never work, or
    /// outside a Tokio runtime.
    pub async fn shared(redis: RedisOptions, local: LocalOptions) -> Result<Limiter, Error> {
        let shared = Shared::start(redis).await?;
        Limiter::start(local, Some(shared))
    }

    fn start(local: LocalOptions, shared: Option<Arc<Shared>>) -> Result<Limiter, Error> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let inner = Arc::new(Inner {
            local,
            shared,
            limits: Mutex::new(Vec::new()),
        });
        runtime.spawn(sweep(Arc::downgrade(&inner), local.forget_every));
        Ok(Limiter { inner })
    }

    /// The handle that decides for `policy`. Policy names must be unique per limiter:
    /// with Redis, the name is part of the key every node counts under.
    pub fn limit(&self, policy: Policy) -> Limit {
        let key_base = match &self.inner.shared {
            Some(shared) => format!("{}:{}:", shared.key_prefix(), policy.name()),
            None => String::new(),
        };
        let state = Arc::new(LimitState {
            local: LocalLimit::new(&policy, self.inner.local.max_keys),
            policy,
            key_base,
            limiter: Arc::clone(&self.inner),
            allowed: AtomicU64::new(0),
            limited: AtomicU64::new(0),
        });
        let mut limits = self
            .inner
            .limits
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        limits.retain(|l| l.strong_count() > 0);
        limits.push(Arc::downgrade(&state));
        Limit { state }
    }

    /// Counters for metrics: per policy (summed over limits sharing a name), and Redis's
    /// health when shared.
    pub fn stats(&self) -> Stats {
        let mut policies: BTreeMap<String, PolicyStats> = BTreeMap::new();
        for limit in self.live_limits() {
            let s = Limit { state: limit }.stats();
            let entry = policies.entry(s.name.clone()).or_insert(PolicyStats {
                name: s.name,
                allowed: 0,
                limited: 0,
                keys: 0,
            });
            entry.allowed += s.allowed;
            entry.limited += s.limited;
            entry.keys += s.keys;
        }
        let shared = self.inner.shared.as_deref();
        Stats {
            shared: shared.is_some(),
            on_fallback: shared.is_some_and(Shared::on_fallback),
            redis_errors: shared.map_or(0, Shared::redis_errors),
            fallback_decisions: shared.map_or(0, Shared::fallback_decisions),
            policies: policies.into_values().collect(),
        }
    }

    fn live_limits(&self) -> Vec<Arc<LimitState>> {
        self.inner
            .limits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter_map(Weak::upgrade)
            .collect()
    }
}

/// Forgets idle callers of every live limit every `every`; ends with the limiter.
async fn sweep(inner: Weak<Inner>, every: Duration) {
    let mut ticks = tokio::time::interval(every.max(Duration::from_millis(10)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let limits: Vec<_> = Limiter { inner }.live_limits();
        for limit in limits {
            limit.local.forget_idle();
        }
    }
}

/// One policy's decisions. Cheap to clone.
#[derive(Clone)]
pub struct Limit {
    state: Arc<LimitState>,
}

struct LimitState {
    policy: Policy,
    local: LocalLimit,
    /// `{prefix}:{policy}:` for Redis keys, built once.
    key_base: String,
    /// Keeps the limiter (its sweep, its Redis connection) alive as long as a limit is.
    limiter: Arc<Inner>,
    allowed: AtomicU64,
    limited: AtomicU64,
}

impl std::fmt::Debug for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limit")
            .field("policy", &self.state.policy)
            .field("local", &self.state.local)
            .finish_non_exhaustive()
    }
}

impl Limit {
    /// Counts one request from `key` (a client_id, subject, API key, [`crate::ip_key`] …)
    /// and says whether it may pass. Never fails: with Redis away, the local limiter decides.
    pub async fn check(&self, key: impl AsRef<[u8]>) -> Decision {
        let key = key.as_ref();
        let s = &self.state;
        let shared = match &s.limiter.shared {
            Some(shared) => shared.check(&s.policy, &s.key_base, key).await,
            None => None,
        };
        let decision = shared.unwrap_or_else(|| s.local.check(key));
        let counter = match decision {
            Decision::Allowed { .. } => &s.allowed,
            Decision::Limited { .. } => &s.limited,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        decision
    }

    pub fn policy(&self) -> &Policy {
        &self.state.policy
    }

    pub fn stats(&self) -> PolicyStats {
        let s = &self.state;
        PolicyStats {
            name: s.policy.name().to_string(),
            allowed: s.allowed.load(Ordering::Relaxed),
            limited: s.limited.load(Ordering::Relaxed),
            keys: s.local.keys(),
        }
    }
}

/// A limiter's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Whether this limiter was built to share its limits through Redis.
    pub shared: bool,
    /// Whether it is deciding locally now because Redis does not answer.
    pub on_fallback: bool,
    /// Failed Redis calls and connection attempts, since start.
    pub redis_errors: u64,
    /// Decisions made locally although the limiter is shared, since start.
    pub fallback_decisions: u64,
    /// Per policy name, sorted by name.
    pub policies: Vec<PolicyStats>,
}

/// One policy's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyStats {
    pub name: String,
    pub allowed: u64,
    pub limited: u64,
    /// Callers the local limiter holds now (memory: about 100 bytes each).
    pub keys: usize,
}

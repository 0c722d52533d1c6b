//! The in-process limiter of one policy: governor's GCRA over a key map that cannot grow
//! without bound.
//!
//! A hostile caller can invent a fresh key per request: a made-up client_id or API key, a
//! new address (IPv6 is folded to its /64, but /64s are plenty). Each fresh key is a map
//! entry, so the map is capped: once it holds `max_keys` callers, a key it does not know yet is counted
//! under one shared overflow key instead of getting its own. New callers then share one
//! budget until the periodic sweep ([`LocalLimit::forget_idle`]) drops the keys whose budget
//! is full again. That refuses some honest newcomers during a key-spraying attack — the safe
//! side: the alternatives are unbounded memory, or letting unknown keys through unlimited,
//! which is exactly what the attacker wants.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use governor::clock::{Clock, QuantaClock};
use governor::middleware::StateInformationMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::{DashMapStateStore, ShrinkableKeyedStateStore};
use governor::state::{InMemoryState, NotKeyed, StateStore};
use governor::{Quota, RateLimiter};

use crate::key::LocalKey;
use crate::{Decision, Policy};

/// A key map with a ceiling on its number of keys.
#[derive(Debug, Default)]
pub(crate) struct BoundedStore {
    map: DashMapStateStore<LocalKey>,
    max_keys: usize,
    /// Keys held, kept beside the map because `DashMap::len` locks every shard. Exact but for
    /// races between concurrent first sightings, which can overshoot `max_keys` by at most
    /// the number of threads inserting at that instant; re-counted at each sweep.
    len: AtomicUsize,
}

impl StateStore for BoundedStore {
    type Key = LocalKey;

    fn measure_and_replace<T, F, E>(&self, key: &LocalKey, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        if let Some(state) = self.map.get(key) {
            return state.measure_and_replace(&NotKeyed::NonKey, f);
        }
        let key = if self.len.load(Ordering::Relaxed) >= self.max_keys {
            &LocalKey::OVERFLOW
        } else {
            key
        };
        let mut inserted = false;
        let state = self.map.entry(*key).or_insert_with(|| {
            inserted = true;
            InMemoryState::default()
        });
        if inserted {
            self.len.fetch_add(1, Ordering::Relaxed);
        }
        state.measure_and_replace(&NotKeyed::NonKey, f)
    }
}

impl ShrinkableKeyedStateStore<LocalKey> for BoundedStore {
    fn retain_recent(&self, drop_below: Nanos) {
        ShrinkableKeyedStateStore::retain_recent(&self.map, drop_below);
        self.len.store(self.map.len(), Ordering::Relaxed);
    }

    fn shrink_to_fit(&self) {
        self.map.shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

type Gcra = RateLimiter<LocalKey, BoundedStore, QuantaClock, StateInformationMiddleware>;

/// One policy's limit as this process alone enforces it.
pub(crate) struct LocalLimit {
    gcra: Gcra,
    interval: Duration,
    burst: u32,
}

impl std::fmt::Debug for LocalLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalLimit")
            .field("keys", &self.gcra.len())
            .finish_non_exhaustive()
    }
}

impl LocalLimit {
    pub(crate) fn new(policy: &Policy, max_keys: usize) -> LocalLimit {
        let interval = policy.rate().interval();
        // A policy's interval is at least 1 µs (checked by `Policy::new`), so `with_period`
        // always answers; the fallback only keeps this free of a panic path.
        let quota = Quota::with_period(interval)
            .unwrap_or_else(|| Quota::per_second(std::num::NonZeroU32::MIN))
            .allow_burst(policy.burst_nonzero());
        let store = BoundedStore {
            max_keys: max_keys.max(1),
            ..BoundedStore::default()
        };
        let plain: RateLimiter<LocalKey, BoundedStore, QuantaClock> =
            RateLimiter::new(quota, store, QuantaClock::default());
        LocalLimit {
            gcra: plain.with_middleware(),
            interval,
            burst: policy.burst(),
        }
    }

    pub(crate) fn check(&self, key: &[u8]) -> Decision {
        match self.gcra.check_key(&LocalKey::new(key)) {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                // governor does not expose the TAT itself; rounding the missing units up to
                // whole intervals overstates `reset` by less than one interval.
                let missing = self.burst.saturating_sub(remaining);
                Decision::Allowed {
                    remaining,
                    reset: self.interval.saturating_mul(missing),
                }
            }
            Err(not_until) => {
                let retry_after = not_until.wait_time_from(self.gcra.clock().now());
                // Refused means the bucket is empty: the whole burst is back `burst - 1`
                // intervals after the next single request is.
                let rest = self.interval.saturating_mul(self.burst.saturating_sub(1));
                Decision::Limited {
                    retry_after,
                    reset: retry_after.saturating_add(rest),
                }
            }
        }
    }

    /// Drops the callers whose budget is full again: they are indistinguishable from ones
    /// never seen, so forgetting them changes no decision and frees their memory.
    pub(crate) fn forget_idle(&self) {
        self.gcra.retain_recent();
        self.gcra.shrink_to_fit();
    }

    /// Callers held now.
    pub(crate) fn keys(&self) -> usize {
        self.gcra.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(rate: &str, burst: u32, max_keys: usize) -> LocalLimit {
        LocalLimit::new(
            &Policy::new("t", rate.parse().unwrap(), burst).unwrap(),
            max_keys,
        )
    }

    #[test]
    fn a_burst_then_refusals_with_the_time_to_wait() {
        let l = limit("1/min", 3, 10);
        for expected in [2, 1, 0] {
            assert_eq!(l.check(b"a").remaining(), expected);
        }
        let Decision::Limited { retry_after, reset } = l.check(b"a") else {
            panic!("the fourth request is over the burst");
        };
        assert!(retry_after > Duration::from_secs(59) && retry_after <= Duration::from_secs(60));
        assert!(reset > Duration::from_secs(179) && reset <= Duration::from_secs(180));
        assert!(
            l.check(b"b").is_allowed(),
            "another caller has its own budget"
        );
    }

    #[test]
    fn allowed_reset_counts_the_missing_units() {
        let l = limit("10/min", 5, 10);
        assert_eq!(
            l.check(b"a"),
            Decision::Allowed {
                remaining: 4,
                reset: Duration::from_secs(6)
            }
        );
        assert_eq!(l.check(b"a").reset(), Duration::from_secs(12));
    }

    #[test]
    fn keys_beyond_the_cap_share_one_overflow_budget() {
        let l = limit("1/h", 2, 100);
        for i in 0..100u32 {
            assert!(l.check(&i.to_be_bytes()).is_allowed());
        }
        assert_eq!(l.keys(), 100);
        // Thousands of made-up keys later the map holds one more key, the overflow one,
        // and those keys together got the one burst of 2.
        let allowed = (100..10_000u32)
            .filter(|i| l.check(&i.to_be_bytes()).is_allowed())
            .count();
        assert_eq!(allowed, 2);
        assert_eq!(l.keys(), 101);
        // Known keys keep their own budget.
        assert!(l.check(&5u32.to_be_bytes()).is_allowed());
    }

    #[test]
    fn long_keys_cost_a_digest_not_their_length() {
        let l = limit("1/h", 1, 1_000);
        let huge = vec![0xffu8; 1 << 20];
        assert!(l.check(&huge).is_allowed());
        assert!(
            !l.check(&huge).is_allowed(),
            "the same long key is the same caller"
        );
        let mut other = huge.clone();
        if let Some(last) = other.last_mut() {
            *last = 0;
        }
        assert!(
            l.check(&other).is_allowed(),
            "a long key differing in its last byte"
        );
        assert_eq!(l.keys(), 2);
    }

    #[test]
    fn idle_keys_are_forgotten() {
        let l = limit("1000/s", 1, 1_000);
        for i in 0..500u32 {
            l.check(&i.to_be_bytes());
        }
        assert_eq!(l.keys(), 500);
        // governor forgets a key one interval after its budget is full: 2 ms here.
        std::thread::sleep(Duration::from_millis(20));
        l.forget_idle();
        assert_eq!(l.keys(), 0);
    }
}

//! A route's upstreams: choosing one (weighted round robin, or least requests by the power of
//! two choices), and taking one out of rotation when it fails — passively after consecutive
//! failures of the kinds the route names (`eject_on`: connect failures by default, which no
//! caller can cause; 5xx answers and timeouts, which a caller can, count only when they come
//! from more than one caller), actively by its health check. Passive ejection never takes out
//! the last upstream in rotation: a caller must not be able to switch a route off.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::{self, Balance, EjectOn};
use crate::connections::Connections;

/// Consecutive failures that eject an upstream passively.
const EJECT_AFTER: u32 = 5;
/// How long a passive ejection lasts (an active health check may end it sooner).
const EJECTION: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct Backend {
    pub url: url::Url,
    /// The URL as text, as the call log names the upstream.
    pub name: Arc<str>,
    pub weight: u32,
    /// `host:port` as the upstream request's authority.
    pub authority: String,
    /// `scheme://authority`: where connections go.
    pub target: http::Uri,
    /// The `Host` header sent upstream.
    pub host: http::HeaderValue,
    /// Idle keep-alive connections.
    pub connections: Arc<Connections>,
    pub in_flight: AtomicUsize,
    /// As decided by the active health check (true without one).
    pub healthy: AtomicBool,
    failures: AtomicU32,
    /// The callers whose answers failed in the current run of failures (the first two
    /// distinct ones are enough).
    failed_callers: Mutex<Vec<IpAddr>>,
    /// Milliseconds after `epoch` until which the backend is ejected (0: not).
    ejected_until: AtomicU64,
    epoch: Instant,
    checks_passed: AtomicU32,
    checks_failed: AtomicU32,
}

impl Backend {
    fn new(u: &config::Upstream, epoch: Instant, threads: usize) -> Backend {
        let host = u.url.host_str().unwrap_or("localhost");
        let authority = match u.url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        // The configuration checked the URL (http or https, a host): these cannot fail; if they
        // did, connecting would, with the error named.
        let target = format!("{}://{authority}", u.url.scheme())
            .parse()
            .unwrap_or_default();
        let host = http::HeaderValue::from_str(&authority)
            .unwrap_or(http::HeaderValue::from_static("localhost"));
        Backend {
            url: u.url.clone(),
            name: Arc::from(u.url.as_str()),
            weight: u.weight,
            authority,
            target,
            host,
            connections: Arc::new(Connections::new(threads, u.max_connections)),
            in_flight: AtomicUsize::new(0),
            healthy: AtomicBool::new(true),
            failures: AtomicU32::new(0),
            failed_callers: Mutex::default(),
            ejected_until: AtomicU64::new(0),
            epoch,
            checks_passed: AtomicU32::new(0),
            checks_failed: AtomicU32::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// In rotation: healthy and not ejected.
    pub fn available(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
            && self.ejected_until.load(Ordering::Relaxed) <= self.now_ms()
    }

    /// A request answered without a failure.
    pub fn succeeded(&self) {
        if self.failures.load(Ordering::Relaxed) != 0 {
            self.failures.store(0, Ordering::Relaxed);
            if let Ok(mut callers) = self.failed_callers.lock() {
                callers.clear();
            }
        }
    }

    /// Counts a failure; whether the run of failures is now long enough, and wide enough
    /// (answers that failed must come from two callers or more), to eject.
    fn count(&self, failure: Failure, caller: IpAddr) -> bool {
        let n = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        let callers = match self.failed_callers.lock() {
            Ok(mut callers) => {
                if failure != Failure::Connect && callers.len() < 2 && !callers.contains(&caller) {
                    callers.push(caller);
                }
                callers.len()
            }
            Err(_) => 0,
        };
        n >= EJECT_AFTER && (failure == Failure::Connect || callers >= 2)
    }

    fn eject(&self) {
        let until = self.now_ms() + u64::try_from(EJECTION.as_millis()).unwrap_or(10_000);
        self.ejected_until.store(until, Ordering::Relaxed);
        self.failures.store(0, Ordering::Relaxed);
        if let Ok(mut callers) = self.failed_callers.lock() {
            callers.clear();
        }
        tracing::warn!(upstream = %self.url, "upstream ejected after consecutive failures");
    }

    /// The result of one active health check.
    pub fn checked(&self, ok: bool, health: &config::Health) {
        if ok {
            self.checks_failed.store(0, Ordering::Relaxed);
            let n = self.checks_passed.fetch_add(1, Ordering::Relaxed) + 1;
            if n >= health.healthy_after && !self.healthy.swap(true, Ordering::Relaxed) {
                self.ejected_until.store(0, Ordering::Relaxed);
                tracing::info!(upstream = %self.url, "upstream healthy again");
            }
        } else {
            self.checks_passed.store(0, Ordering::Relaxed);
            let n = self.checks_failed.fetch_add(1, Ordering::Relaxed) + 1;
            if n >= health.unhealthy_after && self.healthy.swap(false, Ordering::Relaxed) {
                tracing::warn!(upstream = %self.url, "upstream failed its health checks");
            }
        }
    }
}

/// What went wrong with a request to an upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No connection could be opened.
    Connect,
    /// A 5xx answer, or a connection that failed once the request was sent.
    ServerError,
    /// No answer within the response timeout.
    Timeout,
}

/// The upstreams of one route.
#[derive(Debug)]
pub struct Pool {
    pub backends: Vec<Arc<Backend>>,
    balance: Balance,
    /// Weighted round robin: each backend's index repeated `weight` times.
    schedule: Vec<usize>,
    next: AtomicUsize,
}

impl Pool {
    /// The upstreams of `route`, with connection pools for `threads` event loops.
    pub fn new(route: &config::Route, threads: usize) -> Pool {
        let epoch = Instant::now();
        let backends: Vec<Arc<Backend>> = route
            .upstreams
            .iter()
            .map(|u| Arc::new(Backend::new(u, epoch, threads)))
            .collect();
        let schedule = interleave(&backends);
        Pool {
            backends,
            balance: route.balance,
            schedule,
            next: AtomicUsize::new(0),
        }
    }

    /// An available backend, other than those in `tried`; `None` when none is left.
    pub fn pick(&self, tried: &[usize]) -> Option<usize> {
        let usable =
            |i: usize| !tried.contains(&i) && self.backends.get(i).is_some_and(|b| b.available());
        match self.balance {
            Balance::RoundRobin => {
                let n = self.schedule.len();
                for _ in 0..n {
                    let at = self.next.fetch_add(1, Ordering::Relaxed) % n.max(1);
                    if let Some(&i) = self.schedule.get(at)
                        && usable(i)
                    {
                        return Some(i);
                    }
                }
                None
            }
            Balance::LeastRequests => {
                let candidates: Vec<usize> =
                    (0..self.backends.len()).filter(|&i| usable(i)).collect();
                match candidates.len() {
                    0 => None,
                    1 => candidates.first().copied(),
                    n => {
                        // Power of two choices: two at random (a cheap counter-based spread),
                        // the one with fewer requests in flight wins.
                        let seed = self.next.fetch_add(1, Ordering::Relaxed);
                        let a = candidates.get(seed % n).copied()?;
                        let b = candidates.get((seed / n + 1 + seed) % n).copied()?;
                        let load = |i: usize| {
                            self.backends
                                .get(i)
                                .map_or(usize::MAX, |b| b.in_flight.load(Ordering::Relaxed))
                        };
                        Some(if load(b) < load(a) { b } else { a })
                    }
                }
            }
        }
    }

    pub fn get(&self, i: usize) -> Option<&Arc<Backend>> {
        self.backends.get(i)
    }

    /// Backend `i` failed a request of `caller`: counted if the route's `eject_on` names the
    /// kind, and ejected after [`EJECT_AFTER`] in a row — unless it is the last in rotation.
    pub fn failed(&self, i: usize, failure: Failure, caller: IpAddr, eject_on: EjectOn) {
        let counted = match failure {
            Failure::Connect => eject_on.connect,
            Failure::ServerError => eject_on.server_error,
            Failure::Timeout => eject_on.timeout,
        };
        let Some(backend) = self.backends.get(i) else {
            return;
        };
        if !counted || !backend.count(failure, caller) {
            return;
        }
        let others = self
            .backends
            .iter()
            .enumerate()
            .any(|(j, b)| j != i && b.available());
        if others {
            backend.eject();
        }
    }
}

/// A smooth weighted schedule: for weights 3 and 1, `0 0 1 0` rather than `0 0 0 1`.
fn interleave(backends: &[Arc<Backend>]) -> Vec<usize> {
    let total: i64 = backends.iter().map(|b| i64::from(b.weight)).sum();
    let mut current: Vec<i64> = vec![0; backends.len()];
    let mut out = Vec::new();
    for _ in 0..total {
        for (c, b) in current.iter_mut().zip(backends) {
            *c += i64::from(b.weight);
        }
        let Some((best, _)) = current
            .iter()
            .enumerate()
            .max_by_key(|(i, c)| (**c, -(*i as i64)))
        else {
            break;
        };
        if let Some(c) = current.get_mut(best) {
            *c -= total;
        }
        out.push(best);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(weights: &[u32], balance: Balance) -> config::Route {
        let text = format!(
            "[gateway]\n[[gateway.routes]]\nname = \"r\"\nauth = \"none\"\nbalance = \"{}\"\nupstreams = [{}]\n",
            match balance {
                Balance::RoundRobin => "round_robin",
                Balance::LeastRequests => "least_requests",
            },
            weights
                .iter()
                .enumerate()
                .map(|(i, w)| format!(
                    "{{ url = \"http://127.0.0.1:{}\", weight = {w} }}",
                    9000 + i
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
        config::File::from_toml(&text)
            .and_then(|f| f.validate())
            .map(|mut c| c.routes.remove(0))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn weighted_round_robin_is_smooth_and_skips_the_unavailable() {
        let pool = Pool::new(&route(&[3, 1], Balance::RoundRobin), 1);
        let picks: Vec<usize> = (0..8).filter_map(|_| pool.pick(&[])).collect();
        assert_eq!(picks, vec![0, 0, 1, 0, 0, 0, 1, 0]);
        let caller: IpAddr = [192, 0, 2, 1].into();
        let connect_only = EjectOn {
            connect: true,
            server_error: false,
            timeout: false,
        };
        for _ in 0..EJECT_AFTER {
            pool.failed(0, Failure::ServerError, caller, connect_only);
        }
        assert!(
            pool.backends[0].available(),
            "5xx are not counted by default"
        );
        for _ in 0..EJECT_AFTER {
            pool.failed(0, Failure::Connect, caller, connect_only);
        }
        assert!(!pool.backends[0].available());
        assert!((0..4).all(|_| pool.pick(&[]) == Some(1)));
        assert_eq!(pool.pick(&[1]), None, "nothing left to retry on");
    }

    #[test]
    fn one_caller_cannot_eject_and_the_last_upstream_stays() {
        let pool = Pool::new(&route(&[1, 1], Balance::RoundRobin), 1);
        let all = EjectOn {
            connect: true,
            server_error: true,
            timeout: true,
        };
        let mallory: IpAddr = [203, 0, 113, 9].into();
        for _ in 0..50 {
            pool.failed(0, Failure::ServerError, mallory, all);
            pool.failed(0, Failure::Timeout, mallory, all);
        }
        assert!(
            pool.backends[0].available(),
            "one caller's 5xx and timeouts"
        );
        for i in 0..EJECT_AFTER {
            let caller: IpAddr = [198, 51, 100, u8::try_from(i).unwrap_or(0)].into();
            pool.failed(0, Failure::ServerError, caller, all);
        }
        assert!(!pool.backends[0].available(), "many callers' 5xx");
        for _ in 0..20 {
            pool.failed(1, Failure::Connect, mallory, all);
        }
        assert!(
            pool.backends[1].available(),
            "the last one in rotation stays"
        );
    }

    #[test]
    fn least_requests_prefers_the_idle() {
        let pool = Pool::new(&route(&[1, 1], Balance::LeastRequests), 1);
        pool.backends[0].in_flight.store(10, Ordering::Relaxed);
        let picks: Vec<usize> = (0..20).filter_map(|_| pool.pick(&[])).collect();
        assert!(picks.iter().filter(|&&i| i == 1).count() >= 10, "{picks:?}");
    }

    #[test]
    fn health_checks_take_out_and_bring_back() {
        let pool = Pool::new(&route(&[1], Balance::RoundRobin), 1);
        let h = config::Health {
            path: "/h".into(),
            interval: Duration::from_secs(1),
            unhealthy_after: 2,
            healthy_after: 2,
        };
        let b = &pool.backends[0];
        b.checked(false, &h);
        assert!(b.available());
        b.checked(false, &h);
        assert!(!b.available());
        b.checked(true, &h);
        assert!(!b.available());
        b.checked(true, &h);
        assert!(b.available());
    }
}

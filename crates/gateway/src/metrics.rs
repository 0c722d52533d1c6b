//! The gateway's Prometheus metrics, served as text on the admin listener.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::per_thread::PerThread;

/// Latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// Statuses counted without a lock (every HTTP status); others would go to `refused`.
const STATUSES: usize = 600;

/// One route's counters, found once per configuration, not per request: the request path
/// does atomic adds on its own thread's counters, and takes a lock only for a refusal (which
/// has a diagnosis to key on).
#[derive(Debug)]
pub struct RouteMetrics {
    counts: PerThread<Counts>,
    /// Refusals by (status, diagnosis).
    refused: Mutex<HashMap<(u16, &'static str), u64>>,
}

#[derive(Debug)]
struct Counts {
    /// Forwarded requests (no diagnosis) by status.
    forwarded: Box<[AtomicU64]>,
    /// Requests per latency bucket (not cumulative; the last slot is past the last bucket).
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Counts {
    fn new() -> Counts {
        Counts {
            forwarded: (0..STATUSES).map(|_| AtomicU64::new(0)).collect(),
            buckets: Default::default(),
            sum_nanos: AtomicU64::new(0),
        }
    }
}

impl RouteMetrics {
    fn new(threads: usize) -> RouteMetrics {
        RouteMetrics {
            counts: PerThread::new(threads, Counts::new),
            refused: Mutex::default(),
        }
    }

    pub fn record(&self, status: u16, diagnosis: &'static str, elapsed: Duration) {
        let counts = self.counts.get();
        match counts.forwarded.get(usize::from(status)) {
            Some(n) if diagnosis.is_empty() => {
                n.fetch_add(1, Ordering::Relaxed);
            }
            _ => {
                if let Ok(mut r) = self.refused.lock() {
                    *r.entry((status, diagnosis)).or_default() += 1;
                }
            }
        }
        let secs = elapsed.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        if let Some(b) = counts.buckets.get(slot) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        counts.sum_nanos.fetch_add(
            u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// Requests per latency bucket (not cumulative), over every thread.
    fn buckets(&self) -> [u64; BUCKETS.len() + 1] {
        let mut out = [0; BUCKETS.len() + 1];
        for c in self.counts.iter() {
            for (o, b) in out.iter_mut().zip(c.buckets.iter()) {
                *o += b.load(Ordering::Relaxed);
            }
        }
        out
    }

    fn sum_nanos(&self) -> u64 {
        self.counts
            .iter()
            .map(|c| c.sum_nanos.load(Ordering::Relaxed))
            .sum()
    }

    /// (status, diagnosis) → requests.
    fn requests(&self) -> BTreeMap<(u16, &'static str), u64> {
        let mut out: BTreeMap<(u16, &'static str), u64> = self
            .refused
            .lock()
            .map(|r| r.iter().map(|(k, v)| (*k, *v)).collect())
            .unwrap_or_default();
        for counts in self.counts.iter() {
            for (status, n) in counts.forwarded.iter().enumerate() {
                let n = n.load(Ordering::Relaxed);
                if n > 0
                    && let Ok(status) = u16::try_from(status)
                {
                    *out.entry((status, "")).or_default() += n;
                }
            }
        }
        out
    }
}

/// Counters and histograms kept by the request path.
#[derive(Debug)]
pub struct Metrics {
    threads: usize,
    /// By route name; kept across reloads, so a route's counters go on counting.
    routes: Mutex<BTreeMap<Arc<str>, Arc<RouteMetrics>>>,
    cache_hits: PerThread<AtomicU64>,
    cache_misses: PerThread<AtomicU64>,
    stale_accepted: AtomicU64,
}

impl Metrics {
    /// Counters for a gateway serving on `threads` event loops.
    pub fn new(threads: usize) -> Metrics {
        Metrics {
            threads,
            routes: Mutex::default(),
            cache_hits: PerThread::new(threads, AtomicU64::default),
            cache_misses: PerThread::new(threads, AtomicU64::default),
            stale_accepted: AtomicU64::new(0),
        }
    }

    /// The counters of the route `name` (`-` for requests no route took).
    pub fn route(&self, name: &Arc<str>) -> Arc<RouteMetrics> {
        match self.routes.lock() {
            Ok(mut routes) => routes
                .entry(name.clone())
                .or_insert_with(|| Arc::new(RouteMetrics::new(self.threads)))
                .clone(),
            Err(_) => Arc::new(RouteMetrics::new(self.threads)),
        }
    }

    /// A token found in the verified-token cache.
    pub fn cache_hit(&self) {
        self.cache_hits.get().fetch_add(1, Ordering::Relaxed);
    }

    /// A token whose signature was checked.
    pub fn cache_miss(&self) {
        self.cache_misses.get().fetch_add(1, Ordering::Relaxed);
    }

    /// A token let through while its issuer's revocation feed was behind.
    pub fn stale_accepted(&self) {
        self.stale_accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition text; `extra` appends gauges the caller knows (issuers, upstreams).
    pub fn render(&self, extra: &str) -> String {
        let routes: Vec<(Arc<str>, Arc<RouteMetrics>)> = self
            .routes
            .lock()
            .map(|r| r.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP candor_gateway_requests_total Requests handled, by route, status and diagnosis (\"\" when forwarded)."
        );
        let _ = writeln!(out, "# TYPE candor_gateway_requests_total counter");
        for (route, m) in &routes {
            for ((status, diagnosis), n) in m.requests() {
                let _ = writeln!(
                    out,
                    "candor_gateway_requests_total{{route=\"{route}\",status=\"{status}\",diagnosis=\"{diagnosis}\"}} {n}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP candor_gateway_request_duration_seconds Time from request head to response head, by route."
        );
        let _ = writeln!(
            out,
            "# TYPE candor_gateway_request_duration_seconds histogram"
        );
        for (route, m) in &routes {
            let buckets = m.buckets();
            let count: u64 = buckets.iter().sum();
            if count == 0 {
                continue;
            }
            let mut cumulative = 0;
            for (b, c) in BUCKETS.iter().zip(buckets.iter()) {
                cumulative += c;
                let _ = writeln!(
                    out,
                    "candor_gateway_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "candor_gateway_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "candor_gateway_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                m.sum_nanos() as f64 / 1e9
            );
            let _ = writeln!(
                out,
                "candor_gateway_request_duration_seconds_count{{route=\"{route}\"}} {count}"
            );
        }
        let total = |p: &PerThread<AtomicU64>| p.iter().map(|a| a.load(Ordering::Relaxed)).sum();
        for (name, help, v) in [
            (
                "candor_gateway_verified_cache_hits_total",
                "Tokens found in the verified-token cache (no signature check).",
                total(&self.cache_hits),
            ),
            (
                "candor_gateway_verified_cache_misses_total",
                "Tokens whose signature was checked.",
                total(&self.cache_misses),
            ),
            (
                "candor_gateway_feed_stale_accepted_total",
                "Tokens let through while the revocation feed was behind (on_stale = \"accept\").",
                self.stale_accepted.load(Ordering::Relaxed),
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {v}");
        }
        out.push_str(extra);
        out
    }
}

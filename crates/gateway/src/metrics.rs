//! The gateway's request counters, kept by the request path and written at scrape time
//! (docs/gateway.md, "Metrics"). A request adds to its own thread's counters: no lock, no
//! allocation, no label lookup (a route finds its [`RouteMetrics`] once, when the state is
//! built); a scrape sums the threads' counters and writes them through the one encoder
//! ([`candor_metrics`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use candor_metrics::Histogram;
use candor_metrics::Snapshot;
use candor_metrics::scraped::{counter, counters};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;

use crate::per_thread::PerThread;

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
    latency: Histogram,
}

impl Counts {
    fn new() -> Counts {
        Counts {
            forwarded: (0..STATUSES).map(|_| AtomicU64::new(0)).collect(),
            latency: Histogram::default(),
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
        counts.latency.observe(elapsed);
    }

    /// The latencies, over every thread.
    fn latency(&self) -> Snapshot {
        let mut total = Snapshot::default();
        for c in self.counts.iter() {
            total.add(&c.latency.snapshot());
        }
        total
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

    fn routes(&self) -> Vec<(Arc<str>, Arc<RouteMetrics>)> {
        self.routes
            .lock()
            .map(|r| r.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }
}

/// The labels of one series of `candor_gateway_requests_total`.
type RequestLabels<'a> = (
    [(&'static str, &'a str); 1],
    ([(&'static str, u16); 1], [(&'static str, &'a str); 1]),
);

impl Collector for Metrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let routes = self.routes();
        counters(
            &mut encoder,
            "candor_gateway_requests",
            "Requests handled, by route, status and diagnosis (\"\" when forwarded).",
            routes.iter().flat_map(|(route, m)| {
                m.requests().into_iter().map(
                    move |((status, diagnosis), n)| -> (RequestLabels<'_>, u64) {
                        (
                            (
                                [("route", &**route)],
                                ([("status", status)], [("diagnosis", diagnosis)]),
                            ),
                            n,
                        )
                    },
                )
            }),
        )?;
        let mut latency = encoder.encode_descriptor(
            "candor_gateway_request_duration_seconds",
            "Time from request head to response head, by route.",
            None,
            MetricType::Histogram,
        )?;
        for (route, m) in &routes {
            let snapshot = m.latency();
            if snapshot.count() > 0 {
                snapshot.encode(latency.encode_family(&[("route", &**route)])?)?;
            }
        }
        let total = |p: &PerThread<AtomicU64>| p.iter().map(|a| a.load(Ordering::Relaxed)).sum();
        counter(
            &mut encoder,
            "candor_gateway_verified_cache_hits",
            "Tokens found in the verified-token cache (no signature check).",
            total(&self.cache_hits),
        )?;
        counter(
            &mut encoder,
            "candor_gateway_verified_cache_misses",
            "Tokens whose signature was checked.",
            total(&self.cache_misses),
        )?;
        counter(
            &mut encoder,
            "candor_gateway_feed_stale_accepted",
            "Tokens let through while the revocation feed was behind (on_stale = \"accept\").",
            self.stale_accepted.load(Ordering::Relaxed),
        )
    }
}

//! The gateway's Prometheus metrics, served as text on the admin listener.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// (route, status, diagnosis).
type RequestKey = (Arc<str>, u16, &'static str);

/// Counters and histograms kept by the request path.
#[derive(Debug, Default)]
pub struct Metrics {
    /// (route, status, diagnosis) → requests. Keys are cheap to clone: the request path
    /// allocates nothing here.
    requests: Mutex<HashMap<RequestKey, u64>>,
    latency: Mutex<HashMap<Arc<str>, Histogram>>,
    pub cache_hits: AtomicU64,
    pub cache_misses: AtomicU64,
    pub stale_accepted: AtomicU64,
}

impl Metrics {
    pub fn record(
        &self,
        route: &Arc<str>,
        status: u16,
        diagnosis: &'static str,
        elapsed: Duration,
    ) {
        if let Ok(mut r) = self.requests.lock() {
            *r.entry((route.clone(), status, diagnosis)).or_default() += 1;
        }
        if let Ok(mut l) = self.latency.lock() {
            let h = l.entry(route.clone()).or_default();
            let secs = elapsed.as_secs_f64();
            for (i, b) in BUCKETS.iter().enumerate() {
                if secs <= *b
                    && let Some(c) = h.counts.get_mut(i)
                {
                    *c += 1;
                }
            }
            h.sum += secs;
            h.count += 1;
        }
    }

    /// The exposition text; `extra` appends gauges the caller knows (issuers, upstreams).
    pub fn render(&self, extra: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP candor_gateway_requests_total Requests handled, by route, status and diagnosis (\"\" when forwarded)."
        );
        let _ = writeln!(out, "# TYPE candor_gateway_requests_total counter");
        if let Ok(r) = self.requests.lock() {
            let sorted: BTreeMap<_, _> = r.iter().collect();
            for ((route, status, diagnosis), n) in sorted {
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
        if let Ok(l) = self.latency.lock() {
            let sorted: BTreeMap<_, _> = l.iter().collect();
            for (route, h) in sorted {
                for (b, c) in BUCKETS.iter().zip(h.counts.iter()) {
                    let _ = writeln!(
                        out,
                        "candor_gateway_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {c}"
                    );
                }
                let _ = writeln!(
                    out,
                    "candor_gateway_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    out,
                    "candor_gateway_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "candor_gateway_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    h.count
                );
            }
        }
        for (name, help, v) in [
            (
                "candor_gateway_verified_cache_hits_total",
                "Tokens found in the verified-token cache (no signature check).",
                &self.cache_hits,
            ),
            (
                "candor_gateway_verified_cache_misses_total",
                "Tokens whose signature was checked.",
                &self.cache_misses,
            ),
            (
                "candor_gateway_feed_stale_accepted_total",
                "Tokens let through while the revocation feed was behind (on_stale = \"accept\").",
                &self.stale_accepted,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", v.load(Ordering::Relaxed));
        }
        out.push_str(extra);
        out
    }
}

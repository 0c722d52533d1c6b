//! The server's Prometheus metrics (docs/server.md, "Metrics"), served on the admin listener
//! only. Counters are keyed by fixed names (endpoints, grants, diagnosis codes), so no
//! caller-supplied value can grow the maps without bound.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use candor_proto::Code;
use candor_proto::grant_type::GrantType;
use candor_store::Maintenance;

/// Latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Not cumulative; the last slot is past the last bucket.
    counts: [u64; BUCKETS.len() + 1],
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, d: Duration) {
        let s = d.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|b| s <= *b)
            .unwrap_or(BUCKETS.len());
        if let Some(c) = self.counts.get_mut(slot) {
            *c += 1;
        }
        self.sum += s;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        let sep = if labels.is_empty() { "" } else { "," };
        for (b, n) in BUCKETS.iter().zip(self.counts.iter()) {
            cumulative += n;
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {cumulative}");
        }
        cumulative += self.counts.last().copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {cumulative}"
        );
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {cumulative}");
    }
}

/// The server's counters.
#[derive(Debug, Default)]
pub struct ServerMetrics {
    /// Requests by (endpoint, status, diagnosis).
    requests: Mutex<BTreeMap<(&'static str, u16, &'static str), u64>>,
    latency: Mutex<BTreeMap<&'static str, Histogram>>,
    tokens: Mutex<BTreeMap<&'static str, u64>>,
    login_failures: AtomicU64,
    login_throttled: AtomicU64,
    db_probe: Mutex<Histogram>,
    db_probe_failures: AtomicU64,
}

impl ServerMetrics {
    pub fn request(
        &self,
        endpoint: &'static str,
        status: u16,
        diagnosis: Option<Code>,
        elapsed: Duration,
    ) {
        if let Ok(mut r) = self.requests.lock() {
            *r.entry((endpoint, status, diagnosis.map_or("", Code::as_str)))
                .or_default() += 1;
        }
        if let Ok(mut l) = self.latency.lock() {
            l.entry(endpoint).or_default().observe(elapsed);
        }
    }

    pub fn token_issued(&self, grant: GrantType) {
        if let Ok(mut t) = self.tokens.lock() {
            *t.entry(grant.as_str()).or_default() += 1;
        }
    }

    pub fn login_failed(&self) {
        self.login_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub fn login_throttled(&self) {
        self.login_throttled.fetch_add(1, Ordering::Relaxed);
    }

    /// Times one probe query of the database (the housekeeping runs one every few seconds).
    pub async fn probe_database(&self, store: &dyn Maintenance) {
        let started = std::time::Instant::now();
        let ok = store.ping().await.is_ok();
        let elapsed = started.elapsed();
        if ok {
            if let Ok(mut h) = self.db_probe.lock() {
                h.observe(elapsed);
            }
        } else {
            self.db_probe_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The exposition text; `feed_length` is read by the caller (a query).
    pub fn render(&self, store: &dyn Maintenance, feed_length: Option<i64>, extra: &str) -> String {
        let mut out = String::new();
        out.push_str("# HELP candor_server_requests_total Requests by endpoint, status and diagnosis.\n# TYPE candor_server_requests_total counter\n");
        if let Ok(r) = self.requests.lock() {
            for ((endpoint, status, diagnosis), n) in r.iter() {
                let _ = writeln!(
                    out,
                    "candor_server_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\",diagnosis=\"{diagnosis}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP candor_server_request_duration_seconds Time to the response head, by endpoint.\n# TYPE candor_server_request_duration_seconds histogram\n");
        if let Ok(l) = self.latency.lock() {
            for (endpoint, h) in l.iter() {
                h.render(
                    &mut out,
                    "candor_server_request_duration_seconds",
                    &format!("endpoint=\"{endpoint}\""),
                );
            }
        }
        out.push_str("# HELP candor_server_tokens_issued_total Token responses, by grant.\n# TYPE candor_server_tokens_issued_total counter\n");
        if let Ok(t) = self.tokens.lock() {
            for grant in GrantType::ALL {
                let n = t.get(grant.as_str()).copied().unwrap_or(0);
                let _ = writeln!(
                    out,
                    "candor_server_tokens_issued_total{{grant=\"{}\"}} {n}",
                    grant.as_str()
                );
            }
        }
        let _ = write!(
            out,
            "# HELP candor_server_login_failures_total Sign-ins refused for a wrong username or password.\n# TYPE candor_server_login_failures_total counter\ncandor_server_login_failures_total {}\n\
             # HELP candor_server_login_throttled_total Sign-ins refused by the rate limits or an account lock.\n# TYPE candor_server_login_throttled_total counter\ncandor_server_login_throttled_total {}\n",
            self.login_failures.load(Ordering::Relaxed),
            self.login_throttled.load(Ordering::Relaxed),
        );
        let pool = store.pool_stats();
        let _ = write!(
            out,
            "# HELP candor_server_db_connections Database connections open, by state.\n# TYPE candor_server_db_connections gauge\n\
             candor_server_db_connections{{state=\"in_use\"}} {}\ncandor_server_db_connections{{state=\"idle\"}} {}\n\
             # HELP candor_server_db_connections_max The most connections the pool opens.\n# TYPE candor_server_db_connections_max gauge\ncandor_server_db_connections_max {}\n",
            pool.size.saturating_sub(pool.idle),
            pool.idle,
            pool.max
        );
        out.push_str("# HELP candor_server_db_probe_seconds Latency of the probe query (SELECT 1) the server runs every 5 s.\n# TYPE candor_server_db_probe_seconds histogram\n");
        if let Ok(h) = self.db_probe.lock() {
            h.render(&mut out, "candor_server_db_probe_seconds", "");
        }
        let _ = write!(
            out,
            "# HELP candor_server_db_probe_failures_total Probe queries that failed.\n# TYPE candor_server_db_probe_failures_total counter\ncandor_server_db_probe_failures_total {}\n",
            self.db_probe_failures.load(Ordering::Relaxed)
        );
        if let Some(n) = feed_length {
            let _ = write!(
                out,
                "# HELP candor_server_revocation_feed_entries Entries in the revocation feed.\n# TYPE candor_server_revocation_feed_entries gauge\ncandor_server_revocation_feed_entries {n}\n"
            );
        }
        out.push_str(extra);
        out
    }
}

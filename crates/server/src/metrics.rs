//! The server's Prometheus metrics (docs/server.md, "Metrics"), served on the admin listener
//! only. Series are keyed by fixed names (endpoints, grants, diagnosis codes), so no
//! caller-supplied value can grow a family without bound.

use std::time::{Duration, Instant};

use candor_metrics::scraped::{gauge, gauges};
use candor_metrics::{Histogram, Registry, Shared};
use candor_proto::Code;
use candor_proto::grant_type::GrantType;
use candor_store::{Maintenance, PoolStats};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: &'static str,
    status: u16,
    /// "" for an answer without a diagnosis.
    diagnosis: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GrantLabels {
    grant: &'static str,
}

/// The server's counters and histograms.
#[derive(Debug)]
pub struct ServerMetrics {
    requests: Family<RequestLabels, Counter>,
    latency: Family<EndpointLabels, Histogram>,
    tokens: Family<GrantLabels, Counter>,
    login_failures: Counter,
    login_throttled: Counter,
    db_probe: Shared<Histogram>,
    db_probe_failures: Counter,
}

impl Default for ServerMetrics {
    fn default() -> Self {
        let tokens = Family::<GrantLabels, Counter>::default();
        // Every grant is listed from the start, at 0: a dashboard sees the grant exists.
        for grant in GrantType::ALL {
            let _ = tokens.get_or_create(&GrantLabels {
                grant: grant.as_str(),
            });
        }
        ServerMetrics {
            requests: Family::default(),
            latency: Family::default(),
            tokens,
            login_failures: Counter::default(),
            login_throttled: Counter::default(),
            db_probe: Shared::default(),
            db_probe_failures: Counter::default(),
        }
    }
}

impl ServerMetrics {
    pub fn request(
        &self,
        endpoint: &'static str,
        status: u16,
        diagnosis: Option<Code>,
        elapsed: Duration,
    ) {
        self.requests
            .get_or_create(&RequestLabels {
                endpoint,
                status,
                diagnosis: diagnosis.map_or("", Code::as_str),
            })
            .inc();
        self.latency
            .get_or_create(&EndpointLabels { endpoint })
            .observe(elapsed);
    }

    pub fn token_issued(&self, grant: GrantType) {
        self.tokens
            .get_or_create(&GrantLabels {
                grant: grant.as_str(),
            })
            .inc();
    }

    pub fn login_failed(&self) {
        self.login_failures.inc();
    }

    pub fn login_throttled(&self) {
        self.login_throttled.inc();
    }

    /// Times one probe query of the database (the housekeeping runs one every few seconds).
    pub async fn probe_database(&self, store: &dyn Maintenance) {
        let started = Instant::now();
        if store.ping().await.is_ok() {
            self.db_probe.observe(started.elapsed());
        } else {
            self.db_probe_failures.inc();
        }
    }

    /// Registers the server's own metrics, and the store's as read now (`feed_length` is a
    /// query the caller made; without it the family is left out).
    pub fn register(
        &self,
        registry: &mut Registry,
        store: &dyn Maintenance,
        feed_length: Option<i64>,
    ) {
        registry.register(
            "candor_server_requests",
            "Requests by endpoint, status and diagnosis",
            self.requests.clone(),
        );
        registry.register(
            "candor_server_request_duration_seconds",
            "Time to the response head, by endpoint",
            self.latency.clone(),
        );
        registry.register(
            "candor_server_tokens_issued",
            "Token responses, by grant",
            self.tokens.clone(),
        );
        registry.register_collector(Box::new(StoreGauges {
            pool: store.pool_stats(),
            feed_length,
        }));
        registry.register(
            "candor_server_db_probe_seconds",
            "Latency of the probe query (SELECT 1) the server runs every 5 s",
            self.db_probe.clone(),
        );
        for (name, help, counter) in [
            (
                "candor_server_login_failures",
                "Sign-ins refused for a wrong username or password",
                &self.login_failures,
            ),
            (
                "candor_server_login_throttled",
                "Sign-ins refused by the rate limits or an account lock",
                &self.login_throttled,
            ),
            (
                "candor_server_db_probe_failures",
                "Probe queries that failed",
                &self.db_probe_failures,
            ),
        ] {
            registry.register(name, help, counter.clone());
        }
    }
}

/// The store's use, read when the scrape began.
#[derive(Debug)]
struct StoreGauges {
    pool: PoolStats,
    feed_length: Option<i64>,
}

impl Collector for StoreGauges {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let pool = self.pool;
        gauges(
            &mut encoder,
            "candor_server_db_connections",
            "Database connections open, by state.",
            [
                (
                    [("state", "in_use")],
                    i64::from(pool.size.saturating_sub(pool.idle)),
                ),
                ([("state", "idle")], i64::from(pool.idle)),
            ],
        )?;
        gauge(
            &mut encoder,
            "candor_server_db_connections_max",
            "The most connections the pool opens.",
            i64::from(pool.max),
        )?;
        if let Some(n) = self.feed_length {
            gauge(
                &mut encoder,
                "candor_server_revocation_feed_entries",
                "Entries in the revocation feed.",
                n,
            )?;
        }
        Ok(())
    }
}

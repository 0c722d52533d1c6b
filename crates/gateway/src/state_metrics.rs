//! What `/metrics` reads of a [`State`] at scrape time: per issuer, its JWKS fetches, feed
//! lag, deny set and introspections; per upstream, whether it is in rotation and its idle
//! connections; the verified-token cache's size.

use std::sync::Arc;

use candor_metrics::scraped::{counters, gauge, gauges, int};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;

use crate::State;

/// A state, read when a scrape encodes it.
pub struct StateMetrics {
    pub state: Arc<State>,
    /// The scrape's time (Unix seconds), for the feeds' lag.
    pub now: i64,
}

impl std::fmt::Debug for StateMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateMetrics")
    }
}

impl Collector for StateMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        self.issuers(&mut encoder)?;
        self.upstreams(&mut encoder)?;
        gauge(
            &mut encoder,
            "candor_gateway_verified_cache_entries",
            "Verified tokens remembered.",
            int(self.state.verified.len()),
        )
    }
}

impl StateMetrics {
    /// Per issuer: JWKS fetches and failures, the feed's lag, the deny set, introspections.
    fn issuers(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let issuers = &self.state.issuers;
        let label = |i: &crate::issuer::Issuer| [("issuer", i.config.issuer.clone())];
        let jwks = || {
            issuers
                .iter()
                .map(|i| (label(i), i.jwks().map_or((0, 0), |j| j.counts())))
        };
        counters(
            encoder,
            "candor_gateway_jwks_fetches",
            "JWKS fetches, by issuer.",
            jwks().map(|(l, (fetches, _))| (l, fetches)),
        )?;
        counters(
            encoder,
            "candor_gateway_jwks_fetch_failures",
            "JWKS fetches that failed, by issuer.",
            jwks().map(|(l, (_, failures))| (l, failures)),
        )?;
        gauges(
            encoder,
            "candor_gateway_revocation_feed_lag_seconds",
            "Seconds since the issuer's revocation feed was last read.",
            issuers.iter().filter_map(|i| {
                i.feed_lag(self.now)
                    .map(|lag| (label(i), lag.min(1_000_000_000)))
            }),
        )?;
        gauges(
            encoder,
            "candor_gateway_deny_set_entries",
            "Revoked tokens, grants, users and clients held, by issuer.",
            issuers.iter().map(|i| (label(i), int(i.deny.len()))),
        )?;
        counters(
            encoder,
            "candor_gateway_introspections",
            "Introspection calls for opaque tokens, by issuer.",
            issuers
                .iter()
                .filter_map(|i| i.introspector.as_ref().map(|x| (label(i), x.calls()))),
        )
    }

    /// Per upstream: in rotation or not, idle keep-alive connections.
    fn upstreams(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let backends = || {
            self.state.routes.iter().flat_map(|r| {
                r.pool.backends.iter().map(move |b| {
                    (
                        [
                            ("route", r.route.name.clone()),
                            ("upstream", b.url.to_string()),
                        ],
                        b,
                    )
                })
            })
        };
        gauges(
            encoder,
            "candor_gateway_upstream_available",
            "Whether an upstream is in rotation (1) or not (0).",
            backends().map(|(l, b)| (l, i64::from(b.available()))),
        )?;
        gauges(
            encoder,
            "candor_gateway_upstream_idle_connections",
            "Keep-alive connections to an upstream waiting in the pool.",
            backends().map(|(l, b)| (l, int(b.connections.idle_count()))),
        )
    }
}

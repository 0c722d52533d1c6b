//! The limiter's counters on `/metrics` (docs/rate-limits.md, "Metrics"), read from
//! [`Limiter::stats`] at scrape time.

use candor_metrics::scraped::{counter, counters, gauge, gauges, int};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;

use crate::Limiter;

/// A limiter's metrics, for one scrape's registry.
#[derive(Clone)]
pub struct LimiterMetrics(Limiter);

impl LimiterMetrics {
    pub fn new(limiter: Limiter) -> LimiterMetrics {
        LimiterMetrics(limiter)
    }
}

impl std::fmt::Debug for LimiterMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LimiterMetrics")
    }
}

impl Collector for LimiterMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = self.0.stats();
        counters(
            &mut encoder,
            "candor_rate_limit_decisions",
            "Rate-limit decisions, by policy and outcome.",
            s.policies.iter().flat_map(|p| {
                [
                    (
                        [("policy", p.name.as_str()), ("outcome", "allowed")],
                        p.allowed,
                    ),
                    (
                        [("policy", p.name.as_str()), ("outcome", "limited")],
                        p.limited,
                    ),
                ]
            }),
        )?;
        gauges(
            &mut encoder,
            "candor_rate_limit_keys",
            "Callers held in this node's memory, by policy.",
            s.policies
                .iter()
                .map(|p| ([("policy", p.name.as_str())], int(p.keys))),
        )?;
        counter(
            &mut encoder,
            "candor_rate_limit_redis_errors",
            "Failed Redis calls and connection attempts.",
            s.redis_errors,
        )?;
        counter(
            &mut encoder,
            "candor_rate_limit_fallback_decisions",
            "Decisions made locally because Redis did not answer.",
            s.fallback_decisions,
        )?;
        gauge(
            &mut encoder,
            "candor_rate_limit_fallback",
            "Whether decisions are local now because Redis does not answer (1) or not (0).",
            i64::from(s.on_fallback),
        )
    }
}

//! The one latency histogram: an atomic add per bucket and one for the sum, so that an
//! observation takes no lock and allocates nothing — the gateway keeps one per event-loop
//! thread and route, and sums them at scrape time ([`Snapshot::add`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::exemplar::Exemplar;
use prometheus_client::metrics::{MetricType, TypedMetric};

use crate::buckets::{SECONDS, SECONDS_NANOS};

/// Slots: one per bound of [`SECONDS`], and one past the last.
const SLOTS: usize = SECONDS.len() + 1;

/// Latencies in [`SECONDS`] buckets.
#[derive(Debug, Default)]
pub struct Histogram {
    /// Observations per bucket (not cumulative; the last slot is past the last bound).
    counts: [AtomicU64; SLOTS],
    sum_nanos: AtomicU64,
}

impl Histogram {
    /// Counts one latency.
    pub fn observe(&self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        // Most latencies fall in the first buckets: a scan from the start ends sooner
        // than a binary search would.
        let slot = SECONDS_NANOS
            .iter()
            .position(|b| nanos <= *b)
            .unwrap_or(SECONDS.len());
        if let Some(c) = self.counts.get(slot) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// What it has counted so far.
    pub fn snapshot(&self) -> Snapshot {
        let mut s = Snapshot::default();
        for (to, from) in s.counts.iter_mut().zip(&self.counts) {
            *to = from.load(Ordering::Relaxed);
        }
        s.sum_nanos = self.sum_nanos.load(Ordering::Relaxed);
        s
    }
}

/// A histogram's counts at one moment; snapshots of shards add up.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    counts: [u64; SLOTS],
    sum_nanos: u64,
}

impl Snapshot {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &Snapshot) {
        for (to, from) in self.counts.iter_mut().zip(&other.counts) {
            *to = to.saturating_add(*from);
        }
        self.sum_nanos = self.sum_nanos.saturating_add(other.sum_nanos);
    }

    /// Observations counted.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Writes the histogram's series (`_bucket`, `_sum`, `_count`) through `encoder`.
    pub fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        // The encoder adds the `+Inf` bucket from the count.
        let mut buckets = [(0.0, 0); SECONDS.len()];
        for ((to, bound), n) in buckets.iter_mut().zip(SECONDS).zip(self.counts) {
            *to = (bound, n);
        }
        encoder.encode_histogram::<NoLabelSet>(
            self.sum_nanos as f64 / 1e9,
            self.count(),
            &buckets,
            None::<&HashMap<usize, Exemplar<NoLabelSet, f64>>>,
        )
    }
}

impl TypedMetric for Histogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Histogram {
    fn encode(&self, encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        self.snapshot().encode(encoder)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Shared;

    #[test]
    fn an_observation_falls_in_the_first_bucket_that_holds_it() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(500));
        h.observe(Duration::from_micros(501));
        h.observe(Duration::from_secs(11));
        let s = h.snapshot();
        assert_eq!(s.counts.first(), Some(&1));
        assert_eq!(s.counts.get(1), Some(&1));
        assert_eq!(s.counts.last(), Some(&1));
        assert_eq!(s.count(), 3);
    }

    #[test]
    fn snapshots_add_up() {
        let (a, b) = (Histogram::default(), Histogram::default());
        a.observe(Duration::from_millis(2));
        b.observe(Duration::from_millis(2));
        b.observe(Duration::from_millis(20));
        let mut sum = a.snapshot();
        sum.add(&b.snapshot());
        assert_eq!(sum.count(), 3);
        assert_eq!(sum.sum_nanos, 24_000_000);
    }

    #[test]
    fn it_is_written_cumulatively_in_seconds() -> Result<(), std::fmt::Error> {
        let h = Shared::<Histogram>::default();
        h.observe(Duration::from_millis(2));
        h.observe(Duration::from_millis(20));
        let mut registry = crate::Registry::default();
        registry.register("x_seconds", "X", h);
        let text = crate::encode(&registry)?;
        assert!(text.contains("# TYPE x_seconds histogram\n"), "{text}");
        assert!(
            text.contains("x_seconds_bucket{le=\"0.0005\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("x_seconds_bucket{le=\"0.0025\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("x_seconds_bucket{le=\"10\"} 2\n"), "{text}");
        assert!(text.contains("x_seconds_bucket{le=\"+Inf\"} 2\n"), "{text}");
        assert!(text.contains("x_seconds_sum 0.022\n"), "{text}");
        assert!(text.contains("x_seconds_count 2\n"), "{text}");
        Ok(())
    }
}

//! A metric kept in one place and registered again in each scrape's registry.

use std::ops::Deref;
use std::sync::Arc;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder};
use prometheus_client::metrics::MetricType;

/// `M` behind an `Arc`: its owner updates it, and a scrape registers a clone. (The crate's
/// own counters and families are shared handles already; a [`crate::Histogram`] is not, so
/// that the gateway's per-thread shards hold their atomics inline.)
#[derive(Debug, Default)]
pub struct Shared<M>(Arc<M>);

impl<M> Clone for Shared<M> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<M> Deref for Shared<M> {
    type Target = M;

    fn deref(&self) -> &M {
        &self.0
    }
}

impl<M: EncodeMetric> EncodeMetric for Shared<M> {
    fn encode(&self, encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        self.0.encode(encoder)
    }

    fn metric_type(&self) -> MetricType {
        self.0.metric_type()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

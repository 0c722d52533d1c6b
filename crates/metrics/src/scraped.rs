//! Values read at scrape time — a queue's length, a pool's connections, an issuer's lag —
//! written from a [`prometheus_client::collector::Collector`] through the same encoder as
//! the metrics a registry keeps. Counter names are given without `_total`: the encoder adds
//! it, as it does for a registered counter.

use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// One counter without labels.
pub fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    ConstCounter::new(value).encode(metric)
}

/// One gauge without labels.
pub fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: i64,
) -> Result<(), std::fmt::Error> {
    let metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    ConstGauge::new(value).encode(metric)
}

/// A counter family: one series per label set.
pub fn counters<L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: impl IntoIterator<Item = (L, u64)>,
) -> Result<(), std::fmt::Error> {
    family(
        encoder,
        (name, help, MetricType::Counter),
        series,
        ConstCounter::new,
    )
}

/// A gauge family: one series per label set.
pub fn gauges<L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: impl IntoIterator<Item = (L, i64)>,
) -> Result<(), std::fmt::Error> {
    family(
        encoder,
        (name, help, MetricType::Gauge),
        series,
        ConstGauge::new,
    )
}

/// A family's descriptor (name, help, type), then one series per label set, each value made
/// into a metric by `metric`.
fn family<L: EncodeLabelSet, V, M: EncodeMetric>(
    encoder: &mut DescriptorEncoder,
    (name, help, kind): (&str, &str, MetricType),
    series: impl IntoIterator<Item = (L, V)>,
    metric: impl Fn(V) -> M,
) -> Result<(), std::fmt::Error> {
    let mut descriptor = encoder.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in series {
        metric(value).encode(descriptor.encode_family(&labels)?)?;
    }
    Ok(())
}

/// A number read at scrape time as a gauge's value (beyond `i64`: the largest).
pub fn int(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use prometheus_client::collector::Collector;

    use super::*;

    #[derive(Debug)]
    struct Queue;

    impl Collector for Queue {
        fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
            counter(&mut encoder, "q_dropped", "Dropped.", 2)?;
            gauge(&mut encoder, "q_length", "Waiting.", 3)?;
            counters(
                &mut encoder,
                "q_calls",
                "Calls, by route.",
                [([("route", "a")], 1), ([("route", "b")], 4)],
            )
        }
    }

    #[test]
    fn scrape_time_values_are_written_as_the_registry_writes_its_own() -> Result<(), std::fmt::Error>
    {
        let mut registry = crate::Registry::default();
        registry.register_collector(Box::new(Queue));
        let text = crate::encode(&registry)?;
        assert_eq!(
            text,
            "# HELP q_dropped_total Dropped.\n# TYPE q_dropped_total counter\nq_dropped_total 2\n\
             # HELP q_length Waiting.\n# TYPE q_length gauge\nq_length 3\n\
             # HELP q_calls_total Calls, by route.\n# TYPE q_calls_total counter\n\
             q_calls_total{route=\"a\"} 1\nq_calls_total{route=\"b\"} 4\n"
        );
        Ok(())
    }
}

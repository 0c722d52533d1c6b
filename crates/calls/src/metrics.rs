//! The call log's counters on `/metrics` (docs/calls.md, "Metrics"), read from the
//! [`Recorder`] at scrape time. The recorder is one per process: when `candor serve` runs
//! the gateway too, one admin listener reports it (docs/server.md, "Metrics").

use std::sync::Arc;

use candor_metrics::scraped::{counter, gauge, int};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;

use crate::CallLog;
use crate::recorder::{Counters, Recorder};

/// A call log's metrics, for one scrape's registry.
#[derive(Debug, Clone)]
pub struct CallLogMetrics(Arc<Recorder>);

impl CallLog {
    /// The recorder's counters, to register in a scrape's registry.
    pub fn metrics(&self) -> CallLogMetrics {
        CallLogMetrics(self.recorder.clone())
    }
}

impl Collector for CallLogMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let c = self.0.counters();
        for (name, help, value) in [
            (
                "candor_calls_queued",
                "Calls handed to the call log's queue.",
                &c.queued,
            ),
            (
                "candor_calls_dropped",
                "Calls dropped because the call log's queue was full.",
                &c.dropped,
            ),
            (
                "candor_calls_written",
                "Calls written to the call log's database.",
                &c.written,
            ),
            (
                "candor_calls_failed",
                "Calls lost because their batch could not be written.",
                &c.failed,
            ),
            (
                "candor_calls_batches",
                "Batches written to the call log's database.",
                &c.batches,
            ),
        ] {
            counter(&mut encoder, name, help, Counters::get(value))?;
        }
        gauge(
            &mut encoder,
            "candor_calls_queue_length",
            "Calls waiting to be written.",
            int(self.0.queued_now()),
        )?;
        let Some(o) = self.0.otlp_counters() else {
            return Ok(());
        };
        for (name, help, value) in [
            (
                "candor_calls_otlp_exported",
                "Calls the OTLP collector accepted, per signal (a log record and a span count twice).",
                &o.exported,
            ),
            (
                "candor_calls_otlp_dropped",
                "Calls not exported because the OTLP export's queue was full.",
                &o.dropped,
            ),
            (
                "candor_calls_otlp_failed",
                "Calls the OTLP collector could not be given, per signal.",
                &o.failed,
            ),
        ] {
            counter(&mut encoder, name, help, Counters::get(value))?;
        }
        Ok(())
    }
}

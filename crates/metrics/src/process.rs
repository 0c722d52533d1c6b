//! The process metrics operators expect of every Prometheus target (the names and meanings
//! of the Go and Java clients): CPU time, resident memory, open and allowed file descriptors,
//! start time. Read from `/proc/self` by the `procfs` crate at each scrape; elsewhere than
//! Linux there are none.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;

/// Registers the process metrics.
pub fn register(registry: &mut prometheus_client::registry::Registry) {
    registry.register_collector(Box::new(Process));
}

/// This process, read at scrape time.
#[derive(Debug)]
pub struct Process;

#[cfg(target_os = "linux")]
impl Collector for Process {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::EncodeMetric;
        use prometheus_client::metrics::MetricType;
        use prometheus_client::metrics::counter::ConstCounter;

        use crate::scraped::{gauge, int};

        let Ok(me) = procfs::process::Process::myself() else {
            // No /proc (a sandbox): a scrape without process metrics, not a failed one.
            return Ok(());
        };
        if let Ok(stat) = me.stat() {
            let ticks = procfs::ticks_per_second().max(1) as f64;
            let metric = encoder.encode_descriptor(
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds.",
                None,
                MetricType::Counter,
            )?;
            ConstCounter::new((stat.utime + stat.stime) as f64 / ticks).encode(metric)?;
            gauge(
                &mut encoder,
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                int(stat.rss.saturating_mul(procfs::page_size())),
            )?;
            gauge(
                &mut encoder,
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                int(stat.vsize),
            )?;
            if let Ok(boot) = procfs::boot_time_secs() {
                let metric = encoder.encode_descriptor(
                    "process_start_time_seconds",
                    "Start time of the process since unix epoch in seconds.",
                    None,
                    MetricType::Gauge,
                )?;
                prometheus_client::metrics::gauge::ConstGauge::new(
                    boot as f64 + stat.starttime as f64 / ticks,
                )
                .encode(metric)?;
            }
        }
        if let Ok(n) = me.fd_count() {
            gauge(
                &mut encoder,
                "process_open_fds",
                "Number of open file descriptors.",
                int(n),
            )?;
        }
        if let Ok(limits) = me.limits()
            && let procfs::process::LimitValue::Value(max) = limits.max_open_files.soft_limit
        {
            gauge(
                &mut encoder,
                "process_max_fds",
                "Maximum number of open file descriptors.",
                int(max),
            )?;
        }
        Ok(())
    }
}

#[cfg(not(target_os = "linux"))]
impl Collector for Process {
    fn encode(&self, _encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        Ok(())
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn the_process_reports_cpu_memory_and_descriptors() -> Result<(), std::fmt::Error> {
        let mut registry = crate::Registry::default();
        super::register(&mut registry);
        let text = crate::encode(&registry)?;
        for name in [
            "# TYPE process_cpu_seconds_total counter\n",
            "# TYPE process_resident_memory_bytes gauge\n",
            "# TYPE process_open_fds gauge\n",
            "# TYPE process_max_fds gauge\n",
            "# TYPE process_start_time_seconds gauge\n",
        ] {
            assert!(text.contains(name), "{name} in {text}");
        }
        Ok(())
    }
}

//! Candor's Prometheus metrics, written through one maintained crate (`prometheus-client`).
//!
//! Every admin listener answers `/metrics` the same way: it gathers a [`Registry`] for the
//! scrape — the metrics it keeps, the values it reads at scrape time ([`scraped`]), and,
//! where this listener reports them, the process's ([`process`]) — and [`encode`]s it in the
//! Prometheus text format (version 0.0.4). Latencies are [`Histogram`]s in seconds with one
//! bucket set ([`buckets::SECONDS`]), whoever keeps them.

pub mod buckets;
pub mod build_info;
pub mod histogram;
pub mod process;
pub mod scraped;
pub mod shared;

pub use histogram::{Histogram, Snapshot};
pub use prometheus_client::registry::Registry;
pub use shared::Shared;

/// The `Content-Type` of [`encode`]'s text.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The exposition text of `registry`, in the Prometheus text format (version 0.0.4).
pub fn encode(registry: &Registry) -> Result<String, std::fmt::Error> {
    let mut out = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut out, registry)?;
    Ok(out)
}

/// A registry with what every listener reports about itself: [`build_info`].
pub fn registry() -> Registry {
    let mut registry = Registry::default();
    build_info::register(&mut registry);
    registry
}

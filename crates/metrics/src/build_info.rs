//! `candor_build_info`: which build a listener runs, for dashboards to join on.

use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// The version every crate of the workspace shares (`candor --version`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Registers `candor_build_info{version="…"} 1` (a gauge, as Prometheus' own `*_build_info`).
/// No commit label: a build from a source archive has no git to ask.
pub fn register(registry: &mut Registry) {
    registry.register(
        "candor_build",
        "The running build: always 1, its version in the label",
        Info::new([("version", VERSION)]),
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_build_is_reported_as_a_gauge_with_its_version() -> Result<(), std::fmt::Error> {
        let text = crate::encode(&crate::registry())?;
        assert!(text.contains("# TYPE candor_build_info gauge\n"), "{text}");
        assert!(
            text.contains(&format!(
                "candor_build_info{{version=\"{}\"}} 1\n",
                super::VERSION
            )),
            "{text}"
        );
        Ok(())
    }
}

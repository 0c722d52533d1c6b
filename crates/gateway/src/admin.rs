//! The gateway on the admin surface (`candor-admin`): what it says of its readiness and its
//! metrics, from the state requests use now.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use candor_admin::{Host, Readiness};

use crate::gateway::Gateway;
use crate::now;
use crate::state_metrics::StateMetrics;

/// A running gateway as an admin surface's host.
pub(crate) struct GatewayHost(pub(crate) Arc<Gateway>);

#[async_trait::async_trait]
impl Host for GatewayHost {
    fn now(&self) -> i64 {
        now()
    }

    fn guard(&self) -> candor_admin::Guard {
        self.0.admin_guard()
    }

    /// Ready once every issuer's revocation feed is loaded.
    async fn readiness(&self) -> Readiness {
        let state = self.0.state();
        let unready: Vec<String> = state
            .issuers
            .iter()
            .filter(|i| !i.feed_loaded())
            .map(|i| {
                format!(
                    "the revocation feed of {} is not loaded yet",
                    i.config.issuer
                )
            })
            .collect();
        if unready.is_empty() {
            Readiness::ready()
        } else {
            Readiness::unavailable().with("reasons", unready)
        }
    }

    /// Requests, issuers, upstreams; and, where this listener reports what the process
    /// shares (docs/server.md, "Metrics"), the call log, the limits and the process.
    async fn metrics(&self, registry: &mut candor_metrics::Registry) {
        let gateway = &self.0;
        let state = gateway.state();
        registry.register_collector(Box::new(state.metrics.clone()));
        registry.register_collector(Box::new(StateMetrics {
            state: state.clone(),
            now: now(),
        }));
        if gateway.reports_shared_metrics.load(Ordering::Relaxed) {
            if let Some(log) = &state.calls {
                registry.register_collector(Box::new(log.metrics()));
            }
            if let Some(limiter) = &state.limiter {
                registry.register_collector(Box::new(candor_limit::LimiterMetrics::new(
                    limiter.clone(),
                )));
            }
            candor_metrics::process::register(registry);
        }
    }
}

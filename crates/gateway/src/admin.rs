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

    fn gateway(&self) -> Option<Arc<dyn candor_admin::GatewayView>> {
        Some(self.0.clone())
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

/// What the admin API and the console show of this gateway: the routes and issuers of the
/// state requests use now.
impl candor_admin::GatewayView for Gateway {
    fn status(&self, now: i64) -> candor_admin::GatewayStatus {
        use candor_admin::{IssuerStatus, RouteStatus, UpstreamStatus};
        let state = self.state();
        let routes = state
            .routes
            .iter()
            .map(|r| RouteStatus {
                name: r.route.name.clone(),
                host: r.route.host.clone(),
                path_prefix: r.route.path_prefix.clone(),
                methods: r.route.methods.iter().map(|m| m.to_string()).collect(),
                auth: match r.route.auth {
                    crate::config::AuthMode::Required => "required",
                    crate::config::AuthMode::Optional => "optional",
                    crate::config::AuthMode::None => "none",
                }
                .to_string(),
                scopes: r.route.scopes_all.clone(),
                issuers: r.issuers.iter().map(|i| i.config.issuer.clone()).collect(),
                rate_limits: r.limits.len(),
                upstreams: r
                    .pool
                    .backends
                    .iter()
                    .map(|b| UpstreamStatus {
                        url: b.url.to_string(),
                        available: b.available(),
                        idle_connections: b.connections.idle_count(),
                    })
                    .collect(),
            })
            .collect();
        let issuers = state
            .issuers
            .iter()
            .map(|i| {
                let (fetches, failures) = i.jwks().map_or((0, 0), |j| j.counts());
                IssuerStatus {
                    issuer: i.config.issuer.clone(),
                    jwks_uri: i
                        .jwks()
                        .map(|j| j.uri().to_string())
                        .or_else(|| i.config.jwks_uri.clone()),
                    jwks_fetches: fetches,
                    jwks_fetch_failures: failures,
                    feed: i.config.feed.is_some(),
                    feed_loaded: i.config.feed.is_some() && i.feed_loaded(),
                    feed_lag_seconds: i.feed_lag(now).filter(|lag| *lag != i64::MAX),
                    deny_entries: i.deny.len(),
                    introspection: i.introspector.is_some(),
                }
            })
            .collect();
        candor_admin::GatewayStatus { routes, issuers }
    }
}

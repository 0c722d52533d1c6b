//! The server on the admin surface (`candor-admin`): what it says of its readiness and its
//! metrics. Never on the public listener.

use std::sync::Arc;

use candor_admin::{Host, Readiness};

use crate::app::App;

/// The authorization server as an admin surface's host.
pub(super) struct ServerHost(pub(super) App);

#[async_trait::async_trait]
impl Host for ServerHost {
    fn now(&self) -> i64 {
        self.0.now()
    }

    /// Ready when the store accepts a write: a database that answers reads but cannot commit
    /// (a full disk, a read-only file, a replica) would fail every sign-in.
    async fn readiness(&self) -> Readiness {
        let app = &self.0;
        let store = app.store().backend().to_string();
        match app.store().check_writable(app.now()).await {
            Ok(()) => Readiness::ready().with("store", store),
            Err(e) => {
                tracing::warn!(error = %e, "readiness check failed: the store does not accept writes");
                Readiness::unavailable()
                    .with("store", store)
                    .with("reason", "the store does not accept writes")
            }
        }
    }

    /// The server's endpoints and store; and what the process shares with a gateway run
    /// beside the server (the call log, the rate limiter, the process): the gateway's admin
    /// listener then leaves them out (docs/server.md, "Metrics").
    async fn metrics(&self, registry: &mut candor_metrics::Registry) {
        let app = &self.0;
        let feed = app.store().feed_length().await.ok();
        app.metrics().register(registry, app.store(), feed);
        if let Some(log) = app.call_log() {
            registry.register_collector(Box::new(log.metrics()));
        }
        registry.register_collector(Box::new(candor_limit::LimiterMetrics::new(
            app.throttles().limiter().clone(),
        )));
        candor_metrics::process::register(registry);
    }
}

/// The admin listener's router: health, readiness, metrics and the call log's queries,
/// behind the admin credential attached to `app`.
pub(super) fn router(app: App) -> axum::Router {
    candor_admin::router(candor_admin::Surface::new(
        app.admin_guard(),
        app.call_log().cloned(),
        Arc::new(ServerHost(app)),
    ))
}

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

    fn guard(&self) -> candor_admin::Guard {
        self.0.admin_guard()
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

    fn gateway(&self) -> Option<Arc<dyn candor_admin::GatewayView>> {
        self.0.gateway()
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
        if let Some(events) = app.events() {
            registry.register_collector(Box::new(events.metrics()));
        }
        registry.register_collector(Box::new(candor_limit::LimiterMetrics::new(
            app.throttles().limiter().clone(),
        )));
        candor_metrics::process::register(registry);
    }
}

fn surface(app: &App) -> candor_admin::Surface {
    candor_admin::Surface::new(app.call_log().cloned(), Arc::new(ServerHost(app.clone())))
}

/// The admin listener's router: health, readiness, metrics, the call log's queries and the
/// admin API, behind the admin credential attached to `app`.
pub(super) fn router(app: App) -> axum::Router {
    let shape = axum::middleware::from_fn_with_state(app.clone(), super::admin_api::well_formed);
    candor_admin::router(surface(&app))
        .merge(super::admin_api::routes().with_state(app))
        .layer(shape)
}

/// The admin API alone (the server's resources and the call log's queries), for the public
/// listener when `[admin] on_public_listener` is set: no metrics or health there beyond what
/// the public listener serves already.
pub(super) fn api_routes(app: &App) -> axum::Router<App> {
    let calls = candor_admin::calls_router(surface(app));
    candor_admin::CALLS_PATHS
        .iter()
        .fold(super::admin_api::routes(), |r, path| {
            r.route_service(path, calls.clone())
        })
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            super::admin_api::well_formed,
        ))
}

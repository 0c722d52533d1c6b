//! Candor's authorization server: endpoints, client authentication, token issuance, and the
//! administration functions the CLI calls (clients, users, keys).
//!
//! Layout: domain modules hold the logic as plain functions over [`App`] (`token`,
//! `client_auth`, `introspection`, `revocation`, `clients`, `users`, `keys`); `http` is the
//! thin axum edge that parses requests and maps results to responses.

mod admin_tokens;
pub mod app;
pub mod audit;
pub mod authorize;
pub mod browser;
pub mod calls;
pub mod client_auth;
pub mod clients;
pub mod clock;
pub mod console;
pub mod demo;
pub mod discovery;
pub mod docs;
pub mod error;
pub mod events;
pub mod feed;
pub mod first_party;
pub mod grant;
mod http;
pub mod id_token;
pub mod introspection;
pub mod keys;
pub mod login;
pub mod logout;
pub mod manage;
pub mod metrics;
mod page_style;
pub mod pending;
pub mod refusal;
pub mod revocation;
pub mod scopes;
pub mod settings;
pub mod throttle;
pub mod token_lookup;
pub mod userinfo;
pub mod users;

use std::future::Future;
use std::sync::Arc;

use candor_proto::jose::SigningAlg;
use candor_proto::seal::MasterKey;
use candor_store::Store;

pub use app::App;
pub use candor_serve::Limits;
pub use error::ServerError;
pub use http::{admin_router, router};
pub use settings::Settings;

use crate::clock::Clock;

/// Builds the application: loads (or creates) the signing keys and wires the state.
pub async fn build(
    settings: Settings,
    store: Arc<dyn Store>,
    master: Arc<MasterKey>,
    clock: Arc<dyn Clock>,
) -> Result<App, ServerError> {
    // Every algorithm discovery advertises has a key from the start, so that the JWKS and
    // id_token_signing_alg_values_supported agree.
    let algs = SigningAlg::ALL;
    let keys = keys::Keys::open(store.clone(), master.clone(), algs, clock.now()).await?;
    App::new(settings, store, master, keys, clock)
}

/// Serves `app` on `listener` with the default connection limits until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, app, None, Limits::default(), shutdown).await
}

/// Serves `app` on `listener` (over TLS when `tls` is given) within `limits` until `shutdown`
/// resolves; re-reads keys and purges expired rows in the background meanwhile.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    app: App,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let background = tokio::spawn(housekeeping(app.clone()));
    let result = candor_serve::serve(listener, tls, router(app), limits, shutdown).await;
    background.abort();
    result
}

/// Serves the admin listener (`/metrics`, `/healthz`, `/readyz`, the call log's API) on
/// `listener` until `shutdown` resolves.
pub async fn serve_admin(
    listener: tokio::net::TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    candor_serve::serve(
        listener,
        None,
        admin_router(app),
        Limits::default(),
        shutdown,
    )
    .await
}

/// Periodic work: pick up key rotations made elsewhere, purge what has expired.
pub async fn housekeeping(app: App) {
    let mut keys_tick = tokio::time::interval(app.settings().key_refresh_interval);
    let mut purge_tick = tokio::time::interval(std::time::Duration::from_secs(300));
    let mut probe_tick = tokio::time::interval(std::time::Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = probe_tick.tick() => app.metrics().probe_database(app.store()).await,
            _ = keys_tick.tick() => {
                if let Err(e) = app.keys().reload_at(app.now()).await {
                    tracing::warn!(error = %e, "could not reload signing keys");
                }
            }
            _ = purge_tick.tick() => {
                match app.store().purge_expired(app.now()).await {
                    Ok(n) if n > 0 => tracing::debug!(rows = n, "purged expired rows"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not purge expired rows"),
                }
            }
        }
    }
}

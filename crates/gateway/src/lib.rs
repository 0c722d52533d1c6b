//! Candor's API gateway: in front of a team's services, it checks every request's access token
//! — from Candor or any OpenID provider, by the issuer's JWKS — against the route's audience,
//! scopes and claims, refuses a revoked token as soon as the issuer's revocation feed says so,
//! and forwards the rest to the route's upstreams. Every refusal carries a diagnosis code.
//!
//! The request path is a series of named phases, each a module of [`phase`] (match,
//! limits, authenticate, authorize, prepare, forward, record). Around it: the run-time
//! [`State`] of one configuration, the running [`Gateway`] (reloads, listeners), what runs
//! beside requests ([`background`]: feeds, health checks) and the [`admin`] listener.

pub mod admin;
pub mod background;
pub mod config;
pub mod connections;
pub mod deny;
pub mod feed;
mod gateway;
pub mod identity;
pub mod introspect;
pub mod issuer;
pub mod metrics;
pub mod pace;
pub mod path;
pub mod per_thread;
pub mod phase;
pub mod proxy;
pub mod rate_limit;
pub mod refuse;
pub mod route;
mod state;
pub mod state_metrics;
pub mod tunnel;
pub mod upstream;
pub mod upstream_auth;
pub mod verify;

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;

use crate::config::Config;

pub use gateway::Gateway;
pub use phase::authorize::authorize;
pub use phase::handle;
pub use state::{RouteState, State};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body of every response the gateway sends.
pub type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

/// Now, in Unix seconds.
pub(crate) fn now() -> i64 {
    use candor_proto::clock::Clock;
    candor_proto::clock::SystemClock.now()
}

/// Why the gateway cannot start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("configuration: {0}")]
    Config(#[from] config::ConfigError),
    /// The reason is the source (printed after it in a chain).
    #[error("cannot listen on {addr}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("TLS: {0}")]
    Tls(#[from] candor_serve::TlsError),
    #[error("{0}")]
    Start(String),
}

/// Binds the listeners of `config`.
pub async fn bind(
    config: &Config,
) -> Result<(tokio::net::TcpListener, Option<tokio::net::TcpListener>), GatewayError> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| GatewayError::Listen {
            addr: config.listen,
            source,
        })?;
    let admin = match config.admin_listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| GatewayError::Listen { addr, source })?,
        ),
        None => None,
    };
    Ok((listener, admin))
}

/// The TLS configuration of `config`, if it serves https.
pub fn tls(config: &Config) -> Result<Option<Arc<rustls::ServerConfig>>, GatewayError> {
    match (&config.tls_cert, &config.tls_key) {
        (Some(c), Some(k)) => Ok(Some(candor_serve::load_tls(c, k)?)),
        _ => Ok(None),
    }
}

/// Runs the gateway of `config` until `shutdown` resolves (no reloads).
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), GatewayError> {
    let tls = tls(&config)?;
    let (listener, admin) = bind(&config).await?;
    run_on(config, listener, admin, tls, shutdown).await
}

/// [`run`] on listeners already bound (tests bind ephemeral ports).
pub async fn run_on(
    config: Config,
    listener: tokio::net::TcpListener,
    admin_listener: Option<tokio::net::TcpListener>,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), GatewayError> {
    let gateway = Gateway::start(&config, None, None).await?;
    gateway
        .serve(
            listener,
            admin_listener,
            tls,
            config.limits.clone(),
            shutdown,
        )
        .await
}

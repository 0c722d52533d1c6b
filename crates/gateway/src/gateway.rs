//! A running gateway: its current state, reloads, and serving the listeners.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use crate::admin::GatewayHost;
use crate::background::{Background, start_background};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::{GatewayError, State, handle};

/// A running gateway: the state requests use now, replaced whole by [`Gateway::reload`]. A
/// request in flight keeps the state it started with, so a reload drops no request and no
/// connection.
pub struct Gateway {
    current: std::sync::RwLock<Arc<State>>,
    /// Bumped by every reload: a connection keeps the state it took until this moves.
    generation: std::sync::atomic::AtomicU64,
    tasks: std::sync::Mutex<Background>,
    /// The tunnel slots, kept across reloads (tunnels outlive the state they began in).
    tunnels: Arc<tokio::sync::Semaphore>,
    metrics: Arc<Metrics>,
    /// The call log, kept across reloads.
    calls: Option<Arc<candor_calls::CallLog>>,
    /// The rate limiter, kept across reloads (a reload keeps what callers have spent).
    limiter: candor_limit::Limiter,
    /// Whether the admin listener reports what the process shares (the call log, the
    /// limiter, the process metrics); off when a server beside the gateway reports them.
    pub(crate) reports_shared_metrics: std::sync::atomic::AtomicBool,
    /// The admin credential, once attached ([`Gateway::attach_admin`]).
    admin: std::sync::OnceLock<candor_admin::Guard>,
    /// What cannot change without a restart.
    listen: std::net::SocketAddr,
    threads: usize,
}

impl Gateway {
    /// Builds the state of `config` and starts its background work (feeds loaded first).
    /// `calls` is the call log to record into; `limiter` decides the routes' rate limits
    /// (shared through Redis when it was built so; a local one is made when `None`).
    pub async fn start(
        config: &Config,
        calls: Option<Arc<candor_calls::CallLog>>,
        limiter: Option<candor_limit::Limiter>,
    ) -> Result<Arc<Gateway>, GatewayError> {
        let limiter = match limiter {
            Some(l) => l,
            None => candor_limit::Limiter::local(candor_limit::LocalOptions::default())
                .map_err(|e| GatewayError::Start(format!("rate limiter: {e}")))?,
        };
        let metrics = Arc::new(Metrics::new(config.threads));
        let tunnels = Arc::new(tokio::sync::Semaphore::new(config.max_tunnels));
        let state = Arc::new(State::new(
            config,
            metrics.clone(),
            calls.clone(),
            &limiter,
            tunnels.clone(),
            None,
        )?);
        for warning in config.warnings() {
            tracing::warn!("{warning}");
        }
        let tasks = start_background(&state, &mut Background::default()).await?;
        Ok(Arc::new(Gateway {
            current: std::sync::RwLock::new(state),
            generation: std::sync::atomic::AtomicU64::new(0),
            tasks: std::sync::Mutex::new(tasks),
            tunnels,
            metrics,
            calls,
            limiter,
            reports_shared_metrics: std::sync::atomic::AtomicBool::new(true),
            admin: std::sync::OnceLock::new(),
            listen: config.listen,
            threads: config.threads,
        }))
    }

    /// Leaves the call log's, the limiter's and the process's metrics to another admin
    /// listener of this process (`candor serve`'s server's), so that a scrape of both
    /// listeners counts each call and each decision once.
    pub fn leave_shared_metrics_to_the_server(&self) {
        self.reports_shared_metrics
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }

    /// Guards the admin listener's call-log queries with `guard` (once; a second call is
    /// ignored). Until then every admin request is refused.
    pub fn attach_admin(&self, guard: candor_admin::Guard) {
        let _ = self.admin.set(guard);
    }

    /// The admin credential: the attached one, or one that refuses every request.
    pub(crate) fn admin_guard(&self) -> candor_admin::Guard {
        self.admin
            .get()
            .cloned()
            .unwrap_or_else(|| candor_admin::Guard::new(None, self.state().docs.base.clone()))
    }

    /// The state new requests use.
    pub fn state(&self) -> Arc<State> {
        match self.current.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the configuration: the new state is built (and its feeds loaded) before it
    /// takes over; on an error the running one stays. Listen addresses, TLS and connection
    /// limits need a restart.
    pub async fn reload(&self, config: &Config) -> Result<(), GatewayError> {
        if config.listen != self.listen {
            tracing::warn!(
                running = %self.listen,
                configured = %config.listen,
                "gateway.listen changed; it takes effect at the next restart"
            );
        }
        let previous = self.state();
        let state = Arc::new(State::new(
            config,
            self.metrics.clone(),
            self.calls.clone(),
            &self.limiter,
            self.tunnels.clone(),
            Some(&previous),
        )?);
        for warning in config.warnings() {
            tracing::warn!("{warning}");
        }
        let mut running = match self.tasks.lock() {
            Ok(mut t) => std::mem::take(&mut *t),
            Err(_) => Background::default(),
        };
        let tasks = match start_background(&state, &mut running).await {
            Ok(t) => t,
            Err(e) => {
                // The running state stays, with its tasks (those taken over are given back).
                if let Ok(mut t) = self.tasks.lock() {
                    *t = running;
                }
                return Err(e);
            }
        };
        if let Ok(mut current) = self.current.write() {
            *current = state;
        }
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        // What the new state did not take over belongs to the old one alone.
        running.abort();
        if let Ok(mut t) = self.tasks.lock() {
            *t = tasks;
        }
        tracing::info!(
            routes = config.routes.len(),
            "gateway configuration reloaded"
        );
        Ok(())
    }

    /// Serves on the listeners until `shutdown` resolves.
    pub async fn serve(
        self: &Arc<Self>,
        listener: tokio::net::TcpListener,
        admin_listener: Option<tokio::net::TcpListener>,
        tls: Option<Arc<rustls::ServerConfig>>,
        limits: candor_serve::Limits,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), GatewayError> {
        let (stop_admin, admin_stopped) = tokio::sync::oneshot::channel::<()>();
        if let Some(admin_listener) = admin_listener {
            let router = candor_admin::router(candor_admin::Surface::new(
                self.calls.clone(),
                Arc::new(GatewayHost(self.clone())),
            ));
            tokio::spawn(candor_serve::serve(
                admin_listener,
                None,
                router,
                candor_serve::Limits::default(),
                async move {
                    let _ = admin_stopped.await;
                },
            ));
        }
        let gw = self.clone();
        // Each connection gets its own copy of this closure, and with it a handle on the
        // state of its own (`Arc<Arc<State>>`, made again only after a reload): a request
        // then touches no lock and no reference count that another core's requests touch.
        let mut held: Option<(u64, Arc<Arc<State>>)> = None;
        let service = tower::service_fn(move |req| {
            let generation = gw.generation.load(std::sync::atomic::Ordering::Acquire);
            let s = match &held {
                Some((g, s)) if *g == generation => s.clone(),
                _ => {
                    let s = Arc::new(gw.state());
                    held = Some((generation, s.clone()));
                    s
                }
            };
            async move { Ok::<_, Infallible>(handle(&s, req).await) }
        });
        tracing::info!(listen = %self.listen, threads = self.threads, "candor gateway is ready");
        let served =
            candor_serve::serve_threads(listener, self.threads, tls, service, limits, shutdown)
                .await;
        let _ = stop_admin.send(());
        if let Ok(mut tasks) = self.tasks.lock() {
            std::mem::take(&mut *tasks).abort();
        }
        served.map_err(|e| GatewayError::Start(e.to_string()))
    }
}

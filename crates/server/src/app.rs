//! The state every request handler shares.

use std::sync::Arc;

use candor_proto::seal::MasterKey;
use candor_store::Store;

use crate::clients::ClientCache;
use crate::clock::Clock;
use crate::error::ServerError;
use crate::keys::Keys;
use crate::settings::Settings;
use crate::throttle::Throttles;

/// What `candor_admin::AdminAuth` checks in the server's own admin routes.
impl axum::extract::FromRef<App> for candor_admin::Guard {
    fn from_ref(app: &App) -> candor_admin::Guard {
        app.admin_guard()
    }
}

/// Shared by every handler: settings, store, keys, clock. Cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    store: Arc<dyn Store>,
    master: Arc<MasterKey>,
    keys: Keys,
    clients: ClientCache,
    throttles: Throttles,
    clock: Arc<dyn Clock>,
    metrics: crate::metrics::ServerMetrics,
    /// The call log, once attached ([`App::attach_call_log`]).
    calls: std::sync::OnceLock<Arc<candor_calls::CallLog>>,
    /// The identity events' log, once attached ([`App::attach_events`]).
    events: std::sync::OnceLock<Arc<candor_calls::EventLog>>,
    /// The admin credential, once attached ([`App::attach_admin`]).
    admin: std::sync::OnceLock<candor_admin::Guard>,
    /// The gateway running beside the server in this process, for the admin API and the
    /// console to show.
    gateway: std::sync::OnceLock<Arc<dyn candor_admin::GatewayView>>,
    /// Woken when this node appends to the revocation feed, so that waiting feed readers
    /// answer at once (other nodes' appends are found by polling).
    feed_grew: tokio::sync::Notify,
}

impl App {
    pub fn new(
        settings: Settings,
        store: Arc<dyn Store>,
        master: Arc<MasterKey>,
        keys: Keys,
        clock: Arc<dyn Clock>,
    ) -> Result<App, ServerError> {
        let clients = ClientCache::new(settings.client_cache_ttl);
        // A local limiter is made only when none is given; it needs the Tokio runtime the
        // server runs on.
        let limiter = match settings.limiter.clone() {
            Some(l) => l,
            None => candor_limit::Limiter::local(candor_limit::LocalOptions::default())
                .map_err(|e| ServerError::Limiter(e.to_string()))?,
        };
        let throttles = Throttles::new(
            settings.login_rate_per_address,
            settings.login_rate_per_client,
            &settings.rate_limits,
            limiter,
        );
        Ok(App {
            inner: Arc::new(Inner {
                settings,
                store,
                master,
                keys,
                clients,
                throttles,
                clock,
                metrics: crate::metrics::ServerMetrics::default(),
                calls: std::sync::OnceLock::new(),
                events: std::sync::OnceLock::new(),
                admin: std::sync::OnceLock::new(),
                gateway: std::sync::OnceLock::new(),
                feed_grew: tokio::sync::Notify::new(),
            }),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub fn issuer(&self) -> &str {
        &self.inner.settings.issuer
    }

    pub fn store(&self) -> &dyn Store {
        self.inner.store.as_ref()
    }

    pub fn master(&self) -> &MasterKey {
        &self.inner.master
    }

    pub fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    pub fn clients(&self) -> &ClientCache {
        &self.inner.clients
    }

    pub fn throttles(&self) -> &Throttles {
        &self.inner.throttles
    }

    pub fn metrics(&self) -> &crate::metrics::ServerMetrics {
        &self.inner.metrics
    }

    /// Records the endpoints' calls into `log` from now on (once; a second call is ignored).
    pub fn attach_call_log(&self, log: Arc<candor_calls::CallLog>) {
        let _ = self.inner.calls.set(log);
    }

    pub fn call_log(&self) -> Option<&Arc<candor_calls::CallLog>> {
        self.inner.calls.get()
    }

    /// Records identity events into `log` from now on (once; a second call is ignored).
    pub fn attach_events(&self, log: Arc<candor_calls::EventLog>) {
        let _ = self.inner.events.set(log);
    }

    pub fn events(&self) -> Option<&Arc<candor_calls::EventLog>> {
        self.inner.events.get()
    }

    /// Guards the admin surface with `guard` (once; a second call is ignored). Until then
    /// every admin request is refused.
    pub fn attach_admin(&self, guard: candor_admin::Guard) {
        let _ = self.inner.admin.set(guard);
    }

    /// Shows `gateway` (running beside the server in this process) in the admin API and the
    /// console (once; a second call is ignored).
    pub fn attach_gateway(&self, gateway: Arc<dyn candor_admin::GatewayView>) {
        let _ = self.inner.gateway.set(gateway);
    }

    /// The gateway running beside the server, if any.
    pub fn gateway(&self) -> Option<Arc<dyn candor_admin::GatewayView>> {
        self.inner.gateway.get().cloned()
    }

    /// The admin credential: the attached static token (if any) and this server's access
    /// tokens with an admin scope; refusals link to this server's catalogue.
    pub fn admin_guard(&self) -> candor_admin::Guard {
        let guard = self.inner.admin.get().cloned().unwrap_or_else(|| {
            candor_admin::Guard::new(None, Some(candor_proto::error::docs_base(self.issuer())))
        });
        // Made per call, not stored: a stored verifier holding the app would be a cycle.
        guard.with_tokens(Arc::new(crate::admin_tokens::ServerTokens(self.clone())))
    }

    /// Resolves when this node next appends to the revocation feed.
    pub fn feed_grew(&self) -> tokio::sync::futures::Notified<'_> {
        self.inner.feed_grew.notified()
    }

    /// Revokes a refresh family (and its access tokens) and wakes the feed's readers.
    pub async fn revoke_family(
        &self,
        family_id: &str,
        now: i64,
        feed_expires_at: i64,
    ) -> Result<i64, candor_store::StoreError> {
        let seq = self
            .store()
            .revoke_refresh_family(family_id, now, feed_expires_at)
            .await?;
        self.inner.feed_grew.notify_waiters();
        Ok(seq)
    }

    /// Revokes an opaque access token and wakes the feed's readers.
    pub async fn revoke_opaque(
        &self,
        digest: &[u8],
        now: i64,
    ) -> Result<Option<i64>, candor_store::StoreError> {
        let seq = self.store().revoke_access_token(digest, now).await?;
        self.inner.feed_grew.notify_waiters();
        Ok(seq)
    }

    /// Appends to the revocation feed and wakes its readers.
    pub async fn append_revocation(
        &self,
        revocation: &candor_store::NewRevocation,
    ) -> Result<i64, candor_store::StoreError> {
        let seq = self.store().append_revocation(revocation).await?;
        self.inner.feed_grew.notify_waiters();
        Ok(seq)
    }

    /// Now, in Unix seconds, from the injected clock.
    pub fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    /// The clock leeway in seconds.
    pub fn leeway(&self) -> i64 {
        self.inner.settings.leeway.as_secs() as i64
    }
}

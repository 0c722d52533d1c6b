//! The state every request handler shares.

use std::sync::Arc;

use candor_proto::seal::MasterKey;
use candor_store::Store;

use crate::clients::ClientCache;
use crate::clock::Clock;
use crate::keys::Keys;
use crate::settings::Settings;
use crate::throttle::Throttles;

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
}

impl App {
    pub fn new(
        settings: Settings,
        store: Arc<dyn Store>,
        master: Arc<MasterKey>,
        keys: Keys,
        clock: Arc<dyn Clock>,
    ) -> App {
        let clients = ClientCache::new(settings.client_cache_ttl);
        let throttles = Throttles::new(
            settings.login_rate_per_address,
            settings.login_rate_per_client,
        );
        App {
            inner: Arc::new(Inner {
                settings,
                store,
                master,
                keys,
                clients,
                throttles,
                clock,
            }),
        }
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

    /// Now, in Unix seconds, from the injected clock.
    pub fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    /// The clock leeway in seconds.
    pub fn leeway(&self) -> i64 {
        self.inner.settings.leeway.as_secs() as i64
    }
}

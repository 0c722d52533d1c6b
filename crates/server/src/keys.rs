//! The server's signing keys: created on first start, rotated on demand, shared by every node
//! through the store, and re-read periodically so that a rotation reaches all nodes.

use std::sync::{Arc, RwLock};

use candor_proto::jose::{KeySet, SigningAlg, SigningKey};
use candor_proto::seal::MasterKey;
use candor_store::{SigningKeyRecord, Store};

use crate::error::ServerError;

/// The sealing context of a key: binds the sealed bytes to their kid.
fn seal_context(kid: &str) -> String {
    format!("signing-key:{kid}")
}

/// The key set in use, swapped atomically on reload.
pub struct Keys {
    store: Arc<dyn Store>,
    master: Arc<MasterKey>,
    current: RwLock<Arc<KeySet>>,
    /// What the current set was built from: (kid, retired_at), to skip needless reloads.
    fingerprint: RwLock<Vec<(String, Option<i64>)>>,
}

impl Keys {
    /// Loads the keys from the store, creating an active key for each of `algs` that has none.
    pub async fn open(
        store: Arc<dyn Store>,
        master: Arc<MasterKey>,
        algs: &[SigningAlg],
        now: i64,
    ) -> Result<Keys, ServerError> {
        let keys = Keys {
            store,
            master,
            current: RwLock::new(Arc::new(KeySet::default())),
            fingerprint: RwLock::new(Vec::new()),
        };
        keys.reload().await?;
        for alg in algs {
            if keys.current().active(*alg).is_none() {
                add_key(keys.store.as_ref(), &keys.master, *alg, now).await?;
            }
        }
        keys.reload().await?;
        Ok(keys)
    }

    /// The key set to sign and verify with now.
    pub fn current(&self) -> Arc<KeySet> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the keys from the store; a no-op when nothing changed.
    pub async fn reload(&self) -> Result<(), ServerError> {
        let records = self.store.list_signing_keys().await?;
        let fingerprint: Vec<_> = records
            .iter()
            .map(|r| (r.kid.clone(), r.retired_at))
            .collect();
        let unchanged = match self.fingerprint.read() {
            Ok(f) => *f == fingerprint,
            Err(_) => false,
        };
        if unchanged && !fingerprint.is_empty() {
            return Ok(());
        }
        let set = build_set(&records, &self.master)?;
        if let Ok(mut cur) = self.current.write() {
            *cur = Arc::new(set);
        }
        if let Ok(mut f) = self.fingerprint.write() {
            *f = fingerprint;
        }
        Ok(())
    }
}

fn build_set(records: &[SigningKeyRecord], master: &MasterKey) -> Result<KeySet, ServerError> {
    let mut keys = Vec::with_capacity(records.len());
    // Newest first, so that the newest active key of each algorithm signs.
    for record in records.iter().rev() {
        let alg: SigningAlg = record.alg.parse()?;
        let der = master
            .open(&seal_context(&record.kid), &record.private_sealed)
            .map_err(|source| ServerError::Unseal {
                kid: record.kid.clone(),
                source,
            })?;
        let key = SigningKey::from_pkcs8(alg, &der)?;
        keys.push((key, record.retired_at.is_none()));
    }
    Ok(KeySet::new(keys))
}

/// Generates, seals and stores a new active key of `alg`; returns its kid.
pub async fn add_key(
    store: &dyn Store,
    master: &MasterKey,
    alg: SigningAlg,
    now: i64,
) -> Result<String, ServerError> {
    let (key, der) = SigningKey::generate(alg)?;
    let kid = key.kid().to_string();
    let public_jwk = serde_json::to_string(key.public_jwk())
        .map_err(|e| ServerError::InvalidRegistration(e.to_string()))?;
    store
        .insert_signing_key(&SigningKeyRecord {
            kid: kid.clone(),
            alg: alg.as_str().to_string(),
            private_sealed: master.seal(&seal_context(&kid), &der)?,
            public_jwk,
            created_at: now,
            retired_at: None,
            publish_until: None,
        })
        .await?;
    Ok(kid)
}

/// What a rotation did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rotation {
    pub alg: &'static str,
    pub new_kid: String,
    pub retired: u64,
    /// Retired keys stay in the JWKS until this time (Unix seconds).
    pub retired_published_until: i64,
}

/// Adds a new active key of `alg` and retires the previous ones; they stay published for
/// `publish_for` seconds, long enough for every token they signed to expire.
pub async fn rotate(
    store: &dyn Store,
    master: &MasterKey,
    alg: SigningAlg,
    now: i64,
    publish_for: i64,
) -> Result<Rotation, ServerError> {
    let new_kid = add_key(store, master, alg, now).await?;
    let until = now + publish_for;
    let retired = store
        .retire_signing_keys(alg.as_str(), &new_kid, now, until)
        .await?;
    store.delete_expired_signing_keys(now).await?;
    Ok(Rotation {
        alg: alg.as_str(),
        new_kid,
        retired,
        retired_published_until: until,
    })
}
